"""What is due, and who must act: the deadlines of citizen messages and cases.

Deciding only: :func:`due_items` reads the database and returns what is open with its due
date; :func:`to_notify` decides, for a day, who is reminded and who is told of a breach.
Sending is :mod:`postvakt.rules.notify`'s job.

Every citizen message to a watched mailbox has a reply deadline (machine mail, internal
mail and newsletters have none).  A message that became a case is followed through its
case instead: a complaint must be acknowledged (``complaint_ack``) and answered
(``complaint_answer``); an opinion answered.  A reply need not be the final solution: any
reply stops the message's clock, the case's answer clock stops at an answer.  A case that
waits for the citizen has no running clock.  A citizen who writes again in a case after it
was answered or handed over (closed since, or not) is owed a reply of their own: that
message is watched by its own deadline, and the case's handler is reminded
(:func:`postvakt.registry.case_query.awaiting_reply`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from postvakt.clock import STOCKHOLM
from postvakt.registry.case_query import answered_in, awaiting_reply, stopped_by
from postvakt.registry.models import (
    Case,
    CaseKind,
    CaseStatus,
    EventKind,
    Mailbox,
    MessageRecord,
)
from postvakt.rules.calendar import WorkingCalendar

__all__ = ["DueItem", "Notice", "due_items", "to_notify"]

ItemKind = Literal["reply", "ack", "answer"]

_OPEN_FOR_ANSWER = (CaseStatus.REGISTERED, CaseStatus.ACKNOWLEDGED, CaseStatus.REOPENED)


@dataclass(frozen=True)
class DueItem:
    kind: ItemKind
    ref: str
    """The case number, or the message's key for a message that is not a case."""
    title: str
    mailbox: str
    due: date
    responsible: tuple[str, ...]
    """Who is reminded: the case's handler, or whoever reads the mailbox."""
    escalate_to: tuple[str, ...]
    """Who is told at a breach besides them: the mailbox's owners and the unit head."""
    private: bool = False
    """A case marked private: never told to whoever covers the responsible."""
    passed_before_seen: bool = False
    """The deadline had passed when Postvakt registered the case (or read the message):
    older mail registered on purpose.  The case is flagged for review instead; no breach
    notice floods the responsible (see :func:`postvakt.intake.start.late_registration`)."""
    case_id: int | None = None
    """The case's id (its page is ``/arenden/{id}``); for a message, the case it came in."""
    record_id: int | None = None
    """The message's number, for a reply item (a person may say it was answered otherwise)."""


@dataclass(frozen=True)
class Notice:
    recipient: str
    kind: Literal["reminder", "breach"]
    item: DueItem


def _mailbox_people(mailbox: Mailbox | None) -> tuple[tuple[str, ...], str | None]:
    if mailbox is None:
        return (), None
    owners = tuple(o.address for o in mailbox.owners)
    if mailbox.kind == "personal" and mailbox.address not in owners:
        owners = (mailbox.address, *owners)
    head = mailbox.unit.head if mailbox.unit else None
    return owners, head


def _case_people(case: Case) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Who is reminded of a case (its handler, else whoever reads its mailbox) and who else
    is told at a breach (the mailbox's owners and the unit head)."""
    owners, head = _mailbox_people(case.mailbox)
    if case.unit is not None:
        head = case.unit.head
    responsible = (case.handler,) if case.handler else owners
    escalate = tuple(dict.fromkeys(a for a in (*owners, head) if a and a not in responsible))
    return responsible, escalate


def due_items(session: Session) -> list[DueItem]:
    """Everything with a running clock: unanswered citizen messages and open cases."""
    items: list[DueItem] = []
    messages = session.scalars(
        select(MessageRecord)
        .options(
            selectinload(MessageRecord.mailbox).selectinload(Mailbox.owners),
            selectinload(MessageRecord.case).selectinload(Case.unit),
            selectinload(MessageRecord.case).selectinload(Case.events),
            selectinload(MessageRecord.case)
            .selectinload(Case.mailbox)
            .selectinload(Mailbox.owners),
        )
        .where(*awaiting_reply())
    )
    for record in messages:
        assert record.reply_due is not None
        title = f"{record.subject or '(utan ämne)'} från {record.sender_address or 'okänd'}"
        case = answered_in(record)
        private = record.private or (case is not None and case.private)
        if case is None:
            owners, head = _mailbox_people(record.mailbox)
            responsible, escalate = owners, tuple(a for a in (head,) if a)
            if record.private:  # a delegate reads the mailbox too: not its subject or sender
                title = "Ett meddelande märkt privat (ämne och avsändare visas inte här)"
        else:  # written in a case after its answer: its handler answers it
            responsible, escalate = _case_people(case)
            after = "överlämnandet" if stopped_by(case) is EventKind.FORWARDED else "svaret"
            # a private case's: nothing of it beyond its number to those told of a breach
            title = f"Nytt meddelande i {case.label} efter {after}" + (
                "" if case.private else f": {title}"
            )
        items.append(
            DueItem(
                kind="reply",
                ref=f"meddelande {record.id}",
                title=title,
                mailbox=record.mailbox.address,
                due=record.reply_due,
                responsible=responsible,
                escalate_to=escalate,
                private=private,
                passed_before_seen=record.reply_due < _day(record.processed_at),
                case_id=case.id if case is not None else None,
                record_id=record.id,
            )
        )
    cases = session.scalars(
        select(Case)
        .options(selectinload(Case.mailbox).selectinload(Mailbox.owners), selectinload(Case.unit))
        .where(Case.status.in_(_OPEN_FOR_ANSWER), Case.anonymous.is_(False))
    )
    for case in cases:
        responsible, escalate = _case_people(case)
        mailbox = case.mailbox.address if case.mailbox else ""
        if (
            case.kind is CaseKind.COMPLAINT
            and case.status is CaseStatus.REGISTERED
            and case.ack_due
        ):
            items.append(
                DueItem(
                    "ack",
                    case.reference,
                    case.heading,
                    mailbox,
                    case.ack_due,
                    responsible,
                    escalate,
                    private=case.private,
                    passed_before_seen=case.ack_due < _day(case.registered_at),
                    case_id=case.id,
                )
            )
        if case.answer_due:
            items.append(
                DueItem(
                    "answer",
                    case.reference,
                    case.heading,
                    mailbox,
                    case.answer_due,
                    responsible,
                    escalate,
                    private=case.private,
                    passed_before_seen=case.answer_due < _day(case.registered_at),
                    case_id=case.id,
                )
            )
    return items


def _day(moment: datetime) -> date:
    return moment.astimezone(STOCKHOLM).date()


def to_notify(
    items: Sequence[DueItem], today: date, calendar: WorkingCalendar, *, days_before: int = 1
) -> list[Notice]:
    """Who is told what today: a reminder when the deadline is ``days_before`` working days
    away or nearer, a breach when it has passed (to the escalation list as well) — unless
    it had passed before Postvakt registered the case: that case was flagged once instead."""
    notices: list[Notice] = []
    for item in items:
        if item.due < today and item.passed_before_seen:
            continue  # flagged on the case when it was registered, once
        if item.due < today:
            for recipient in dict.fromkeys((*item.responsible, *item.escalate_to)):
                notices.append(Notice(recipient, "breach", item))
        elif calendar.working_days_between(today, item.due) <= days_before:
            for recipient in item.responsible:
                notices.append(Notice(recipient, "reminder", item))
    return notices
