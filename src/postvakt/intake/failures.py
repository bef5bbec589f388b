"""The failed store: a message that raised is kept with its bytes and replayed on demand."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.intake.report import MessageOutcome, PassReport
from postvakt.logs import describe
from postvakt.mailbox.base import (
    FetchedMessage,
    FolderRole,
)
from postvakt.registry.db import database_errors
from postvakt.registry.messages import (
    message_record,
    record_failure,
    save_state,
    unresolved_failures,
)
from postvakt.registry.models import (
    Disposition,
    FailedMessage,
    Mailbox,
    MessageRecord,
)

if TYPE_CHECKING:
    from postvakt.intake import Intake

__all__ = ["record_failed", "resolve_failure", "retry_failed", "store_failed"]

log = logging.getLogger("postvakt.intake")


def record_failed(
    intake: Intake,
    session: Session,
    mailbox_id: int,
    fetched: FetchedMessage,
    exc: Exception,
    role: FolderRole = "inbox",
) -> MessageOutcome:
    """Keep a message whose steps raised in the failed store, in a transaction of its own,
    with the folder's sync state moved past it."""
    with database_errors(), session.begin():
        outcome = store_failed(intake, session, mailbox_id, fetched, exc, role, state=True)
    session.expunge_all()
    return outcome


def store_failed(
    intake: Intake,
    session: Session,
    mailbox_id: int,
    fetched: FetchedMessage,
    exc: Exception,
    role: FolderRole = "inbox",
    *,
    state: bool,
) -> MessageOutcome:
    """:func:`record_failed` in the caller's transaction (a batch's); ``state``: save the
    message's sync state too (a batch saves its own once, at its end)."""
    # The exception's text can quote the message (a driver's error its row, a library's a
    # header): above DEBUG only ids and what kind of error; the whole of it is in the store.
    log.error(
        "message %s in mailbox %d, folder %s, failed (%s); kept in the failed store",
        fetched.key,
        mailbox_id,
        fetched.folder,
        describe(exc),
    )
    log.debug("message %s failed", fetched.key, exc_info=exc)
    now = intake.now()
    mailbox = session.get_one(Mailbox, mailbox_id)
    failed = record_failure(session, mailbox_id, fetched, exc, now, role)
    row = message_record(session, mailbox_id, fetched.folder, fetched.key)
    if row is None:
        row = MessageRecord(mailbox_id=mailbox_id, folder=fetched.folder, message_key=fetched.key)
        session.add(row)
    row.processed_at, row.disposition, row.received_at = (
        now,
        Disposition.FAILED,
        fetched.received_at,
    )
    if state and fetched.state is not None:
        save_state(session, mailbox_id, fetched.folder, fetched.state, now)
    session.flush()
    return MessageOutcome(
        mailbox.address,
        fetched.folder,
        fetched.key,
        Disposition.FAILED,
        reason=f"sparat som misslyckat nr {failed.id}: {failed.error[:120]}",
    )


def resolve_failure(
    session: Session, mailbox_id: int, fetched: FetchedMessage, now: datetime
) -> None:
    failed = session.scalars(
        select(FailedMessage).where(
            FailedMessage.mailbox_id == mailbox_id,
            FailedMessage.folder == fetched.folder,
            FailedMessage.message_key == fetched.key,
            FailedMessage.resolved_at.is_(None),
        )
    ).one_or_none()
    if failed is not None:
        failed.resolved_at = now


def retry_failed(intake: Intake, ids: list[int] | None = None) -> PassReport:
    """Replay failed messages from their stored bytes."""
    report = PassReport()
    with intake.sessions() as session:
        with database_errors(), session.begin():
            failures = [
                (
                    f.mailbox_id,
                    f.role,
                    FetchedMessage(f.folder, f.message_key, f.raw, f.received_at),
                )
                for f in unresolved_failures(session, ids)
            ]
        session.expunge_all()
        for mailbox_id, role, fetched in failures:
            report.outcomes.append(
                intake.process(
                    session,
                    mailbox_id,
                    fetched,
                    "sent" if role == "sent" else "inbox",
                    replay=True,
                )
            )
    return report
