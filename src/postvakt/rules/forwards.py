"""Hand-overs that wait for feedback, and who is told what about them.

Timrå's policy: a complaint handed over to another administration "kräver en återkoppling
till den som mottagit klagomålet".  A hand-over is the case's ``forwarded`` event, its actor
the forwarder.  The loop closes with the first of these after it: the receiver answers or
closes the case in Postvakt (a unit of the organisation), ``cases feedback`` records what an
outside receiver reported, the case is handed on again, or it is withdrawn.  While it is
open the forwarder is reminded every :data:`FEEDBACK_WORKING_DAYS` working days.

Deciding only: the reminder job (:mod:`postvakt.rules.jobs`) and the telling of forwarders
(:mod:`postvakt.casework_forward`) act on what these functions return.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from postvakt.clock import STOCKHOLM
from postvakt.registry.models import Case, CaseEvent, CaseStatus, EventKind
from postvakt.rules.calendar import WorkingCalendar
from postvakt.rules.notify import Planned, swedish_day

__all__ = [
    "FEEDBACK_WORKING_DAYS",
    "LOOP_CLOSING",
    "feedback_reminders",
    "forwarders_before",
    "open_forwards",
]

FEEDBACK_WORKING_DAYS = 5
"""Working days without feedback before the forwarder is reminded (and between reminders)."""

LOOP_CLOSING = frozenset(
    {
        EventKind.ANSWERED,
        EventKind.CLOSED,
        EventKind.FEEDBACK,
        EventKind.FORWARDED,
        EventKind.WITHDRAWN,
    }
)
"""Events that are feedback on every hand-over before them."""


def _is_person(address: str) -> bool:
    return "@" in address  # not "postvakt" or "okänd": nobody to tell


def open_forwards(case: Case) -> list[CaseEvent]:
    """The case's hand-overs that have had no feedback yet (oldest first)."""
    waiting: list[CaseEvent] = []
    for event in case.events:
        if event.kind in LOOP_CLOSING:
            waiting = []
        if event.kind is EventKind.FORWARDED and _is_person(event.actor):
            waiting.append(event)
    return waiting


def forwarders_before(case: Case, event: CaseEvent) -> list[str]:
    """Everyone who handed the case over before ``event`` (stored events only), except the
    one who made ``event``: they know."""
    earlier = [
        e.actor
        for e in case.events
        if e is not event
        and e.id is not None
        and e.kind is EventKind.FORWARDED
        and _is_person(e.actor)
    ]
    return [a for a in dict.fromkeys(earlier) if a != event.actor]


def feedback_reminders(
    session: Session, today: date, calendar: WorkingCalendar, *, after: int = FEEDBACK_WORKING_DAYS
) -> list[Planned]:
    """A reminder to each forwarder whose hand-over has had no feedback for ``after`` working
    days, and again every ``after`` working days until it has (each told once: the day of a
    reminder is the day it became due)."""
    cases = session.scalars(
        select(Case)
        .options(selectinload(Case.events))
        .where(
            Case.status.not_in((CaseStatus.CLOSED, CaseStatus.WITHDRAWN)),
            Case.id.in_(select(CaseEvent.case_id).where(CaseEvent.kind == EventKind.FORWARDED)),
        )
        .order_by(Case.id)
    )
    planned = []
    for case in cases:
        for forward in open_forwards(case):
            start = forward.at.astimezone(STOCKHOLM).date()
            passed = calendar.working_days_between(start, today)
            if passed < after:
                continue
            due = calendar.add_working_days(start, passed // after * after)
            line = (
                f"{case.label} {case.heading}: {forward.detail.rstrip('.')} den "
                f"{swedish_day(start)} och ingen återkoppling har kommit på {passed} arbetsdagar. "
                f"Hör med mottagaren och anteckna svaret med 'postvakt cases feedback "
                f"{case.label} --text … --by {forward.actor}'."
            )
            planned.append(
                Planned(
                    forward.actor,
                    "forward_reminder",
                    f"{case.reference}:{forward.id}",
                    due,
                    line,
                    private=case.private,
                    page=f"/arenden/{case.id}",
                )
            )
    return planned
