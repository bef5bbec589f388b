"""A case's way through its states; every transition writes an event.

This module holds the transitions the service rules need: waiting for the citizen (which
pauses the answer clock) and the citizen writing back (which starts it again with the
working days that were left).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from postvakt.clock import STOCKHOLM
from postvakt.errors import InvalidTransitionError
from postvakt.registry.cases import add_event
from postvakt.registry.models import Case, CaseStatus, EventKind
from postvakt.rules.calendar import WorkingCalendar

__all__ = ["attach_followup", "resume_after_citizen", "wait_for_citizen"]

_STATUS_SV = {
    CaseStatus.REGISTERED: "registrerat",
    CaseStatus.ACKNOWLEDGED: "bekräftat",
    CaseStatus.ANSWERED: "besvarat",
    CaseStatus.WAITING: "väntar på medborgaren",
    CaseStatus.FORWARDED: "överlämnat",
    CaseStatus.REOPENED: "ny prövning",
    CaseStatus.CLOSED: "avslutat",
}


def wait_for_citizen(
    session: Session, case: Case, *, actor: str, at: datetime, detail: str = ""
) -> None:
    """The case waits for the citizen (asked for more information): its answer clock pauses."""
    if case.status not in (
        CaseStatus.REGISTERED,
        CaseStatus.ACKNOWLEDGED,
        CaseStatus.REOPENED,
        CaseStatus.ANSWERED,
    ):
        raise InvalidTransitionError(
            f"Ärendet {case.reference} är {_STATUS_SV[case.status]} och kan inte vänta på medborgaren."
        )
    case.status = CaseStatus.WAITING
    case.waiting_since = at.astimezone(STOCKHOLM).date()
    add_event(
        session,
        case,
        EventKind.WAITING,
        actor=actor,
        at=at,
        detail=(detail + " " if detail else "")
        + "Svarstiden är pausad tills medborgaren hör av sig.",
    )


def resume_after_citizen(
    session: Session, case: Case, *, at: datetime, calendar: WorkingCalendar
) -> None:
    """The citizen wrote back: the answer clock runs again with the working days that were left."""
    if case.status is not CaseStatus.WAITING or case.waiting_since is None:
        return
    today = at.astimezone(STOCKHOLM).date()
    if case.answer_due is not None:
        left = max(calendar.working_days_between(case.waiting_since, case.answer_due), 1)
        case.answer_due = calendar.add_working_days(today, left)
    acknowledged = any(e.kind is EventKind.ACKNOWLEDGED for e in case.events)
    case.status = CaseStatus.ACKNOWLEDGED if acknowledged else CaseStatus.REGISTERED
    case.waiting_since = None
    due = f"; svar senast {case.answer_due.isoformat()}" if case.answer_due else ""
    add_event(
        session,
        case,
        EventKind.NOTE,
        actor="postvakt",
        at=at,
        detail=f"Medborgaren har svarat; svarstiden löper igen{due}.",
    )


def attach_followup(
    session: Session, case: Case, *, at: datetime, calendar: WorkingCalendar, subject: str
) -> None:
    """A new message from the citizen in the case's thread: noted, and a waiting case resumes."""
    add_event(
        session,
        case,
        EventKind.NOTE,
        actor="postvakt",
        at=at,
        detail=f"Nytt meddelande från avsändaren i ärendet: {subject[:120]}",
    )
    resume_after_citizen(session, case, at=at, calendar=calendar)
