"""A case's way through its states; every transition writes an event with who, when and what.

    registered ──(acknowledgment sent)──> acknowledged
    registered | acknowledged | reopened | waiting ──answer──> answered ──close──> closed
    answered | closed ──reopen (not satisfied)──> reopened: the nearest manager reviews anew
    registered | acknowledged | reopened | waiting ──forward──> another unit (goes on there)
                                                            or forwarded (another administration)
    registered | acknowledged | reopened | answered ──wait──> waiting ──(citizen writes)──> on

Transitions a state does not allow are refused with :class:`InvalidTransitionError`, whose
message says what to do instead.  Writing only: letters are drafted by the caller.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from postvakt.clock import STOCKHOLM
from postvakt.errors import InvalidTransitionError
from postvakt.registry.cases import add_event
from postvakt.registry.models import Case, CaseStatus, EventKind, Unit
from postvakt.rules.calendar import WorkingCalendar

__all__ = [
    "ALLOWED",
    "attach_followup",
    "check_transition",
    "close",
    "forward",
    "record_answer",
    "reopen",
    "resume_after_citizen",
    "wait_for_citizen",
]

_STATUS_SV = {
    CaseStatus.REGISTERED: "registrerat",
    CaseStatus.ACKNOWLEDGED: "bekräftat",
    CaseStatus.ANSWERED: "besvarat",
    CaseStatus.WAITING: "väntar på medborgaren",
    CaseStatus.FORWARDED: "överlämnat",
    CaseStatus.REOPENED: "ny prövning",
    CaseStatus.CLOSED: "avslutat",
    CaseStatus.WITHDRAWN: "makulerat",
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
            f"Ärendet {case.label} är {_STATUS_SV[case.status]} och kan inte vänta på medborgaren."
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


# --------------------------------------------------------------------------- transitions by hand

ALLOWED: dict[str, frozenset[CaseStatus]] = {
    "answer": frozenset(
        {CaseStatus.REGISTERED, CaseStatus.ACKNOWLEDGED, CaseStatus.REOPENED, CaseStatus.WAITING}
    ),
    "close": frozenset({CaseStatus.ANSWERED, CaseStatus.FORWARDED}),
    "reopen": frozenset({CaseStatus.ANSWERED, CaseStatus.CLOSED}),
    "forward": frozenset(
        {CaseStatus.REGISTERED, CaseStatus.ACKNOWLEDGED, CaseStatus.REOPENED, CaseStatus.WAITING}
    ),
}
_ADVICE = {
    "answer": "Ett avslutat ärende öppnas med 'postvakt cases reopen'.",
    "close": "Svara först med 'postvakt cases answer' (ett anonymt ärende kan avslutas direkt).",
    "reopen": "Bara ett besvarat eller avslutat ärende kan prövas på nytt.",
    "forward": "Ett besvarat eller avslutat ärende lämnas inte över.",
}
_VERB = {
    "answer": "besvaras",
    "close": "avslutas",
    "reopen": "prövas på nytt",
    "forward": "lämnas över",
}


def check_transition(case: Case, action: str) -> None:
    """Refuse an action the case's state does not allow, saying what to do instead."""
    allowed = ALLOWED[action]
    if action == "close" and case.anonymous:
        allowed = allowed | {CaseStatus.REGISTERED, CaseStatus.ACKNOWLEDGED}  # nobody to answer
    if case.status not in allowed:
        raise InvalidTransitionError(
            f"Ärendet {case.label} är {_STATUS_SV[case.status]} och kan inte {_VERB[action]}. {_ADVICE[action]}"
        )


def record_answer(
    session: Session, case: Case, *, actor: str, at: datetime, text: str, document: str | None
) -> None:
    check_transition(case, "answer")
    case.status, case.waiting_since = CaseStatus.ANSWERED, None
    case.answer_text = text
    add_event(
        session,
        case,
        EventKind.ANSWERED,
        actor=actor,
        at=at,
        detail=f"Svar: {text}",  # whole: the yearly compilation lists every answer
        document=document,
    )


def close(session: Session, case: Case, *, actor: str, at: datetime, actions: str) -> None:
    check_transition(case, "close")
    case.status, case.closed_at = CaseStatus.CLOSED, at
    case.actions = "\n".join(a for a in (case.actions, actions) if a) or None
    add_event(
        session,
        case,
        EventKind.CLOSED,
        actor=actor,
        at=at,
        detail=f"Avslutat. Vidtagna åtgärder: {actions}",
    )


def reopen(
    session: Session,
    case: Case,
    *,
    actor: str,
    at: datetime,
    reviewer: str,
    answer_due: date | None,
    reason: str,
    why: str = "",
) -> None:
    """The citizen is not satisfied: a new review by ``reviewer`` (the nearest manager,
    :mod:`postvakt.reviewer`); ``why`` is the reason they were chosen, for the event."""
    check_transition(case, "reopen")
    previous = case.handler
    case.status, case.closed_at, case.handler, case.answer_due = (
        CaseStatus.REOPENED,
        None,
        reviewer,
        answer_due,
    )
    add_event(
        session,
        case,
        EventKind.REOPENED,
        actor=actor,
        at=at,
        detail=f"Ny prövning: medborgaren är inte nöjd. {reason}".strip(),
    )
    add_event(
        session,
        case,
        EventKind.ESCALATED,
        actor=actor,
        at=at,
        detail=f"Den nya prövningen görs av {reviewer} (tidigare handläggare {previous or '-'})"
        + (f"; {why}." if why else "."),
    )


def forward(
    session: Session,
    case: Case,
    *,
    actor: str,
    at: datetime,
    to_unit: Unit | None,
    to_external: str | None,
    new_handler: str | None,
    contact: str | None = None,
) -> str:
    """Hand the case over to another unit (it goes on there) or another administration (it
    leaves this organisation).  Returns who received it, for the feedback entry.

    The receiver's ``contact`` is kept in the event: mail from it may join the case."""
    check_transition(case, "forward")
    previous = case.handler
    if to_unit is not None:
        case.unit, case.handler = to_unit, new_handler or to_unit.head
        receiver = f"{to_unit.name} ({case.handler})"
    else:
        case.status, case.forwarded_to = CaseStatus.FORWARDED, to_external
        receiver = to_external or "okänd mottagare"
    add_event(
        session,
        case,
        EventKind.FORWARDED,
        actor=actor,
        at=at,
        detail=f"Överlämnat till {receiver}" + (f" (kontakt: {contact})." if contact else "."),
    )
    add_event(
        session,
        case,
        EventKind.NOTE,
        actor=actor,
        at=at,
        detail=f"Återkoppling till {previous or 'den som tog emot ärendet'}: ärendet har lämnats över till {receiver}.",
    )
    return receiver
