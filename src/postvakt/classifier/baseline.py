"""A keyword baseline for complaint / opinion / other, good enough to run the pipeline.

Each cue is a regular expression with a weight towards one label and the words a registrar
reads as the reason.  The label with the highest total wins when it reaches the threshold;
otherwise the message is ``other``.  The trained classifier replaces this (issue 5); the
interface — :func:`classify` returning a :class:`Verdict` — stays.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from postvakt.classifier.verdict import Label, Verdict
from postvakt.mailbox.message import IncomingMessage

__all__ = ["CUES", "classify"]


@dataclass(frozen=True)
class Cue:
    label: Label
    weight: float
    pattern: re.Pattern[str]
    reason: str


def _cue(label: Label, weight: float, pattern: str, reason: str) -> Cue:
    return Cue(label, weight, re.compile(pattern, re.IGNORECASE | re.MULTILINE), reason)


C, OP = Label.COMPLAINT, Label.OPINION

CUES: tuple[Cue, ...] = (
    # Saying so outright.
    _cue(
        C,
        3.0,
        r"\b(vill|måste|tänker) (framföra ett |lämna ett |göra ett )?klag",
        "skriver att hen vill klaga",
    ),
    _cue(C, 2.5, r"\bklagomål\b", "ordet 'klagomål'"),
    _cue(
        C,
        2.5,
        r"\b(i want to|i wish to|i would like to) (make a |file a |lodge a )?complain",
        "says they want to complain",
    ),
    _cue(C, 2.0, r"\bcomplaint\b", "the word 'complaint'"),
    # Dissatisfaction with a service, its level, or its absence.
    _cue(
        C,
        2.0,
        r"\b(missnöjd|inte (alls )?nöjd|ej nöjd|besviken|upprörd|arg)\b",
        "uttrycker missnöje",
    ),
    _cue(
        C,
        2.0,
        r"\b(oacceptabel|oacceptabelt|skandal|uselt?|bedrövlig|under all kritik|katastrof)",
        "starka ord om brister",
    ),
    _cue(
        C,
        1.5,
        r"\b(inte|aldrig|ingen|ej)\b[^.!?\n]{0,40}\b(plogat|plogad|sandat|hämtat|tömt|kommit|svarat|ringt|återkommit|fått svar|lagat|åtgärdat)",
        "något som borde ha gjorts har inte gjorts",
    ),
    _cue(C, 1.5, r"\b(försenad|försenade|sen|sent|för sent|väntat i)\b", "förseningar"),
    _cue(
        C,
        1.5,
        r"\b(otrevlig|oförskämd|nonchalant|dåligt bemötande|bemötandet)",
        "klagar på bemötande",
    ),
    _cue(
        C,
        2.0,
        r"\b(inte (okej|ok|rimligt|acceptabelt)|orimligt|jag kräver att|vi kräver att|begär att)",
        "kräver rättelse",
    ),
    _cue(C, 1.0, r"\b(dålig|dåligt|fel|brister|problem)\b", "påtalar brister"),
    _cue(
        C,
        2.0,
        r"\b(unacceptable|disappointed|dissatisfied|not satisfied|terrible|appalling|outrageous|poor service)\b",
        "expresses dissatisfaction",
    ),
    _cue(
        C,
        1.5,
        r"\b(has not|hasn't|have not|haven't|was not|wasn't|never|still not)\b[^.!?\n]{0,40}\b(collected|cleared|fixed|answered|replied|come|arrived|repaired)",
        "something that should have been done was not",
    ),
    _cue(C, 1.0, r"\b(missed|late|delayed)\b", "delays or missed service"),
    # Views, proposals and praise.
    _cue(OP, 3.0, r"\bsynpunkt(er)?\b", "ordet 'synpunkt'"),
    _cue(OP, 2.5, r"\b(förslag|föreslå|föreslår)\b", "lämnar ett förslag"),
    _cue(
        OP,
        1.5,
        r"\b(det vore bra|vore bra om|skulle vara bra|skulle vilja se|önskar att|önskemål|borde)\b",
        "önskar en förändring",
    ),
    _cue(OP, 1.5, r"\b(jag tycker|vi tycker|min åsikt|anser att)\b", "framför en åsikt"),
    _cue(OP, 2.0, r"\b(beröm|berömma|vill tacka|stort tack till|ett stort tack)\b", "ger beröm"),
    _cue(
        OP,
        2.0,
        r"\b(suggestion|suggest|proposal|propose|would be (nice|great|good) if|in my opinion|feedback)\b",
        "makes a suggestion or gives a view",
    ),
    # Questions and errands push towards 'other'.
    _cue(
        Label.OTHER,
        1.0,
        r"^\s*(hur|när|var|vad|vilken|kan jag|får jag|how|when|where|can i)\b[^\n]*\?",
        "en fråga",
    ),
    _cue(
        Label.OTHER,
        1.5,
        r"\b(ansökan|ansöka|bokning|boka|faktura|beställa|blankett|application|invoice|booking)\b",
        "ett ärende som inte är klagomål",
    ),
)

THRESHOLD = 2.0


def classify(msg: IncomingMessage) -> Verdict:
    """Score the subject and body against :data:`CUES`."""
    text = f"{msg.subject}\n{msg.body_text[:20_000]}"
    scores = {label: 0.0 for label in Label}
    hits: dict[Label, list[tuple[float, str]]] = {label: [] for label in Label}
    for cue in CUES:
        if cue.pattern.search(text):
            scores[cue.label] += cue.weight
            hits[cue.label].append((cue.weight, cue.reason))
    case_labels = (Label.COMPLAINT, Label.OPINION)
    best = max(case_labels, key=lambda label: (scores[label], label is Label.COMPLAINT))
    lead = scores[best] - max(scores[Label.OTHER], 0.0)
    if scores[best] >= THRESHOLD and lead > 0:
        label = best
        margin = scores[best] - scores[C if best is OP else OP]
        confidence = 1 / (1 + math.exp(-(lead + margin) / 2))
    else:
        label = Label.OTHER
        confidence = 1 / (1 + math.exp(-(THRESHOLD - scores[best] + scores[Label.OTHER]) / 2))
    reasons = tuple(reason for _, reason in sorted(hits[label], reverse=True)[:4])
    if label is Label.OTHER and not reasons:
        reasons = ("inga tecken på klagomål eller synpunkter",)
    return Verdict(label=label, confidence=round(confidence, 3), reasons=reasons)
