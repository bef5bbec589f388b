"""The diary outbox: every document of a case, written in the transaction that made it.

A row is queued (:func:`queue_document`) in the same transaction as the state change it
records — the registration, the letter seen sent, the closure — so that a document is never
lost: if the transaction rolls back, there is nothing to deliver; if it commits, the
deliverer (:mod:`postvakt.diary.delivery`) will hand it to the diary, retrying with back-off
while the diary or SMTP is down.  The row's ``key`` is unique: the same document is never
queued, nor delivered, twice.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postvakt.registry.models import Base, _enum

if TYPE_CHECKING:
    from postvakt.registry.models import Case

__all__ = ["DeliveryStatus", "DiaryAttachment", "DiaryEntry"]


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its (next) try
    SENDING = "sending"  # claimed by a deliverer; left so by a crash it is shown as uncertain
    SENT = "sent"
    FAILED = "failed"  # the diary refused it as it is: a person looks, then `diary retry`


class DiaryEntry(Base):
    """One document of a case on its way to (or in) the diary."""

    __tablename__ = "diary_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    """Idempotency key (``case-17/answer/draft-3``)."""
    system: Mapped[str] = mapped_column(String(12))
    """registrar | public360 | file: where it was queued for."""
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    made_at: Mapped[datetime]
    """The document's date: the arrival stamp, when the letter was sent, when closed."""
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What a multi-call delivery has done so far (Public 360: case, document, files)."""
    external_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship()
    attachments: Mapped[list[DiaryAttachment]] = relationship(
        order_by="DiaryAttachment.position", cascade="all, delete-orphan"
    )


class DiaryAttachment(Base):
    """A file of a diary document, as it was sent (the .docx, the .eml)."""

    __tablename__ = "diary_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("diary_documents.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)
