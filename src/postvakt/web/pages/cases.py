"""Ärenden: the list of cases with filters and search.  A case's page and its actions are
in :mod:`postvakt.web.pages.case_page`.

Searches travel in POST bodies, never in the address: a sender's address or a phrase from
a complaint must not end up in access logs or browser history.  Cases are addressed by
their database id, which says nothing about the citizen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from postvakt.clock import STOCKHOLM
from postvakt.registry.db import database_errors
from postvakt.registry.models import Case, CaseKind, CaseStatus, Mailbox, Unit
from postvakt.rules.deadlines import due_items
from postvakt.web.deps import context, render, signed_in
from postvakt.web.roles import (
    Role,
    User,
    can_view_case,
)
from postvakt.web.views import STATUS_SV

__all__ = ["CaseFilter", "router"]

router = APIRouter()

LIMIT = 500
OPEN = (
    CaseStatus.REGISTERED,
    CaseStatus.ACKNOWLEDGED,
    CaseStatus.WAITING,
    CaseStatus.REOPENED,
    CaseStatus.ANSWERED,
)


@dataclass(frozen=True)
class CaseFilter:
    unit: str = ""
    kind: str = ""
    status: str = "open"
    """'open', 'all' or a status value."""
    overdue: bool = False
    since: date | None = None
    until: date | None = None
    q: str = ""


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _reachable(query: Select[tuple[Case]], user: User) -> Select[tuple[Case]]:
    """Narrow the query in SQL to what ``user`` may see; :func:`can_view_case` decides."""
    if user.sees_every_case:
        return query
    units = set(user.heads) | ({user.unit} if user.unit and Role.STAFF in user.roles else set())
    mailboxes = set(user.owns) | {user.address}
    return query.where(
        or_(
            Case.unit_id.in_(select(Unit.id).where(Unit.name.in_(units))),
            Case.mailbox_id.in_(select(Mailbox.id).where(Mailbox.address.in_(mailboxes))),
            Case.handler == user.address,
            Case.regular_handler == user.address,
        )
    )


def _overdue_refs(session: Session, today: date) -> set[str]:
    return {i.ref for i in due_items(session) if i.kind != "reply" and i.due < today}


def find_cases(
    session: Session, user: User, wanted: CaseFilter, today: date
) -> tuple[list[Case], set[str], bool]:
    """The cases ``user`` may see that match ``wanted``, the overdue ones, and whether the
    list was cut at :data:`LIMIT`."""
    query = _reachable(
        select(Case)
        .options(selectinload(Case.unit), selectinload(Case.mailbox))
        .order_by(Case.received_at.desc(), Case.id.desc()),
        user,
    )
    if wanted.unit:
        query = query.where(Case.unit_id.in_(select(Unit.id).where(Unit.name == wanted.unit)))
    if wanted.kind in ("complaint", "opinion"):
        query = query.where(Case.kind == CaseKind(wanted.kind))
    if wanted.status == "open":
        query = query.where(Case.status.in_(OPEN))
    elif wanted.status in STATUS_SV:
        query = query.where(Case.status == CaseStatus(wanted.status))
    if wanted.since:
        query = query.where(Case.received_at >= datetime.combine(wanted.since, time.min, STOCKHOLM))
    if wanted.until:
        end = datetime.combine(wanted.until + timedelta(days=1), time.min, STOCKHOLM)
        query = query.where(Case.received_at < end)
    text = re.sub(r"\s+", " ", wanted.q.strip())
    if text:
        like = f"%{text.lower()}%"
        query = query.where(
            or_(
                func.lower(Case.reference).like(like),
                func.lower(Case.number).like(like),
                func.lower(Case.sender_address).like(like),
                func.lower(Case.sender_name).like(like),
                func.lower(Case.heading).like(like),
                func.lower(Case.summary).like(like),
                func.lower(Case.subject).like(like),
                func.lower(Case.diary_entered_number).like(like),
            )
        )
    overdue = _overdue_refs(session, today)
    if wanted.overdue:
        query = query.where(Case.reference.in_(overdue) if overdue else Case.id.is_(None))
    cases = [c for c in session.scalars(query.limit(LIMIT + 1)) if can_view_case(user, c)]
    return cases[:LIMIT], overdue, len(cases) > LIMIT


def _list(request: Request, user: User, wanted: CaseFilter) -> Response:
    ctx = context(request)
    with ctx.sessions() as session, database_errors():
        cases, overdue, cut = find_cases(session, user, wanted, ctx.today())
    units = sorted(
        u.name
        for u in ctx.config.units
        if user.sees_every_case or user.is_admin or u.name in user.heads or u.name == user.unit
    )
    return render(
        request,
        "cases.html",
        user,
        cases=cases,
        overdue=overdue,
        cut=cut,
        wanted=wanted,
        units=units,
        statuses=STATUS_SV,
        limit=LIMIT,
    )


@router.get("/arenden")
def case_list(request: Request, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    return _list(request, user, CaseFilter())


@router.post("/arenden")
def case_search(
    request: Request,
    user: User = Depends(signed_in),  # noqa: B008
    unit: str = Form(""),
    kind: str = Form(""),
    status: str = Form("open"),
    overdue: str = Form(""),
    since: str = Form(""),
    until: str = Form(""),
    q: str = Form(""),
) -> Response:
    wanted = CaseFilter(unit, kind, status, bool(overdue), _date(since), _date(until), q[:200])
    return _list(request, user, wanted)
