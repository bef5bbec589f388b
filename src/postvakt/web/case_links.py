"""Addresses of the case list (/arenden) with a filter: every count on a page links to the
list behind it, by the list's GET parameters."""

from __future__ import annotations

from urllib.parse import urlencode

from postvakt.registry.case_query import CaseFilter

__all__ = ["DEFAULT_SORT", "case_list_url", "list_params"]


DEFAULT_SORT = "-inkom"
"""The list's own order (newest first): left out of its addresses."""


def list_params(wanted: CaseFilter) -> list[tuple[str, str]]:
    """The list's GET parameters for ``wanted``; those left at "any" are left out."""
    pairs = [
        ("enhet", wanted.unit),
        ("typ", wanted.kind),
        ("status", "" if wanted.status == "open" else wanted.status),
        ("forsenat", "1" if wanted.overdue else ""),
        ("brevlada", wanted.mailbox),
        ("handlaggare", wanted.handler),
        ("omrade", wanted.area),
        ("fran", wanted.since.isoformat() if wanted.since else ""),
        ("till", wanted.until.isoformat() if wanted.until else ""),
        ("q", wanted.q),
    ]
    return [(k, v) for k, v in pairs if v]


def case_list_url(wanted: CaseFilter, *, sort: str = "", page: int = 1) -> str:
    """'/arenden?enhet=Bygglov&forsenat=1&sortera=svar&sida=2' — the list that shows exactly
    the cases :func:`~postvakt.registry.case_query.count_cases` counts for ``wanted`` (in the
    signed-in user's scope); parameters left at "any", the default sort and the first page
    are left out."""
    params = list_params(wanted)
    if sort and sort != DEFAULT_SORT:
        params.append(("sortera", sort))
    if page > 1:
        params.append(("sida", str(page)))
    return "/arenden" + ("?" + urlencode(params) if params else "")
