"""Each mailbox's passes, kept in the database: the last one, the last good one, the last error.

A pass notes its end here in the transaction that gives the mailbox's lease back (so it
costs no commit of its own): a good pass (every watched folder read, drafts placed, no
server error) with :func:`note_pass`, a pass a server error ended with :func:`note_failure`.
Mailboxes a sweep only probed (nothing new, nothing to place) are noted in bulk with
:func:`note_passes`, one statement for all of them.

``/readyz``, ``/metrics`` and ``postvakt status`` read it: a web process or an operator on
another machine knows whether the mail servers answer without logging in to one itself.

The rows live in ``mailbox_passes`` (:class:`~postvakt.registry.pass_models.MailboxPass`,
migration 0016; before it, the last good pass was a ``sync_states`` row under the
pseudo-folder ``*pass*``).  The error text is kept in Swedish without any address: the
mailbox is the row's, and other addresses are masked.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from postvakt.registry.pass_models import MailboxPass

__all__ = [
    "MailboxPass",
    "clean_error",
    "last_pass",
    "last_passes",
    "note_failure",
    "note_pass",
    "note_passes",
    "pass_rows",
]

MAX_ERROR = 2000
"""Characters of an error kept (a server may answer at length)."""

_TABLE = MailboxPass.__table__


def clean_error(text: str, address: str | None = None) -> str:
    """``text`` as kept in ``last_error``: without the mailbox's own address in front (the row
    is the mailbox's), other addresses and secrets masked, at most :data:`MAX_ERROR` long."""
    from postvakt.logs import redact

    text = text.strip()
    if address and text.lower().startswith(address.lower() + ":"):
        text = text[len(address) + 1 :].strip()
    text = redact(text, addresses=True)
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


def _upsert(session: Session, rows: list[dict[str, Any]], update: dict[str, Any]) -> None:
    """Insert ``rows``; a mailbox that has a row gets ``update`` (values may use
    ``excluded``: a callable given the statement's excluded columns)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(_TABLE).values(rows)
    elif dialect == "sqlite":
        statement = sqlite.insert(_TABLE).values(rows)
    else:  # pragma: no cover - Postvakt runs on SQLite and PostgreSQL
        raise NotImplementedError(dialect)
    values = {k: v(statement.excluded) if callable(v) else v for k, v in update.items()}
    session.execute(
        statement.on_conflict_do_update(index_elements=[_TABLE.c.mailbox_id], set_=values)
    )


def _good_row(
    mailbox_id: int, holder: str, now: datetime, duration_ms: int | None, messages: int | None
) -> dict[str, Any]:
    """The row of a good pass: its failures in a row back to 0."""
    return {
        "mailbox_id": mailbox_id,
        "last_pass_at": now,
        "last_success_at": now,
        "failures_in_row": 0,
        "last_duration_ms": duration_ms,
        "last_messages": messages,
        "holder": holder,
    }


def note_pass(
    session: Session,
    mailbox_id: int,
    holder: str,
    now: datetime,
    *,
    duration_ms: int | None = None,
    messages: int | None = None,
) -> None:
    """Note that ``holder`` ended a good pass over the mailbox at ``now`` (in the caller's
    transaction): its failures in a row go back to 0; the last error stays, with its time."""
    row = _good_row(mailbox_id, holder, now, duration_ms, messages)
    _upsert(session, [row], {k: v for k, v in row.items() if k != "mailbox_id"})


def note_passes(session: Session, mailbox_ids: Iterable[int], holder: str, now: datetime) -> None:
    """Note a good pass at ``now`` for each of ``mailbox_ids`` at once (one statement): the
    mailboxes a sweep found nothing new in (probed only: no duration, no messages)."""
    rows = [_good_row(i, holder, now, None, 0) for i in dict.fromkeys(mailbox_ids)]
    if not rows:
        return
    update = {
        k: (lambda excluded, k=k: getattr(excluded, k))
        for k in rows[0]
        if k not in ("mailbox_id", "last_duration_ms")
    }
    update["last_duration_ms"] = None
    _upsert(session, rows, update)


def note_failure(
    session: Session,
    mailbox_id: int,
    holder: str,
    now: datetime,
    error: str,
    *,
    duration_ms: int | None = None,
    messages: int | None = None,
) -> None:
    """Note that ``holder``'s pass over the mailbox ended at ``now`` on ``error`` (Swedish,
    as :func:`clean_error` gives it; in the caller's transaction): one more failure in a row;
    the last good pass stays."""
    row = {
        "mailbox_id": mailbox_id,
        "last_pass_at": now,
        "last_success_at": None,
        "last_error": error,
        "last_error_at": now,
        "failures_in_row": 1,
        "last_duration_ms": duration_ms,
        "last_messages": messages,
        "holder": holder,
    }
    update: dict[str, Any] = {
        k: v for k, v in row.items() if k not in ("mailbox_id", "last_success_at")
    }
    update["failures_in_row"] = _TABLE.c.failures_in_row + 1
    _upsert(session, [row], update)


def pass_rows(session: Session) -> dict[int, MailboxPass]:
    """Every mailbox's pass row (mailbox id -> row); a mailbox never passed is absent."""
    return {row.mailbox_id: row for row in session.scalars(select(MailboxPass))}


def last_passes(session: Session) -> dict[int, datetime]:
    """Each mailbox's last good pass (mailbox id -> when); a mailbox never passed well is
    absent."""
    rows = session.execute(
        select(MailboxPass.mailbox_id, MailboxPass.last_success_at).where(
            MailboxPass.last_success_at.is_not(None)
        )
    )
    return {mailbox_id: at for mailbox_id, at in rows}


def last_pass(session: Session) -> datetime | None:
    """The latest good pass over any mailbox, or None if there was none."""
    return session.scalar(select(func.max(MailboxPass.last_success_at)))
