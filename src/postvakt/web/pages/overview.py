"""Översikt: every mailbox the user answers for, who is there, whether it was opened today,
what is unanswered and what is about to be late — red where a rule is broken — and the
citizens waiting to be called back (the callbacks the user may see, by their deadline)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from postvakt.config import MailboxConfig
from postvakt.registry.db import database_errors
from postvakt.rules.calendar import WorkingCalendar
from postvakt.rules.daily_open import coverage_gaps
from postvakt.rules.deadlines import DueItem, due_items
from postvakt.web.deps import context, render, signed_in
from postvakt.web.evidence import Opened, opened_today
from postvakt.web.presence import Presence, presence, today_roster
from postvakt.web.roles import User, can_see_mailbox

__all__ = ["router"]

router = APIRouter()


@dataclass(frozen=True)
class MailboxRow:
    mailbox: MailboxConfig
    owners: list[Presence]
    gap: bool
    """A function mailbox none of whose owners is present (the coverage rule)."""
    opened: Opened
    not_opened_late: bool
    """Not opened and the daily-open check's time has passed: the rule is broken."""
    unanswered: int
    open_cases: int
    nearest: date | None
    overdue: int

    @property
    def broken(self) -> bool:
        return self.gap or self.not_opened_late or self.overdue > 0


def _soon(
    items: list[DueItem], today: date, working_days: int, calendar: WorkingCalendar
) -> list[DueItem]:
    return sorted(
        (
            i
            for i in items
            if i.due < today or calendar.working_days_between(today, i.due) <= working_days
        ),
        key=lambda i: (i.due, i.ref),
    )


@router.get("/")
def overview(request: Request, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    ctx = context(request)
    config = ctx.config
    now: datetime = ctx.now()
    today = now.date()
    working_day = ctx.calendar.is_working_day(today)
    past_check = working_day and now.time() >= config.rules.daily_open_time
    mailboxes = [m for m in config.mailboxes if can_see_mailbox(user, m)]
    rows: list[MailboxRow] = []
    with ctx.sessions() as session, database_errors():
        plan = today_roster(session, config)
        gaps = (
            {g.mailbox for g in coverage_gaps(config, today, plan.is_away)}
            if working_day
            else set()
        )
        items = due_items(session)
        by_mailbox: dict[str, list[DueItem]] = {}
        for item in items:
            by_mailbox.setdefault(item.mailbox, []).append(item)
        for mailbox in mailboxes:
            mine = by_mailbox.get(mailbox.address, [])
            opened = opened_today(ctx, session, mailbox)
            rows.append(
                MailboxRow(
                    mailbox=mailbox,
                    owners=[presence(config, plan, o, today) for o in mailbox.owners],
                    gap=mailbox.address in gaps,
                    opened=opened,
                    not_opened_late=bool(past_check and opened.opened is False),
                    unanswered=sum(1 for i in mine if i.kind == "reply"),
                    open_cases=len({i.ref for i in mine if i.kind != "reply"}),
                    nearest=min((i.due for i in mine), default=None),
                    overdue=sum(1 for i in mine if i.due < today),
                )
            )
        visible = {m.address for m in mailboxes}
        soon = _soon(
            [i for i in items if i.mailbox in visible],
            today,
            config.rules.reminder_working_days_before,
            ctx.calendar,
        )
        callbacks = ctx.service.callbacks
        to_call = callbacks.visible(user, session) if callbacks is not None else []
    return render(
        request,
        "overview.html",
        user,
        rows=rows,
        soon=soon,
        to_call=to_call,
        working_day=working_day,
        check_time=config.rules.daily_open_time,
    )
