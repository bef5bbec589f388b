"""The database: SQLAlchemy 2 typed models.

Tables and what guarantees them:

- ``messages``: every message Postvakt has seen, once per (mailbox, folder, key), with what
  became of it (its disposition).  The key says *where* the message is (IMAP: UIDVALIDITY and
  UID; EWS/Graph: the store's item id; Maildir: the file's unique name), so two different
  messages are never one record, and the unique key makes a second pass harmless.
  ``message_id`` with ``content_hash`` only recognises the *same* message seen again.
- ``cases``: registered complaints and opinions.  Unique on ``reference`` (the diary number,
  or number and entry for anonymous cases).  The same e-mail (Message-ID *and* content hash)
  reaching two watched mailboxes is one case; two messages that merely share a Message-ID
  are two.
- ``case_events``: the audit trail; rows are only ever added.
- ``diary_sequences``: one row per (prefix, year) holding the last number given.  The row is
  locked for the whole registering transaction, so numbers never repeat nor skip.
- ``collective_numbers``: the year's samlingsdiarienummer for anonymous cases.
- ``drafts``: the outbox of reply drafts, written in the message's transaction and placed in
  the mailbox after commit (idempotently, by the draft's own Message-ID).
- ``failed_messages``: raw bytes and traceback of every message that raised, for replay.
- ``sync_states``: each connector's position per folder.
- ``web_users``: the dashboard's local accounts (password hashes; roles come from the config).
- ``web_sessions``: signed-in sessions, server-side, so logout and a password change end them.
- ``login_attempts``: failed and successful sign-ins per client address and account (throttling).
- ``case_access``: who viewed which case, when and how (web or command line).
- ``mailbox_leases``: which process works a mailbox now; a lease runs out if its process dies.

Every timestamp is stored in UTC and returned timezone-aware.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Absence",
    "Base",
    "Case",
    "CaseAccess",
    "CaseEvent",
    "CaseKind",
    "CaseStatus",
    "ClassifierModel",
    "CollectiveNumber",
    "Correction",
    "DailyCheck",
    "DiarySequence",
    "Disposition",
    "Draft",
    "DraftStatus",
    "EventKind",
    "FailedMessage",
    "JobClaim",
    "LoginAttempt",
    "Mailbox",
    "MailboxLease",
    "MailboxOwner",
    "MessageRecord",
    "Notification",
    "Person",
    "SyncState",
    "Unit",
    "WebSession",
    "WebUser",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (naive UTC) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as plain strings (no native enum type, no CHECK): new values need no migration.
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=24,
        values_callable=lambda members: [m.value for m in members],
    )


class Disposition(enum.StrEnum):
    CASE = "case"  # registered as a new case
    DUPLICATE = "duplicate"  # the same e-mail read before elsewhere: a copy, with its case if any
    NOT_CASE = "not_case"  # a citizen's message that is not a complaint or opinion
    SCREENED = "screened"  # machine mail: automatic replies, reports, bulk mail
    INTERNAL = "internal"  # from the organisation's own domains
    FAILED = "failed"  # raised; raw bytes are in failed_messages
    SENT = "sent"  # the mailbox's own sent mail, read to see which messages were answered
    FOLLOWUP = "followup"  # the citizen wrote again in an existing case's thread
    BEFORE_START = "before_start"  # arrived before the mailbox's start: seen, not acted on


class CaseKind(enum.StrEnum):
    COMPLAINT = "complaint"
    OPINION = "opinion"


class CaseStatus(enum.StrEnum):
    REGISTERED = "registered"
    ACKNOWLEDGED = "acknowledged"
    ANSWERED = "answered"
    WAITING = "waiting"
    FORWARDED = "forwarded"
    REOPENED = "reopened"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"  # makulerat: never erased, its number never reused


class EventKind(enum.StrEnum):
    REGISTERED = "registered"
    DRAFTED = "drafted"
    ACKNOWLEDGED = "acknowledged"
    ANSWERED = "answered"
    FORWARDED = "forwarded"
    ESCALATED = "escalated"
    REOPENED = "reopened"
    WAITING = "waiting"
    CLOSED = "closed"
    NOTE = "note"
    DELEGATED = "delegated"  # to whoever covers the handler during an absence
    RETURNED = "returned"  # back with the handler after the absence
    CONFIRMED = "confirmed"  # a person confirmed the machine's decision
    RECLASSIFIED = "reclassified"  # a person changed the kind
    WITHDRAWN = "withdrawn"  # makulerat, with who and why
    MERGED = "merged"  # this case was merged into another (or another into this)
    ASSIGNED = "assigned"  # a person gave the case to another handler
    CARE = "care"  # marked as (or no longer) concerning an individual's care; routed
    CALLBACK = "callback"  # the handler called the citizen back: a note for the diary
    FEEDBACK = "feedback"  # the receiver of a hand-over reported back (cases feedback)


class DraftStatus(enum.StrEnum):
    PENDING = "pending"
    SAVED = "saved"
    FAILED = "failed"  # could not be built (its error in last_error); `failed retry` tries again
    REMOVE = "remove"  # placed, but its case was withdrawn: Postvakt takes its own draft away
    REMOVED = "removed"  # taken away from Drafts (or never placed) because the case was withdrawn


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        date: Date(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    head: Mapped[str] = mapped_column(String(320))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))

    parent: Mapped[Unit | None] = relationship(remote_side=[id])


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(320), unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    phone: Mapped[str | None] = mapped_column(String(50))
    title: Mapped[str | None] = mapped_column(String(200))

    unit: Mapped[Unit | None] = relationship()


class Mailbox(Base):
    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    connector: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    unit: Mapped[Unit | None] = relationship()
    owners: Mapped[list[MailboxOwner]] = relationship(
        cascade="all, delete-orphan", order_by="MailboxOwner.position"
    )


class MailboxOwner(Base):
    __tablename__ = "mailbox_owners"

    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class SyncState(Base):
    __tablename__ = "sync_states"
    __table_args__ = (UniqueConstraint("mailbox_id", "folder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"))
    folder: Mapped[str] = mapped_column(String(500))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class MessageRecord(Base):
    """One message seen in one folder of one mailbox, and what became of it."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("mailbox_id", "folder", "message_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"))
    folder: Mapped[str] = mapped_column(String(500))
    message_key: Mapped[str] = mapped_column(String(500))
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    """SHA-256 of what the sender wrote (see :func:`postvakt.mailbox.identity.content_hash`):
    with the Message-ID it recognises the same message seen again, never two as one."""
    sender_address: Mapped[str | None] = mapped_column(String(320))
    sender_name: Mapped[str | None] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime | None]
    processed_at: Mapped[datetime]
    disposition: Mapped[Disposition] = mapped_column(_enum(Disposition))
    label: Mapped[str | None] = mapped_column(String(20))
    confidence: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    defects: Mapped[list[str]] = mapped_column(JSON, default=list)
    reply_due: Mapped[date | None]
    answered_at: Mapped[datetime | None]
    """When a reply from the mailbox (or its delegate) was seen; automatic replies never count."""
    answered_by: Mapped[str | None] = mapped_column(String(320))
    answered_note: Mapped[str | None] = mapped_column(Text)
    """How it was answered when no reply was seen: a person's words ("besvarat per telefon",
    "behöver inget svar: ett tack för svaret"), with ``answered_by`` naming them."""
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    """The message was marked private: never shown to a delegate, also when it is no case."""
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    case_probability: Mapped[float | None] = mapped_column(Float)
    """The model's probability that the message is a complaint or an opinion (for the
    review queue: a non-case in the review band is shown there)."""
    excerpt: Mapped[str | None] = mapped_column(Text)
    """The start of the citizen's text (at most 2,000 characters), for the review queue."""
    flagged_by: Mapped[str | None] = mapped_column(String(320))
    """Someone asked for a person to look at this message (it goes to the review queue)."""
    flagged_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(320))
    """Who took the message off the review queue (registered it, or confirmed it is none)."""
    reviewed_at: Mapped[datetime | None]

    mailbox: Mapped[Mailbox] = relationship()
    case: Mapped[Case | None] = relationship()


class DiarySequence(Base):
    __tablename__ = "diary_sequences"
    __table_args__ = (UniqueConstraint("prefix", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(20))
    year: Mapped[int]
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class CollectiveNumber(Base):
    """The year's collective diary number (samlingsdiarienummer) for anonymous cases."""

    __tablename__ = "collective_numbers"
    __table_args__ = (UniqueConstraint("prefix", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(20))
    year: Mapped[int]
    seq: Mapped[int]
    number: Mapped[str] = mapped_column(String(100), unique=True)
    last_entry: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("message_id", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    """What people quote: the diary number, or 'number-entry' for an anonymous case."""
    number: Mapped[str] = mapped_column(String(100), index=True)
    year: Mapped[int]
    seq: Mapped[int]
    entry: Mapped[int | None]
    """The entry under the collective number (anonymous cases only)."""
    kind: Mapped[CaseKind] = mapped_column(_enum(CaseKind))
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus))
    heading: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20), default="email")
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    handler: Mapped[str | None] = mapped_column(String(320))
    sender_name: Mapped[str | None] = mapped_column(String(500))
    sender_address: Mapped[str | None] = mapped_column(String(320))
    contact: Mapped[str | None] = mapped_column(Text)
    """Other contact details found in the text (phone, postal address)."""
    subject: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(998))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    """With ``message_id`` (unique together): the same e-mail seen in another mailbox or folder is this case."""
    received_at: Mapped[datetime]
    """The arrival stamp (ankomststämpel): when the message reached the mailbox. Never changed."""
    registered_at: Mapped[datetime]
    reply_due: Mapped[date | None]
    ack_due: Mapped[date | None]
    answer_due: Mapped[date | None]
    waiting_since: Mapped[date | None]
    """Set while the case waits for the citizen: the answer clock is paused."""
    answer_text: Mapped[str | None] = mapped_column(Text)
    """The manager's answer (chefens svar), for the yearly compilation."""
    actions: Mapped[str | None] = mapped_column(Text)
    """Actions taken (vidtagna åtgärder), for the yearly compilation."""
    individual_care: Mapped[bool] = mapped_column(Boolean, default=False)
    """Concerns an individual's care: registered in the care system's deviation module."""
    care_flagged_at: Mapped[datetime | None]
    """When it was last marked as concerning an individual's care (by the classifier or a person)."""
    care_route: Mapped[str | None] = mapped_column(String(12))
    """What the deviation function is still to be told (:mod:`postvakt.care`): send |
    sending | retract | retracting; None when nothing waits."""
    care_routed_at: Mapped[datetime | None]
    """When the case card went to the deviation function; None when it has not (or was taken back)."""
    care_claimed_at: Mapped[datetime | None]
    """When the card or its retraction was claimed (``sending``/``retracting``): one claimed
    long ago was left by a process that stopped, and is taken up again."""
    care_cleared_at: Mapped[datetime | None]
    """When the care mark was last removed (what a retraction says)."""
    service_area: Mapped[str | None] = mapped_column(String(60))
    language: Mapped[str | None] = mapped_column(String(8))
    """The language of the citizen's letters ('en'); None is Swedish."""
    forwarded_to: Mapped[str | None] = mapped_column(String(300))
    registrar_status: Mapped[str] = mapped_column(String(10), default="none")
    """The registrar's notice: none | pending | sending | sent."""
    registrar_sent_at: Mapped[datetime | None]
    diary_number: Mapped[str | None] = mapped_column(String(100), index=True)
    """The diary's number: Postvakt's own (``[registry] numbering = "postvakt"``), else the
    diary system's once known (typed, from the registrar's reply, imported, Public 360)."""
    diary_entered_number: Mapped[str | None] = mapped_column(String(100))
    """The number the registrar typed when entering the case in the diary system."""
    diary_entered_by: Mapped[str | None] = mapped_column(String(320))
    diary_entered_at: Mapped[datetime | None]
    regular_handler: Mapped[str | None] = mapped_column(String(320))
    """Set while the handler is away: the case went to the one covering and comes back."""
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    """The message was marked private: never shown to, drafted for or handed to a delegate."""
    classifier_label: Mapped[str | None] = mapped_column(String(20))
    classifier_confidence: Mapped[float | None] = mapped_column(Float)
    classifier_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    classifier_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    """What the classifier noticed beside the label: needs_review, anonymous,
    followup_not_satisfied, personal_data (mask it), forwarded (sent on by staff)."""
    original: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The original message as received (.eml bytes), for the registrar."""
    closed_at: Mapped[datetime | None]
    address_check: Mapped[bool] = mapped_column(Boolean, default=False)
    """The sender's address could not be put in a letter's header: a person must check it
    (the acknowledgment was drafted without ``To:``)."""
    review_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Why a person must look at the case, in Swedish ('nämner ärende KS 2026/17',
    'texten kortades …'); shown in ``cases show`` and on the case page."""
    corrected_by: Mapped[str | None] = mapped_column(String(320))
    """The last person who confirmed or corrected the machine's decision."""
    corrected_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    """Set on a case merged into another: it is withdrawn and points to the one that goes on."""

    @property
    def label(self) -> str:
        """What letters, pages and people quote: the diary number once the diary system gave
        one (numbering = diary), else the reference (Postvakt's own diary number or
        'number-entry' for an anonymous case; or the Postvakt reference ``PV-…``)."""
        if self.diary_number and self.diary_number != self.number:
            return self.diary_number
        return self.reference

    mailbox: Mapped[Mailbox | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    merged_into: Mapped[Case | None] = relationship(remote_side="Case.id")
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )


class CaseEvent(Base):
    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind))
    actor: Mapped[str] = mapped_column(String(320))
    detail: Mapped[str] = mapped_column(Text, default="")
    document: Mapped[str | None] = mapped_column(String(300))

    case: Mapped[Case] = relationship(back_populates="events")


class Draft(Base):
    """A reply draft waiting to be (or already) placed in a mailbox's Drafts folder."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"))
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    to_name: Mapped[str | None] = mapped_column(String(500))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    body_text: Mapped[str] = mapped_column(Text)
    attachment_name: Mapped[str | None] = mapped_column(String(300))
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[DraftStatus] = mapped_column(_enum(DraftStatus))
    created_at: Mapped[datetime]
    saved_at: Mapped[datetime | None]
    location: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    mailbox: Mapped[Mailbox] = relationship()
    case: Mapped[Case | None] = relationship()


class Absence(Base):
    """A person away for a period, who covers, and what was done to their mailbox."""

    __tablename__ = "absences"

    id: Mapped[int] = mapped_column(primary_key=True)
    person: Mapped[str] = mapped_column(String(320), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    start: Mapped[date]
    end: Mapped[date | None]
    """The last day away; None while it is open-ended."""
    substitutes: Mapped[list[str]] = mapped_column(JSON, default=list)
    """In order: the first present one covers."""
    self_handling: Mapped[bool] = mapped_column(Boolean, default=False)
    """The person reads their own mail while away: no delegation, the daily-open rule stays."""
    reply_subject: Mapped[str | None] = mapped_column(String(300))
    reply_text: Mapped[str | None] = mapped_column(Text)
    """The person's own auto-reply text; None to generate it from the absence."""
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(320))
    applied: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What was done to the mail system (auto-reply set, access granted to whom, instructions)."""
    source: Mapped[str] = mapped_column(String(20), default="postvakt")
    """'postvakt', or 'imported' from an out-of-office found in the mail system."""
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    """Ordered for someone unreachable: in force only once both approvers have approved."""
    approvals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """An emergency's approvers, who ordered and approved when, and who was told (see
    :mod:`postvakt.delegation.emergency`)."""
    approved_at: Mapped[datetime | None]
    """When the last approval came: from then on the emergency delegation is in force."""


# Tables in modules of their own (this one is long enough): importing them here puts them in
# Base.metadata wherever the models are loaded.  callbacks: the callback requests
# (återuppringningar); compilations: the yearly compilations sent; documents: the diary
# outbox; pass_models: each mailbox's passes (postvakt status); starts: each mailbox's start
# (when it was first watched); service_models: the service's own bookkeeping (leases,
# notifications, job claims, daily checks, failed messages); web_models: the dashboard's
# accounts, sessions, sign-in attempts and access log; learning_models: the corrections kept as examples and the
# classifier's retrainings.
from postvakt.registry import callbacks as _callbacks  # noqa: E402,F401
from postvakt.registry import compilations as _compilations  # noqa: E402,F401
from postvakt.registry import documents as _documents  # noqa: E402,F401
from postvakt.registry import pass_models as _pass_models  # noqa: E402,F401
from postvakt.registry import starts as _starts  # noqa: E402,F401
from postvakt.registry.learning_models import (  # noqa: E402 - the classifier's, re-exported
    ClassifierModel,
    Correction,
)
from postvakt.registry.service_models import (  # noqa: E402 - the service's, re-exported
    DailyCheck,
    FailedMessage,
    JobClaim,
    MailboxLease,
    Notification,
)
from postvakt.registry.web_models import (  # noqa: E402 - the dashboard's tables, re-exported
    CaseAccess,
    LoginAttempt,
    WebSession,
    WebUser,
)
