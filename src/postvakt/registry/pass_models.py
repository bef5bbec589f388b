"""Each mailbox's passes as the operator needs them: the last one, the last good one, the
last error, and how many passes in a row have failed (``postvakt status``, ``/readyz``,
``/metrics``).  Written by :mod:`postvakt.registry.passes`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from postvakt.registry.models import Base

__all__ = ["MailboxPass"]


class MailboxPass(Base):
    """One row per mailbox that has had a pass, updated at the end of every pass."""

    __tablename__ = "mailbox_passes"

    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"), primary_key=True)
    last_pass_at: Mapped[datetime]
    """When the last pass ended, good or failed."""
    last_success_at: Mapped[datetime | None]
    """When the last pass without an error ended; None while every pass has failed."""
    last_error: Mapped[str | None] = mapped_column(Text)
    """What the last failed pass ran into, in Swedish, without any address (the mailbox is
    the row's)."""
    last_error_at: Mapped[datetime | None]
    failures_in_row: Mapped[int] = mapped_column(default=0)
    """Failed passes since the last good one (0 when the last pass was good)."""
    last_duration_ms: Mapped[int | None]
    """How long the last pass took, in milliseconds (None when it was only probed)."""
    last_messages: Mapped[int | None]
    """Messages the last pass recorded (None when unknown)."""
    holder: Mapped[str | None] = mapped_column(String(200))
    """The process that made the last pass (``host:pid:random``, as its leases)."""
