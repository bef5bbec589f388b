"""What a citizen's letters should be like, read from their own words: the language they
wrote in (English gets English letters) and whether an opinion is praise (thanked, never
promised that anything will be put right).

Deciding only: the intake records it on the case (:mod:`postvakt.intake.letters`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from postvakt.classifier.features import Doc, extract
from postvakt.classifier.lexicon import word_list
from postvakt.classifier.text import CitizenText

__all__ = ["LetterHints", "letter_hints"]

THANKS = frozenset(
    word_list(
        "tack tacka tackar tackade tacksam tacksamma beröm berömma berömmer eloge kudos thank "
        "thanks thankful grateful compliment compliments"
    )
)
"""Words that thank or praise outright."""
WISHING = frozenset(
    word_list(
        "skulle borde kunde förslag önskemål önskar vision would should could suggest "
        "suggestion request"
    )
)
"""Words of a wish or proposal ("en bänk skulle göra stor skillnad"): no longer only praise."""
PRAISE_FORMS = frozenset({"beröm", "tack", "praise", "compliment", "positiv återkoppling"})
"""A web form's case types that say the message is praise."""


@dataclass(frozen=True)
class LetterHints:
    language: str
    """'sv' or 'en' (the classifier's reading of the words)."""
    praise: bool
    """Thanks and praise with no shortcoming, proposal or question in it."""


def letter_hints(citizen: CitizenText, doc: Doc | None = None) -> LetterHints:
    """The language of ``citizen``'s words and whether they are praise.

    Praise: the words (or the web form's case type) thank, or they praise twice, and hold no
    shortcoming (a negated praising word counts as one: "inte nöjd"), no proposal and no
    question.  When in doubt it is an opinion: its letter promises nothing to put right
    either.
    """
    if doc is None:  # ``doc``: ``citizen``'s terms when the caller has them already
        doc = extract(citizen, chars=False)
    cues = Counter(t for t in doc.words if t in ("+beröm", "!brist", "+förslag"))
    form = (citizen.form_type or "").strip().lower()
    # A web form's "Beröm" counts as thanks, not as proof: people pick the wrong type.
    thanks = form in PRAISE_FORMS or any(t in THANKS for t in doc.tokens)
    praise = (
        (thanks or cues["+beröm"] >= 2)
        and not cues["!brist"]
        and not cues["+förslag"]
        and not any(t in WISHING for t in doc.tokens)
        and "?" not in citizen.body
    )
    return LetterHints(doc.lang, praise)
