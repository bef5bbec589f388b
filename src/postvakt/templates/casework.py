"""The letters of a case: their values, rendering, file name and the short draft text.

Rendering only: the registry stores the result (:mod:`postvakt.registry.drafts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from postvakt.clock import STOCKHOLM
from postvakt.config import Config
from postvakt.registry.models import Case, CaseKind
from postvakt.templates import LETTERS, LetterRenderer

__all__ = ["PROMISES", "CaseLetters", "RenderedLetter", "care_subject", "promised", "swedish_date"]

_MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
           "september", "oktober", "november", "december")  # fmt: skip


def swedish_date(day: date) -> str:
    """'27 november 2026' — how a Swedish letter writes a date."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


PROMISES = frozenset({"acknowledgment", "acknowledgment_care", "new_review"})
"""Letters that tell the citizen by when the answer comes (``answer_due``)."""
ASAP = "så snart som möjligt"
"""What such a letter says instead of a date that has passed (or is not known)."""


def _read_swedish_date(text: str) -> date | None:
    """The date :func:`swedish_date` wrote as ``text``, else None."""
    parts = text.split()
    if len(parts) != 3 or parts[1] not in _MONTHS or not (parts[0] + parts[2]).isdigit():
        return None
    try:
        return date(int(parts[2]), _MONTHS.index(parts[1]) + 1, int(parts[0]))
    except ValueError:
        return None


def promised(due: date | str | None, today: date) -> str:
    """The date a letter may promise an answer by: ``due`` in Swedish, or "" when it has
    passed or is unknown (the letter then says the answer comes as soon as possible).

    The one guard against promising a date already passed: every letter in
    :data:`PROMISES` goes through it (:meth:`CaseLetters.render`).  Callers give the date; a
    text written by :func:`swedish_date` is read back, so none escapes the rule.
    """
    if isinstance(due, str):
        day = _read_swedish_date(due.strip())
        if day is None:
            return due.strip()  # nothing to check: empty, or a caller's own words
    else:
        day = due
    if day is None:
        return ""
    return swedish_date(day) if day >= today else ""


def care_subject(case: Case) -> str:
    """The subject of a letter in a case about someone's own care: none of the citizen's words."""
    return f"Ditt ärende {case.label}"


@dataclass(frozen=True)
class RenderedLetter:
    name: str
    title: str
    filename: str
    data: bytes
    text: str
    """The short body of the e-mail that carries the letter."""


_SENTENCES = {
    "acknowledgment": "Tack för ditt meddelande. Vi har registrerat det med diarienummer {number}{due}.",
    "acknowledgment_care": "Tack för ditt meddelande. Vi har tagit emot det med nummer {number} "
    "och lämnat det vidare till den verksamhet som ansvarar{due}.",
    "answer": "Här kommer vårt svar i ärendet {number}.",
    "handover": "Vi har lämnat över ditt ärende {number} till {to_unit}, som hör av sig till dig.",
    "new_review": "Ditt ärende {number} prövas nu på nytt av närmaste chef{due}.",
}


class CaseLetters:
    """Fills and renders a case's letters with the organisation's, unit's and handler's details."""

    def __init__(self, config: Config, renderer: LetterRenderer):
        self.config = config
        self.renderer = renderer

    def common(self, case: Case, now: datetime, *, handler: str | None = None) -> dict[str, Any]:
        org = self.config.organisation
        handler_address = handler or case.handler or ""
        person = self.config.person(handler_address) if handler_address else None
        unit = case.unit.name if case.unit else ""
        mailbox = case.mailbox
        return {
            "organisation": org.name,
            "unit": unit,
            "date": swedish_date(now.astimezone(STOCKHOLM).date()),
            "number": case.label,
            "handler_name": person.name
            if person
            else (mailbox.name if mailbox and mailbox.name else unit or org.name),
            "handler_title": (person.title if person else None) or "",
            "handler_email": mailbox.address if mailbox else handler_address,
            "handler_phone": (person.phone if person else None) or org.phone or "",
        }

    def citizen(self, case: Case) -> dict[str, Any]:
        return {
            "recipient_name": case.sender_name or case.sender_address or "",
            "kind_phrase": "ditt klagomål"
            if case.kind is CaseKind.COMPLAINT
            else "dina synpunkter",
            "received_date": swedish_date(case.received_at.astimezone(STOCKHOLM).date()),
            "heading": case.heading,
        }

    def render(
        self, name: str, case: Case, now: datetime, *, handler: str | None = None, **values: Any
    ) -> RenderedLetter:
        letter = LETTERS[name]
        context = {**self.common(case, now, handler=handler), **values}
        if name in PROMISES:
            today = now.astimezone(STOCKHOLM).date()
            context["answer_due"] = promised(values.get("answer_due"), today)
        elif isinstance(context.get("answer_due"), date):
            context["answer_due"] = swedish_date(context["answer_due"])
        data = self.renderer.render(name, {key: context.get(key) for key in letter.variables})
        filename = f"{letter.title} {case.label.replace('/', '-')}.docx"
        return RenderedLetter(name, letter.title, filename, data, self._text(name, case, context))

    def draft_text(self, name: str, case: Case, now: datetime) -> str:
        """The e-mail text that carries a letter of kind ``name`` (e.g. one written by hand)."""
        return self._text(name, case, self.common(case, now))

    def _text(self, name: str, case: Case, context: dict[str, Any]) -> str:
        recipient = case.sender_name
        greeting = f"Hej {recipient}!" if recipient else "Hej!"
        due = context.get("answer_due")
        when = f"senast den {due}" if due else ASAP
        sentence = _SENTENCES.get(name, "").format(
            number=case.label,
            due=f" och du får svar {when}" if name in PROMISES else "",
            to_unit=context.get("to_unit", ""),
        )
        unit = context["unit"]
        return (
            f"{greeting}\n\n{sentence}\n{LETTERS[name].title} finns bifogad.\n\n"
            f"Med vänlig hälsning\n{context['handler_name']}\n{unit + ', ' if unit else ''}{context['organisation']}\n"
        )
