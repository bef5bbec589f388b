"""Registering cases and writing their events.  Only the registry writes the database."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case as sa_case
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from postvakt.errors import NotFoundError
from postvakt.privacy import mask_personnummer
from postvakt.registry.models import (
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    Draft,
    EventKind,
    MessageRecord,
)
from postvakt.registry.numbering import allocate_collective_entry, allocate_number, format_number

__all__ = [
    "HEADING_PREFIX",
    "NewCase",
    "add_event",
    "case_by_identity",
    "case_parties",
    "find_case",
    "list_cases",
    "make_heading",
    "register_case",
]

HEADING_PREFIX = "Synpunkter och klagomål – "
"""The routine's heading for the case card: 'Synpunkter och klagomål och kortfattad information'."""

_SUBJECT_NOISE = re.compile(r"^\s*((sv|re|vb|fw|fwd|ang|angående|ämne)\s*[:.]\s*)+", re.IGNORECASE)


def short_summary(subject: str, body: str, limit: int = 70) -> str:
    """A short summary for the heading: the subject without reply prefixes, else the body's start."""
    text = _SUBJECT_NOISE.sub("", subject or "").strip()
    if len(text) < 4:
        first = re.split(r"(?<=[.!?])\s|\n", (body or "").strip(), maxsplit=1)[0]
        text = first.strip() or "(utan ämne)"
    text = mask_personnummer(re.sub(r"\s+", " ", text))
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def make_heading(subject: str, body: str) -> str:
    return HEADING_PREFIX + short_summary(subject, body)


@dataclass(frozen=True)
class NewCase:
    """Everything needed to register a case; the registry adds the number."""

    kind: CaseKind
    summary: str
    heading: str
    received_at: datetime
    registered_at: datetime
    anonymous: bool
    channel: str = "email"
    mailbox_id: int | None = None
    unit_id: int | None = None
    handler: str | None = None
    sender_name: str | None = None
    sender_address: str | None = None
    contact: str | None = None
    subject: str | None = None
    message_id: str | None = None
    content_hash: str | None = None
    reply_due: date | None = None
    ack_due: date | None = None
    answer_due: date | None = None
    needs_review: bool = False
    classifier_label: str | None = None
    classifier_confidence: float | None = None
    classifier_reasons: tuple[str, ...] = ()
    classifier_flags: tuple[str, ...] = ()
    original: bytes | None = None


def register_case(
    session: Session, new: NewCase, *, prefix: str, fmt: str, year: int, actor: str, detail: str
) -> Case:
    """Give ``new`` a diary number (or an entry under the collective number) and store it."""
    if new.anonymous:
        number = allocate_collective_entry(session, fmt=fmt, prefix=prefix, year=year)
    else:
        number = allocate_number(session, fmt=fmt, prefix=prefix, year=year)
    case = Case(
        reference=number.reference,
        number=number.number,
        year=number.year,
        seq=number.seq,
        entry=number.entry,
        status=CaseStatus.REGISTERED,
        kind=new.kind,
        heading=new.heading,
        summary=new.summary,
        channel=new.channel,
        anonymous=new.anonymous,
        needs_review=new.needs_review,
        mailbox_id=new.mailbox_id,
        unit_id=new.unit_id,
        handler=new.handler,
        sender_name=new.sender_name,
        sender_address=new.sender_address,
        contact=new.contact,
        subject=new.subject,
        message_id=new.message_id,
        content_hash=new.content_hash,
        received_at=new.received_at,
        registered_at=new.registered_at,
        reply_due=new.reply_due,
        ack_due=new.ack_due,
        answer_due=new.answer_due,
        classifier_label=new.classifier_label,
        classifier_confidence=new.classifier_confidence,
        classifier_reasons=list(new.classifier_reasons),
        classifier_flags=list(new.classifier_flags),
        original=new.original,
    )
    session.add(case)
    session.flush()
    add_event(session, case, EventKind.REGISTERED, actor=actor, at=new.registered_at, detail=detail)
    return case


def add_event(
    session: Session,
    case: Case,
    kind: EventKind,
    *,
    actor: str,
    at: datetime,
    detail: str = "",
    document: str | None = None,
) -> CaseEvent:
    event = CaseEvent(case=case, kind=kind, actor=actor, at=at, detail=detail, document=document)
    session.add(event)
    return event


def case_by_identity(session: Session, message_id: str, content: str | None) -> Case | None:
    """The case registered from this very message: its Message-ID *and* its content hash.

    A case registered before content hashes were kept (none stored) matches by Message-ID;
    a case in force comes before a withdrawn one (registered again after a correction).
    """
    return session.scalars(
        select(Case)
        .where(
            Case.message_id == message_id,
            (Case.content_hash == content)
            # Before content hashes: by Message-ID.  A withdrawn case whose hash was given up
            # to the case that replaced it never matches that way.
            | (Case.content_hash.is_(None) & (Case.status != CaseStatus.WITHDRAWN)),
        )
        .order_by(sa_case((Case.status == CaseStatus.WITHDRAWN, 1), else_=0), Case.id)
    ).first()


def number_pattern(fmt: str, prefix: str) -> re.Pattern[str]:
    """A regular expression that finds diary numbers of this format in text (a subject)."""
    pattern = re.escape(fmt)
    pattern = pattern.replace(re.escape("{prefix}"), re.escape(prefix))
    pattern = pattern.replace(re.escape("{year}"), r"(?P<year>\d{4})")
    pattern = re.sub(r"\\\{seq[^}]*\\\}", r"(?P<seq>\\d+)", pattern)
    pattern = pattern.replace(r"\ ", r"\s*")
    return re.compile(pattern, re.IGNORECASE)


def case_for_thread(
    session: Session,
    thread_ids: Sequence[str],
    subject: str,
    numbers: re.Pattern[str],
    fmt: str,
    prefix: str,
) -> Case | None:
    """The case a new message belongs to: by its thread (the case's message, an earlier
    follow-up, or our own draft to the citizen), else by a diary number in the subject."""
    if thread_ids:
        ids = list(thread_ids)
        case = session.scalars(select(Case).where(Case.message_id.in_(ids))).first()
        if case is not None:
            return case
        case_id = (
            session.scalars(
                select(MessageRecord.case_id).where(
                    MessageRecord.message_id.in_(ids), MessageRecord.case_id.is_not(None)
                )
            ).first()
            or session.scalars(
                select(Draft.case_id).where(Draft.message_id.in_(ids), Draft.case_id.is_not(None))
            ).first()
        )
        if case_id is not None:
            return session.get(Case, case_id)
    for match in numbers.finditer(subject or ""):
        number = format_number(fmt, prefix, int(match["year"]), int(match["seq"]))
        case = session.scalars(select(Case).where(Case.reference == number)).one_or_none()
        if case is not None:
            return case
    return None


_ADDRESS = re.compile(r"[^\s<>(),;:\"']{1,64}@[A-Za-z0-9.-]{1,253}")


def case_parties(case: Case) -> set[str]:
    """Who may write in the case besides staff (lower-cased addresses): the citizen, and
    those it was forwarded to outside the organisation (named in its forwarding events)."""
    parties = {case.sender_address.lower()} if case.sender_address else set()
    for event in case.events:
        if event.kind is EventKind.FORWARDED:
            parties.update(a.lower() for a in _ADDRESS.findall(event.detail[:2000]))
    if case.forwarded_to:
        parties.update(a.lower() for a in _ADDRESS.findall(case.forwarded_to))
    return parties


def find_case(session: Session, reference: str) -> Case:
    """The case called ``reference`` ('KS 2026/17', or 'KS 2026/3-2' for an anonymous entry)."""
    text = re.sub(r"\s+", " ", reference.strip())
    case = session.scalars(
        select(Case).options(selectinload(Case.events)).where(Case.reference == text)
    ).one_or_none()
    if case is None:
        raise NotFoundError(
            f"Det finns inget ärende med nummer {text!r}. Se 'postvakt cases list' för alla ärenden."
        )
    return case


def list_cases(
    session: Session, *, status: str | None = None, kind: str | None = None
) -> list[Case]:
    query = select(Case).order_by(Case.year, Case.seq, Case.entry)
    if status:
        query = query.where(Case.status == status)
    if kind:
        query = query.where(Case.kind == kind)
    return list(session.scalars(query))
