"""One way to select and count cases: the filters, who may see what, and the counting rule.

Every count of cases that people read — Översikt, Ärenden, Sammanställning, ``postvakt
report … --json`` and the yearly compilation — is made here, so that the numbers agree.

The pieces:

- :class:`CaseFilter` — what is wanted (unit, kind, status, overdue, mailbox, handler,
  arrival dates, free text, service area).  ``status`` is ``"open"`` (the default: every case
  not closed, forwarded or withdrawn), ``"all"``, or a :class:`CaseStatus` value.
- :class:`CaseScope` — who may see what, as SQL: :meth:`CaseScope.of` a signed-in user
  (exactly :func:`postvakt.roles.can_view_case`), :meth:`CaseScope.everything` for the
  command line, the reports and the compilation.
- :func:`select_cases` / :func:`count_cases` / :func:`count_cases_by` — the cases in a scope
  that match a filter, and how many.
- :func:`overdue` — **the** definition of an overdue case, as a SQL condition on the case: a
  case whose clock runs (registered, acknowledged or reopened; not anonymous — nobody to
  answer; not waiting for the citizen — its clock is paused) and whose running deadline —
  the acknowledgement (a complaint not yet acknowledged) or the answer — is before today.
  One case is one overdue case, however many of its deadlines have passed.
- :func:`answered_in_time` — the share answered in time (see :func:`judge` for the rule).
- :func:`awaiting_reply` — **the** definition of a citizen message that waits for its own
  reply (the five-day rule): one that did not become a case, or one its citizen wrote in a
  case after the case was answered or handed over (no case clock covers it any more);
  :func:`answered_in` — the case such a message is answered in, if any.
- :func:`message_counts` — those messages, counted apart and named as messages, never
  added to case counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased, selectinload

from postvakt.clock import STOCKHOLM
from postvakt.registry.models import (
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    Disposition,
    EventKind,
    Mailbox,
    MessageRecord,
    Unit,
)

if TYPE_CHECKING:
    from postvakt.roles import User

__all__ = [
    "OPEN_STATUSES",
    "RUNNING_STATUSES",
    "SORT_KEYS",
    "STOPPED_STATUSES",
    "CaseFilter",
    "CaseScope",
    "DueState",
    "InTime",
    "MessageCounts",
    "Verdict",
    "answered_day",
    "answered_in",
    "answered_in_time",
    "awaiting_reply",
    "count_cases",
    "count_cases_by",
    "due_state",
    "judge",
    "message_counts",
    "overdue",
    "running_due",
    "select_cases",
    "stopped_by",
]

OPEN_STATUSES = (
    CaseStatus.REGISTERED,
    CaseStatus.ACKNOWLEDGED,
    CaseStatus.WAITING,
    CaseStatus.REOPENED,
    CaseStatus.ANSWERED,
)
"""What "open" (öppna) means in a filter: not closed, forwarded or withdrawn."""

RUNNING_STATUSES = (CaseStatus.REGISTERED, CaseStatus.ACKNOWLEDGED, CaseStatus.REOPENED)
"""The statuses whose clock runs: an answered case waits for nothing, a waiting case's clock
is paused (the same as :mod:`postvakt.rules.deadlines`)."""


@dataclass(frozen=True)
class CaseFilter:
    """What is wanted.  Empty strings and None mean "any"."""

    unit: str = ""
    kind: str = ""
    """'complaint', 'opinion' or '' (both)."""
    status: str = "open"
    """'open' (not closed, forwarded or withdrawn), 'all' or a :class:`CaseStatus` value."""
    overdue: bool = False
    """Only overdue cases (:func:`overdue`)."""
    mailbox: str = ""
    """The address of the mailbox the case came to."""
    handler: str = ""
    """The handler's address."""
    since: date | None = None
    """Arrived on or after this day (Stockholm)."""
    until: date | None = None
    """Arrived on or before this day (Stockholm)."""
    q: str = ""
    """Free text: number, sender, heading, summary, subject (case-insensitive)."""
    area: str = ""
    """The service area ('övrigt' also finds cases with none recorded)."""


@dataclass(frozen=True)
class CaseScope:
    """Who may see which cases, as a SQL condition (:meth:`where`).

    :meth:`of` gives exactly what :func:`postvakt.roles.can_view_case` allows a user (a case
    marked private reaches only its handler, its unit's head and the person whose mailbox it
    is); :meth:`everything` is every case (command line, reports, compilation).
    """

    every_case: bool = False
    address: str = ""
    heads: frozenset[str] = frozenset()
    """Units headed (with the units below them)."""
    owns: frozenset[str] = frozenset()
    """Mailbox addresses the person is responsible for."""
    staff_unit: str | None = None
    """The unit the person works in, when they are staff (they see its cases)."""

    @classmethod
    def everything(cls) -> CaseScope:
        return cls(every_case=True)

    @classmethod
    def of(cls, user: User) -> CaseScope:
        """What ``user`` may see (the same cases :func:`~postvakt.roles.can_view_case` lets
        them open)."""
        from postvakt.roles import Role

        if user.sees_every_case:
            return cls.everything()
        return cls(
            address=user.address,
            heads=frozenset(user.heads),
            owns=frozenset(user.owns),
            staff_unit=user.unit if Role.STAFF in user.roles else None,
        )

    def where(self) -> ColumnElement[bool]:
        if self.every_case:
            return true()
        in_units = Case.unit_id.in_(select(Unit.id).where(Unit.name.in_(self.heads)))
        own_mailbox = Case.mailbox_id.in_(select(Mailbox.id).where(Mailbox.address == self.address))
        owned = Case.mailbox_id.in_(select(Mailbox.id).where(Mailbox.address.in_(self.owns)))
        colleague = (
            Case.unit_id.in_(select(Unit.id).where(Unit.name == self.staff_unit))
            if self.staff_unit
            else false()
        )
        return or_(
            Case.handler == self.address,
            Case.regular_handler == self.address,
            in_units,
            own_mailbox,
            and_(Case.private.is_(False), or_(owned, colleague)),
        )


def overdue(today: date) -> ColumnElement[bool]:
    """The one definition of an overdue case, as SQL (see the module's docstring)."""
    return and_(
        Case.status.in_(RUNNING_STATUSES),
        Case.anonymous.is_(False),
        or_(
            Case.answer_due < today,
            and_(
                Case.kind == CaseKind.COMPLAINT,
                Case.status == CaseStatus.REGISTERED,
                Case.ack_due < today,
            ),
        ),
    )


def running_due(case: Case) -> date | None:
    """The deadline that runs now on ``case`` (the nearer of the acknowledgement — a
    complaint not yet acknowledged — and the answer); None when no clock runs.  The same
    rule as :func:`overdue`: ``running_due(case) < today`` exactly when the case is overdue."""
    if case.status not in RUNNING_STATUSES or case.anonymous:
        return None
    dues = [case.answer_due]
    if case.kind is CaseKind.COMPLAINT and case.status is CaseStatus.REGISTERED:
        dues.append(case.ack_due)
    known = [d for d in dues if d is not None]
    return min(known) if known else None


DueState = Literal["overdue", "today", "week"]


def due_state(case: Case, today: date) -> DueState | None:
    """'overdue' (försenat), 'today' (i dag), 'week' (later this week, through Sunday) or
    None, by :func:`running_due`."""
    due = running_due(case)
    if due is None:
        return None
    if due < today:
        return "overdue"
    if due == today:
        return "today"
    if due <= today + timedelta(days=6 - today.weekday()):
        return "week"
    return None


_STATUS_VALUES = frozenset(s.value for s in CaseStatus)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, STOCKHOLM)


def _conditions(scope: CaseScope, wanted: CaseFilter, today: date) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [scope.where()]
    if wanted.unit:
        where.append(Case.unit_id.in_(select(Unit.id).where(Unit.name == wanted.unit)))
    if wanted.kind in ("complaint", "opinion"):
        where.append(Case.kind == CaseKind(wanted.kind))
    if wanted.status == "open":
        where.append(Case.status.in_(OPEN_STATUSES))
    elif wanted.status in _STATUS_VALUES:
        where.append(Case.status == CaseStatus(wanted.status))
    if wanted.overdue:
        where.append(overdue(today))
    if wanted.mailbox:
        address = wanted.mailbox.strip().lower()
        where.append(Case.mailbox_id.in_(select(Mailbox.id).where(Mailbox.address == address)))
    if wanted.handler:
        where.append(Case.handler == wanted.handler.strip().lower())
    if wanted.since:
        where.append(Case.received_at >= _day_start(wanted.since))
    if wanted.until:
        where.append(Case.received_at < _day_start(wanted.until + timedelta(days=1)))
    if wanted.area:
        area = wanted.area.strip()
        where.append(
            or_(Case.service_area == area, Case.service_area.is_(None))
            if area == "övrigt"
            else Case.service_area == area
        )
    text = re.sub(r"\s+", " ", wanted.q.strip()).lower()
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            or_(
                *(
                    func.lower(column).like(like, escape="\\")
                    for column in (
                        Case.reference,
                        Case.number,
                        Case.diary_number,
                        Case.diary_entered_number,
                        Case.sender_address,
                        Case.sender_name,
                        Case.heading,
                        Case.summary,
                        Case.subject,
                    )
                )
            )
        )
    return where


SORT_KEYS = {
    "number": (Case.year, Case.seq, Case.entry),
    "kind": (Case.kind,),
    "heading": (Case.heading,),
    "status": (Case.status,),
    "unit": (select(Unit.name).where(Unit.id == Case.unit_id).scalar_subquery(),),
    "mailbox": (select(Mailbox.address).where(Mailbox.id == Case.mailbox_id).scalar_subquery(),),
    "handler": (Case.handler,),
    "received": (Case.received_at,),
    "due": (Case.answer_due,),
}
"""What :func:`select_cases` can sort by."""


def select_cases(
    scope: CaseScope, wanted: CaseFilter, today: date, *, sort: str = "-received"
) -> Select[tuple[Case]]:
    """The cases in ``scope`` that match ``wanted``, sorted by ``sort`` (a key of
    :data:`SORT_KEYS`, ``-`` before it for descending; an unknown key sorts by arrival,
    newest first).  Ties go by id, so that pages never overlap.  Unit and mailbox are loaded
    with the cases."""
    descending = sort.startswith("-")
    columns = SORT_KEYS.get(sort.lstrip("-"))
    if columns is None:
        columns, descending = SORT_KEYS["received"], True
    order = [
        (c.desc() if descending else c.asc()).nulls_last() for c in columns
    ]  # cases without a deadline (or unit) last either way
    return (
        select(Case)
        .options(selectinload(Case.unit), selectinload(Case.mailbox))
        .where(*_conditions(scope, wanted, today))
        .order_by(*order, Case.id.desc() if descending else Case.id.asc())
    )


def count_cases(session: Session, scope: CaseScope, wanted: CaseFilter, today: date) -> int:
    """How many cases :func:`select_cases` gives for the same arguments."""
    query = select(func.count(Case.id)).where(*_conditions(scope, wanted, today))
    return int(session.scalar(query) or 0)


def count_cases_by(
    session: Session,
    scope: CaseScope,
    wanted: CaseFilter,
    today: date,
    by: Literal["mailbox", "unit", "handler", "kind", "status"],
) -> dict[str, int]:
    """:func:`count_cases` per mailbox address, unit name, handler, kind or status value
    (cases with none are left out)."""
    key: ColumnElement[str | None]
    query = select(Case.id)
    if by == "mailbox":
        key = Mailbox.address
        query = select(key, func.count(Case.id)).join(Mailbox, Mailbox.id == Case.mailbox_id)
    elif by == "unit":
        key = Unit.name
        query = select(key, func.count(Case.id)).join(Unit, Unit.id == Case.unit_id)
    else:
        key = {"handler": Case.handler, "kind": Case.kind, "status": Case.status}[by]
        query = select(key, func.count(Case.id))
    rows = session.execute(
        query.where(*_conditions(scope, wanted, today), key.is_not(None)).group_by(key)
    )
    return {str(getattr(k, "value", k)): int(n) for k, n in rows}


# --- Answered in time -------------------------------------------------------------------------


Verdict = Literal["in_time", "late", "not_yet_due"]


def judge(
    *,
    status: CaseStatus,
    anonymous: bool,
    answer_due: date | None,
    answered: date | None,
    as_of: date,
) -> Verdict | None:
    """The counting rule for "besvarade i tid": 'in_time', 'late', 'not_yet_due' or None
    (not judged at all).

    A case is judged when it was answered, or when its answer deadline has passed on
    ``as_of``; it is in time when the answer that counts came on or before the deadline.
    The deadline in force is ``answer_due`` (a new review gets a new one) and the answer
    that counts is the first given after the last reopening (:func:`answered_day`).  An
    unanswered case whose deadline has not passed is 'not_yet_due': neither in time nor
    late, and not in the denominator.  Not judged at all: anonymous cases (nobody to
    answer), cases without a deadline, cases handed over to another administration,
    withdrawn cases, and cases waiting for the citizen (their clock is paused).
    """
    if anonymous or answer_due is None:
        return None
    if status in (CaseStatus.FORWARDED, CaseStatus.WITHDRAWN, CaseStatus.WAITING):
        return None
    if answered is not None:
        return "in_time" if answered <= answer_due else "late"
    return "late" if answer_due < as_of else "not_yet_due"


def answered_day(events: Iterable[CaseEvent]) -> date | None:
    """The day of the answer that counts: the first answer after the last reopening
    (events in the order they were recorded).  Python's twin of the SQL in
    :func:`answered_in_time`."""
    found: datetime | None = None
    for event in events:
        if event.kind is EventKind.REOPENED:
            found = None
        elif event.kind is EventKind.ANSWERED and found is None:
            found = event.at
    return found.astimezone(STOCKHOLM).date() if found else None


def _counted_answer_at() -> ColumnElement[datetime | None]:
    reopening = aliased(CaseEvent)
    last_reopening = (
        select(func.max(reopening.id))
        .where(reopening.case_id == Case.id, reopening.kind == EventKind.REOPENED)
        .correlate(Case)
        .scalar_subquery()
    )
    return (
        select(CaseEvent.at)
        .where(
            CaseEvent.case_id == Case.id,
            CaseEvent.kind == EventKind.ANSWERED,
            CaseEvent.id > func.coalesce(last_reopening, 0),
        )
        .correlate(Case)
        .order_by(CaseEvent.id)
        .limit(1)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class InTime:
    """How many cases were answered in time, of how many judged (see :func:`judge`)."""

    in_time: int
    judged: int
    not_yet_due: int
    """Open, unanswered, deadline not passed: in no count here but this one."""

    @property
    def late(self) -> int:
        return self.judged - self.in_time

    @property
    def share(self) -> float | None:
        """in_time / judged; None when nothing was judged."""
        return self.in_time / self.judged if self.judged else None

    @property
    def percent(self) -> int | None:
        return round(100 * self.in_time / self.judged) if self.judged else None


def answered_in_time(session: Session, scope: CaseScope, wanted: CaseFilter, today: date) -> InTime:
    """The cases in ``scope`` matching ``wanted`` judged by :func:`judge` on ``today``.

    Pass ``status="all"`` in ``wanted`` for every case whatever its status (the default
    "open" leaves out closed cases, which is seldom what a share in time should mean).
    """
    query = select(
        Case.status, Case.anonymous, Case.answer_due, _counted_answer_at().label("answered")
    ).where(*_conditions(scope, wanted, today))
    in_time = judged = not_yet_due = 0
    for status, anonymous, due, answered_at in session.execute(query):
        answered = answered_at.astimezone(STOCKHOLM).date() if answered_at else None
        verdict = judge(
            status=status, anonymous=anonymous, answer_due=due, answered=answered, as_of=today
        )
        if verdict == "not_yet_due":
            not_yet_due += 1
        elif verdict is not None:
            judged += 1
            in_time += verdict == "in_time"
    return InTime(in_time, judged, not_yet_due)


# --- Messages (not cases) ---------------------------------------------------------------------


@dataclass(frozen=True)
class MessageCounts:
    """Citizen messages that did not become cases and wait for a reply (five-day rule)."""

    unanswered: int
    overdue: int
    """Of those, the ones whose reply deadline is before today."""


STOPPED_STATUSES = (CaseStatus.ANSWERED, CaseStatus.CLOSED, CaseStatus.FORWARDED)
"""A case in these states has no running answer clock: its citizen was answered (or the case
was handed over to another organisation)."""

_STOPPING = (EventKind.ANSWERED, EventKind.FORWARDED)
"""What covers the citizen's messages before it: the answer, or the hand-over.  Closing does
not: a question that came after the answer is still owed its reply when the case is closed."""


def awaiting_reply() -> list[ColumnElement[bool]]:
    """Citizen messages that wait for a reply of their own, as SQL conditions on
    :class:`MessageRecord`: unanswered, with a reply deadline, and either not a case, or a
    follow-up that the case's citizen (the address answers go to, or the one the case's
    message came from) wrote after its clock stopped (answered or handed over;
    closed since, or not).

    A follow-up that came before the answer was covered by it; one in an open case is covered
    by the case's own answer clock.  A later one — "I have one more question", a reply the
    staff have not seen — would otherwise wait for nobody.  Mail from whoever the case was
    handed over to is theirs to follow, not a citizen's owed a reply."""
    stopped = (
        select(func.max(CaseEvent.at))
        .where(CaseEvent.case_id == MessageRecord.case_id, CaseEvent.kind.in_(_STOPPING))
        .correlate(MessageRecord)
        .scalar_subquery()
    )
    first = aliased(MessageRecord)  # the message the case was made of: its From
    sender = func.lower(MessageRecord.sender_address)
    the_citizens_answered_case = (
        select(Case.id)
        .where(
            Case.id == MessageRecord.case_id,
            Case.status.in_(STOPPED_STATUSES),
            or_(
                func.lower(Case.sender_address) == sender,  # the address answers go to
                select(first.id)
                .where(
                    first.case_id == Case.id,
                    first.disposition == Disposition.CASE,
                    func.lower(first.sender_address) == sender,
                )
                .correlate(Case, MessageRecord)
                .exists(),
            ),
        )
        .correlate(MessageRecord)
        .exists()
    )
    after_the_answer = and_(
        MessageRecord.disposition == Disposition.FOLLOWUP,
        the_citizens_answered_case,
        func.coalesce(MessageRecord.received_at, MessageRecord.processed_at) > stopped,
    )
    return [
        or_(MessageRecord.disposition == Disposition.NOT_CASE, after_the_answer),
        MessageRecord.answered_at.is_(None),
        MessageRecord.reply_due.is_not(None),
    ]


def stopped_by(case: Case) -> EventKind | None:
    """What last stopped ``case``'s clock: the answer (:attr:`EventKind.ANSWERED`) or the
    hand-over (:attr:`EventKind.FORWARDED`), whatever the case's status has become since (a
    handed-over case that is then closed was still handed over); None if neither."""
    last = max(
        (e for e in case.events if e.kind in _STOPPING), key=lambda e: (e.at, e.id), default=None
    )
    return None if last is None else last.kind


def answered_in(record: MessageRecord) -> Case | None:
    """The case ``record`` is answered in: a follow-up's.  A withdrawn case's message keeps
    its case's id for history, but is a message of its own again."""
    return record.case if record.disposition is Disposition.FOLLOWUP else None


def message_counts(
    session: Session, today: date, mailboxes: Iterable[str] | None = None
) -> MessageCounts:
    """Citizen messages that wait for their own reply (:func:`awaiting_reply`), in
    ``mailboxes`` (addresses; None: every mailbox) — the same messages
    :func:`postvakt.rules.deadlines.due_items` reminds of."""
    where = awaiting_reply()
    if mailboxes is not None:
        where.append(
            MessageRecord.mailbox_id.in_(
                select(Mailbox.id).where(Mailbox.address.in_(list(mailboxes)))
            )
        )
    total, late = session.execute(
        select(
            func.count(MessageRecord.id),
            func.count(MessageRecord.id).filter(MessageRecord.reply_due < today),
        ).where(*where)
    ).one()
    return MessageCounts(int(total or 0), int(late or 0))
