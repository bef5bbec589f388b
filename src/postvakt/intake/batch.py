"""Group commit: a folder's new messages in batches, one transaction per batch.

A batch is up to ``[service] batch_size`` messages read one after the other from a folder.
Its guarantees are the intake's (:mod:`postvakt.intake`), per batch instead of per message:

- **One transaction per batch.**  It is first run whole: the messages' rows are written
  together when the batch ends (the cases through SQLAlchemy in few statements; the records,
  the events and the drafts in one INSERT per table, :mod:`postvakt.intake.records`).
  When a message's steps raise, that transaction is rolled back and the batch runs again
  with a SAVEPOINT per message: the message rolls back alone and goes to the failed store
  (in the same transaction), the others commit.  The folder's sync state is saved once, in
  the batch's transaction, as it stands after the batch's last message; never past a
  message that is not committed.
- **Looked up once per batch**: which of the batch's Message-IDs the mailbox's records
  know and which are in a case (a case's own, or a follow-up's in any mailbox), which of
  its thread ids (In-Reply-To, References) a case knows, the diary sequence (locked once,
  kept locked to the commit).  A message that may meet a row an earlier message of the
  same batch wrote still looks it up itself.
- **A conflict falls back to one message at a time.**  When the whole transaction is lost —
  a unique key another process took meanwhile, a deadlock, a serialization failure — the
  batch is run again through :meth:`Intake.process <postvakt.intake.Intake.process>`, one
  transaction per message, with its retries and its check for a message another process
  recorded meanwhile.
- **A crash loses the batch, nothing else.**  The process dying mid-batch (kill -9, or any
  ``BaseException``) rolls back the batch's transaction: the sync state still stands before
  its first message, so the next pass reads all of it again — nothing lost, doubled or
  skipped.
- **What was read before a server error is kept.**  When the connector fails mid-folder the
  messages already read are committed before the error ends the pass.

Batches are local to one call: several threads may run passes over different mailboxes
with one :class:`~postvakt.intake.Intake`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import literal, select, union_all
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, joinedload

from postvakt.errors import ConnectorError, DatabaseError
from postvakt.intake.failures import store_failed
from postvakt.intake.lookahead import (
    BATCH_DRAFTS,
    IN_BATCH,
    KNOWN_CASES,
    KNOWN_RECORDS,
    KNOWN_THREAD,
    LOCKED_SEQUENCES,
)
from postvakt.intake.records import keeping_rows, may_meet_pending, write_pending
from postvakt.intake.report import MessageOutcome, PassReport
from postvakt.intake.steps import Step, Work, parse
from postvakt.mailbox.base import Checkpoint, Connector, FetchedMessage, FolderRole
from postvakt.registry.cases import thread_ids_with_cases
from postvakt.registry.db import database_errors, is_conflict
from postvakt.registry.messages import known_keys, load_state, save_state
from postvakt.registry.models import Case, Disposition, Mailbox, MessageRecord
from postvakt.registry.one_of import one_of

if TYPE_CHECKING:
    from postvakt.intake import Intake
    from postvakt.intake.prepare import Prepared, Preparer
    from postvakt.intake.turns import Turn

__all__ = ["KnownKeys", "run_batch", "run_folder"]

log = logging.getLogger("postvakt.intake")


class KnownKeys:
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


def run_folder(
    intake: Intake,
    session: Session,
    connector: Connector,
    mailbox_id: int,
    folder: str,
    role: FolderRole,
    report: PassReport,
    turn: Turn | None = None,
    after_batch: Callable[[], None] | None = None,
) -> None:
    """Everything new in one folder, in batches of ``intake.batch_size``; ``after_batch`` is
    called when a message comes after a full batch committed (its drafts can be placed while
    the next batch runs, :mod:`postvakt.intake.placer`).

    With the intake's helper process (:mod:`postvakt.intake.prepare`), a full batch is
    handed to it to be parsed and classified, and runs when the next batch is full or the
    folder ends: the helper works on one batch while this process writes the one before.
    Batches still commit one after the other, in order, each with the state after its own
    last message; nothing is saved past a message not yet committed.
    """
    with database_errors():
        state = load_state(session, mailbox_id, folder)
        session.rollback()
    known = KnownKeys(session, mailbox_id, folder)  # loaded only if a message comes
    preparer: Preparer | None = None
    """The intake's helper process, asked for when the first batch is full (a folder with
    less has no use for it, and loads no model for it)."""
    ask_helper = role == "inbox"
    batch: list[FetchedMessage] = []
    taken: set[str] = set()
    after: Mapping[str, Any] | None = None
    """The folder's state after the last item taken (a message, a known one, a checkpoint)."""
    full = False
    """The last batch committed was full: a message after it calls ``after_batch``."""
    sealed: tuple[list[FetchedMessage], Mapping[str, Any] | None, Any] | None = None
    """A full batch handed to the helper, with its state after and the helper's answer to
    come: it runs before anything after it is committed."""

    def run(messages: list[FetchedMessage], state: Mapping[str, Any] | None, ahead: Any) -> None:
        nonlocal full
        prepared = preparer.results(ahead) if preparer is not None else None
        if prepared is not None and (
            len(prepared) != len(messages) or preparer.model is not intake.classify
        ):
            prepared = None  # another model taken into use meanwhile: the steps classify
        run_batch(
            intake, session, mailbox_id, folder, messages, role, report, state=state,
            prepared=prepared,
        )  # fmt: skip
        full = len(messages) >= intake.batch_size
        for fetched in messages:
            known.add(fetched.key)

    def commit() -> None:
        """Everything taken so far, in order: the sealed batch, then this one."""
        nonlocal after, sealed
        if sealed is not None:
            previous, sealed = sealed, None
            run(*previous)
        if batch:
            run(list(batch), after, None)
        elif after is not None:
            checkpoint(intake, session, mailbox_id, folder, after)
        batch.clear()
        taken.clear()
        after = None

    def seal() -> None:
        """A full batch: hand it to the helper, then run the batch sealed before it."""
        nonlocal after, sealed
        assert preparer is not None
        ahead = preparer.submit([fetched.raw for fetched in batch])
        previous, sealed = sealed, (list(batch), after, ahead)
        batch.clear()  # its keys stay in ``taken``: not known until it has run
        after = None
        if previous is not None:
            run(*previous)

    try:
        for item in connector.fetch_new(folder, state, known.__contains__):
            if turn is not None:
                turn.keep()  # renewed while the pass goes on; stops here if it was lost
            if isinstance(item, Checkpoint):
                if item.folder != folder:
                    commit()
                    checkpoint(intake, session, mailbox_id, item.folder, item.state)
                    continue
                after = item.state
            elif item.key in known or item.key in taken:
                if item.state is not None:
                    after = item.state
            else:
                if full and after_batch is not None:
                    after_batch()
                full = False
                batch.append(item)
                taken.add(item.key)
                if item.state is not None:
                    after = item.state
            if len(batch) >= intake.batch_size and ask_helper:
                preparer, ask_helper = intake.preparer, False
            if len(batch) >= intake.batch_size and preparer is not None:
                seal()
            elif not batch or len(batch) >= intake.batch_size:
                commit()
    except ConnectorError:
        commit()  # what was read before the server failed is kept
        raise
    except BaseException:
        if sealed is not None and preparer is not None:
            preparer.release(sealed[2])  # not to be run: it keeps the helper from its rest
        raise
    commit()


def checkpoint(
    intake: Intake, session: Session, mailbox_id: int, folder: str, state: Mapping[str, Any]
) -> None:
    with database_errors(), session.begin():
        save_state(session, mailbox_id, folder, state, intake.now())


def run_batch(
    intake: Intake,
    session: Session,
    mailbox_id: int,
    folder: str,
    batch: list[FetchedMessage],
    role: FolderRole,
    report: PassReport,
    *,
    state: Mapping[str, Any] | None,
    prepared: Sequence[Prepared | None] | None = None,
) -> None:
    """Run ``batch`` (messages of ``folder``, in order) in one transaction; save ``state``
    (the folder's state after the batch) in it.  See the module's docstring.  ``prepared``:
    the batch's messages parsed and classified ahead (:mod:`postvakt.intake.prepare`), in
    its order (None for a message whose preparing raised: its steps do it)."""
    if len(batch) > 1:
        try:
            try:
                outcomes = _group(
                    intake, session, mailbox_id, folder, batch, role, state, prepared=prepared
                )
            except _StepFailed:  # rolled back whole: again, each message in a savepoint
                session.expunge_all()
                outcomes = _group(
                    intake, session, mailbox_id, folder, batch, role, state,
                    savepoints=True, prepared=prepared,
                )  # fmt: skip
            report.outcomes.extend(outcomes)
            return
        except (DatabaseError, OperationalError, IntegrityError) as exc:
            conflict = isinstance(exc, IntegrityError) or is_conflict(exc)
            if not conflict:
                raise  # the database itself is unusable: stop the pass, lose nothing
            session.expunge_all()
            log.info(
                "a batch of %d messages in mailbox %d met a concurrent change; "
                "running it one message at a time",
                len(batch),
                mailbox_id,
            )
    for fetched in batch:
        report.outcomes.append(intake.process(session, mailbox_id, fetched, role))
    if state is not None and state != batch[-1].state:
        checkpoint(intake, session, mailbox_id, folder, state)


def _group(
    intake: Intake,
    session: Session,
    mailbox_id: int,
    folder: str,
    batch: list[FetchedMessage],
    role: FolderRole,
    state: Mapping[str, Any] | None,
    *,
    savepoints: bool = False,
    prepared: Sequence[Prepared | None] | None = None,
) -> list[MessageOutcome]:
    """The batch in one transaction.  Without ``savepoints`` (the first try) the messages'
    rows are written together at the end, and a message whose steps raise rolls the whole
    batch back (:class:`_StepFailed`); with them, each message runs in a savepoint of its
    own and one that raises goes alone to the failed store."""
    steps = intake.steps if role == "inbox" else intake.sent_steps
    if role == "inbox":
        intake.classify  # noqa: B018 — the model loads before the transaction, never in it
    outcomes: list[MessageOutcome] = []
    with (
        database_errors(),
        session.begin(),
        nullcontext() if savepoints else keeping_rows(session),
    ):
        # Once for the batch, with what its steps read of it (the owners: the handler; the
        # unit: each case's), in one query instead of three.
        mailbox = session.get_one(
            Mailbox, mailbox_id, options=[joinedload(Mailbox.owners), joinedload(Mailbox.unit)]
        )
        shared: dict[Any, Any] = {}
        works = [
            Work(
                session=session,
                mailbox=mailbox,
                fetched=fetched,
                now=intake.now(),
                role=role,
                shared=shared,
                prepared=prepared[index] if prepared is not None else None,
            )
            for index, fetched in enumerate(batch)
        ]
        rest = _parse_ahead(intake, session, mailbox_id, works, steps)
        for work in works:
            fetched = work.fetched
            try:
                with session.begin_nested() if savepoints else nullcontext():
                    if may_meet_pending(work):  # its lookups must see the batch's records
                        write_pending(session)
                    if work.message is None:  # not parsed ahead: every step, parse too
                        work = replace(work, now=intake.now())
                        disposition = intake._run_steps(work, steps)
                    else:
                        work.now = intake.now()
                        disposition = intake._run_steps(work, rest)
                    intake._record(work, disposition, replay=False)
                outcomes.append(intake._outcome(work, disposition))
            except (DatabaseError, OperationalError, IntegrityError):
                raise  # the whole transaction is in doubt: the caller runs the batch again
            except Exception as exc:  # a bug in a step: this message alone, to the failed store
                if not savepoints:
                    raise _StepFailed from exc
                # Its savepoint's rollback may have released a sequence lock (PostgreSQL)
                # and reverted the row: the next number locks and reads it again.
                shared[LOCKED_SEQUENCES].clear()
                with session.begin_nested():
                    outcomes.append(
                        store_failed(intake, session, mailbox_id, fetched, exc, role, state=False)
                    )
            if work.message is not None:
                shared[IN_BATCH].add(work.message.message_id)
            if work.draft is not None:
                shared[BATCH_DRAFTS].add(work.draft)
        if not savepoints:
            try:  # the messages' rows, written together: a row refused is one message's
                # Until nothing is pending: the first flush and the rows written after it add
                # rows of their own (the new cases' diary documents), and a refusal of one of
                # those is a message's too, not the pass's.
                for _ in range(FLUSH_ROUNDS):
                    session.flush()
                    write_pending(session)  # now that their cases have ids
                    if not (session.new or session.dirty or session.deleted):
                        break
            except (IntegrityError, OperationalError):
                raise  # a conflict (or the database unusable): the caller decides
            except DBAPIError as exc:  # refused (a trigger, a check): each in its savepoint
                raise _StepFailed from exc
        if state is not None:
            save_state(session, mailbox_id, folder, state, intake.now())
    session.expunge_all()
    return outcomes


FLUSH_ROUNDS = 4
"""At most this many flushes write a batch's rows and what their flushes add (the diary
outbox adds its documents after the first); anything left goes with the commit."""

MAX_THREAD_LOOKAHEAD = 5000
"""At most this many thread ids (In-Reply-To, References) are looked up for a whole batch."""


class _StepFailed(Exception):
    """A message's steps raised in a batch run without savepoints: the batch is run again
    with them."""


def _parse_ahead(
    intake: Intake,
    session: Session,
    mailbox_id: int,
    works: list[Work],
    steps: tuple[tuple[str, Step], ...],
) -> tuple[tuple[str, Step], ...]:
    """Parse the batch's messages before their steps run, and look up at once which of their
    Message-IDs the mailbox's records know and which are in a case (registered from them,
    or a follow-up's in any mailbox: :func:`.lookahead.may_be_known`);
    the steps still to run after the parse.

    Only when the steps begin with :func:`.steps.parse` (it reads nothing and writes nothing
    but the work); a message whose parse raises is left unparsed, so that its steps, parse
    first, run in its savepoint and it fails there.
    """
    works_shared = works[0].shared
    works_shared[IN_BATCH] = set()
    works_shared[BATCH_DRAFTS] = set()
    works_shared[LOCKED_SEQUENCES] = {}
    if not steps or steps[0][1] is not parse:
        return steps
    for work in works:
        try:
            parse(intake, work)
        except Exception:  # raised again in its savepoint, where it is recorded as failed
            work.message = None
            work.review_reasons.clear()
    ids = sorted({w.message.message_id for w in works if w.message is not None})
    if ids:  # the records' and the cases' in one query (one round trip)
        records = select(MessageRecord.message_id, literal(KNOWN_RECORDS).label("kind")).where(
            MessageRecord.mailbox_id == mailbox_id,
            one_of(session, MessageRecord.message_id, ids),
        )
        cases = select(Case.message_id, literal(KNOWN_CASES).label("kind")).where(
            one_of(session, Case.message_id, ids)
        )
        joined = select(MessageRecord.message_id, literal(KNOWN_CASES).label("kind")).where(
            MessageRecord.disposition == Disposition.FOLLOWUP,  # in a case, whichever mailbox
            one_of(session, MessageRecord.message_id, ids),
        )
        works_shared[KNOWN_RECORDS], works_shared[KNOWN_CASES] = set(), set()
        for message_id, kind in session.execute(union_all(records, cases, joined)):
            works_shared[kind].add(message_id)
    thread = sorted({t for w in works if w.message is not None for t in w.message.thread_ids})
    if len(thread) <= MAX_THREAD_LOOKAHEAD:  # more: each message looks its own up
        works_shared[KNOWN_THREAD] = thread_ids_with_cases(session, thread) if thread else set()
    return steps[1:]
