"""Sign-ins kept on the server, so that signing out (or a new password) really ends them.

The browser's signed cookie holds a random token; the database (``web_sessions``) holds only
its SHA-256, with the address, the client's network address, when it began, when it was last
used, when it ends at the latest and when it was ended.  A session counts while it has not
been ended, ``web.session_hours`` have not passed since sign-in (the absolute limit) and it
was used within ``web.session_idle_minutes`` (the idle limit).  A copied cookie is worth
nothing once the session is ended: signing out ends it, and a new password ends every
session of the account.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from postvakt.config import Config
from postvakt.registry.models import WebSession

__all__ = ["end_all", "end_session", "open_session", "valid_session"]

TOUCH_EVERY = timedelta(minutes=1)
"""``last_seen_at`` is written at most this often (the idle limit is counted in minutes)."""
KEEP_ENDED = timedelta(days=30)
"""How long an ended or expired session is kept (who signed in from where, for an inquiry)."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(
    session: Session, config: Config, *, address: str, client: str | None, now: datetime
) -> str:
    """Start a session for ``address``; returns the token for the cookie (never stored)."""
    session.execute(
        delete(WebSession).where(
            or_(WebSession.expires_at < now - KEEP_ENDED, WebSession.ended_at < now - KEEP_ENDED)
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=_hash(token),
            address=address,
            client=(client or "")[:100] or None,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=config.web.session_hours),
        )
    )
    session.flush()
    return token


def valid_session(session: Session, config: Config, token: str, now: datetime) -> WebSession | None:
    """The live session of ``token``, its use noted; None when ended, expired or idle too long.

    Writes ``last_seen_at`` (and commits) at most once a :data:`TOUCH_EVERY`.
    """
    row = session.scalars(select(WebSession).where(WebSession.token_hash == _hash(token))).first()
    if row is None or row.ended_at is not None:
        return None
    idle = timedelta(minutes=config.web.session_idle_minutes)
    if not row.created_at <= now < row.expires_at or now - row.last_seen_at >= idle:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.commit()
    return row


def end_session(session: Session, token: str, now: datetime) -> None:
    """End the session of ``token`` (signing out)."""
    session.execute(
        update(WebSession)
        .where(WebSession.token_hash == _hash(token), WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_all(session: Session, address: str, now: datetime) -> int:
    """End every session of ``address`` (a new password, a disabled account); how many."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.address == address, WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
