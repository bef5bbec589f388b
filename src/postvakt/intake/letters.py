"""The intake step that records what a citizen's letters should be like: the language they
wrote in and whether their opinion is praise (:mod:`postvakt.classifier.letter_hints`).

The case's ``language`` chooses the letters' templates (``templates/files/en/``); the flag
``praise`` in ``classifier_flags`` chooses the thanks instead of the promise to put things
right (:func:`postvakt.templates.language.letter_kind`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postvakt.classifier.letter_hints import letter_hints
from postvakt.classifier.text import citizen_text
from postvakt.registry.models import CaseKind, Disposition

if TYPE_CHECKING:
    from postvakt.intake import Intake
    from postvakt.intake.steps import Work

__all__ = ["letter_language"]


def letter_language(intake: Intake, work: Work) -> Disposition | None:
    """Record the language of the citizen's letters (None: Swedish) and whether an opinion
    is praise; before the acknowledgment is drafted."""
    case = work.case
    assert case is not None and work.verdict is not None
    msg = intake.citizen_message(work.msg, work.verdict)
    citizen = citizen_text(msg, intake.config.organisation.domains)
    read = work.verdict.letter
    # The classifier read the same words (the same text, when its domains are the
    # organisation's and the message is not a forward): its hints, not a second reading.
    hints = read[1] if read is not None and read[0] == citizen else letter_hints(citizen)
    case.language = "en" if hints.language == "en" else None
    flags = list(case.classifier_flags or [])
    if case.kind is CaseKind.OPINION and hints.praise and "praise" not in flags:
        case.classifier_flags = [*flags, "praise"]
    return None
