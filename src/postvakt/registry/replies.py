"""Answers seen in a mailbox's Sent folder: which citizen messages they answer.

A sent message answers the messages it names in In-Reply-To/References (answered before
or not: a case's real answer often follows its acknowledgment); failing that, the latest
unanswered message from the same person about the same subject received before it.
The acknowledgment letter counts as an answer for the reply clock (the routines say an
answer may be "we are working on it"); on a case it records ``acknowledged``, any other
reply ``answered``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.registry.cases import add_event
from postvakt.registry.models import CaseStatus, Disposition, EventKind, MessageRecord

__all__ = ["CITIZEN", "normalise_subject", "record_reply"]

CITIZEN = (Disposition.CASE, Disposition.NOT_CASE, Disposition.DUPLICATE, Disposition.FOLLOWUP)
"""Dispositions of messages that a person must answer."""

_PREFIXES = re.compile(
    r"^\s*((sv|re|svar|aw|vs|fw|fwd|vb|ang|angående)\s*(\[\d+\])?\s*[:.]\s*)+", re.IGNORECASE
)


def normalise_subject(subject: str | None) -> str:
    """'SV: Re: Snöröjning  på gatan' -> 'snöröjning på gatan'."""
    return re.sub(r"\s+", " ", _PREFIXES.sub("", subject or "")).strip().lower()


def record_reply(
    session: Session,
    *,
    mailbox_id: int,
    thread_ids: Sequence[str],
    to_addresses: Sequence[str],
    subject: str,
    at: datetime,
    by: str | None,
    acknowledgment: bool,
) -> list[MessageRecord]:
    """Mark what the reply answers; write the case events.  Returns the answered records."""
    answered: list[MessageRecord] = []
    if thread_ids:
        answered = list(
            session.scalars(
                select(MessageRecord).where(
                    MessageRecord.mailbox_id == mailbox_id,
                    MessageRecord.message_id.in_(list(thread_ids)),
                    MessageRecord.disposition.in_(CITIZEN),
                )
            )
        )
    if not answered and to_addresses and normalise_subject(subject):
        wanted = normalise_subject(subject)
        candidates = session.scalars(
            select(MessageRecord)
            .where(
                MessageRecord.mailbox_id == mailbox_id,
                MessageRecord.sender_address.in_([a.lower() for a in to_addresses]),
                MessageRecord.disposition.in_(CITIZEN),
                MessageRecord.answered_at.is_(None),
                MessageRecord.received_at <= at,
            )
            .order_by(MessageRecord.received_at.desc())
        )
        match = next((r for r in candidates if normalise_subject(r.subject) == wanted), None)
        answered = [match] if match is not None else []
    for record in answered:
        if record.answered_at is None:  # the first answer stops the reply clock
            record.answered_at, record.answered_by = at, by
        case = record.case
        if case is None:
            continue
        if acknowledgment and case.status is CaseStatus.REGISTERED:
            case.status = CaseStatus.ACKNOWLEDGED
            add_event(
                session,
                case,
                EventKind.ACKNOWLEDGED,
                actor=by or "okänd",
                at=at,
                detail="Mottagningsbekräftelsen skickades till avsändaren",
            )
        elif not acknowledgment and case.status in (
            CaseStatus.REGISTERED,
            CaseStatus.ACKNOWLEDGED,
            CaseStatus.REOPENED,
        ):
            case.status = CaseStatus.ANSWERED
            add_event(
                session,
                case,
                EventKind.ANSWERED,
                actor=by or "okänd",
                at=at,
                detail=f"Svar skickat: {subject[:120]}",
            )
    return answered
