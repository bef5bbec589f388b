"""Internal notes on a case: what colleagues write to each other about it.

A note is a case event of kind :attr:`~postvakt.registry.models.EventKind.NOTE` whose text
starts with :data:`INTERNAL` — Postvakt's own notes (a late registration, a diary number, the
citizen wrote again) are notes too, without the mark.  Internal notes are for the people who
work the case: no letter to the citizen is built from the events, the diary outbox sends no
note, and the case page and ``postvakt cases show`` mark them as internal with who and when.

Who may write one: whoever may act on the case or correct it (:mod:`postvakt.roles`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from postvakt.config import Config
from postvakt.errors import InvalidInputError, PermissionDeniedError
from postvakt.registry.cases import add_event, find_case
from postvakt.registry.db import database_errors
from postvakt.registry.models import Case, CaseEvent, EventKind
from postvakt.roles import User, can_act_on_case, can_correct_case, user_for

__all__ = ["INTERNAL", "NOTE_LIMIT", "Noted", "is_internal", "may_note", "note_text", "write_note"]

INTERNAL = "Intern anteckning: "
"""The mark an internal note's text starts with (the events have no column for it)."""
NOTE_LIMIT = 4000
"""The longest note, in characters."""
NOTERS_SV = (
    "handläggaren, enhetens handläggare, brevlådans ansvariga, enhetens chef, registratorn "
    "och administratörer"
)


@dataclass(frozen=True)
class Noted:
    case: str
    """The case's label (the number people quote)."""
    text: str
    at: datetime


def is_internal(event: CaseEvent) -> bool:
    """Whether ``event`` is a note a person wrote for colleagues."""
    return event.kind is EventKind.NOTE and (event.detail or "").startswith(INTERNAL)


def note_text(event: CaseEvent) -> str:
    """The note as its writer wrote it (without the mark)."""
    return (event.detail or "").removeprefix(INTERNAL)


def may_note(user: User, case: Case) -> bool:
    """Whoever may act on the case or correct it may write a note on it."""
    return can_act_on_case(user, case) or can_correct_case(user, case)


def write_note(
    config: Config,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    reference: str,
    *,
    text: str,
    by: str,
) -> Noted:
    """Write an internal note on case ``reference`` by ``by``.

    Raises :class:`PermissionDeniedError` (in Swedish) when ``by`` may not, and
    :class:`InvalidInputError` for an empty or too long text.
    """
    text = text.strip()
    if not text:
        raise InvalidInputError("Anteckningen är tom; skriv vad kollegorna ska veta.")
    if len(text) > NOTE_LIMIT:
        raise InvalidInputError(
            f"Anteckningen är {len(text)} tecken lång; den får vara högst {NOTE_LIMIT} tecken."
        )
    user = user_for(config, by)
    if user is None:
        raise PermissionDeniedError(
            f"{by} finns inte i konfigurationen som person, ägare, chef, registrator eller "
            "administratör och får inte anteckna i ärenden."
        )
    now = clock()
    with sessions() as session, database_errors(), session.begin():
        case = find_case(session, reference)
        if not may_note(user, case):
            raise PermissionDeniedError(
                f"{user.address} får inte anteckna i ärende {case.label}: det får bara {NOTERS_SV}."
            )
        add_event(session, case, EventKind.NOTE, actor=user.address, at=now, detail=INTERNAL + text)
        return Noted(case.label, text, now)
