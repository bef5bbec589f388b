"""Seen messages, connectors' sync states and the failed store."""

from __future__ import annotations

import traceback as tb
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy import case as sa_case
from sqlalchemy.orm import Session

from postvakt.mailbox.base import FetchedMessage
from postvakt.registry.models import (
    Case,
    CaseStatus,
    Disposition,
    FailedMessage,
    MessageRecord,
    SyncState,
)

__all__ = [
    "case_of_message",
    "earlier_record",
    "known_keys",
    "load_state",
    "message_record",
    "record_failure",
    "same_mail",
    "save_state",
    "unresolved_failures",
]


def known_keys(session: Session, mailbox_id: int, folder: str) -> set[str]:
    """Keys of every message already processed (or failed) in this folder."""
    return set(
        session.scalars(
            select(MessageRecord.message_key).where(
                MessageRecord.mailbox_id == mailbox_id, MessageRecord.folder == folder
            )
        )
    )


def same_mail(message_id: str, content: str | None) -> ColumnElement[bool]:
    """The records of this very e-mail: its Message-ID *and* content hash.  Records written
    before content hashes were kept (none stored) match by Message-ID."""
    return (MessageRecord.message_id == message_id) & (
        (MessageRecord.content_hash == content) | MessageRecord.content_hash.is_(None)
    )


def earlier_record(
    session: Session, mailbox_id: int, message_id: str, content: str | None, *, sent: bool
) -> MessageRecord | None:
    """The first record of this very message (Message-ID *and* content hash) in the mailbox.

    ``sent`` looks among the mailbox's sent mail, else among what it received.  Records
    written before content hashes were kept (none stored) match by Message-ID.
    """
    kind = (
        MessageRecord.disposition == Disposition.SENT
        if sent
        # Mail from before the mailbox's start became nothing: registered on purpose later
        # (``postvakt backfill``), it must not count as its own earlier copy.
        else MessageRecord.disposition.not_in(
            (Disposition.SENT, Disposition.FAILED, Disposition.BEFORE_START)
        )
    )
    return session.scalars(
        select(MessageRecord)
        .where(
            MessageRecord.mailbox_id == mailbox_id,
            same_mail(message_id, content),
            kind,
        )
        .order_by(MessageRecord.id)
        .limit(1)
    ).first()


def case_of_message(session: Session, message_id: str, content: str | None) -> Case | None:
    """The case this very e-mail (Message-ID *and* content hash) is in already, in whatever
    mailbox it was read: the case registered from it, or the case it joined as a citizen's
    later message (a reply to all, or Cc'd to a second watched mailbox, is one e-mail).

    One query.  A case in force comes before a withdrawn one (a merged case's message is a
    later message of the case it was merged into; a withdrawn case registered again gave
    its hash to the new case), then the case registered from it.  Cases and records written
    before content hashes were kept (none stored) match by Message-ID (:func:`same_mail`).
    """
    own = (Case.message_id == message_id) & (
        (Case.content_hash == content)
        # A withdrawn case whose hash was given up to the case that replaced it never
        # matches by its Message-ID alone.
        | (Case.content_hash.is_(None) & (Case.status != CaseStatus.WITHDRAWN))
    )
    joined = Case.id.in_(
        select(MessageRecord.case_id).where(
            same_mail(message_id, content), MessageRecord.disposition == Disposition.FOLLOWUP
        )
    )
    return session.scalars(
        select(Case)
        .where(own | joined)
        .order_by(
            sa_case((Case.status == CaseStatus.WITHDRAWN, 1), else_=0),
            sa_case((own, 0), else_=1),
            Case.id,
        )
        .limit(1)
    ).first()


def message_record(
    session: Session, mailbox_id: int, folder: str, key: str
) -> MessageRecord | None:
    return session.scalars(
        select(MessageRecord).where(
            MessageRecord.mailbox_id == mailbox_id,
            MessageRecord.folder == folder,
            MessageRecord.message_key == key,
        )
    ).one_or_none()


def load_state(session: Session, mailbox_id: int, folder: str) -> dict[str, Any] | None:
    row = session.scalars(
        select(SyncState).where(SyncState.mailbox_id == mailbox_id, SyncState.folder == folder)
    ).one_or_none()
    return dict(row.state) if row is not None else None


def save_state(
    session: Session, mailbox_id: int, folder: str, state: Mapping[str, Any], now: datetime
) -> None:
    """Store the folder's sync state: one UPDATE, or an INSERT the first time."""
    changed = session.execute(
        update(SyncState)
        .where(SyncState.mailbox_id == mailbox_id, SyncState.folder == folder)
        .values(state=dict(state), updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount == 0:
        session.add(
            SyncState(mailbox_id=mailbox_id, folder=folder, state=dict(state), updated_at=now)
        )


def record_failure(
    session: Session,
    mailbox_id: int,
    fetched: FetchedMessage,
    exc: BaseException,
    now: datetime,
    role: str = "inbox",
) -> FailedMessage:
    """Keep the raw bytes and the traceback; a second failure of the same message counts up."""
    text = "".join(tb.format_exception(exc))
    error = f"{type(exc).__name__}: {exc}"[:2000]
    row = session.scalars(
        select(FailedMessage).where(
            FailedMessage.mailbox_id == mailbox_id,
            FailedMessage.folder == fetched.folder,
            FailedMessage.message_key == fetched.key,
        )
    ).one_or_none()
    if row is None:
        row = FailedMessage(
            mailbox_id=mailbox_id,
            folder=fetched.folder,
            role=role,
            message_key=fetched.key,
            received_at=fetched.received_at,
            raw=fetched.raw,
            error=error,
            traceback=text,
            failed_at=now,
            attempts=1,
        )
        session.add(row)
    else:
        row.attempts += 1
        row.error, row.traceback, row.failed_at, row.resolved_at = error, text, now, None
    return row


def unresolved_failures(session: Session, ids: list[int] | None = None) -> list[FailedMessage]:
    query = (
        select(FailedMessage).where(FailedMessage.resolved_at.is_(None)).order_by(FailedMessage.id)
    )
    if ids:
        query = query.where(FailedMessage.id.in_(ids))
    return list(session.scalars(query))
