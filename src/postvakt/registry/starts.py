"""When Postvakt began watching each mailbox: the default of the mailbox's ``start_from``.

Mail that arrived in a mailbox before its start is recorded as seen (disposition
``before_start``) but not acted on: no case, no letter, no reply deadline.  The start is the
config's ``start_from`` when given, else the moment the mailbox was first watched, which is
kept here so that it stays the same on every later pass (and after a restart).
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo

from sqlalchemy import ForeignKey, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from postvakt.registry.models import Base

__all__ = ["MailboxStart", "first_watched", "start_moment", "watched_since"]


class MailboxStart(Base):
    """The moment a mailbox was first watched (one row per mailbox, written once)."""

    __tablename__ = "mailbox_starts"

    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"), primary_key=True)
    first_watched_at: Mapped[datetime]


def start_moment(value: date | datetime | None, tz: tzinfo) -> datetime | None:
    """The config's ``start_from`` as an aware moment: a date is its midnight in ``tz``, a
    time without an offset is read in ``tz``."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), tz)
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def watched_since(session: Session, mailbox_id: int) -> datetime | None:
    """When the mailbox was first watched, or None when it never was."""
    return session.scalars(
        select(MailboxStart.first_watched_at).where(MailboxStart.mailbox_id == mailbox_id)
    ).first()


def first_watched(session: Session, mailbox_id: int, now: datetime) -> datetime:
    """When the mailbox was first watched; ``now`` (stored, in the caller's transaction) the
    first time it is asked.  Only the process holding the mailbox's lease asks."""
    found = watched_since(session, mailbox_id)
    if found is None:
        session.add(MailboxStart(mailbox_id=mailbox_id, first_watched_at=now))
        session.flush()
        return now
    return found
