"""What the writer's own words say their message is, where a model reading the words as
evidence goes astray.

**Praise that means the opposite** (:func:`ironic_praise`): "Tack för ingenting", "Riktigt
bra jobbat, verkligen" after the bus did not come.  The issue's own form of a complaint
("understatement or irony").  A model that learnt praise words as the mark of an opinion
reads such a message as one; the routines call it a complaint (dissatisfaction with how the
organisation handled something).  Two kinds:

- **Unmistakable** (:data:`_SURE`): phrases nobody writes in earnest ("tack för ingenting",
  "det är ju bara vi skattebetalare", "thanks for nothing", "maybe next year then?").
- **Praise that is ironic beside a shortcoming** (:data:`_BESIDE`): "Vilken service!",
  "Snyggt jobbat", "Bra jobbat, verkligen" are written in earnest too; they count only in
  a text that also names something that went wrong (the features' shortcoming, delay,
  repetition or duration cues).

**A view or a proposal, said to be one** (:func:`states_a_view`): "Jag vill lämna en
synpunkt", "Det vore bra om …", "Jag skulle vilja se fler …", "I wish the municipality …".
A short suggestion reads much like a question; the writer's own words say it is a view
(a synpunkt), which the routines register.

Each function only finds the words; the classifier decides what they change (see
``Classifier.classify``).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from postvakt.classifier.gate import gated

__all__ = ["SHORTCOMING_CUES", "ironic_praise", "states_a_view"]

_SURE = gated(
    r"\btack\s+för\s+ingenting\b|\bthanks\s+for\s+nothing\b|"
    r"\bfortsätt\s+så,?\s+det\s+går\s+ju\s+så\s+bra\b|\bit\s+is\s+going\s+so\s+well\b|"
    r"\b(?:är\s+det|det\s+är\s+väl)\s+för\s+mycket\s+begärt\b|"
    r"\b(?:is\s+that|is\s+it|i\s+suppose\s+that['’]s|i\s+guess\s+that['’]s)\s+too\s+much\s+to\s+ask\b|"
    r"\bkanske\s+nästa\s+år\s+då\b|\bmaybe\s+next\s+year\s+then\b|"
    r"\bdet\s+är\s+ju\s+bara\s+vi\s+skattebetalare\b|"
    r"\bdet\s+är\s+väl\s+bara\s+att\s+vänta\s+(?:några|ett\s+par|ytterligare)\b|"
    r"\bkul\s+att\s+se\s+att\s+allt\s+fungerar\s+som\s+vanligt\b|"
    r"\bman\s+blir\s+ju\s+så\s+glad\s+av\s+er\s+service\b|"
    r"\blysande\s+\w+\s+som\s+vanligt\b|\bbrilliant\s+\w+\s+as\s+always\b|"
    r"\bwell\s+done,?\s+once\s+again\b|\bgreat\s+job,?\s+really\b",
    re.IGNORECASE,
)
_BESIDE = gated(
    r"\b(?:riktigt\s+)?bra\s+jobbat,?\s+(?:verkligen|igen|som\s+vanligt)\b|"
    r"\btoppen,?\s+verkligen\s+toppen\b|\bsnyggt\s+jobbat\b|"
    r"\bvilken\s+(?:fantastisk\s+|underbar\s+|utmärkt\s+)?service\b|"
    r"\btack\s+(?:så\s+mycket\s+)?för\s+den\s+(?:underbara|fantastiska|utmärkta|suveräna)\s+servicen\b|"
    r"\b(?:thanks|thank\s+you)\s+(?:so\s+much\s+)?for\s+the\s+(?:wonderful|great|excellent|"
    r"fantastic)\s+service\b|"
    r"\bännu\s+en\s+fin\s+dag\b|\banother\s+(?:great|fine|wonderful|lovely)\s+day\b|"
    r"\bgrattis\b[^.!?\n]{0,40}\blyckats\b|\bvad\s+skulle\s+vi\s+göra\s+utan\s+er\b|"
    r"\bgreat\s+\w+\s+as\s+always\b|\bwell\s+done,?\s+again\b",
    re.IGNORECASE,
)

SHORTCOMING_CUES = frozenset({"!brist", "!dröjsmål", "!upprepning", "!varaktighet"})
"""The features' cues (:func:`postvakt.classifier.features.extract`) that name something
gone wrong: beside them, praise in :data:`_BESIDE` is ironic."""


def ironic_praise(text: str, cues: Collection[str]) -> str | None:
    """The words of ``text`` (the citizen's own) that praise ironically, or None; ``cues``:
    the features' words of the same text (for :data:`SHORTCOMING_CUES`)."""
    found = _SURE.search(text)
    if found is None and not SHORTCOMING_CUES.isdisjoint(cues):
        found = _BESIDE.search(text)
    return " ".join(found.group().split()) if found is not None else None


_VIEW = gated(
    # Not "om jag vill lämna synpunkter" (how to), not an invitation's "vi skulle gärna vilja
    # att ni kommer": the writer gives the view here.
    r"(?<!om )(?<!ifall )(?<!hur )\b(?:jag|vi)\s+vill\s+(?:gärna\s+)?(?:lämna|ge|framföra|skicka\s+in)\s+"
    r"(?:en\s+|ett\s+|mina\s+|några\s+|lite\s+)?(?:synpunkt\w*|förslag|medborgarförslag|beröm|tips)\b|"
    r"\b(?:jag|vi)\s+(?:anser|tycker)\s+(?:inte\s+)?att\s+(?:kommunen|ni|man)\s+"
    r"(?:borde|bör|ska|skulle|måste)\b|"
    r"\b(?:jag|vi)\s+anser\s+att\s+(?:\w+\s+){1,6}?(?:borde|bör|ska|skulle)\b|"
    r"\b(?:jag|vi)\s+skulle\s+(?:vilja|gärna\s+vilja|önska)\s+se\s+(?:fler|mer|färre|mindre|bättre)\b|"
    r"\bdet\s+(?:vore|skulle\s+vara)\s+(?:bra|fint|toppen|jättebra|bättre)\s+om\b|"
    r"\bvarför\s+inte\s+(?:låta|införa|satsa\s+på|bygga|sätta\s+upp|ordna|öppna)\b|"
    r"\bkanske\s+kan\s+(?:kommunen|ni|man)\b|"
    r"\b(?:jag|vi)\s+är\s+emot\s+att\b|"
    r"\bi\s+wish\s+(?:the\s+municipality|the\s+council)\b|"
    r"\bit\s+would\s+be\s+(?:great|good|nice|better|helpful)\s+if\s+(?:the\s+municipality|the\s+council|you)\b|"
    r"\bwhy\s+not\s+(?:let|introduce|build|put\s+up|open)\b|"
    r"\bi\s+(?:think|believe)\s+(?:that\s+)?(?:the\s+municipality|the\s+council)\s+should\b|"
    r"\b(?:my|our)\s+suggestion\s+(?:is|would\s+be)\b|"
    r"\bi\s+(?:would\s+like\s+to|want\s+to)\s+(?:suggest|propose)\b|"
    r"\bi\s+am\s+(?:against|opposed\s+to)\b",
    re.IGNORECASE,
)


def states_a_view(text: str) -> str | None:
    """The words with which ``text`` (the citizen's own) gives a view or a proposal, or
    None."""
    found = _VIEW.search(text)
    return " ".join(found.group().split()) if found is not None else None
