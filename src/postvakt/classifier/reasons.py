"""Why a verdict came out as it did, in words a registrar understands.

The model is linear, so every term's share of the decision is exact: its TF-IDF value times
how much more its coefficient favours the chosen label than the others.  Word terms are
traced back to the words of the message (``inte plogat``, ``oacceptabelt``); character
n-grams are credited to the words they came from.  The phrases that weighed most come first,
then the tone (exclamation marks, capitals …), the uncertainty, and the flags.  Nothing here
ever quotes a personnummer: the features never see one, and every reason is masked again.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

import numpy as np

from postvakt.classifier.features import Doc
from postvakt.classifier.lexicon import CUE_NAMES, word_list
from postvakt.classifier.text import CitizenText
from postvakt.classifier.verdict import Label
from postvakt.privacy import mask_personnummer
from postvakt.wording import listed

if TYPE_CHECKING:
    from postvakt.classifier.linear import Block, LinearModel, Vector

__all__ = ["explain", "top_phrases"]

LABEL_REASON = {
    Label.COMPLAINT: "klagomål",
    Label.OPINION: "synpunkt",
    Label.OTHER: "annat ärende (fråga, ansökan, tack …), inte klagomål eller synpunkt",
}
_NAMES = {Label.COMPLAINT: "klagomål", Label.OPINION: "synpunkt", Label.OTHER: "annat"}
_ORDER = (Label.COMPLAINT, Label.OPINION, Label.OTHER)

# Words that say nothing on their own to a reader, and the placeholders of masked data.
# (They still count in the phrases they are part of: ”inte plogat”, ”ingen har svarat”.)
_QUIET = frozenset(
    word_list(
        "jag du han hon vi ni de den det att och i på en ett som för med till av är var har "
        "hade min mitt mina er ert era sin sitt sina om så men eller nu då här där hej mvh kan "
        "ska sedan fick får gång gånger utan efter också bara redan från inte ej vår våra vårt "
        "skulle kommer blev varit finns sig dig mig oss hos vid ut upp the a an and to of in on "
        "is are was i you we it this that for with be my your at not no has have had been were "
        "our us me from by pnr telefonnummer epostadress webbadress"
    )
)
PHRASES = 3
CUES = 2


def _shares(block: Block, vec: Vector, k: int) -> np.ndarray:
    """Each term's push towards label ``k`` against the mean of the others."""
    return vec.values * block.contrast[vec.idx, k]


def _quiet(phrase: str) -> bool:
    words = [w for w in phrase.replace("…", " ").split() if w]
    return not words or all(w in _QUIET or w.isdigit() or len(w) < 2 for w in words)


def _token_shares(vec: Vector, k: int, limit: int) -> dict[str, float]:
    """Character n-gram shares credited to the words they came from (see ``token_weight``)."""
    if not vec.words or vec.word_uses is None or vec.word_weights is None:
        return {}
    shares = vec.word_uses * vec.word_weights[:, k] / vec.norm
    top = np.argsort(-shares, kind="stable")[:limit]
    return {vec.words[i]: float(shares[i]) for i in top.tolist() if shares[i] > 0}


def top_phrases(
    model: LinearModel,
    doc: Doc,
    k: int,
    wvec: Vector,
    cvec: Vector,
    limit: int = PHRASES,
) -> tuple[list[str], list[str]]:
    """(phrases, cue terms) that pushed hardest towards label number ``k``."""
    phrase_score: dict[str, float] = {}
    cue_score: dict[str, float] = {}
    terms = model.terms_by_col
    if len(wvec.idx):
        shares = _shares(model.words, wvec, k)
        top = np.argsort(-shares, kind="stable")[: 6 * limit]
        top = top[shares[top] > 0]
        for col, share in zip(wvec.idx[top].tolist(), shares[top].tolist(), strict=True):
            term = terms[col]
            if term[0] in "!?#+":
                cue_score[term] = share
                continue
            surface = doc.surface.get(term)
            if surface:
                phrase_score[surface] = phrase_score.get(surface, 0.0) + share
    for token, share in _token_shares(cvec, k, 4 * limit).items():
        phrase_score[token] = phrase_score.get(token, 0.0) + share
    chosen: list[str] = []
    best = heapq.nsmallest(
        4 * limit + 8, phrase_score.items(), key=lambda item: (-item[1], item[0])
    )
    for phrase, score in best:
        if score <= 0 or len(chosen) >= limit:
            break
        if _quiet(phrase):
            continue
        words = set(phrase.split())
        if any(words & set(c.split()) for c in chosen):
            continue
        chosen.append(phrase)
    cues = [
        term
        for term, score in sorted(cue_score.items(), key=lambda item: (-item[1], item[0]))
        if score > 0.01
    ]
    return chosen, cues[:CUES]


def _quote_list(phrases: list[str]) -> str:
    return listed([f"”{p}”" for p in phrases])


def _cue_text(term: str, citizen: CitizenText, doc: Doc) -> str:
    if term.startswith("#ärendetyp_"):
        return (
            f"webbformulärets ärendetyp ”{citizen.form_type or term.removeprefix('#ärendetyp_')}”"
        )
    name = CUE_NAMES.get(term, term)
    words = doc.surface.get(term)
    if words:
        return f"{name} ({', '.join(f'”{w}”' for w in words.split('|'))})"
    return name


def explain(
    model: LinearModel,
    doc: Doc,
    citizen: CitizenText,
    *,
    label: Label,
    probs: np.ndarray,
    wvec: Vector,
    cvec: Vector,
    needs_review: bool,
    followup: bool,
    followup_phrase: str | None,
    anonymous: bool,
    personal_data: bool,
) -> tuple[str, ...]:
    k = _ORDER.index(label)
    phrases, cues = top_phrases(model, doc, k, wvec, cvec)
    reasons: list[str] = []
    if phrases:
        word = "orden" if len(phrases) > 1 else "ordet"
        reasons.append(f"{word} {_quote_list(phrases)} talar för {LABEL_REASON[label]}")
    elif not citizen.text.strip():
        reasons.append("meddelandet har ingen text att bedöma")
    else:
        reasons.append(f"inga enskilda ord väger tungt; helheten talar för {LABEL_REASON[label]}")
    if needs_review:
        ranked = sorted(range(len(_ORDER)), key=lambda i: -probs[i])[:2]
        shares = ", ".join(f"{round(100 * float(probs[i]))} % {_NAMES[_ORDER[i]]}" for i in ranked)
        reasons.append(f"osäker bedömning ({shares}): en person ska bekräfta")
    if followup:
        said = f" (”{followup_phrase}”)" if followup_phrase else ""
        reasons.append(
            f"svar i en ärendetråd: inte nöjd med svaret eller åtgärderna{said} – "
            "närmaste chef gör en ny prövning"
        )
    if cues:
        reasons.append("i texten: " + "; ".join(_cue_text(c, citizen, doc) for c in cues))
    if citizen.forwarded:
        reasons.append("vidarebefordrat av personal: bara medborgarens meddelande är bedömt")
    if anonymous:
        reasons.append("anonymt: inget sätt att nå avsändaren")
    if personal_data:
        reasons.append("innehåller personnummer – maskeras i loggar och sammanfattningar")
    return tuple(mask_personnummer(r) for r in reasons)
