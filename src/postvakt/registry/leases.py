"""Mailbox leases: one process works a mailbox at a time, and a dead one's turn runs out.

A lease is a row in ``mailbox_leases`` (mailbox, holder, acquired_at, expires_at).  The
holder names a process: ``host:pid:random``.  A process takes the lease before it reads a
mailbox or places its drafts, renews it while it works and releases it when done.  Another
process finds the lease held and leaves the mailbox for this pass.  A process that dies
stops renewing: its lease runs out after ``service.lease_seconds``, and a process on the
same host sees at once that the holder's pid is gone and takes over without waiting.

Taking a lease is atomic: on PostgreSQL the row is read ``FOR UPDATE`` (or inserted with
``ON CONFLICT DO NOTHING``, and read again when another process inserted it first); on
SQLite the transaction's ``BEGIN IMMEDIATE`` holds the database's write lock.

Times come from the caller's clock; hosts sharing a database keep their clocks in step
(NTP), well within half the lease time.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from postvakt.registry.models import MailboxLease

__all__ = ["Held", "Lease", "acquire", "holder_is_gone", "new_holder", "release", "renew"]


def new_holder() -> str:
    """A name for this process's leases: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_is_gone(holder: str) -> bool:
    """Whether ``holder`` is a process on this host that no longer runs.

    Only a process of this host can be checked; any other holder counts as alive until
    its lease runs out.  A pid reused by another program counts as alive too (safe side).
    """
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # another lease of this very process: alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: alive
        return False
    return False


@dataclass
class Lease:
    """A lease this process holds on one mailbox."""

    mailbox_id: int
    holder: str
    seconds: float
    acquired_at: datetime
    expires_at: datetime
    renewed_at: datetime

    def due(self, now: datetime) -> bool:
        """Whether half the lease time has passed since it was last taken or renewed."""
        return now - self.renewed_at >= timedelta(seconds=self.seconds / 2)


@dataclass(frozen=True)
class Held:
    """The mailbox is another live process's for now."""

    mailbox_id: int
    holder: str
    expires_at: datetime


def _insert(session: Session, values: dict[str, object]) -> bool:
    """Insert the lease row unless one exists; True if this call inserted it."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(MailboxLease).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(MailboxLease).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - Postvakt runs on SQLite and PostgreSQL
        raise NotImplementedError(dialect)
    return session.execute(statement).rowcount == 1


def _locked_row(session: Session, mailbox_id: int) -> MailboxLease | None:
    return session.scalars(
        select(MailboxLease)
        .where(MailboxLease.mailbox_id == mailbox_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def acquire(
    session: Session, mailbox_id: int, holder: str, *, now: datetime, seconds: float
) -> Lease | Held:
    """Take the mailbox's lease for ``seconds``, or say who holds it.

    Taken when there is no lease, when ``holder`` already has it, when it has run out, or
    when its holder is a process of this host that is gone.  Call inside a transaction;
    the lease is the caller's once that transaction commits.
    """
    expires = now + timedelta(seconds=seconds)
    values = {"mailbox_id": mailbox_id, "holder": holder, "acquired_at": now, "expires_at": expires}
    row = _locked_row(session, mailbox_id)
    if row is None and _insert(session, values):
        return Lease(mailbox_id, holder, seconds, now, expires, now)
    if row is None:  # another process inserted it just now; its row is committed and locked
        row = _locked_row(session, mailbox_id)
        assert row is not None, "the conflicting lease row exists"
    if row.holder != holder and row.expires_at > now and not holder_is_gone(row.holder):
        return Held(mailbox_id, row.holder, row.expires_at)
    row.holder, row.acquired_at, row.expires_at = holder, now, expires
    session.flush()
    return Lease(mailbox_id, holder, seconds, now, expires, now)


def renew(session: Session, lease: Lease, *, now: datetime) -> bool:
    """Move the lease's end ``lease.seconds`` on from ``now``; False if it is no longer ours
    (it ran out and another process took it).  Call inside a transaction."""
    expires = now + timedelta(seconds=lease.seconds)
    changed = session.execute(
        update(MailboxLease)
        .where(MailboxLease.mailbox_id == lease.mailbox_id, MailboxLease.holder == lease.holder)
        .values(expires_at=expires)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed:
        lease.expires_at, lease.renewed_at = expires, now
    return changed == 1


def release(session: Session, lease: Lease) -> None:
    """Give the mailbox back (only if the lease is still ours).  Call inside a transaction."""
    session.execute(
        delete(MailboxLease)
        .where(MailboxLease.mailbox_id == lease.mailbox_id, MailboxLease.holder == lease.holder)
        .execution_options(synchronize_session=False)
    )
