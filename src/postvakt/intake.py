"""One message's way through Postvakt: parse, screen, classify, register, draft.

The steps are listed in order in :data:`STEPS`.  Each is a small function with one job that
either returns None (go on) or the message's final :class:`Disposition` (stop here).  Deciding
is apart from acting: ``screen`` and ``classify`` only look; ``register`` and ``draft`` write.

Guarantees, and how they are kept:

- **One transaction per message.**  All steps run inside it, together with the message's
  record and the connector's new sync state.  The sync state is stored in the same commit
  as the message, never before it.
- **Nothing lost.**  A step that raises rolls the transaction back; the raw bytes and the
  traceback go to the failed store (``postvakt failed retry`` replays them).  A crash
  (anything that is not an ``Exception``) rolls back and leaves the sync state where it was,
  so the message is read again on the next pass.
- **Nothing twice.**  ``messages`` is unique on (mailbox, folder, key), so a message already
  seen is skipped; ``cases`` is unique on Message-ID, so the same e-mail in two mailboxes is
  registered once.  A race with another process on that constraint is retried once.
- **Drafts after commit.**  The draft is rendered and stored in the transaction (the outbox)
  and placed in the mailbox afterwards by :meth:`Intake.deliver_drafts`, idempotently by its
  own Message-ID.  A crash between the two leaves a pending draft for the next pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from postvakt.classifier import (
    Classifier,
    Contact,
    Label,
    Screening,
    Verdict,
    find_contact,
    forwards_citizen,
    internal,
    screen,
)
from postvakt.classifier.webform import form_fields
from postvakt.clock import Clock
from postvakt.config import Config, PersonConfig
from postvakt.delegation.handover import hand_over
from postvakt.errors import ConnectorError, DatabaseError
from postvakt.mailbox.base import (
    Checkpoint,
    Connector,
    DraftAttachment,
    DraftReply,
    FetchedMessage,
    FolderRole,
    reply_subject,
)
from postvakt.mailbox.message import IncomingMessage, parse_message
from postvakt.registry.cases import (
    NewCase,
    add_event,
    case_by_message_id,
    case_for_thread,
    make_heading,
    number_pattern,
    register_case,
)
from postvakt.registry.db import database_errors
from postvakt.registry.drafts import add_draft
from postvakt.registry.lifecycle import attach_followup
from postvakt.registry.messages import (
    known_keys,
    load_state,
    message_record,
    record_failure,
    save_state,
    unresolved_failures,
)
from postvakt.registry.models import (
    Case,
    CaseKind,
    CaseStatus,
    Disposition,
    Draft,
    DraftStatus,
    EventKind,
    FailedMessage,
    Mailbox,
    MessageRecord,
)
from postvakt.registry.replies import record_reply
from postvakt.rules.calendar import WorkingCalendar
from postvakt.rules.policy import PRESETS, Policy
from postvakt.templates import LETTERS, LetterRenderer
from postvakt.templates.casework import CaseLetters, swedish_date

__all__ = [
    "DOCX",
    "SENT_STEPS",
    "STEPS",
    "Intake",
    "MessageOutcome",
    "PassReport",
    "Work",
    "swedish_date",
]

log = logging.getLogger("postvakt.intake")

ACTOR = "postvakt"
DRAFT_BATCH = 50
"""Drafts placed per round trip."""
Classify = Callable[[IncomingMessage], Verdict]
NotSatisfied = Callable[..., None]
"""``(session, case, *, now, reason)``: a new review of an answered case (``Casework.not_satisfied``)."""
Cover = Callable[[str, date, Session], str]
"""``(person, day, session)``: who reads the person's mail and takes their cases that day."""
REVIEWABLE = frozenset({CaseStatus.ANSWERED, CaseStatus.CLOSED})
"""A not-satisfied reply reopens a case in these states; before the answer it is a note."""


@dataclass
class Work:
    """One message on its way through the steps; each step fills in its part."""

    session: Session
    mailbox: Mailbox
    fetched: FetchedMessage
    now: datetime
    message: IncomingMessage | None = None
    screening: Screening | None = None
    verdict: Verdict | None = None
    contact: Contact | None = None
    received_at: datetime | None = None
    reply_due: date | None = None
    case: Case | None = None
    draft: Draft | None = None
    covered_by: str | None = None
    """Who covers the case's handler today (the handler themself when present)."""

    @property
    def msg(self) -> IncomingMessage:
        assert self.message is not None, "the parse step runs first"
        return self.message


Step = Callable[["Intake", Work], Disposition | None]


# --------------------------------------------------------------------------- the steps


def parse(intake: Intake, work: Work) -> Disposition | None:
    """Raw bytes -> IncomingMessage; the arrival stamp is the mailbox's, else the Date header."""
    work.message = parse_message(work.fetched.raw)
    work.received_at = (work.fetched.received_at or work.message.date or work.now).astimezone(
        intake.tz
    )
    return None


def already_registered(intake: Intake, work: Work) -> Disposition | None:
    """The same e-mail already became a case (sent to two watched mailboxes, or re-synced)."""
    existing = case_by_message_id(work.session, work.msg.message_id)
    if existing is None:
        return None
    work.case = existing
    return Disposition.DUPLICATE


def screen_machine_mail(intake: Intake, work: Work) -> Disposition | None:
    """Automatic replies, delivery reports and bulk mail never become cases.

    A configured web-form gateway is a citizen's channel even when it marks its mail as
    machine-generated (many e-services send ``Auto-Submitted: auto-generated``).
    """
    sender = work.msg.sender
    if sender and sender.address in intake.config.organisation.web_form_senders:
        return None
    work.screening = screen(work.msg)
    return Disposition.SCREENED if work.screening else None


def internal_mail(intake: Intake, work: Work) -> Disposition | None:
    """Mail from the organisation's own domains is colleagues' mail, not a citizen's.

    Unless it forwards a citizen's message (the citizen's text is then what is judged), or
    comes from a web-form gateway in the own domains (``organisation.web_form_senders``).
    """
    org = intake.config.organisation
    found = internal(work.msg, org.domains, org.web_form_senders)
    if found is None:
        return None
    work.screening = found
    return Disposition.INTERNAL


def reply_deadline(intake: Intake, work: Work) -> Disposition | None:
    """Every citizen message gets an answer deadline, case or not."""
    assert work.received_at is not None
    work.reply_due = intake.policy.reply.due(work.received_at.date(), intake.calendar)
    return None


def follow_up(intake: Intake, work: Work) -> Disposition | None:
    """The citizen wrote again in a case's thread: the message joins that case.

    When they write that the answer did not satisfy them (the classifier's
    ``followup_not_satisfied``) and the case was answered or closed, it is reopened for a new
    review by the nearest superior manager, with the notice of new review drafted.
    """
    msg = work.msg
    org = intake.config.organisation
    case = case_for_thread(
        work.session,
        msg.thread_ids,
        msg.subject,
        intake.numbers,
        org.diary_number_format,
        org.diary_prefix,
    )
    if case is None:
        return None
    work.case = case
    work.verdict = verdict = intake.classify(msg)
    attach_followup(work.session, case, at=work.now, calendar=intake.calendar, subject=msg.subject)
    if not verdict.followup_not_satisfied:
        return Disposition.FOLLOWUP
    if case.status in REVIEWABLE and intake.not_satisfied is not None:
        reason = next((r for r in verdict.reasons if r.startswith("svar i en ärendetråd")), "")
        intake.not_satisfied(work.session, case, now=work.now, reason=reason)
    else:
        add_event(
            work.session,
            case,
            EventKind.NOTE,
            actor=ACTOR,
            at=work.now,
            detail="Avsändaren skriver att hen inte är nöjd; ärendet är ännu inte besvarat.",
        )
    return Disposition.FOLLOWUP


def classify(intake: Intake, work: Work) -> Disposition | None:
    """Complaint, opinion or other; 'other' stops here.  An uncertain verdict (the review
    band) is a case for a person to confirm, never silently dropped."""
    work.verdict = intake.classify(work.msg)
    return None if work.verdict.is_case else Disposition.NOT_CASE


def register(intake: Intake, work: Work) -> Disposition | None:
    """Give the complaint or opinion a diary number (the collective one when anonymous).

    A citizen's message forwarded by staff is registered as the citizen's: their contact
    details, their subject and text; the arrival stamp and Message-ID are the forward's.
    """
    assert work.verdict is not None and work.received_at is not None
    msg = intake.citizen_message(work.msg, work.verdict)
    work.contact = contact = find_contact(msg, intake.own_addresses)
    kind = CaseKind.COMPLAINT if work.verdict.label is Label.COMPLAINT else CaseKind.OPINION
    received = work.received_at.date()
    policy = intake.policy
    form_text = form_fields(msg.body_text).get("meddelande")
    heading = make_heading("" if form_text else msg.subject, form_text or msg.body_text)
    details = [d for d in (contact.phone, contact.postal) if d]
    if contact.anonymous:
        # Nobody to answer: the routines promise feedback only to those who left contact details.
        work.reply_due = None
    sender = contact.reply_to
    work.case = register_case(
        work.session,
        NewCase(
            kind=kind,
            summary=heading.removeprefix("Synpunkter och klagomål – "),
            heading=heading,
            received_at=work.received_at,
            registered_at=work.now,
            anonymous=contact.anonymous,
            mailbox_id=work.mailbox.id,
            unit_id=work.mailbox.unit_id,
            handler=intake.handler_for(work.mailbox),
            sender_name=(contact.name or (sender.name if sender else None)) or None,
            sender_address=sender.address if sender else None,
            contact=", ".join(details) or None,
            subject=msg.subject or work.msg.subject,
            message_id=work.msg.message_id,
            reply_due=work.reply_due,
            ack_due=None
            if contact.anonymous
            else policy.complaint_ack.due(received, intake.calendar),
            answer_due=None
            if contact.anonymous
            else policy.complaint_answer.due(received, intake.calendar),
            needs_review=work.verdict.needs_review,
            classifier_label=work.verdict.label.value,
            classifier_confidence=work.verdict.confidence,
            classifier_reasons=work.verdict.reasons,
            classifier_flags=(
                *work.verdict.flags,
                *(("forwarded",) if work.verdict.forwarded else ()),
            ),
            original=work.fetched.raw,
        ),
        prefix=intake.config.organisation.diary_prefix,
        fmt=intake.config.organisation.diary_number_format,
        year=work.received_at.year,
        actor=ACTOR,
        detail=f"Registrerat automatiskt från {work.mailbox.address}"
        + (" under samlingsnumret för anonyma ärenden" if contact.anonymous else ""),
    )
    return None


def notify_registrar(intake: Intake, work: Work) -> Disposition | None:
    """The registrar gets the case card and the original after commit (see Casework)."""
    assert work.case is not None
    if (
        intake.config.organisation.registrar
        and intake.config.organisation.registrar_notice != "none"
    ):
        work.case.registrar_status = "pending"
    return None


def follow_the_substitute(intake: Intake, work: Work) -> Disposition | None:
    """A case for someone who is away goes to whoever covers them; private mail stays theirs."""
    case = work.case
    assert case is not None
    case.private = intake.is_private(work.msg)
    if not case.handler:
        return None
    handler = case.handler
    work.covered_by = intake.cover(handler, work.now.astimezone(intake.tz).date(), work.session)
    if not case.private and work.covered_by != handler:
        hand_over(work.session, case, work.covered_by, regular=handler, now=work.now)
    return None


def draft_acknowledgment(intake: Intake, work: Work) -> Disposition | None:
    """Render the acknowledgment letter and put it in the outbox; anonymous cases get none.

    Private mail to someone who is away gets no draft: their delegate reads the mailbox.
    """
    case, contact = work.case, work.contact
    assert case is not None and contact is not None
    kept_from_delegate = case.private and work.covered_by not in (None, case.handler)
    if not case.anonymous and contact.reply_to is not None and not kept_from_delegate:
        work.draft = intake.make_acknowledgment(
            work.session, case, work.mailbox, work.msg, contact, work.now
        )
    return None


def automatic_reply(intake: Intake, work: Work) -> Disposition | None:
    """An automatic reply sent from the mailbox (out-of-office) never counts as an answer."""
    work.screening = screen(work.msg)
    return Disposition.SENT if work.screening else None


def answered(intake: Intake, work: Work) -> Disposition | None:
    """Mark the citizen messages this sent mail answers, and the case events that follow."""
    msg = work.msg
    ack_title = LETTERS["acknowledgment"].title
    record_reply(
        work.session,
        mailbox_id=work.mailbox.id,
        thread_ids=msg.thread_ids,
        to_addresses=[a.address for a in (*msg.to, *msg.cc)],
        subject=msg.subject,
        at=msg.date or work.received_at or work.now,  # when the person sent it
        by=msg.sender.address if msg.sender else None,
        acknowledgment=any(a.filename.startswith(ack_title) for a in msg.attachments),
    )
    return Disposition.SENT


SENT_STEPS: tuple[tuple[str, Step], ...] = (
    ("parse", parse),  # the same parser as incoming mail
    ("automatic_reply", automatic_reply),  # out-of-office replies answer nobody
    ("answered", answered),  # In-Reply-To/References, else same person and subject
)
"""The steps for the mailbox's own Sent folder."""


STEPS: tuple[tuple[str, Step], ...] = (
    ("parse", parse),  # never raises: broken MIME is carried as defects
    ("already_registered", already_registered),  # one case per Message-ID, whichever mailbox
    ("screen", screen_machine_mail),  # machine mail stops before anyone counts it
    ("internal", internal_mail),  # colleagues' mail is not a citizen's
    ("reply_deadline", reply_deadline),  # every citizen message must be answered in time
    ("follow_up", follow_up),  # a new message in a case's thread joins that case
    ("classify", classify),  # complaint / opinion go on; other stops
    ("register", register),  # the diary number
    ("substitute", follow_the_substitute),  # the work of someone away goes to who covers
    ("registrar", notify_registrar),  # the registrar's notice, sent after commit
    ("draft", draft_acknowledgment),  # the acknowledgment letter, into the outbox
)


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class MessageOutcome:
    mailbox: str
    folder: str
    key: str
    disposition: Disposition
    subject: str = ""
    sender: str | None = None
    case: str | None = None
    reason: str = ""


@dataclass
class PassReport:
    """What one pass did, for the command line and the demo."""

    outcomes: list[MessageOutcome] = field(default_factory=list)
    drafts_saved: list[tuple[str, str]] = field(default_factory=list)
    """(case reference, where the draft is)"""
    registrar_notices: list[str] = field(default_factory=list)
    """Cases whose card went to the registrar."""
    errors: list[str] = field(default_factory=list)

    def merge(self, other: PassReport) -> None:
        self.outcomes += other.outcomes
        self.drafts_saved += other.drafts_saved
        self.registrar_notices += other.registrar_notices
        self.errors += other.errors

    def count(self, disposition: Disposition) -> int:
        return sum(1 for o in self.outcomes if o.disposition is disposition)


# --------------------------------------------------------------------------- the engine


class Intake:
    """Runs :data:`STEPS` over messages from a connector, one transaction each."""

    def __init__(
        self,
        config: Config,
        sessions: sessionmaker[Session],
        *,
        clock: Clock,
        steps: tuple[tuple[str, Step], ...] = STEPS,
        sent_steps: tuple[tuple[str, Step], ...] = SENT_STEPS,
        classify: Classify | None = None,
        renderer: LetterRenderer | None = None,
        calendar: WorkingCalendar | None = None,
        policy: Policy | None = None,
    ):
        self.config = config
        self.sessions = sessions
        self.clock = clock
        self.steps = steps
        self.sent_steps = sent_steps
        self._classify = classify
        self.not_satisfied: NotSatisfied | None = None
        """Set by the service to ``Casework.not_satisfied``; without it a not-satisfied reply
        is noted on the case."""
        self.tz = ZoneInfo(config.organisation.timezone)
        self.renderer = renderer or LetterRenderer(config.templates_folder)
        self.letters = CaseLetters(config, self.renderer)
        self.cover: Cover = lambda person, _day, _session=None: person
        """Who covers a person on a day (in the message's session); the service sets it from
        the absences (``Delegation.cover``)."""
        self.calendar = calendar or WorkingCalendar.with_closures(config.organisation.closure_days)
        self.policy = policy or _policy_from(config)
        self.own_addresses = frozenset(m.address for m in config.mailboxes)
        self.numbers = number_pattern(
            config.organisation.diary_number_format, config.organisation.diary_prefix
        )
        self._people: Mapping[str, PersonConfig] = {p.address: p for p in config.people}
        self.renderer.check("acknowledgment")

    # -- helpers the steps use ------------------------------------------------------

    def now(self) -> datetime:
        return self.clock().astimezone(self.tz)

    def is_private(self, msg: IncomingMessage) -> bool:
        """Marked private: ``Sensitivity: Private`` or the organisation's marker in the subject."""
        if (msg.header("Sensitivity") or "").strip().lower() == "private":
            return True
        marker = self.config.organisation.private_marker
        return bool(marker) and marker.lower() in msg.subject.lower()

    def citizen_message(self, msg: IncomingMessage, verdict: Verdict) -> IncomingMessage:
        """The message the citizen wrote: the forwarded one when staff passed it on."""
        if not verdict.forwarded:
            return msg
        return forwards_citizen(msg, self.config.organisation.domains) or msg

    @property
    def classify(self) -> Classify:
        """The classifier, loaded when the first message needs it (read-only commands never
        pay for it)."""
        if self._classify is None:
            self._classify = load_classifier(self.config)
        return self._classify

    def handler_for(self, mailbox: Mailbox) -> str | None:
        """Who handles a case: the person for a personal mailbox, else the first owner."""
        if mailbox.kind == "personal":
            return mailbox.address
        return mailbox.owners[0].address if mailbox.owners else None

    def make_acknowledgment(
        self,
        session: Session,
        case: Case,
        mailbox: Mailbox,
        msg: IncomingMessage,
        contact: Contact,
        now: datetime,
    ) -> Draft:
        assert contact.reply_to is not None
        due = case.answer_due or case.reply_due
        recipient = contact.name or contact.reply_to.name or contact.reply_to.address
        values = {
            **self.letters.citizen(case),
            "recipient_name": recipient,
            "answer_due": swedish_date(due) if due else "",
            "summary": case.summary,
        }
        letter = self.letters.render("acknowledgment", case, now, **values)
        return add_draft(
            session,
            case,
            kind="ack",
            title=letter.title,
            mailbox_id=mailbox.id,
            mailbox_address=mailbox.address,
            to_address=contact.reply_to.address,
            to_name=recipient if recipient != contact.reply_to.address else None,
            subject=reply_subject(case.subject or msg.subject),
            in_reply_to=msg.message_id,
            references=[*msg.references, msg.message_id],
            body_text=letter.text,
            filename=letter.filename,
            data=letter.data,
            actor=ACTOR,
            now=now,
        )

    # -- one message ------------------------------------------------------------------

    def _run_steps(self, work: Work, steps: tuple[tuple[str, Step], ...]) -> Disposition:
        """The first step that returns a disposition decides; a message through them all is a case."""
        for _name, step in steps:
            outcome = step(self, work)
            if outcome is not None:
                return outcome
        return Disposition.CASE

    def _record(self, work: Work, disposition: Disposition, replay: bool) -> MessageRecord:
        msg = work.msg
        # A message fresh from its folder has no record yet; only a replay updates one.
        row = (
            message_record(work.session, work.mailbox.id, work.fetched.folder, work.fetched.key)
            if replay
            else None
        )
        if row is None:
            row = MessageRecord(
                mailbox_id=work.mailbox.id, folder=work.fetched.folder, message_key=work.fetched.key
            )
            work.session.add(row)
        row.message_id = msg.message_id
        row.sender_address = msg.sender.address if msg.sender else None
        row.sender_name = msg.sender.name if msg.sender else None
        row.subject = msg.subject
        row.received_at = work.received_at
        row.processed_at = work.now
        row.disposition = disposition
        row.label = work.verdict.label.value if work.verdict else None
        row.confidence = work.verdict.confidence if work.verdict else None
        row.reasons = list(
            work.verdict.reasons
            if work.verdict
            else ([work.screening.reason] if work.screening else [])
        )
        row.defects = list(msg.defects)
        row.reply_due = work.reply_due
        row.case_id = work.case.id if work.case else None
        return row

    def process(
        self,
        session: Session,
        mailbox_id: int,
        fetched: FetchedMessage,
        role: FolderRole = "inbox",
        *,
        replay: bool = False,
    ) -> MessageOutcome:
        """Run the steps over one message in one transaction; failures go to the failed store.

        ``replay`` is for a message from the failed store: its record is updated, and its
        failure marked resolved, instead of a record being added.
        """
        steps = self.steps if role == "inbox" else self.sent_steps
        for attempt in (1, 2):
            try:
                with database_errors(), session.begin():
                    mailbox = session.get_one(Mailbox, mailbox_id)
                    work = Work(session=session, mailbox=mailbox, fetched=fetched, now=self.now())
                    disposition = self._run_steps(work, steps)
                    self._record(work, disposition, replay)
                    if fetched.state is not None:
                        save_state(session, mailbox_id, fetched.folder, fetched.state, work.now)
                    if replay:
                        self._resolve_failure(session, mailbox_id, fetched, work.now)
                    outcome = self._outcome(work, disposition)
                session.expunge_all()
                return outcome
            except (DatabaseError, OperationalError):
                raise  # the database itself is unusable: stop the pass, lose nothing
            except IntegrityError as exc:
                # Another process registered the same Message-ID at the same moment: the
                # second attempt finds its case and records a duplicate.
                if attempt == 1:
                    log.info("retrying %s after a concurrent registration", fetched.key)
                    continue
                return self._fail(session, mailbox_id, fetched, exc, role)
            except Exception as exc:  # any bug in a step: keep the message, go on with the next
                return self._fail(session, mailbox_id, fetched, exc, role)
        raise AssertionError("unreachable")  # pragma: no cover

    def _fail(
        self,
        session: Session,
        mailbox_id: int,
        fetched: FetchedMessage,
        exc: Exception,
        role: FolderRole = "inbox",
    ) -> MessageOutcome:
        log.exception(
            "message %s in %s failed; kept in the failed store", fetched.key, fetched.folder
        )
        now = self.now()
        with database_errors(), session.begin():
            mailbox = session.get_one(Mailbox, mailbox_id)
            failed = record_failure(session, mailbox_id, fetched, exc, now, role)
            row = message_record(session, mailbox_id, fetched.folder, fetched.key)
            if row is None:
                row = MessageRecord(
                    mailbox_id=mailbox_id, folder=fetched.folder, message_key=fetched.key
                )
                session.add(row)
            row.processed_at, row.disposition, row.received_at = (
                now,
                Disposition.FAILED,
                fetched.received_at,
            )
            if fetched.state is not None:
                save_state(session, mailbox_id, fetched.folder, fetched.state, now)
            session.flush()
            outcome = MessageOutcome(
                mailbox.address,
                fetched.folder,
                fetched.key,
                Disposition.FAILED,
                reason=f"sparat som misslyckat nr {failed.id}: {failed.error[:120]}",
            )
        session.expunge_all()
        return outcome

    @staticmethod
    def _resolve_failure(
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

    def _outcome(self, work: Work, disposition: Disposition) -> MessageOutcome:
        msg = work.msg
        if work.screening:
            reason = work.screening.reason
        elif work.verdict:
            reason = "; ".join(work.verdict.reasons[:2])
        elif disposition is Disposition.INTERNAL:
            reason = "intern e-post från den egna organisationen"
        elif disposition is Disposition.DUPLICATE:
            reason = "samma meddelande är redan registrerat"
        else:
            reason = ""
        if work.case is not None and work.case.anonymous:
            reason = (reason + "; " if reason else "") + "anonymt: inget sätt att nå avsändaren"
        return MessageOutcome(
            mailbox=work.mailbox.address,
            folder=work.fetched.folder,
            key=work.fetched.key,
            disposition=disposition,
            subject=msg.subject,
            sender=msg.sender.address if msg.sender else None,
            case=work.case.reference if work.case else None,
            reason=reason,
        )

    # -- a whole mailbox ------------------------------------------------------------

    def run_mailbox(self, connector: Connector) -> PassReport:
        """Process everything new in the connector's watched folders, then place drafts.

        A server error ends the pass for this mailbox and is reported with what was done.
        """
        report = PassReport()
        with self.sessions() as session:
            with database_errors():
                mailbox = session.scalars(
                    select(Mailbox).where(Mailbox.address == connector.address)
                ).one()
                mailbox_id = mailbox.id
                session.rollback()
            try:
                for role in ("inbox", "sent"):
                    for folder in connector.folders(role):
                        self._run_folder(session, connector, mailbox_id, folder, role, report)
            except ConnectorError as exc:
                # What was committed stays committed; the next pass resumes from the state.
                log.error("mailbox %s: %s", connector.address, exc)
                report.errors.append(str(exc))
                return report
            report.merge(self.deliver_drafts(connector, session=session))
        return report

    def _run_folder(
        self,
        session: Session,
        connector: Connector,
        mailbox_id: int,
        folder: str,
        role: FolderRole,
        report: PassReport,
    ) -> None:
        with database_errors():
            state = load_state(session, mailbox_id, folder)
            session.rollback()
        known = _KnownKeys(session, mailbox_id, folder)  # loaded only if a message comes
        for item in connector.fetch_new(folder, state, known.__contains__):
            if isinstance(item, Checkpoint):
                self._checkpoint(session, mailbox_id, item.folder, item.state)
                continue
            if item.key in known:
                if item.state is not None:
                    self._checkpoint(session, mailbox_id, item.folder, item.state)
                continue
            report.outcomes.append(self.process(session, mailbox_id, item, role))
            known.add(item.key)

    def _checkpoint(
        self, session: Session, mailbox_id: int, folder: str, state: Mapping[str, Any]
    ) -> None:
        with database_errors(), session.begin():
            save_state(session, mailbox_id, folder, state, self.now())

    def deliver_drafts(self, connector: Connector, *, session: Session | None = None) -> PassReport:
        """Place every pending draft of this mailbox in its Drafts folder (after commit).

        In batches: one read, one ``save_drafts`` call (one round trip on IMAP), one update.
        A failing server leaves the batch pending for the next pass; saving is idempotent.
        """
        report = PassReport()
        own = session is None
        session = session or self.sessions()
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
                        (d.id, ref or "", self._reply(connector, d, name)) for d, ref, name in rows
                    ]
                session.expunge_all()
                if not batch:
                    break
                ids = [draft_id for draft_id, _ref, _reply in batch]
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
                    log.warning(
                        "%d drafts for %s not saved yet: %s", len(ids), connector.address, exc
                    )
                    break
                now = self.now()
                with database_errors(), session.begin():
                    for (draft_id, reference, _reply), location in zip(
                        batch, locations, strict=True
                    ):
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
        finally:
            session.expunge_all()
            if own:
                session.close()
        return report

    def _reply(self, connector: Connector, draft: Draft, mailbox_name: str | None) -> DraftReply:
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
            date=self.now(),
        )

    # -- the failed store ---------------------------------------------------------------

    def retry_failed(self, ids: list[int] | None = None) -> PassReport:
        """Replay failed messages from their stored bytes."""
        report = PassReport()
        with self.sessions() as session:
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
                    self.process(
                        session,
                        mailbox_id,
                        fetched,
                        "sent" if role == "sent" else "inbox",
                        replay=True,
                    )
                )
        return report


class _KnownKeys:
    """The keys already processed in a folder, read from the database on first use.

    A pass over a mailbox with nothing new never needs them, so an idle pass costs no
    query for them however large the mailbox.
    """

    def __init__(self, session: Session, mailbox_id: int, folder: str):
        self._session, self._mailbox_id, self._folder = session, mailbox_id, folder
        self._keys: set[str] | None = None

    def _load(self) -> set[str]:
        if self._keys is None:
            with database_errors():
                self._keys = known_keys(self._session, self._mailbox_id, self._folder)
                self._session.rollback()
        return self._keys

    def __contains__(self, key: object) -> bool:
        return key in self._load()

    def add(self, key: str) -> None:
        self._load().add(key)


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def load_classifier(config: Config) -> Classifier:
    """The trained model for the shipped corpus and the organisation's own messages, with the
    configured review band (trained on first use, then read from the cache)."""
    settings = config.classifier
    return Classifier.load(
        extra_dir=config.path(settings.corpus) if settings.corpus else None,
        directory=config.path(settings.cache_folder) if settings.cache_folder else None,
        review_band=settings.review_band,
        own_domains=config.organisation.domains,
        own_addresses=[m.address for m in config.mailboxes],
    )


def _policy_from(config: Config) -> Policy:
    d = config.deadlines
    return PRESETS[config.organisation.policy].with_overrides(
        reply=d.reply,
        complaint_ack=d.complaint_ack,
        complaint_answer=d.complaint_answer,
        callback=d.callback,
        compilation_date=d.compilation_date,
    )
