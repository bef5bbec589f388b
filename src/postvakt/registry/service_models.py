"""The service's own bookkeeping: which process works a mailbox (leases), what was told to
whom (notifications), which instance runs a day's job (job claims), whether a mailbox was
opened on a working day (daily checks), and the messages that raised (failed messages, for
replay).  Re-exported by :mod:`postvakt.registry.models`."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postvakt.registry.models import Base

if TYPE_CHECKING:
    from postvakt.registry.models import Mailbox

__all__ = ["DailyCheck", "FailedMessage", "JobClaim", "MailboxLease", "Notification"]


class MailboxLease(Base):
    """One process works a mailbox at a time: it holds the lease until ``expires_at``.

    The holder renews the lease while it works; a process that dies stops renewing, and
    another may take the mailbox once the lease has run out.
    """

    __tablename__ = "mailbox_leases"

    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class Notification(Base):
    """One thing told to one person once: a reminder, a breach, an alert.

    Unique on (recipient, kind, ref, day): whatever restarts or runs twice, it is sent once.
    ``status`` is 'sending' from the moment it is claimed until the mail server took it.
    """

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("recipient", "kind", "ref", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(30))
    ref: Mapped[str] = mapped_column(String(500))
    """What it is about: a case number, a message key, a mailbox address."""
    day: Mapped[date]
    """The deadline or the day the check concerns."""
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="sending")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    """When it was last claimed ('sending'): one claimed long ago was left by a process that
    stopped, and is sent again."""
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    """About mail marked private: told to the recipient even while they are away, never to
    whoever covers them."""


class JobClaim(Base):
    """A scheduled job's run for one day, claimed by one instance (unique), and finished."""

    __tablename__ = "job_claims"
    __table_args__ = (UniqueConstraint("job", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    day: Mapped[date]
    claimed_by: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    """When the run's work was done; None while it runs, or when its process stopped or the
    work failed (then taken up again once ``claimed_at`` is older than the lease)."""


class DailyCheck(Base):
    """Whether a mailbox was opened on a working day, and the evidence."""

    __tablename__ = "daily_checks"
    __table_args__ = (UniqueConstraint("mailbox_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"))
    day: Mapped[date]
    opened: Mapped[bool] = mapped_column(Boolean)
    evidence: Mapped[str] = mapped_column(Text)
    checked_at: Mapped[datetime]

    mailbox: Mapped[Mailbox] = relationship()


class FailedMessage(Base):
    __tablename__ = "failed_messages"
    __table_args__ = (UniqueConstraint("mailbox_id", "folder", "message_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"))
    folder: Mapped[str] = mapped_column(String(500))
    role: Mapped[str] = mapped_column(String(10), default="inbox")
    """'inbox' or 'sent': which steps replay it."""
    message_key: Mapped[str] = mapped_column(String(500))
    received_at: Mapped[datetime | None]
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    resolved_at: Mapped[datetime | None]

    mailbox: Mapped[Mailbox] = relationship()
