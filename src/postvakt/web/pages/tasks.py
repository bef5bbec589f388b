"""Mina uppgifter: what the signed-in person must do, the page they land on after signing in.

- Their cases — those they handle (also while standing in for someone away), and those of
  their own and their function mailboxes that nobody handles: the same people the reminders
  go to (:func:`postvakt.rules.deadlines.due_items`); in those cases, what the citizen wrote
  after the answer and is owed a reply of its own — and their callbacks (their own, and
  those of someone they cover today), ordered by the running deadline and grouped
  "Försenade", "I dag", "Denna vecka", "Senare".
- The mailboxes they own that have not been opened today (the daily-open rule).
- The review queue of the mailboxes and units they may correct: how many, the oldest few.
- Emergency delegations waiting for their approval.
- For the registrar: the cases waiting to be entered in the diary.

Every row links to the thing itself: the case page, the callback's row, the mailbox's row on
Översikt, the absence's row on Frånvaro.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from postvakt.callbacks import CallbackView
from postvakt.config import MailboxConfig
from postvakt.corrections.queue import QueueItem
from postvakt.delegation import emergency
from postvakt.errors import PermissionDeniedError
from postvakt.registry.case_query import awaiting_reply
from postvakt.registry.db import database_errors
from postvakt.registry.models import (
    Absence,
    Case,
    CaseKind,
    CaseStatus,
    Disposition,
    Mailbox,
    MessageRecord,
)
from postvakt.web.context import WebContext
from postvakt.web.deps import context, render, signed_in
from postvakt.web.evidence import Opened, opened_today
from postvakt.web.roles import Role, User

__all__ = ["GROUPS", "REVIEW_SHOWN", "Task", "router", "tasks_of"]

router = APIRouter()

GROUPS = (
    ("late", "Försenade"),
    ("today", "I dag"),
    ("week", "Denna vecka"),
    ("later", "Senare"),
)
"""The groups of cases and callbacks, in the order shown (id, heading)."""
REVIEW_SHOWN = 5
"""The oldest items of the review queue shown here; the count and a link say the rest."""

_OPEN = (CaseStatus.REGISTERED, CaseStatus.ACKNOWLEDGED, CaseStatus.REOPENED)
"""A case with a running clock: something for its handler to do."""
_PREFIX = "Synpunkter och klagomål – "
"""What every case's heading starts with: said once by the page, not on every row."""


@dataclass(frozen=True)
class Task:
    """One case or callback on the list."""

    kind: str
    """'case' or 'callback'."""
    due: date | None
    what: str
    """What is due: 'Svar', 'Bekräftelse till den klagande', 'Ring upp'."""
    link: str
    title: str
    """The case's number, or the citizen to call."""
    detail: str
    """The case's heading, or what the call is about (with the phone number)."""
    mailbox: str | None = None
    case_kind: str | None = None
    standing_in_for: str | None = None
    """The person whose work this is while they are away."""

    def group(self, today: date) -> str:
        if self.due is None:
            return "later"
        if self.due < today:
            return "late"
        if self.due == today:
            return "today"
        if self.due <= today + timedelta(days=6 - today.weekday()):
            return "week"
        return "later"


@dataclass(frozen=True)
class UnopenedMailbox:
    mailbox: MailboxConfig
    opened: Opened


@dataclass(frozen=True)
class Waiting:
    """An emergency delegation waiting for the user's approval."""

    id: int
    person: str
    start: date
    end: date | None
    ordered_by: str | None


def _running(case: Case) -> tuple[str, date | None]:
    """The deadline the handler works to now, and what it is for."""
    if case.anonymous:
        return "Handläggs (anonymt, inget svar att ge)", None
    acknowledging = case.kind is CaseKind.COMPLAINT and case.status is CaseStatus.REGISTERED
    if (
        acknowledging
        and case.ack_due
        and (case.answer_due is None or case.ack_due <= case.answer_due)
    ):
        return "Bekräftelse till den klagande", case.ack_due
    return "Svar", case.answer_due


def _theirs(user: User) -> ColumnElement[bool]:
    """The cases that are the user's to answer: those they handle, and those of their own and
    their function mailboxes that nobody handles."""
    mine = sorted({*user.owns, user.address})
    unhandled_here = and_(
        Case.handler.is_(None),
        Case.mailbox_id.in_(select(Mailbox.id).where(Mailbox.address.in_(mine))),
    )
    return or_(Case.handler == user.address, unhandled_here)


def _my_cases(session: Session, user: User) -> list[Task]:
    cases = session.scalars(
        select(Case)
        .options(selectinload(Case.mailbox))
        .where(
            Case.status.in_(_OPEN),
            Case.merged_into_id.is_(None),
            _theirs(user),
        )
    )
    tasks = []
    for case in cases:
        what, due = _running(case)
        away = case.regular_handler
        tasks.append(
            Task(
                kind="case",
                due=due,
                what=what,
                link=f"/arenden/{case.id}",
                title=case.label,
                detail=case.heading.removeprefix(_PREFIX),
                mailbox=case.mailbox.address if case.mailbox else None,
                case_kind=case.kind.value,
                standing_in_for=away if away and away != user.address else None,
            )
        )
    return tasks


def _my_followups(session: Session, user: User) -> list[Task]:
    """What the citizen wrote in the user's cases after the answer: each owed its own reply
    (:func:`~postvakt.registry.case_query.awaiting_reply`), the same the reminders are of."""
    rows = session.execute(
        select(MessageRecord, Case)
        .join(Case, Case.id == MessageRecord.case_id)
        .options(selectinload(Case.mailbox))
        .where(
            MessageRecord.disposition == Disposition.FOLLOWUP,
            *awaiting_reply(),
            _theirs(user),
        )
    )
    return [
        Task(
            kind="case",
            due=record.reply_due,
            what="Svar på nytt meddelande",
            link=f"/arenden/{case.id}#vantar-svar",
            title=case.label,
            detail=f"{record.subject or '(utan ämne)'} (meddelande nr {record.id})",
            mailbox=case.mailbox.address if case.mailbox else None,
        )
        for record, case in rows
    ]


def _my_callbacks(ctx: WebContext, session: Session, user: User) -> list[Task]:
    callbacks = ctx.service.callbacks
    if callbacks is None:
        return []
    known: dict[str, str] = {}
    found: list[CallbackView] = [
        v
        for v in callbacks.list(session=session)
        if v.for_address == user.address or callbacks.covering(user.address, v, session, known)
    ]
    return [
        Task(
            kind="callback",
            due=v.due,
            what="Ring upp",
            link=f"/aterringningar#aterringning-{v.id}",
            title=f"{v.citizen}, {v.phone}",
            detail=v.about + (f" (ärende {v.case_label})" if v.case_label else ""),
            standing_in_for=v.for_address if v.for_address != user.address else None,
        )
        for v in found
    ]


def tasks_of(ctx: WebContext, session: Session, user: User) -> list[Task]:
    """The user's cases and callbacks, the nearest deadline first (none last)."""
    tasks = (
        _my_cases(session, user) + _my_followups(session, user) + _my_callbacks(ctx, session, user)
    )
    return sorted(tasks, key=lambda t: (t.due is None, t.due or date.max, t.kind, t.title))


def _unopened(ctx: WebContext, session: Session, user: User) -> list[UnopenedMailbox]:
    if not ctx.calendar.is_working_day(ctx.today()):
        return []  # nothing need be opened on a day off
    found = []
    for mailbox in ctx.config.mailboxes:
        if mailbox.address not in user.owns:
            continue
        opened = opened_today(ctx, session, mailbox)
        if opened.checked and opened.opened is False:
            found.append(UnopenedMailbox(mailbox, opened))
    return found


def _waiting_approval(session: Session, user: User) -> list[Waiting]:
    rows = session.scalars(
        select(Absence)
        .where(Absence.emergency.is_(True), Absence.ended_at.is_(None))
        .order_by(Absence.start, Absence.id)
    )
    found = []
    for absence in rows:
        if user.address not in emergency.waiting_for(absence):
            continue
        log = (absence.approvals or {}).get("log", [])
        ordered = next((e.get("by") for e in reversed(log) if e.get("what") == "ordered"), None)
        found.append(Waiting(absence.id, absence.person, absence.start, absence.end, ordered))
    return found


def _review(ctx: WebContext, user: User) -> list[QueueItem]:
    try:
        return ctx.corrections.queue(user.address)
    except PermissionDeniedError:  # nobody by the config: nothing of theirs to review
        return []


def _to_enter(session: Session, user: User) -> int | None:
    """How many cases wait to be entered in the diary (the Registrator page's list)."""
    if not user.has(Role.REGISTRAR):
        return None
    return (
        session.scalar(
            select(func.count())
            .select_from(Case)
            .where(Case.registrar_status != "none", Case.diary_entered_at.is_(None))
        )
        or 0
    )


@router.get("/uppgifter")
def tasks(request: Request, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    ctx = context(request)
    today = ctx.today()
    with ctx.sessions() as session, database_errors():
        listed = tasks_of(ctx, session, user)
        unopened = _unopened(ctx, session, user)
        waiting = _waiting_approval(session, user)
        to_enter = _to_enter(session, user)
    review = _review(ctx, user)
    groups = [(gid, title, [t for t in listed if t.group(today) == gid]) for gid, title in GROUPS]
    nothing = not (listed or unopened or waiting or review or to_enter)
    return render(
        request,
        "tasks.html",
        user,
        groups=[g for g in groups if g[2]],
        counts={gid: len(items) for gid, _title, items in groups},
        listed=listed,
        unopened=unopened,
        waiting=waiting,
        review=review[:REVIEW_SHOWN],
        review_total=len(review),
        to_enter=to_enter,
        nothing=nothing,
        names={p.address: p.name for p in ctx.config.people},
    )
