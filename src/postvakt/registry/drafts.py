"""Reply drafts in the outbox: written in a transaction, placed in the mailbox after commit."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from postvakt.mailbox.addresses import header_address, one_line
from postvakt.registry.batch_rows import batch_rows
from postvakt.registry.cases import add_event, mark_for_review
from postvakt.registry.models import Case, Draft, DraftStatus, EventKind

__all__ = [
    "ADDRESS_CHECK",
    "add_draft",
    "failed_drafts",
    "mark_address_check",
    "unsent_acknowledgements",
]

ADDRESS_CHECK = (
    "Avsändarens adress kan inte användas i ett brevhuvud ({address}): kontrollera adressen "
    "och skriv mottagaren i utkastet för hand."
)
"""The review reason of a case whose citizen's address no letter can be addressed to."""


def mark_address_check(case: Case, address: str) -> None:
    """Mark ``case`` for a person to check the citizen's address (once per address)."""
    reason = ADDRESS_CHECK.format(address=one_line(address)[:120])
    case.address_check = True
    mark_for_review(case, reason)


def add_draft(
    session: Session,
    case: Case,
    *,
    kind: str,
    title: str,
    mailbox_id: int,
    mailbox_address: str,
    to_address: str,
    to_name: str | None,
    subject: str,
    in_reply_to: str | None,
    references: list[str],
    body_text: str,
    filename: str,
    data: bytes,
    actor: str,
    now: datetime,
    previous: int | None = None,
) -> str:
    """Queue a reply draft with a letter; its Message-ID (returned) is fixed by the case, the
    kind of letter and how many of that kind came before (``previous``; counted when not given — the
    intake knows a case it registered in the same transaction has none), so placing it twice
    places it once.

    An address that cannot be written in a header (a UTF-8 local part, garbage) gives a
    draft without a recipient (``to_address`` ""), and the case is marked for a person to
    check the address (:func:`mark_address_check`).
    """
    if to_address and header_address(to_address) is None:
        mark_address_check(case, to_address)
        to_address = ""
    to_name = one_line(to_name)[:500] or None
    if previous is None:
        previous = session.scalar(
            select(func.count())
            .select_from(Draft)
            .where(Draft.case_id == case.id, Draft.message_id.like(f"postvakt.{kind}.%"))
        )
    # The case's reference is unique and known before the case is flushed (a case the
    # intake registers in this transaction has no id yet: no flush is needed for it).
    token = hashlib.sha256(f"{case.reference}|{kind}|{previous}".encode()).hexdigest()[:24]
    message_id = f"postvakt.{kind}.{token}@{mailbox_address.rpartition('@')[2]}"
    values = {
        "mailbox_id": mailbox_id,
        "message_id": message_id,
        "to_name": to_name,
        "to_address": to_address,
        "subject": subject,
        "in_reply_to": in_reply_to,
        "references": references,
        "body_text": body_text,
        "attachment_name": filename,
        "attachment": data,
        "status": DraftStatus.PENDING,
        "created_at": now,
    }
    kept = batch_rows(session)
    if kept is not None and kept.keeps(case):  # written with the batch's (see batch_rows)
        kept.add_to(
            Draft, case, **values, saved_at=None, location=None, attempts=0, last_error=None
        )
    else:
        session.add(Draft(case=case, **values))
    add_event(
        session,
        case,
        EventKind.DRAFTED,
        actor=actor,
        at=now,
        detail=f"{title} skapad som utkast "
        + (f"till {to_address}" if to_address else "utan mottagare: adressen måste kontrolleras"),
        document=filename,
    )
    return message_id


def failed_drafts(session: Session) -> list[Draft]:
    """Drafts that could not be built (``DraftStatus.FAILED``), oldest first."""
    return list(
        session.scalars(
            select(Draft)
            .options(selectinload(Draft.mailbox), selectinload(Draft.case))
            .where(Draft.status == DraftStatus.FAILED)
            .order_by(Draft.id)
        )
    )


def unsent_acknowledgements(session: Session, case: Case) -> list[Draft]:
    """Postvakt's acknowledgement drafts of ``case`` that nobody has sent (waiting to be
    placed, or in Drafts), oldest first, locked and read fresh: one being placed meanwhile
    is seen as SAVED."""
    return list(
        session.scalars(
            select(Draft)
            .where(
                Draft.case_id == case.id,
                Draft.message_id.like("postvakt.ack.%"),
                Draft.status.in_((DraftStatus.PENDING, DraftStatus.SAVED)),
            )
            .order_by(Draft.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
