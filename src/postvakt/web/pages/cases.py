"""Ärenden: the list of cases, filtered, sorted and paged by GET query parameters, so that a
list can be bookmarked, linked to from every count, and Back works.  A case's page and its
actions are in :mod:`postvakt.web.pages.case_page`; the bulk actions on selected rows in
:mod:`postvakt.web.pages.case_bulk`.

The parameters (Swedish, as people see them in the address): ``enhet``, ``typ``
(complaint/opinion), ``status`` (open — the default —, all, or a status value),
``forsenat=1``, ``brevlada``, ``handlaggare``, ``omrade``, ``fran``, ``till`` (arrival days,
YYYY-MM-DD), ``q`` (free text), ``sortera`` (a column, ``-`` before it for descending) and
``sida``.  Values that make no sense are ignored, never an error.

A search may hold a sender's address or a phrase from a complaint: Postvakt's own server
logs paths without their query strings (:mod:`postvakt.web.commands`) and every page is
sent with ``Referrer-Policy: no-referrer``, so the address of a list never leaves the
browser.  Cases are addressed by their database id, which says nothing about the citizen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.registry.case_query import (
    CaseFilter,
    CaseScope,
    count_cases,
    due_state,
    select_cases,
)
from postvakt.registry.db import database_errors
from postvakt.registry.models import Case, CaseAccess
from postvakt.web.case_links import DEFAULT_SORT, case_list_url, list_params
from postvakt.web.deps import context, render, signed_in
from postvakt.web.pages import case_bulk
from postvakt.web.roles import User, can_see_mailbox
from postvakt.web.views import STATUS_SV

__all__ = ["PAGE_SIZE", "SORTS", "list_url", "router", "wanted_from"]

router = APIRouter()
router.include_router(case_bulk.router)

PAGE_SIZE = 50

SORTS = {
    "nummer": "number",
    "typ": "kind",
    "rubrik": "heading",
    "status": "status",
    "enhet": "unit",
    "brevlada": "mailbox",
    "handlaggare": "handler",
    "inkom": "received",
    "svar": "due",
}
"""The list's sort keys (``sortera``) and the columns of
:data:`postvakt.registry.case_query.SORT_KEYS` they sort by."""

_KINDS = {"complaint": "complaint", "opinion": "opinion", "klagomal": "complaint",
          "klagomål": "complaint", "synpunkt": "opinion"}  # fmt: skip


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _text(params: dict[str, str], key: str, limit: int = 320) -> str:
    return params.get(key, "").strip()[:limit]


def wanted_from(params: dict[str, str]) -> CaseFilter:
    """The filter a list's query parameters ask for (unknown values mean "any")."""
    status = _text(params, "status", 20) or "open"
    if status not in ("open", "all", *STATUS_SV):
        status = "open"
    return CaseFilter(
        unit=_text(params, "enhet", 200),
        kind=_KINDS.get(_text(params, "typ", 20).lower(), ""),
        status=status,
        overdue=params.get("forsenat", "") in ("1", "ja", "on"),
        mailbox=_text(params, "brevlada").lower(),
        handler=_text(params, "handlaggare").lower(),
        since=_date(params.get("fran", "")),
        until=_date(params.get("till", "")),
        q=_text(params, "q", 200),
        area=_text(params, "omrade", 60),
    )


def list_url(wanted: CaseFilter, sort: str = "", page: int = 1) -> str:
    """The list's address for ``wanted``, sorted by ``sort``, at ``page``."""
    return case_list_url(wanted, sort=sort, page=page)


@dataclass(frozen=True)
class Column:
    key: str
    """The sort key, '' for a column that does not sort."""
    heading: str
    aria_sort: str | None
    """'ascending' / 'descending' on the column the list is sorted by."""
    url: str
    """The list sorted by this column (the other way round when it already is)."""


_COLUMNS = (
    ("nummer", "Nummer"),
    ("typ", "Typ"),
    ("rubrik", "Rubrik"),
    ("status", "Status"),
    ("enhet", "Enhet"),
    ("brevlada", "Brevlåda"),
    ("handlaggare", "Handläggare"),
    ("inkom", "Inkom"),
    ("svar", "Svar senast"),
)


def _columns(wanted: CaseFilter, sort: str) -> list[Column]:
    current, descending = sort.lstrip("-"), sort.startswith("-")
    columns = []
    for key, heading in _COLUMNS:
        if key == current:
            aria = "descending" if descending else "ascending"
            next_sort = key if descending else f"-{key}"
        else:
            aria = None
            next_sort = f"-{key}" if key == "inkom" else key  # newest first on first click
        columns.append(Column(key, heading, aria, list_url(wanted, next_sort)))
    return columns


def _unread(session: Session, user: User, ids: list[int]) -> set[int]:
    """Of ``ids``, the cases ``user`` has never opened (no view in the access log)."""
    if not ids:
        return set()
    seen = set(
        session.scalars(
            select(CaseAccess.case_id)
            .where(CaseAccess.case_id.in_(ids), CaseAccess.actor == user.address)
            .distinct()
        )
    )
    return set(ids) - seen


def _list(request: Request, user: User) -> Response:
    ctx = context(request)
    params = dict(request.query_params)
    wanted = wanted_from(params)
    sort = params.get("sortera", DEFAULT_SORT).strip()
    if sort.lstrip("-") not in SORTS:
        sort = DEFAULT_SORT
    try:
        page = max(1, int(params.get("sida", "1")))
    except ValueError:
        page = 1
    today = ctx.today()
    scope = CaseScope.of(user)
    with ctx.sessions() as session, database_errors():
        total = count_cases(session, scope, wanted, today)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(page, pages)
        english = ("-" if sort.startswith("-") else "") + SORTS[sort.lstrip("-")]
        query = select_cases(scope, wanted, today, sort=english)
        cases: list[Case] = list(
            session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
        )
        unread = _unread(session, user, [c.id for c in cases])
        states = {c.id: due_state(c, today) for c in cases}
        session.expunge_all()
    config = ctx.config
    units = sorted(
        u.name
        for u in config.units
        if user.sees_every_case or user.is_admin or u.name in user.heads or u.name == user.unit
    )
    mailboxes = [m for m in config.mailboxes if user.sees_every_case or can_see_mailbox(user, m)]
    areas = sorted({a for u in config.units for a in u.areas} | {"övrigt"})
    first = (page - 1) * PAGE_SIZE + 1 if total else 0
    here = list_url(wanted, sort, page)
    return render(
        request,
        "cases.html",
        user,
        cases=cases,
        unread=unread,
        states=states,
        wanted=wanted,
        sort=sort,
        columns=_columns(wanted, sort),
        units=units,
        mailboxes=mailboxes,
        people=sorted(config.people, key=lambda p: p.name),
        areas=areas,
        statuses=STATUS_SV,
        total=total,
        page=page,
        pages=pages,
        first=first,
        last=first + len(cases) - 1 if cases else 0,
        previous_url=list_url(wanted, sort, page - 1) if page > 1 else None,
        next_url=list_url(wanted, sort, page + 1) if page < pages else None,
        here=here,
        filtered=bool(list_params(wanted)),
    )


@router.get("/arenden")
def case_list(request: Request, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    return _list(request, user)


@router.post("/arenden")
async def case_search(request: Request, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    """An old bookmark or form that POSTs a search: sent on to the same list by GET.  The
    old form's field names (unit, kind, since, …) are understood too."""
    form = await request.form()
    old = {"unit": "enhet", "kind": "typ", "overdue": "forsenat", "since": "fran",
           "until": "till", "mailbox": "brevlada", "handler": "handlaggare", "area": "omrade"}  # fmt: skip
    params: dict[str, str] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and key != "csrf":
            params[old.get(key, key)] = value
    wanted = wanted_from(params)
    sort = params.get("sortera", "")
    return RedirectResponse(list_url(wanted, sort if sort.lstrip("-") in SORTS else ""), 303)
