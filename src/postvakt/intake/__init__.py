"""One message's way through Postvakt: parse, screen, classify, register, draft.

The steps are listed in order in :data:`STEPS`.  Each is a small function with one job that
either returns None (go on) or the message's final :class:`Disposition` (stop here).  Deciding
is apart from acting: ``screen`` and ``classify`` only look; ``register`` and ``draft`` write.

Guarantees, and how they are kept:

- **One transaction per batch, a savepoint per message** (group commit,
  :mod:`.batch`; ``[service] batch_size`` messages, :meth:`Intake.process` one).  All steps
  run inside it, together with the messages' records and the connector's new sync state.
  The sync state is stored in the same commit as the messages, never before them, and
  never past a message that is not in that commit.
- **Nothing lost.**  A step that raises rolls its message's savepoint back; the raw bytes
  and the traceback go to the failed store (``postvakt failed retry`` replays them) and the
  rest of the batch commits.  A crash (anything that is not an ``Exception``) rolls the
  whole batch back and leaves the sync state where it was, so its messages are read again
  on the next pass.
- **Nothing twice.**  ``messages`` is unique on (mailbox, folder, key), so a message already
  seen is skipped; ``cases`` is unique on Message-ID, so the same e-mail in two mailboxes is
  registered once, and a citizen's reply read in two mailboxes joins its case once (the
  second is a duplicate, :mod:`.seen`; on PostgreSQL the case is locked while a reply joins
  it, so two processes reading the copies at once do the same).  A race with another
  process on a unique key, or a deadlock, is run again (up to :data:`CONFLICT_ATTEMPTS`
  times) and never recorded as a failure: a message another process recorded meanwhile
  counts as a duplicate here.
- **One process per mailbox.**  A pass holds the mailbox's lease (:mod:`.turns`) while it
  reads and places drafts, renewing it as it goes; a mailbox another live process holds is
  skipped this pass.
- **Drafts after commit.**  The draft is rendered and stored in the transaction (the outbox)
  and placed in the mailbox afterwards by :meth:`Intake.deliver_drafts`, idempotently by its
  own Message-ID and under the lease.  A crash between the two leaves a pending draft for
  the next pass.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from postvakt.classifier import (
    Classifier,
    Label,
    Verdict,
    find_contact,
    forwards_citizen,
)
from postvakt.clock import Clock
from postvakt.config import Config, PersonConfig
from postvakt.errors import ConnectorError, DatabaseError
from postvakt.intake.batch import run_folder
from postvakt.intake.drafts import DOCX, deliver_drafts
from postvakt.intake.failures import record_failed, resolve_failure, retry_failed
from postvakt.intake.fresh_letters import remembering
from postvakt.intake.placer import DraftPlacer
from postvakt.intake.prepare import Preparer
from postvakt.intake.records import record
from postvakt.intake.report import MessageOutcome, PassReport
from postvakt.intake.sent_steps import SENT_STEPS
from postvakt.intake.start import Backfill, note_first_watch
from postvakt.intake.steps import ACTOR, BY_HAND_STEPS, STEPS, Step, Work
from postvakt.intake.turns import LeaseLost, Turn, held_message, mailbox_turn
from postvakt.mailbox.base import (
    Connector,
    FetchedMessage,
    FolderRole,
)
from postvakt.mailbox.message import IncomingMessage
from postvakt.metrics import observe_pass
from postvakt.registry.cases import (
    NumberFinder,
    case_parties,
)
from postvakt.registry.db import database_errors, is_conflict
from postvakt.registry.leases import new_holder
from postvakt.registry.messages import (
    message_record,
    save_state,
)
from postvakt.registry.models import (
    Case,
    Disposition,
    Mailbox,
    MessageRecord,
)
from postvakt.registry.numbering import Numbering
from postvakt.rules.calendar import WorkingCalendar
from postvakt.rules.policy import PRESETS, Policy
from postvakt.templates import LETTERS, LetterRenderer
from postvakt.templates.casework import CaseLetters, swedish_date

__all__ = [
    "ACTOR",
    "DOCX",
    "SENT_STEPS",
    "STEPS",
    "Intake",
    "MessageOutcome",
    "PassReport",
    "Step",
    "Work",
    "load_classifier",
    "policy_from",
    "swedish_date",
]

log = logging.getLogger("postvakt.intake")

CONFLICT_ATTEMPTS = 3
"""Tries of one message when another process's transaction conflicts with it."""

Classify = Callable[[IncomingMessage], Verdict]
NotSatisfied = Callable[..., None]
"""``(session, case, *, now, reason)``: a new review of an answered case (``Casework.not_satisfied``)."""
Cover = Callable[[str, date, Session], str]
"""``(person, day, session)``: who reads the person's mail and takes their cases that day."""


class Intake:
    """Runs :data:`STEPS` over messages from a connector, a batch per transaction
    (:mod:`.batch`); :meth:`process` runs one message in a transaction of its own."""

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
        batch_size: int | None = None,
    ):
        self.config = config
        self.sessions = sessions
        self.clock = clock
        self.steps = steps
        self.sent_steps = sent_steps
        self.batch_size = batch_size or config.service.batch_size
        """Messages per transaction in a pass (:mod:`postvakt.intake.batch`)."""
        self._classifier_lock = threading.Lock()
        self._classify = classify
        self._own_classifier = classify is None
        self._preparer: Preparer | None = None
        """The classifier is the organisation's model in use (loaded here), not one given."""
        self._model_source: Callable[[], Classifier] | None = None
        """Loads the model in use without the database (set by the service); else the
        corpus model and the organisation's own messages."""
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
        self.policy = policy or policy_from(config)
        self.own_addresses = frozenset(m.address for m in config.mailboxes)
        self.holder = new_holder()
        """This process's name on the mailbox leases it takes (``host:pid:random``)."""
        self.numbers = NumberFinder.of(config)
        self.starts: dict[int, datetime] = {}
        """When each mailbox was first watched, once read (:mod:`postvakt.intake.start`)."""
        self.numbering = Numbering.of(config)
        self._people: Mapping[str, PersonConfig] = {p.address: p for p in config.people}
        self._staff = frozenset(
            a.lower()
            for a in (
                *self._people,
                *self.own_addresses,
                *(u.head for u in config.units),
            )
        )
        for name in ("acknowledgment", "acknowledgment_care"):  # at start: checked, compiled
            for language in LETTERS[name].languages:
                self.renderer.check(name, language)

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
        found = self._classify
        if found is None:
            with self._classifier_lock:  # passes over several mailboxes at once load it once
                found = self._classify
                if found is None:
                    # Never reads the database; loaded before a message's transaction.
                    load = self._model_source or (lambda: load_classifier(self.config))
                    found = self._classify = load()
        return found

    @property
    def preparer(self) -> Preparer | None:
        """The helper process that parses and classifies batches ahead, for the model in use
        (:mod:`.prepare`); None when ``[service] prepare_processes`` is 0 or the classifier is
        not the organisation's model (one given to this intake)."""
        processes = self.config.service.prepare_processes
        if not self._own_classifier or processes == 0:
            return None
        model = self.classify
        stale = None
        with self._classifier_lock:
            if self._preparer is None or self._preparer.model is not model:
                stale, self._preparer = (
                    self._preparer,
                    Preparer(model, processes, self.own_addresses),
                )
            preparer = self._preparer
        if stale is not None:
            stale.close()  # its model is no longer in use
        return preparer

    def close(self) -> None:
        """Stop the helper process, if one was started."""
        with self._classifier_lock:
            preparer, self._preparer = self._preparer, None
        if preparer is not None:
            preparer.close()

    def reload_classifier(self, source: Callable[[], Classifier] | None = None) -> None:
        """Another model was taken into use (a retraining): the next message loads it, with
        ``source`` when given (:meth:`postvakt.service.Service.follow_model`)."""
        if self._own_classifier:
            if source is not None:
                self._model_source = source
            self._classify = None

    def may_join(self, case: Case, msg: IncomingMessage) -> bool:
        """Whether a message in a case's thread (or quoting its number) may join the case.

        Only from the case's citizen, a member of staff, or a party the case was forwarded
        to; anyone else's message is judged on its own (and marked for a person to check).
        A web form's gateway speaks for the citizen whose address the form gives.
        """
        sender = msg.sender.address.lower() if msg.sender else ""
        org = self.config.organisation
        if sender in {a.lower() for a in org.web_form_senders}:
            found = find_contact(msg, self.own_addresses).reply_to
            sender = found.address.lower() if found else ""
        return self.is_party(case, sender)

    def is_party(self, case: Case, sender: str) -> bool:
        """Whether ``sender`` (an address) may write in ``case``: its citizen, a member of
        staff, or a party the case was forwarded to."""
        sender = sender.lower()
        if not sender:
            return False
        org = self.config.organisation
        if sender.rpartition("@")[2] in {d.lower() for d in org.domains} or sender in self._staff:
            return True
        return sender in case_parties(case)

    def handler_for(self, mailbox: Mailbox) -> str | None:
        """Who handles a case: the person for a personal mailbox, else the first owner."""
        if mailbox.kind == "personal":
            return mailbox.address
        return mailbox.owners[0].address if mailbox.owners else None

    # -- one message ------------------------------------------------------------------

    def register_by_hand(
        self,
        session: Session,
        record: MessageRecord,
        fetched: FetchedMessage,
        *,
        label: Label,
        actor: str,
    ) -> Case:
        """Register a recorded message as a case because a person says it is one.

        In the caller's transaction.  The deadlines count from the message's arrival, not from
        today; the acknowledgment is drafted as for any case.  The record becomes the case's.
        """
        work = Work(
            session=session,
            mailbox=record.mailbox,
            fetched=fetched,
            now=self.now(),
            registered_by=actor,
            decided=label,
        )
        self._run_steps(work, BY_HAND_STEPS)
        case = work.case
        assert case is not None
        work.session.flush()  # the caller shows the case's id (its page) straight away
        # The machine's own judgment stays on the case beside the person's correction.
        case.classifier_label = record.label
        case.classifier_confidence = record.confidence
        case.classifier_reasons = list(record.reasons or [])
        case.corrected_by, case.corrected_at = actor, work.now
        record.disposition, record.case_id = Disposition.CASE, case.id
        record.reviewed_by, record.reviewed_at = actor, work.now
        return case

    def _run_steps(self, work: Work, steps: tuple[tuple[str, Step], ...]) -> Disposition:
        """The first step that returns a disposition decides; a message through them all is a case."""
        for _name, step in steps:
            outcome = step(self, work)
            if outcome is not None:
                return outcome
        return Disposition.CASE

    def _record(self, work: Work, disposition: Disposition, replay: bool) -> None:
        record(self, work, disposition, replay)

    def process(
        self,
        session: Session,
        mailbox_id: int,
        fetched: FetchedMessage,
        role: FolderRole = "inbox",
        *,
        replay: bool = False,
        backfill: Backfill | None = None,
    ) -> MessageOutcome:
        """Run the steps over one message in one transaction; failures go to the failed store.

        ``replay`` is for a message from the failed store: its record is updated, and its
        failure marked resolved, instead of a record being added.  ``backfill`` (with
        ``replay``) registers a message that arrived before the mailbox's start.
        """
        steps = self.steps if role == "inbox" else self.sent_steps
        if role == "inbox":
            # Load (or on a cold cache, train) the model before the transaction: training
            # takes seconds, and on SQLite a write transaction held that long locks out every
            # other process.
            self.classify  # noqa: B018 — the property loads the model once
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                with database_errors(), session.begin():
                    mailbox = session.get_one(Mailbox, mailbox_id)
                    work = Work(
                        session=session,
                        mailbox=mailbox,
                        fetched=fetched,
                        now=self.now(),
                        role=role,
                        backfill=backfill,
                    )
                    disposition = self._run_steps(work, steps)
                    self._record(work, disposition, replay)
                    if fetched.state is not None:
                        save_state(session, mailbox_id, fetched.folder, fetched.state, work.now)
                    if replay:
                        resolve_failure(session, mailbox_id, fetched, work.now)
                    outcome = self._outcome(work, disposition)
                session.expunge_all()
                return outcome
            except (DatabaseError, OperationalError, IntegrityError) as exc:
                # Another process at the same moment: it recorded this very message (its
                # lease on the mailbox ran out while it worked), registered the same e-mail
                # from another mailbox, or deadlocked with us.  Nothing failed: look again.
                conflict = isinstance(exc, IntegrityError) or is_conflict(exc)
                if not conflict:
                    raise  # the database itself is unusable: stop the pass, lose nothing
                if not replay and (done := self._recorded_meanwhile(session, mailbox_id, fetched)):
                    return done
                if attempt < CONFLICT_ATTEMPTS:
                    log.info("retrying %s after a concurrent change", fetched.key)
                    continue
                if not isinstance(exc, IntegrityError):
                    raise
                return record_failed(self, session, mailbox_id, fetched, exc, role)
            except Exception as exc:  # any bug in a step: keep the message, go on with the next
                return record_failed(self, session, mailbox_id, fetched, exc, role)
        raise AssertionError("unreachable")  # pragma: no cover

    def _recorded_meanwhile(
        self, session: Session, mailbox_id: int, fetched: FetchedMessage
    ) -> MessageOutcome | None:
        """The message's record written by another process since this pass listed it: the
        message is that process's, and counts here as a duplicate (never as failed)."""
        with database_errors(), session.begin():
            row = message_record(session, mailbox_id, fetched.folder, fetched.key)
            address = session.get_one(Mailbox, mailbox_id).address if row is not None else ""
        session.expunge_all()
        if row is None:
            return None
        log.info("message %s was recorded by another process meanwhile", fetched.key)
        return MessageOutcome(
            mailbox=address,
            folder=fetched.folder,
            key=fetched.key,
            disposition=Disposition.DUPLICATE,
            reason="behandlades samtidigt av en annan Postvakt-process",
        )

    def _outcome(self, work: Work, disposition: Disposition) -> MessageOutcome:
        msg = work.msg
        if work.reason:
            reason = work.reason
        elif work.screening:
            reason = work.screening.reason
        elif work.verdict:
            reason = "; ".join(work.verdict.reasons[:2])
        elif disposition is Disposition.INTERNAL:
            reason = "intern e-post från den egna organisationen"
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

        All under the mailbox's lease (:mod:`postvakt.intake.turns`): a mailbox that another
        live process is working is skipped this pass and noted in ``report.skipped``.
        A server error ends the pass for this mailbox and is reported with what was done.
        """
        report = PassReport()
        started = time.perf_counter()
        with self.sessions() as session:
            with database_errors():
                mailbox = session.scalars(
                    select(Mailbox).where(Mailbox.address == connector.address)
                ).one()
                mailbox_id = mailbox.id
                session.rollback()
            with (
                mailbox_turn(self, session, mailbox_id, connector.address) as turn,
                remembering(session),  # the new drafts' letters, until placed
            ):
                if not isinstance(turn, Turn):
                    report.skipped.append(held_message(connector.address, turn, self.now()))
                    return report
                # Drafts of committed batches go on connections of their own while this reads on.
                placer = DraftPlacer(self, session, connector, turn, mailbox_id)
                try:
                    note_first_watch(self, session, mailbox_id)
                    try:
                        for role in ("inbox", "sent"):
                            for folder in connector.folders(role):
                                run_folder(
                                    self,
                                    session,
                                    connector,
                                    mailbox_id,
                                    folder,
                                    role,
                                    report,
                                    turn,
                                    after_batch=placer.nudge,
                                )
                    finally:  # before this thread places drafts, and before the lease goes
                        report.merge(placer.stop())
                    report.merge(deliver_drafts(self, connector, session=session, turn=turn))
                    turn.passed = True
                except ConnectorError as exc:
                    # What was committed stays committed; the next pass resumes from the state.
                    log.error("mailbox %s: %s", connector.address, exc)
                    report.errors.append(str(exc))
                    turn.failed(exc)  # kept as the mailbox's last error (postvakt status)
                except LeaseLost as exc:
                    report.skipped.append(str(exc))
        observe_pass(mailbox_id, report, time.perf_counter() - started)
        return report

    def deliver_drafts(self, connector: Connector, *, session: Session | None = None) -> PassReport:
        """Place every pending draft of this mailbox in its Drafts folder (after commit)."""
        return deliver_drafts(self, connector, session=session)

    def retry_failed(self, ids: list[int] | None = None) -> PassReport:
        """Replay failed messages from their stored bytes."""
        return retry_failed(self, ids)


def load_classifier(config: Config, sessions: sessionmaker[Session] | None = None) -> Classifier:
    """The organisation's model in use — the shipped corpus, its own messages and, once a
    retraining took it into use, people's corrections (read from ``sessions``' database) —
    with the configured review band; from the cache, or trained on first use.  Not inside a
    transaction: SQLite's ``BEGIN IMMEDIATE`` would wait for itself."""
    from postvakt.classifier.retrain import load_current

    return load_current(config, sessions)[0]


def policy_from(config: Config) -> Policy:
    d = config.deadlines
    return PRESETS[config.organisation.policy].with_overrides(
        reply=d.reply,
        complaint_ack=d.complaint_ack,
        complaint_answer=d.complaint_answer,
        callback=d.callback,
        compilation_date=d.compilation_date,
        promised_answer=d.promised_answer,
        ack_counts_as_answer=d.ack_counts_as_answer,
        daily_open_personal=config.rules.daily_open_personal,
    )
