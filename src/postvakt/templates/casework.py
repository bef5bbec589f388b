"""The letters of a case: their values, rendering, file name and the short draft text.

Rendering only: the registry stores the result (:mod:`postvakt.registry.drafts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from postvakt.clock import STOCKHOLM
from postvakt.config import Config
from postvakt.registry.models import Case
from postvakt.templates import LETTERS, Letter, LetterRenderer
from postvakt.templates.language import (
    KIND_PHRASES,
    english_date,
    is_address,
    letter_kind,
    mail_text,
    title,
)
from postvakt.wording import MONTHS_SV

__all__ = ["PROMISES", "CaseLetters", "RenderedLetter", "care_subject", "promised", "swedish_date"]

_MONTHS = MONTHS_SV


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
    """The subject of a letter in a case about someone's own care: none of the citizen's words,
    in the language the letter is in."""
    if case.language == "en":
        return f"Your case {case.label}"
    return f"Ditt ärende {case.label}"


@dataclass(frozen=True)
class RenderedLetter:
    name: str
    title: str
    filename: str
    data: bytes
    text: str
    """The short body of the e-mail that carries the letter."""


def language_of(case: Case, letter: Letter) -> str:
    """The language ``letter`` is written in for ``case``: the citizen's when it is shipped
    in it (their letters), else Swedish."""
    language = case.language or "sv"
    return language if language in letter.languages else "sv"


def _dates_in(language: str, context: dict[str, Any]) -> dict[str, Any]:
    """``context`` with the dates a caller wrote in Swedish written in ``language``."""
    if language != "en":
        return context
    out = dict(context)
    for key in ("date", "received_date", "answer_due"):
        value = out.get(key)
        day = value if isinstance(value, date) else _read_swedish_date(str(value or "").strip())
        if day is not None:
            out[key] = english_date(day)
    return out


def _once(context: dict[str, Any]) -> dict[str, Any]:
    """No address written twice: a name that is only an address gives way to the address
    printed beside it, and a contact that is the receiver itself is not repeated."""
    out = dict(context)
    email = str(out.get("handler_email") or "").strip().lower()
    for key in ("handler_name", "reviewer_name"):
        name = str(out.get(key) or "")
        if is_address(name) or (email and name.strip().lower() == email):
            out[key] = ""
    reply = str(out.get("reply_to") or "").strip().lower()
    if reply and (is_address(out.get("reply_name")) or str(out.get("reply_name")).lower() == reply):
        out["reply_name"] = ""
    contact = str(out.get("to_contact") or "").strip().lower()
    if contact and contact == str(out.get("to_unit") or "").strip().lower():
        out["to_contact"] = ""
    sender = str(out.get("sender") or "")
    name, _, rest = sender.partition(" <")
    if rest and name.strip().lower() == rest.rstrip(">").strip().lower():
        out["sender"] = rest.rstrip(">").strip()
    return out


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
        """What a citizen's letter says of them and their case, in the language they wrote in
        (the heading in English is their own subject, without the diary's Swedish prefix)."""
        english = case.language == "en"
        kind = letter_kind(case)
        received = case.received_at.astimezone(STOCKHOLM).date()
        name = case.sender_name if not is_address(case.sender_name) else None
        return {
            "recipient_name": name or case.sender_address or "",
            "kind_phrase": KIND_PHRASES["en" if english else "sv"][kind],
            "received_date": english_date(received) if english else swedish_date(received),
            "heading": case.summary if english else case.heading,
            "letter_kind": kind,
        }

    def render(
        self, name: str, case: Case, now: datetime, *, handler: str | None = None, **values: Any
    ) -> RenderedLetter:
        letter = LETTERS[name]
        language = language_of(case, letter)
        context = {**self.common(case, now, handler=handler), **values}
        context.setdefault("letter_kind", letter_kind(case))
        if name in PROMISES:
            today = now.astimezone(STOCKHOLM).date()
            context["answer_due"] = promised(values.get("answer_due"), today)
        elif isinstance(context.get("answer_due"), date):
            context["answer_due"] = swedish_date(context["answer_due"])
        context = _once(_dates_in(language, context))
        data = self.renderer.render(
            name, {key: context.get(key) for key in letter.variables}, language
        )
        called = title(name, letter.title, language)
        filename = f"{called} {case.label.replace('/', '-')}.docx"
        return RenderedLetter(name, called, filename, data, self._text(name, case, context))

    def draft_text(self, name: str, case: Case, now: datetime) -> str:
        """The e-mail text that carries a letter of kind ``name`` (e.g. one written by hand)."""
        language = language_of(case, LETTERS[name])
        return self._text(name, case, _once(_dates_in(language, self.common(case, now))))

    def _text(self, name: str, case: Case, context: dict[str, Any]) -> str:
        letter = LETTERS[name]
        language = language_of(case, letter)
        return mail_text(
            name,
            case,
            context,
            language=language,
            title=title(name, letter.title, language),
            neuter=letter.neuter,
            promises=name in PROMISES,
        )
