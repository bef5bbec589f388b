"""Reply drafts in the outbox: written in a transaction, placed in the mailbox after commit."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postvakt.registry.cases import add_event
from postvakt.registry.models import Case, Draft, DraftStatus, EventKind

__all__ = ["add_draft"]


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
) -> Draft:
    """Queue a reply draft with a letter; its Message-ID is fixed by the case, the kind of
    letter and how many of that kind came before, so placing it twice places it once."""
    previous = session.scalar(
        select(func.count())
        .select_from(Draft)
        .where(Draft.case_id == case.id, Draft.message_id.like(f"postvakt.{kind}.%"))
    )
    token = hashlib.sha256(f"{case.reference}|{kind}|{previous}".encode()).hexdigest()[:16]
    draft = Draft(
        case=case,
        mailbox_id=mailbox_id,
        message_id=f"postvakt.{kind}.{case.id}.{token}@{mailbox_address.rpartition('@')[2]}",
        to_name=to_name,
        to_address=to_address,
        subject=subject,
        in_reply_to=in_reply_to,
        references=references,
        body_text=body_text,
        attachment_name=filename,
        attachment=data,
        status=DraftStatus.PENDING,
        created_at=now,
    )
    session.add(draft)
    add_event(
        session,
        case,
        EventKind.DRAFTED,
        actor=actor,
        at=now,
        detail=f"{title} skapad som utkast till {to_address}",
        document=filename,
    )
    return draft
