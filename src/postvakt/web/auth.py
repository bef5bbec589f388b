"""Local accounts and the signed-in session.

Local accounts are rows in ``web_users``: the address and an argon2 hash of the password,
made with ``postvakt web adduser``.  An account can only be made for an address the config
gives a role (a person, a unit head, a mailbox owner, the registrar, an admin), and what
it may do is always read from the config, never from the account.

The session is a cookie signed with the session key (Starlette's ``SessionMiddleware``):
``user`` (the address), ``since`` (when they signed in), ``via`` (local or oidc) and the
CSRF token — no citizen data.  Every request re-checks it: the sign-in must be younger
than ``web.session_hours``, the person must still have a role, and a local account must
still be active with no password change since the sign-in (changing a password or
disabling an account ends its sessions).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict, deque
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.config import Config
from postvakt.errors import NotFoundError
from postvakt.registry.models import WebUser
from postvakt.web.csrf import FIELD, new_token
from postvakt.web.roles import User, user_for

__all__ = [
    "MIN_PASSWORD",
    "LoginThrottle",
    "NotSignedIn",
    "add_user",
    "authenticate",
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


class LoginThrottle:
    """At most ``limit`` failed sign-ins per address within ``window``; then a pause."""

    def __init__(self, limit: int = 5, window: timedelta = timedelta(minutes=15)):
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[datetime]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, address: str, now: datetime) -> deque[datetime]:
        failures = self._failures[address]
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def blocked(self, address: str, now: datetime) -> bool:
        with self._lock:
            return len(self._recent(address.lower(), now)) >= self.limit

    def failed(self, address: str, now: datetime) -> None:
        with self._lock:
            self._recent(address.lower(), now).append(now)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address.lower(), None)


def start_session(request: Request, address: str, *, via: str, now: datetime) -> None:
    """A fresh session for ``address``: the old one (and its CSRF token) is dropped, so a
    session planted before sign-in is worth nothing after it."""
    request.session.clear()
    request.session.update(
        {"user": address.lower(), "since": now.isoformat(), "via": via, FIELD: new_token()}
    )


def end_session(request: Request) -> None:
    request.session.clear()


def session_user(request: Request, config: Config, session: Session, now: datetime) -> User | None:
    """The signed-in user of ``request``, re-checked against the config and the account."""
    address = request.session.get("user")
    since_text = request.session.get("since")
    if not isinstance(address, str) or not isinstance(since_text, str):
        return None
    try:
        since = datetime.fromisoformat(since_text)
    except ValueError:
        return None
    if not since <= now < since + timedelta(hours=config.web.session_hours):
        return None
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
