"""Översikt: every mailbox the user answers for — who is there, whether it was opened today,
how many cases came in today, are open and are overdue, how many citizen messages wait for a
reply — the cases about to be late, the citizens waiting to be called back, and charts.

Every count is of cases (or of messages, or of mailboxes — the heading says which), made by
:mod:`postvakt.registry.case_query` in the user's scope, and links to the case list that
shows exactly those cases: the number on Översikt is the total the list shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postvakt.charts.figures import recent_charts
from postvakt.charts.render import svg
from postvakt.config import MailboxConfig
from postvakt.registry.case_query import (
    RUNNING_STATUSES,
    CaseFilter,
    CaseScope,
    MessageCounts,
    count_cases,
    message_counts,
    running_due,
    select_cases,
)
from postvakt.registry.db import database_errors
from postvakt.registry.models import Case, CaseKind, CaseStatus
from postvakt.rules.daily_open import coverage_gaps
from postvakt.rules.deadlines import DueItem, due_items
from postvakt.web.case_links import case_list_url
from postvakt.web.deps import context, render, signed_in
from postvakt.web.evidence import Opened, opened_today
from postvakt.web.pages.message_corrections import answerable_by
from postvakt.web.presence import Presence, presence, today_roster
from postvakt.web.roles import User, can_see_mailbox

__all__ = ["SOON_SHOWN", "router"]

router = APIRouter()

SOON_SHOWN = 20
"""How many of the cases about to be late Översikt lists (the rest are a link away)."""


@dataclass(frozen=True)
class MailboxRow:
    mailbox: MailboxConfig
    owners: list[Presence]
    gap: bool
    """A function mailbox none of whose owners is present (the coverage rule)."""
    opened: Opened
    not_opened_late: bool
    """Not opened and the daily-open check's time has passed: the rule is broken."""
    new_today: int
    """Cases that came in today."""
    open_cases: int
    overdue: int
    """Open cases whose running deadline has passed (one case counts once)."""
    messages: MessageCounts
    """Citizen messages that are not cases and wait for a reply (the five-day rule)."""
    nearest: date | None
    """The nearest running deadline of the mailbox's open cases."""
    links: dict[str, str]
    """The case list behind each figure: 'new', 'open', 'overdue' and 'nearest'."""

    @property
    def broken(self) -> bool:
        return self.gap or self.not_opened_late or self.overdue > 0 or self.messages.overdue > 0


@dataclass(frozen=True)
class SoonCase:
    """An open case whose running deadline has passed or is near."""

    case: Case
    due: date
    late: bool


def _filters(mailbox: str, today: date) -> dict[str, CaseFilter]:
    return {
        "new": CaseFilter(mailbox=mailbox, status="all", since=today, until=today),
        "open": CaseFilter(mailbox=mailbox),
        "overdue": CaseFilter(mailbox=mailbox, overdue=True),
    }


def _nearest(session: Session, scope: CaseScope, mailbox: str, today: date) -> date | None:
    """The nearest running deadline (:func:`running_due`'s rule, in SQL) of the open cases
    in ``scope`` that came to ``mailbox``."""
    ids = select_cases(scope, CaseFilter(mailbox=mailbox), today).with_only_columns(Case.id)
    running = [
        Case.id.in_(ids),
        Case.status.in_(RUNNING_STATUSES),
        Case.anonymous.is_(False),
    ]
    answer = session.scalar(select(func.min(Case.answer_due)).where(*running))
    ack = session.scalar(
        select(func.min(Case.ack_due)).where(
            *running, Case.kind == CaseKind.COMPLAINT, Case.status == CaseStatus.REGISTERED
        )
    )
    known = [d for d in (answer, ack) if d is not None]
    return min(known) if known else None


def _soon(
    session: Session, scope: CaseScope, today: date, is_near: Callable[[date], bool]
) -> list[SoonCase]:
    """The open cases in ``scope`` whose running deadline (:func:`running_due`) has passed
    or ``is_near``, by deadline."""
    found = []
    for case in session.scalars(select_cases(scope, CaseFilter(), today, sort="due")):
        due = running_due(case)
        if due is not None and (due < today or is_near(due)):
            found.append(SoonCase(case, due, due < today))
    found.sort(key=lambda s: (s.due, s.case.id))
    return found


@router.get("/")
def overview(request: Request, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    ctx = context(request)
    config = ctx.config
    now: datetime = ctx.now()
    today = now.date()
    working_day = ctx.calendar.is_working_day(today)
    past_check = working_day and now.time() >= config.rules.daily_open_time
    mailboxes = [m for m in config.mailboxes if can_see_mailbox(user, m)]
    scope = CaseScope.of(user)
    near = config.rules.reminder_working_days_before
    rows: list[MailboxRow] = []
    with ctx.sessions() as session, database_errors():
        plan = today_roster(session, config)
        gaps = (
            {g.mailbox for g in coverage_gaps(config, today, plan.is_away)}
            if working_day
            else set()
        )
        for mailbox in mailboxes:
            filters = _filters(mailbox.address, today)
            counts = {w: count_cases(session, scope, f, today) for w, f in filters.items()}
            opened = opened_today(ctx, session, mailbox)
            rows.append(
                MailboxRow(
                    mailbox=mailbox,
                    owners=[presence(config, plan, o, today) for o in mailbox.owners],
                    gap=mailbox.address in gaps,
                    opened=opened,
                    not_opened_late=bool(past_check and opened.opened is False),
                    new_today=counts["new"],
                    open_cases=counts["open"],
                    overdue=counts["overdue"],
                    messages=message_counts(session, today, [mailbox.address]),
                    nearest=_nearest(session, scope, mailbox.address, today),
                    links={
                        **{w: case_list_url(f) for w, f in filters.items()},
                        "nearest": case_list_url(filters["open"], sort="svar"),
                    },
                )
            )
        soon = _soon(
            session,
            scope,
            today,
            lambda due: ctx.calendar.working_days_between(today, due) <= near,
        )
        overdue_total = count_cases(session, scope, CaseFilter(overdue=True), today)
        visible = {m.address for m in mailboxes}
        # every one the mailbox's row counts (a private case's by its number only)
        waiting: list[DueItem] = sorted(
            (i for i in due_items(session) if i.kind == "reply" and i.mailbox in visible),
            key=lambda i: (i.mailbox, i.due, i.ref),
        )
        answerable = answerable_by(session, user, [i.record_id for i in waiting])
        callbacks = ctx.service.callbacks
        to_call = callbacks.visible(user, session) if callbacks is not None else []
        charts = recent_charts(session, scope, today, link=case_list_url)
    return render(
        request,
        "overview.html",
        user,
        rows=rows,
        soon=soon[:SOON_SHOWN],
        soon_total=len(soon),
        overdue_total=overdue_total,
        overdue_url=case_list_url(CaseFilter(overdue=True)),
        by_deadline_url=case_list_url(CaseFilter(), sort="svar"),
        waiting=waiting,
        answerable=answerable,
        to_call=to_call,
        charts=[(chart, svg(chart)) for chart in charts],
        working_day=working_day,
        check_time=config.rules.daily_open_time,
        near=near,
        reply_time=str(ctx.policy.reply),
    )
