"""Who reviews a case anew when the citizen is not satisfied, and where their letter is drafted.

The routines say the *nearest* manager makes the new review: the head of the handler's own
unit; when the handler is that head, the head of the unit above.  A person may name another
reviewer for a case (``cases reopen … --reviewer``, the case page); the choice and its reason
go in the case's events.

The notice of new review is drafted in the reviewer's own mailbox — their personal mailbox
when one is watched ([[mailboxes]] with ``kind = "personal"``), else the function mailbox of
the unit they review for — and signed by them, so that it goes out from the person who now
answers for the case.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.config import Config
from postvakt.registry.models import Case, EventKind, Mailbox, Unit

__all__ = ["Reviewer", "chosen_reviewer", "nearest_manager", "reviewer_mailbox"]


@dataclass(frozen=True)
class Reviewer:
    address: str
    unit: Unit | None
    """The unit the reviewer answers for (whose head they are, or where they work)."""
    why: str
    """In Swedish, for the case's events: why this person reviews."""


def _unit_named(session: Session, name: str | None) -> Unit | None:
    if not name:
        return None
    return session.scalars(select(Unit).where(Unit.name == name)).one_or_none()


def _headed_by(session: Session, address: str, case: Case) -> Unit | None:
    """The unit ``address`` is the head of; the case's own unit when they head several."""
    units = list(session.scalars(select(Unit).where(Unit.head == address).order_by(Unit.id)))
    if case.unit is not None and case.unit in units:
        return case.unit
    return units[0] if units else None


def _own_unit(session: Session, config: Config, address: str, case: Case) -> Unit | None:
    """The unit a person belongs to: the one they head, else theirs in [[people]], else the
    case's unit."""
    headed = _headed_by(session, address, case)
    if headed is not None:
        return headed
    person = config.person(address)
    return _unit_named(session, person.unit if person else None) or case.unit


def _who_answered(case: Case) -> str:
    """The person whose answer the citizen is not satisfied with: who gave the latest answer,
    else the case's handler ("" when neither is a person)."""
    answers = [e.actor for e in case.events if e.kind is EventKind.ANSWERED and "@" in e.actor]
    handler = (answers[-1] if answers else case.handler or "").lower()
    return handler if "@" in handler else ""  # "postvakt", "okänd": no person to place


def nearest_manager(session: Session, config: Config, case: Case) -> Reviewer | None:
    """The head of the handler's own unit; the head of the unit above when the handler is
    that head.  The handler is whoever gave the answer the citizen is not satisfied with (a
    head may answer a case of their unit), else the case's handler; without either, the
    head of the case's unit reviews.  None when there is no unit."""
    handler = _who_answered(case)
    unit = _own_unit(session, config, handler, case) if handler else case.unit
    if unit is None:
        return None
    if unit.head != handler:
        who = f"handläggaren {handler}" if handler else "ärendet"
        return Reviewer(
            unit.head, unit, f"närmaste chef: enhetschef för {unit.name}, där {who} hör hemma"
        )
    if unit.parent is not None:
        return Reviewer(
            unit.parent.head,
            unit.parent,
            f"närmaste chef: handläggaren är själv enhetschef för {unit.name}, så chefen för "
            f"{unit.parent.name} prövar",
        )
    # The top of the organisation has nobody above it: the head reviews their own answer,
    # and the event says so, so that someone may name another reviewer.
    return Reviewer(
        unit.head,
        unit,
        f"handläggaren är chef för {unit.name} och det finns ingen enhet ovanför; ange en annan "
        "granskare med --reviewer om någon annan ska pröva",
    )


def chosen_reviewer(
    session: Session, config: Config, case: Case, address: str, by: str
) -> Reviewer:
    """A reviewer named by a person for this case."""
    address = address.strip().lower()
    return Reviewer(
        address, _own_unit(session, config, address, case), f"utsedd av {by} för det här ärendet"
    )


def reviewer_mailbox(session: Session, reviewer: Reviewer) -> Mailbox | None:
    """Where the reviewer's letter is drafted: their personal mailbox, else the function
    mailbox of the unit they review for (None: neither is watched)."""
    personal = session.scalars(
        select(Mailbox).where(
            Mailbox.address == reviewer.address, Mailbox.kind == "personal", Mailbox.active
        )
    ).first()
    if personal is not None or reviewer.unit is None:
        return personal
    return session.scalars(
        select(Mailbox)
        .where(Mailbox.unit_id == reviewer.unit.id, Mailbox.kind == "function", Mailbox.active)
        .order_by(Mailbox.id)
    ).first()
