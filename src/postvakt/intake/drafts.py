"""Placing drafts: the outbox written in each message's transaction goes to the mailbox after commit."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from postvakt.errors import ConnectorError
from postvakt.intake.report import PassReport
from postvakt.intake.turns import LeaseLost, Turn, held_message, mailbox_turn
from postvakt.mailbox.base import (
    Connector,
    DraftAttachment,
    DraftReply,
)
from postvakt.registry.db import database_errors
from postvakt.registry.models import (
    Case,
    Draft,
    DraftStatus,
    Mailbox,
)

if TYPE_CHECKING:
    from postvakt.intake import Intake

__all__ = ["DOCX", "DRAFT_BATCH", "deliver_drafts", "draft_reply"]

log = logging.getLogger("postvakt.intake")

DRAFT_BATCH = 50
"""Drafts placed per round trip."""
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def deliver_drafts(
    intake: Intake,
    connector: Connector,
    *,
    session: Session | None = None,
    turn: Turn | None = None,
) -> PassReport:
    """Place every pending draft of this mailbox in its Drafts folder (after commit).

    In batches: one read, one ``save_drafts`` call (one round trip on IMAP), one update.
    A failing server leaves the batch pending for the next pass; saving is idempotent.

    Only under the mailbox's lease: ``turn`` when the caller holds it (a pass), else the
    lease is taken here; a mailbox another process holds is left to it (``report.skipped``),
    and its drafts stay pending for that process or the next pass.  Saving checks Drafts for
    the draft's Message-ID before appending; the lease makes check and append one
    process's, so no draft is appended twice.
    """
    own = session is None
    session = session or intake.sessions()
    try:
        if turn is not None:
            return _deliver(intake, connector, session, turn)
        with database_errors():
            mailbox_id = session.scalars(
                select(Mailbox.id).where(Mailbox.address == connector.address)
            ).one()
            session.rollback()
        with mailbox_turn(intake, session, mailbox_id, connector.address) as taken:
            if isinstance(taken, Turn):
                return _deliver(intake, connector, session, taken)
            report = PassReport()
            report.skipped.append(held_message(connector.address, taken, intake.now()))
            return report
    finally:
        session.expunge_all()
        if own:
            session.close()


def _deliver(intake: Intake, connector: Connector, session: Session, turn: Turn) -> PassReport:
    report = PassReport()
    try:
        while True:
            with database_errors(), session.begin():
                rows = session.execute(
                    select(Draft, Case.reference, Mailbox.name)
                    .join(Mailbox, Draft.mailbox_id == Mailbox.id)
                    .outerjoin(Case, Draft.case_id == Case.id)
                    .where(
                        Mailbox.address == connector.address,
                        Draft.status == DraftStatus.PENDING,
                    )
                    .order_by(Draft.id)
                    .limit(DRAFT_BATCH)
                ).all()
                batch = [
                    (d.id, ref or "", draft_reply(intake, connector, d, name))
                    for d, ref, name in rows
                ]
            session.expunge_all()
            if not batch:
                break
            ids = [draft_id for draft_id, _ref, _reply in batch]
            turn.keep(check=True)  # still ours: nobody else appends these meanwhile
            try:
                locations = connector.save_drafts([reply for _id, _ref, reply in batch])
            except ConnectorError as exc:
                with database_errors(), session.begin():
                    session.execute(
                        update(Draft)
                        .where(Draft.id.in_(ids))
                        .values(attempts=Draft.attempts + 1, last_error=str(exc))
                    )
                report.errors.append(f"{connector.address}: utkasten kunde inte sparas: {exc}")
                log.warning("%d drafts for %s not saved yet: %s", len(ids), connector.address, exc)
                break
            now = intake.now()
            with database_errors(), session.begin():
                for (draft_id, reference, _reply), location in zip(batch, locations, strict=True):
                    session.execute(
                        update(Draft)
                        .where(Draft.id == draft_id)
                        .values(
                            status=DraftStatus.SAVED,
                            saved_at=now,
                            location=location,
                            attempts=Draft.attempts + 1,
                            last_error=None,
                        )
                    )
                    report.drafts_saved.append((reference, location))
            if len(batch) < DRAFT_BATCH:
                break
    except LeaseLost as exc:
        report.skipped.append(str(exc))
    return report


def draft_reply(
    intake: Intake, connector: Connector, draft: Draft, mailbox_name: str | None
) -> DraftReply:
    return DraftReply(
        message_id=draft.message_id,
        from_address=connector.address,
        from_name=mailbox_name,
        to_address=draft.to_address,
        to_name=draft.to_name,
        subject=draft.subject,
        text=draft.body_text,
        in_reply_to=draft.in_reply_to,
        references=tuple(draft.references),
        attachments=(
            (DraftAttachment(draft.attachment_name, DOCX, draft.attachment),)
            if draft.attachment and draft.attachment_name
            else ()
        ),
        date=intake.now(),
    )


# -- the failed store ---------------------------------------------------------------
