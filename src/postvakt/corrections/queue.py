"""The review queue: cases to confirm and messages that perhaps should be cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from postvakt.corrections.common import REVIEWABLE_NON_CASES, CorrectionsBase, may_see_message
from postvakt.registry.db import database_errors
from postvakt.registry.models import (
    Case,
    CaseKind,
    CaseStatus,
    Mailbox,
    MessageRecord,
)
from postvakt.roles import (
    User,
    can_correct_case,
    can_correct_message,
    can_view_case,
)

__all__ = ["QueueItem", "ReviewQueue"]


@dataclass(frozen=True)
class QueueItem:
    """One row of the review queue: a case to confirm, or a message a person may register."""

    kind: str
    """'case' or 'message'."""
    id: int
    """The case's id, or the message record's id."""
    reference: str | None
    label: str | None
    """complaint | opinion | other: what the machine (or a person) decided."""
    probability: float | None
    """How sure the classifier was of a case label (the case probability for a message)."""
    reasons: tuple[str, ...]
    received_at: datetime | None
    due: date | None
    """The deadline that is running."""
    mailbox: str | None
    sender: str | None
    subject: str
    excerpt: str
    message_id: str | None
    flagged_by: str | None
    sender_cases: tuple[str, ...] = ()
    """For a message: the sender's cases that are not withdrawn and that the reviewer may
    correct, newest first, the ones it may belong to (``cases attach``)."""


SENDER_CASES = 5
"""At most this many of a sender's cases are offered beside a message."""


class ReviewQueue(CorrectionsBase):
    # -- the review queue ------------------------------------------------------------------

    def queue(self, by: str) -> list[QueueItem]:
        """What ``by`` may review: cases to confirm, and messages not made cases whose case
        probability lay in the review band or that someone flagged.  Oldest first, all of
        them: whoever shows fewer says how many more there are."""
        user = self.person(by)
        threshold = self.config.classifier.review_non_cases_from
        items: list[QueueItem] = []
        with self.sessions() as session, database_errors():
            cases = session.scalars(
                select(Case)
                .options(selectinload(Case.mailbox), selectinload(Case.unit))
                .where(Case.needs_review.is_(True), Case.status != CaseStatus.WITHDRAWN)
            )
            for case in cases:
                if not (can_view_case(user, case) and can_correct_case(user, case)):
                    continue
                items.append(
                    QueueItem(
                        kind="case",
                        id=case.id,
                        reference=case.reference,
                        label=case.kind.value,
                        probability=case.classifier_confidence,
                        reasons=tuple(
                            [*(case.review_reasons or []), *(case.classifier_reasons or [])]
                        ),
                        received_at=case.received_at,
                        due=_running(case),
                        mailbox=case.mailbox.address if case.mailbox else None,
                        sender=case.sender_address,
                        subject=case.subject or case.heading,
                        excerpt=case.summary,
                        message_id=case.message_id,
                        flagged_by=None,
                    )
                )
            records = session.scalars(
                select(MessageRecord)
                .options(selectinload(MessageRecord.mailbox).selectinload(Mailbox.unit))
                .where(
                    MessageRecord.disposition.in_(REVIEWABLE_NON_CASES),
                    MessageRecord.reviewed_at.is_(None),
                    or_(
                        MessageRecord.flagged_by.is_not(None),
                        MessageRecord.case_probability >= threshold,
                    ),
                )
            )
            shown = []
            for record in records:
                mailbox = record.mailbox
                unit = mailbox.unit.name if mailbox.unit else None
                # a private message is kept from the mailbox's other owners, as a private case
                if can_correct_message(user, mailbox.address, unit) and may_see_message(
                    user, record
                ):
                    shown.append(record)
            theirs = _cases_of(session, user, {r.sender_address for r in shown})
            for record in shown:
                mailbox = record.mailbox
                items.append(
                    QueueItem(
                        kind="message",
                        id=record.id,
                        reference=None,
                        label=record.label,
                        probability=record.case_probability,
                        reasons=tuple(record.reasons or []),
                        received_at=record.received_at,
                        due=record.reply_due if record.answered_at is None else None,
                        mailbox=mailbox.address,
                        sender=record.sender_address,
                        subject=record.subject or "",
                        excerpt=record.excerpt or "",
                        message_id=record.message_id,
                        flagged_by=record.flagged_by,
                        sender_cases=theirs.get((record.sender_address or "").lower(), ()),
                    )
                )
        items.sort(
            key=lambda i: (
                i.received_at is None,
                i.received_at.timestamp() if i.received_at else 0,
                i.id,
            )
        )
        return items


def _cases_of(session: Session, user: User, senders: set[str | None]) -> dict[str, tuple[str, ...]]:
    """lower-cased sender -> the references of their cases ``user`` may correct (not
    withdrawn), newest first, at most :data:`SENDER_CASES`; one query for the page."""
    wanted = {s.lower() for s in senders if s}
    if not wanted:
        return {}
    found: dict[str, list[str]] = {}
    cases = session.scalars(
        select(Case)
        .options(selectinload(Case.mailbox), selectinload(Case.unit))
        .where(func.lower(Case.sender_address).in_(wanted), Case.status != CaseStatus.WITHDRAWN)
        .order_by(Case.received_at.desc(), Case.id.desc())
    )
    for case in cases:
        refs = found.setdefault((case.sender_address or "").lower(), [])
        if len(refs) < SENDER_CASES and can_view_case(user, case) and can_correct_case(user, case):
            refs.append(case.label)
    return {sender: tuple(refs) for sender, refs in found.items() if refs}


def _running(case: Case) -> date | None:
    """The deadline that runs now: the acknowledgement for a registered complaint, else the
    answer."""
    if case.kind is CaseKind.COMPLAINT and case.status is CaseStatus.REGISTERED and case.ack_due:
        return min(d for d in (case.ack_due, case.answer_due) if d)
    return case.answer_due or case.reply_due
