"""The access log of cases: who looked at a case, when, how and from where.

Every view of a case's content — its page on the dashboard, its original message, a letter,
``postvakt cases show`` — is a row in ``case_access``; an admin reads them with
``postvakt cases audit NUMMER`` and on the case page.  A row is written before the content
is shown, so a view that fails half-way is still on record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.registry.models import CaseAccess

__all__ = ["WHAT_SV", "access_log", "record_access"]

WHAT_SV = {
    "visa": "visade ärendet",
    "original": "hämtade originalmeddelandet",
    "brev": "hämtade ett brev",
    "bilaga": "hämtade en bilaga",
}


def record_access(
    session: Session,
    case_id: int,
    *,
    actor: str,
    via: Literal["web", "cli"],
    what: str,
    client: str | None,
    now: datetime,
) -> None:
    """Note that ``actor`` viewed case ``case_id`` (``what``: 'visa', 'original', 'brev', 'bilaga')."""
    session.add(
        CaseAccess(
            case_id=case_id,
            at=now,
            actor=actor[:320],
            via=via,
            what=what[:60],
            client=(client or "")[:100] or None,
        )
    )
    session.flush()


def access_log(session: Session, case_id: int, *, limit: int | None = None) -> list[CaseAccess]:
    """Who viewed case ``case_id``, newest first."""
    query = (
        select(CaseAccess)
        .where(CaseAccess.case_id == case_id)
        .order_by(CaseAccess.at.desc(), CaseAccess.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))
