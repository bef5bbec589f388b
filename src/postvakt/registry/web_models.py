"""The dashboard's tables: local accounts, server-side sessions, sign-in attempts, and the
access log of who viewed which case.  Re-exported by :mod:`postvakt.registry.models`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from postvakt.registry.models import Base

__all__ = ["CaseAccess", "LoginAttempt", "WebSession", "WebUser"]


class WebUser(Base):
    """A local account of the dashboard: an address and its password hash (argon2).

    What the person may see and do is not stored here: roles come from the config.
    """

    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]
    """Sessions signed in before this are no longer accepted."""
    last_login_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in session of the dashboard, kept server-side.

    The browser holds a random token; only its SHA-256 is stored.  Logout sets ``ended_at``;
    a password change ends every session of the account.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(320), index=True)
    client: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """One sign-in attempt: throttling counts recent failures per client and per account."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    client: Mapped[str] = mapped_column(String(100), index=True)
    account: Mapped[str] = mapped_column(String(320), index=True)
    success: Mapped[bool] = mapped_column(Boolean)


class CaseAccess(Base):
    """Someone viewed a case (its page, its original, ``cases show``): the access log."""

    __tablename__ = "case_access"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(320))
    via: Mapped[str] = mapped_column(String(10))
    """'web' or 'cli'."""
    what: Mapped[str] = mapped_column(String(60), default="visa")
    client: Mapped[str | None] = mapped_column(String(100))
