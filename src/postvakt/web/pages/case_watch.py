"""Someone else on the same case: who has it open (the access log of the last ten minutes),
and an action stopped because someone else changed the case after the page was loaded.

Every action form on a case's page, and in Granska, carries ``loaded_at``, when the page
was loaded.  The :func:`unchanged` dependency of each action route compares it with the
case's events: an event written by someone else since then stops the action — the page is
shown again with who changed it and when, and what was typed or chosen is kept — so nothing
is done twice unseen.  :func:`stop_if_changed` is the same check for anything else that
says who changed it when (Granska's messages: :mod:`postvakt.web.pages.message_corrections`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from postvakt.clock import STOCKHOLM
from postvakt.config import Config
from postvakt.registry.db import database_errors
from postvakt.registry.models import CaseAccess, CaseEvent
from postvakt.web.deps import context, signed_in
from postvakt.web.roles import User

__all__ = [
    "OPEN_RECENTLY",
    "Changed",
    "Newest",
    "name_of",
    "open_by_others",
    "stop_if_changed",
    "unchanged",
]

OPEN_RECENTLY = timedelta(minutes=10)
"""Another person's view of the case this recent is shown: they may be working on it now."""
KEPT_FIELDS = (
    "text", "action", "to", "other", "contact", "reason", "reviewer", "note", "into", "area",
    "kind",
)  # fmt: skip
"""What a person typed or chose in a form, put back when the action was stopped (nothing is
lost)."""


def name_of(config: Config, address: str) -> str:
    """A person's name for a sentence; Postvakt itself; else the address."""
    if address in ("postvakt", "system"):
        return "Postvakt"
    person = config.person(address)
    return person.name if person else address


def open_by_others(
    session: Session, config: Config, case_id: int, user: User, now: datetime
) -> list[str]:
    """'Öppnat av Anna Berg för 3 minuter sedan' for each other person who opened the case in
    the last ten minutes (the access log), the latest first."""
    rows = session.scalars(
        select(CaseAccess)
        .where(
            CaseAccess.case_id == case_id,
            CaseAccess.what == "visa",
            CaseAccess.actor != user.address,
            CaseAccess.at >= now - OPEN_RECENTLY,
        )
        .order_by(CaseAccess.at.desc(), CaseAccess.id.desc())
    )
    latest: dict[str, datetime] = {}
    for row in rows:
        latest.setdefault(row.actor, row.at)
    return [f"Öppnat av {name_of(config, actor)} {_ago(now - at)}" for actor, at in latest.items()]


def _ago(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes == 0:
        return "för mindre än en minut sedan"
    return f"för {minutes} minut{'' if minutes == 1 else 'er'} sedan"


class Changed(Exception):
    """Someone else changed the case (or, in Granska, the message) after the page was
    loaded: the action is not done.  ``back`` is where the page is shown again: ``""`` the
    case's page, ``"granska"`` the review queue."""

    def __init__(
        self,
        case_id: int | None,
        warning: str,
        kept: dict[str, dict[str, str]],
        *,
        record_id: int | None = None,
        back: str = "",
    ):
        super().__init__(warning)
        self.case_id, self.warning, self.kept = case_id, warning, kept
        self.record_id, self.back = record_id, back


Newest = Callable[[Session, datetime, User], tuple[str, datetime] | None]
"""Who last changed the thing after a moment, and when, leaving out the person's own
changes; None when nobody else did."""


async def unchanged(
    request: Request,
    case_id: int,
    user: User = Depends(signed_in),  # noqa: B008
) -> None:
    """A dependency of every action on a case: when the form's ``loaded_at`` (when its page
    was loaded) is older than an event someone else wrote on the case, raise :class:`Changed`
    — the page is shown again with what changed, and nothing is done twice."""

    def newest(session: Session, since: datetime, user: User) -> tuple[str, datetime] | None:
        found = session.execute(
            select(CaseEvent.actor, CaseEvent.at)
            .where(
                CaseEvent.case_id == case_id,
                CaseEvent.at > since,
                CaseEvent.actor != user.address,
            )
            .order_by(CaseEvent.at.desc(), CaseEvent.id.desc())
            .limit(1)
        ).first()
        return (found[0], found[1]) if found else None

    await stop_if_changed(request, user, newest, what="ärendet", case_id=case_id)


async def stop_if_changed(
    request: Request,
    user: User,
    newest: Newest,
    *,
    what: str,
    then: str = "se händelserna",
    case_id: int | None = None,
    record_id: int | None = None,
    back: str | None = None,
) -> None:
    """Raise :class:`Changed` when ``newest`` finds a change by someone else after the form's
    ``loaded_at``: "Anna Berg har ändrat ``what`` kl. 10:05 sedan du öppnade sidan —
    ``then`` och försök igen.", with what was typed and chosen kept.  ``back`` is where the
    page is shown again; None: where the form says (its ``tillbaka``)."""
    form = await request.form()  # parsed once: the endpoint reuses it
    loaded = form.get("loaded_at")
    if not isinstance(loaded, str) or not loaded:
        return  # a form from before this check (or a client without it): nothing to compare
    try:
        since = datetime.fromisoformat(loaded)
    except ValueError:
        return
    if since.tzinfo is None:
        return
    ctx = context(request)

    def look() -> tuple[str, datetime] | None:
        with ctx.sessions() as session, database_errors():
            return newest(session, since, user)

    change = await run_in_threadpool(look)
    if change is None:
        return
    actor, at = change
    slug = request.url.path.rstrip("/").rpartition("/")[2]
    typed = {k: v for k in KEPT_FIELDS if isinstance(v := form.get(k), str) and v}
    if back is None:
        back = "granska" if form.get("tillbaka") == "granska" else ""
    raise Changed(
        case_id,
        f"{name_of(ctx.config, actor)} har ändrat {what} kl. "
        f"{at.astimezone(STOCKHOLM):%H:%M} sedan du öppnade sidan — {then} och försök igen.",
        {slug: typed},
        record_id=record_id,
        back=back,
    )
