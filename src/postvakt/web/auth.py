"""Local accounts and the signed-in session.

Local accounts are rows in ``web_users``: the address and an argon2 hash of the password,
made with ``postvakt web adduser``.  An account can only be made for an address the config
gives a role (a person, a unit head, a mailbox owner, the registrar, an admin), and what
it may do is always read from the config, never from the account.

The session lives on the server (:mod:`postvakt.web.sessions`); the cookie, signed with the
session key (Starlette's ``SessionMiddleware``), carries its random token, ``via`` (local
or oidc) and the CSRF token — no citizen data.  Every request re-checks it: the session
must be live (not signed out, within ``web.session_hours`` of sign-in and
``web.session_idle_minutes`` of its last use), the person must still have a role, and a
local account must still be active with no password change since the sign-in.  A new
password ends every session of the account.
"""

from __future__ import annotations

import logging
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.config import Config
from postvakt.errors import NotFoundError
from postvakt.registry.models import WebUser
from postvakt.web import sessions
from postvakt.web.csrf import FIELD, new_token
from postvakt.web.roles import User, user_for
from postvakt.web.throttle import LoginThrottle

__all__ = [
    "MIN_PASSWORD",
    "SESSION_KEY",
    "LoginThrottle",
    "NotSignedIn",
    "add_user",
    "authenticate",
    "client_of",
    "end_session",
    "session_user",
    "start_session",
]

log = logging.getLogger("postvakt.web.auth")

MIN_PASSWORD = 10
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password of anyone")


class NotSignedIn(Exception):
    """The request needs a signed-in user (the app answers with the sign-in page)."""


def add_user(
    session: Session, config: Config, address: str, password: str, *, now: datetime
) -> WebUser:
    """Create the local account for ``address``, or set a new password on it."""
    address = address.strip().lower()
    if user_for(config, address) is None:
        raise NotFoundError(
            f"{address} har ingen roll i konfigurationen (people, units.head, mailboxes.owners, "
            "organisation.registrar eller web.admins); lägg in personen där först."
        )
    if len(password) < MIN_PASSWORD:
        raise NotFoundError(f"Lösenordet måste ha minst {MIN_PASSWORD} tecken.")
    account = session.scalars(select(WebUser).where(WebUser.address == address)).one_or_none()
    hashed = _hasher.hash(password)
    if account is None:
        account = WebUser(
            address=address,
            password_hash=hashed,
            active=True,
            created_at=now,
            password_changed_at=now,
        )
        session.add(account)
    else:
        account.password_hash, account.password_changed_at, account.active = hashed, now, True
        ended = sessions.end_all(session, address, now)  # a copied cookie dies with the old one
        log.info("new password for account %d; %d sessions ended", account.id, ended)
    session.flush()
    return account


def authenticate(session: Session, address: str, password: str, *, now: datetime) -> bool:
    """Whether ``password`` is the active local account's; the time taken does not tell
    whether the account exists."""
    address = address.strip().lower()
    account = session.scalars(select(WebUser).where(WebUser.address == address)).one_or_none()
    try:
        if account is None or not account.active:
            _hasher.verify(_DUMMY, password + "x")
            return False
        _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    account.last_login_at = now
    return True


SESSION_KEY = "sid"
"""The cookie's key for the session token."""


def client_of(request: Request) -> str:
    """The client's network address (behind a proxy: as the proxy tells, see ``web serve``)."""
    return (request.client.host if request.client else "okänd")[:100]


def start_session(
    request: Request, session: Session, config: Config, address: str, *, via: str, now: datetime
) -> None:
    """A fresh session for ``address``: the old cookie (and its CSRF token) is dropped, so a
    session planted before sign-in is worth nothing after it."""
    address = address.strip().lower()
    token = sessions.open_session(
        session, config, address=address, client=client_of(request), now=now
    )
    request.session.clear()
    request.session.update({SESSION_KEY: token, "via": via, FIELD: new_token()})


def end_session(request: Request, session: Session, now: datetime) -> None:
    """Sign out: the session ends on the server, so a copy of the cookie is refused too."""
    token = request.session.get(SESSION_KEY)
    if isinstance(token, str):
        sessions.end_session(session, token, now)
    request.session.clear()


def session_user(request: Request, config: Config, session: Session, now: datetime) -> User | None:
    """The signed-in user of ``request``, re-checked against the server's session, the config
    and the account."""
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str):
        return None
    live = sessions.valid_session(session, config, token, now)
    if live is None:
        return None
    address, since = live.address, live.created_at
    user = user_for(config, address)
    if user is None:
        return None
    if request.session.get("via") == "local":
        if not config.web.local_accounts:
            return None
        account = session.scalars(select(WebUser).where(WebUser.address == address)).one_or_none()
        if account is None or not account.active or account.password_changed_at > since:
            return None
    return user
