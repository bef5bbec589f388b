"""Where a case stands with each of its deadlines today: kept (when), running, due today, or
late by so many working days.

A complaint is to be acknowledged by ``ack_due``; every case answered by ``answer_due``.  Where
an acknowledgement counts as the answer (Örebro) the sent acknowledgement keeps the answer
rule and promises the final answer by a date, which becomes ``answer_due``: the case page
shows it as the promised date.  The clocks are those of :mod:`postvakt.rules.deadlines`: a
case waiting for the citizen has its answer clock paused; an anonymous or withdrawn case has
none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from postvakt.clock import STOCKHOLM
from postvakt.registry.models import Case, CaseEvent, CaseKind, CaseStatus, EventKind
from postvakt.rules.calendar import WorkingCalendar
from postvakt.templates.casework import swedish_date
from postvakt.wording import count

__all__ = ["DeadlineState", "case_deadlines", "state_words"]

State = Literal["kept", "on_time", "today", "late", "paused"]

_ACK_KEPT_BY = (EventKind.ACKNOWLEDGED, EventKind.ANSWERED, EventKind.FORWARDED, EventKind.CLOSED)
_ANSWER_KEPT_BY = (EventKind.ANSWERED, EventKind.FORWARDED, EventKind.CLOSED)
_RUNNING = (CaseStatus.REGISTERED, CaseStatus.ACKNOWLEDGED, CaseStatus.REOPENED)
PROMISED_MARK = "svaret är utlovat senast"
"""Words of the acknowledgement's event when it promised the answer by a date
(:func:`postvakt.registry.replies.record_reply`)."""


@dataclass(frozen=True)
class DeadlineState:
    what: Literal["ack", "answer", "promised"]
    label: str
    """'Bekräftelse senast', 'Svar senast', 'Utlovat svar senast'."""
    due: date
    state: State
    kept_on: date | None = None
    late_days: int = 0
    """Working days past the deadline (today, or when it was kept late)."""

    @property
    def words(self) -> str:
        """'i tid', 'i dag', 'försenat 3 arbetsdagar', 'uppfyllt 2 december 2026'."""
        return state_words(self)


def _day(value: date) -> str:
    return swedish_date(value)


def _working_days(n: int) -> str:
    return count(n, "arbetsdag", "arbetsdagar")


def state_words(item: DeadlineState) -> str:
    if item.state == "kept":
        assert item.kept_on is not None
        late = f" ({_working_days(item.late_days)} för sent)" if item.late_days else ""
        return f"uppfyllt {_day(item.kept_on)}{late}"
    if item.state == "late":
        return f"försenat {_working_days(item.late_days)}"
    if item.state == "today":
        return "i dag"
    if item.state == "paused":
        return "pausat: väntar på medborgaren"
    return "i tid"


def _local(event: CaseEvent) -> date:
    return event.at.astimezone(STOCKHOLM).date()


def _late(due: date, day: date, calendar: WorkingCalendar) -> int:
    # A deadline on a Friday missed on the Saturday is late though no working day has passed.
    return max(calendar.working_days_between(due, day), 1) if day > due else 0


def _state(
    what: Literal["ack", "answer", "promised"],
    label: str,
    due: date,
    kept: CaseEvent | None,
    today: date,
    calendar: WorkingCalendar,
    *,
    paused: bool = False,
) -> DeadlineState:
    if kept is not None:
        day = _local(kept)
        return DeadlineState(what, label, due, "kept", day, _late(due, day, calendar))
    if paused:
        return DeadlineState(what, label, due, "paused")
    if today < due:
        return DeadlineState(what, label, due, "on_time")
    if today == due:
        return DeadlineState(what, label, due, "today")
    return DeadlineState(what, label, due, "late", late_days=_late(due, today, calendar))


def case_deadlines(case: Case, today: date, calendar: WorkingCalendar) -> list[DeadlineState]:
    """The case's deadlines with their state on ``today`` (none for an anonymous or withdrawn
    case, which have no clock)."""
    if case.anonymous or case.status is CaseStatus.WITHDRAWN:
        return []
    events = list(case.events)
    found: list[DeadlineState] = []
    paused = case.status is CaseStatus.WAITING
    if case.kind is CaseKind.COMPLAINT and case.ack_due is not None:
        kept = next((e for e in events if e.kind in _ACK_KEPT_BY), None)
        if kept is None and case.status not in (*_RUNNING, CaseStatus.WAITING):
            kept = events[-1] if events else None  # kept some way the events do not say
        found.append(
            _state("ack", "Bekräftelse senast", case.ack_due, kept, today, calendar, paused=paused)
        )
    if case.answer_due is not None:
        # A case tried anew needs a new answer: only what came after the last reopening counts.
        last_reopened = max(
            (i for i, e in enumerate(events) if e.kind is EventKind.REOPENED), default=-1
        )
        after = events[last_reopened + 1 :]
        kept = None
        if case.status not in (*_RUNNING, CaseStatus.WAITING):
            kept = next((e for e in after if e.kind in _ANSWER_KEPT_BY), None)
            kept = kept or (events[-1] if events else None)
        promised = any(
            e.kind is EventKind.ACKNOWLEDGED and PROMISED_MARK in (e.detail or "") for e in after
        )
        what: Literal["answer", "promised"] = "promised" if promised else "answer"
        label = "Utlovat svar senast" if promised else "Svar senast"
        found.append(_state(what, label, case.answer_due, kept, today, calendar, paused=paused))
    return found
