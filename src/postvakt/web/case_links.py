"""Addresses of the case list (/arenden) with a filter: every count on a page links to the
list behind it, by the list's GET parameters."""

from __future__ import annotations

from urllib.parse import urlencode

from postvakt.registry.case_query import CaseFilter

__all__ = ["case_list_url"]


def case_list_url(wanted: CaseFilter, *, sort: str = "") -> str:
    """'/arenden?enhet=Bygglov&typ=complaint&forsenat=1' — the list that shows exactly the
    cases :func:`~postvakt.registry.case_query.count_cases` counts for ``wanted`` (in the
    signed-in user's scope), sorted by ``sort`` when given; parameters left at "any" are
    left out."""
    params: list[tuple[str, str]] = []
    if wanted.unit:
        params.append(("enhet", wanted.unit))
    if wanted.kind:
        params.append(("typ", wanted.kind))
    if wanted.status != "open":
        params.append(("status", wanted.status))
    if wanted.overdue:
        params.append(("forsenat", "1"))
    if wanted.mailbox:
        params.append(("brevlada", wanted.mailbox))
    if wanted.handler:
        params.append(("handlaggare", wanted.handler))
    if wanted.area:
        params.append(("omrade", wanted.area))
    if wanted.since:
        params.append(("fran", wanted.since.isoformat()))
    if wanted.until:
        params.append(("till", wanted.until.isoformat()))
    if wanted.q:
        params.append(("q", wanted.q))
    if sort:
        params.append(("sortera", sort))
    return "/arenden" + ("?" + urlencode(params) if params else "")
