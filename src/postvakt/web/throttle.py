"""Slowing down password guessing without letting anyone lock a person out.

Every sign-in attempt is a row in ``login_attempts`` (when, the client's network address,
the account asked for, whether it succeeded).  Before a password is checked, three counts of
recent failures are taken, each with its own back-off:

==================  =========================================  ==============================
scope               counts failures within ``window``           the wait is capped at
==================  =========================================  ==============================
client              from this client, on any account            ``cap`` (15 min): one address
                    (a success does not reset it: a guesser       trying many accounts
                    could sign in to their own account)
account + client    on this account from this client, since     ``cap`` (15 min)
                    its last success there
account             on this account from every client, since    ``account_cap`` (1 min), and
                    its last success                            not for a client that signed
                                                                in to the account lately
==================  =========================================  ==============================

After ``free`` failures in a scope, the next attempt must wait ``2^(n - free)`` seconds
after the last failure (n failures: 1 s, 2 s, 4 s, …), up to the scope's cap.  An attempt
that comes too early is answered at once, without checking the password and without being
counted, so waiting is the only way on.  The account's own scope is loose on purpose: a
guesser elsewhere slows the account by at most a minute per attempt, and never for the
person's own computer (a client that signed in to the account within ``known_for``) — so no
one can lock the owner out, while the two strict scopes stop any one client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from postvakt.registry.models import LoginAttempt

__all__ = ["LoginPolicy", "LoginThrottle", "Verdict"]


@dataclass(frozen=True)
class LoginPolicy:
    """How sign-in attempts are slowed (see the module docstring)."""

    free: int = 5
    window: timedelta = timedelta(minutes=15)
    cap: timedelta = timedelta(minutes=15)
    account_cap: timedelta = timedelta(minutes=1)
    known_for: timedelta = timedelta(days=30)

    def wait(self, failures: int, cap: timedelta) -> timedelta:
        """The pause after ``failures`` failures in a scope: none, then doubling to ``cap``."""
        if failures < self.free:
            return timedelta(0)
        exponent = failures - self.free
        if exponent >= 40:  # far beyond any cap; keeps the number small
            return cap
        return min(timedelta(seconds=2**exponent), cap)


@dataclass(frozen=True)
class Verdict:
    """Whether an attempt may go on; if not, from when and which scope holds it."""

    allowed: bool
    retry_at: datetime | None = None
    scope: str | None = None
    """'client', 'account+client' or 'account'."""
    failures: int = 0


class LoginThrottle:
    """Counts attempts in the database, so every process of the dashboard agrees."""

    def __init__(self, policy: LoginPolicy | None = None):
        self.policy = policy or LoginPolicy()

    def _failures(
        self, session: Session, now: datetime, *, client: str | None, account: str | None
    ) -> tuple[int, datetime | None]:
        """Failures in the window for the scope, since its last success (except the client's
        scope), and when the last one was."""
        since = now - self.policy.window
        if account is not None:
            success: Select[tuple[datetime | None]] = select(func.max(LoginAttempt.at)).where(
                LoginAttempt.account == account, LoginAttempt.success.is_(True)
            )
            if client is not None:
                success = success.where(LoginAttempt.client == client)
            last_success = session.scalar(success)
            if last_success is not None and last_success > since:
                since = last_success
        query = select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.at > since, LoginAttempt.at <= now, LoginAttempt.success.is_(False)
        )
        if client is not None:
            query = query.where(LoginAttempt.client == client)
        if account is not None:
            query = query.where(LoginAttempt.account == account)
        count, last = session.execute(query).one()
        return int(count), last

    def _known(self, session: Session, client: str, account: str, now: datetime) -> bool:
        """Whether ``client`` signed in to ``account`` lately (the person's own computer)."""
        return (
            session.scalar(
                select(LoginAttempt.id)
                .where(
                    LoginAttempt.client == client,
                    LoginAttempt.account == account,
                    LoginAttempt.success.is_(True),
                    LoginAttempt.at > now - self.policy.known_for,
                )
                .limit(1)
            )
            is not None
        )

    def check(self, session: Session, client: str, account: str, now: datetime) -> Verdict:
        """Whether an attempt from ``client`` on ``account`` may have its password checked now."""
        scopes: list[tuple[str, str | None, str | None, timedelta]] = [
            ("client", client, None, self.policy.cap),
            ("account+client", client, account, self.policy.cap),
        ]
        if not self._known(session, client, account, now):
            scopes.append(("account", None, account, self.policy.account_cap))
        worst = Verdict(True)
        for scope, by_client, by_account, cap in scopes:
            failures, last = self._failures(session, now, client=by_client, account=by_account)
            wait = self.policy.wait(failures, cap)
            if last is None or not wait:
                continue
            retry_at = last + wait
            if retry_at > now and (worst.retry_at is None or retry_at > worst.retry_at):
                worst = Verdict(False, retry_at, scope, failures)
        return worst

    def record(
        self, session: Session, client: str, account: str, *, success: bool, now: datetime
    ) -> int:
        """Note an attempt whose password was checked; returns the client's recent failures."""
        session.execute(
            delete(LoginAttempt).where(
                LoginAttempt.at < now - max(self.policy.known_for, self.policy.window)
            )
        )
        session.execute(
            delete(LoginAttempt).where(
                LoginAttempt.success.is_(False), LoginAttempt.at < now - timedelta(days=1)
            )
        )
        session.add(LoginAttempt(at=now, client=client, account=account, success=success))
        session.flush()
        return self._failures(session, now, client=client, account=None)[0]
