"""A message's record (what became of it), written as an ORM row or, in a batch, with the
batch's other records in one INSERT; the same for the events and drafts of its new cases.

A batch run whole (:mod:`postvakt.intake.batch`, its first try) keeps its messages' records,
and its new cases' events and drafts, in a :class:`~postvakt.registry.batch_rows.BatchRows`
(:func:`keeping_rows`).  It writes them with one executemany per table after the batch's
flush, when the cases they name have their ids: no ORM object, no unit of work, per row.  The
new cases' incoming diary documents, which a flush hook queues for a registration event made
as an ORM object, are queued then (:func:`~postvakt.diary.outbox.queue_registered`).  Nothing
reads the rows before that except a later message of the same batch that may meet one (the
same Message-ID, or a reply to one): the batch writes what it keeps before such a message's
steps (:func:`may_meet_pending`), so its lookups see the rows as they would see flushed ones.
A message run alone, a batch run again with a savepoint per message, and a replay write ORM
rows as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from postvakt.classifier import Label
from postvakt.diary.outbox import queue_registered
from postvakt.intake.fresh_letters import fresh_letters
from postvakt.intake.lookahead import BATCH_DRAFTS, IN_BATCH
from postvakt.intake.steps import ACTOR
from postvakt.registry.batch_rows import batch_rows, keeping
from postvakt.registry.messages import message_record
from postvakt.registry.models import (
    Case,
    CaseEvent,
    Disposition,
    Draft,
    EventKind,
    MessageRecord,
)

if TYPE_CHECKING:
    from postvakt.intake import Intake
    from postvakt.intake.steps import Work

__all__ = [
    "EXCERPT_CHARS",
    "keeping_rows",
    "may_meet_pending",
    "record",
    "write_pending",
]

EXCERPT_CHARS = 2000
"""How much of the citizen's text a message's record keeps for the review queue."""


def _values(
    intake: Intake, work: Work, disposition: Disposition, flagged_by: str | None
) -> dict[str, Any]:
    """The record's columns for ``work`` (all but its place and its case); ``flagged_by``:
    the record's flag so far (a replayed record may have one)."""
    msg = work.msg
    verdict = work.verdict
    reasons = list(
        verdict.reasons if verdict else ([work.screening.reason] if work.screening else [])
    ) or ([work.reason] if work.reason else [])
    reasons += [r for r in work.review_reasons if r not in reasons]
    values: dict[str, Any] = {
        "message_id": msg.message_id,
        "content_hash": work.content_hash,
        "sender_address": msg.sender.address if msg.sender else None,
        "sender_name": msg.sender.name if msg.sender else None,
        "subject": msg.subject,
        "received_at": work.received_at,
        "processed_at": work.now,
        "disposition": disposition,
        "label": verdict.label.value if verdict else None,
        "confidence": verdict.confidence if verdict else None,
        "reasons": reasons,
        "defects": list(msg.defects),
        "reply_due": work.reply_due,
        "case_probability": None,
        # marked private, or in a private case's thread: kept from a delegate also as no case
        "private": intake.is_private(msg) or (work.case is not None and bool(work.case.private)),
    }
    if verdict is not None:  # the review queue shows a non-case that was close
        probs = dict(verdict.probabilities)
        values["case_probability"] = round(
            probs.get(Label.COMPLAINT, 0.0) + probs.get(Label.OPINION, 0.0), 3
        )
        if (
            disposition is Disposition.NOT_CASE
            and work.role == "inbox"
            and flagged_by is None
            and verdict.shown_though_annat
        ):
            # A person looks (Granska). The form's or the subject's dispute is the verdict's
            # first reason; a possible care matter gets its own line here.
            values["flagged_by"], values["flagged_at"] = ACTOR, work.now
            if verdict.care_probability >= verdict.care_threshold:
                care = round(verdict.care_probability * 100)
                values["reasons"] = [
                    *reasons,
                    f"kan röra enskilds vård och omsorg ({care} %): "
                    "se efter om det är ett klagomål",
                ]
    if work.role == "inbox":
        citizen = intake.citizen_message(msg, verdict) if verdict else msg
        values["excerpt"] = citizen.body_text[:EXCERPT_CHARS]
    return values


def record(intake: Intake, work: Work, disposition: Disposition, replay: bool) -> None:
    """Record what became of ``work``'s message: kept with its batch's rows when the batch
    keeps them (see the module), else an ORM row (a replay updates the one it has)."""
    kept = None if replay else batch_rows(work.session)
    fetched = work.fetched
    if kept is not None:
        values = _values(intake, work, disposition, None)
        values.setdefault("flagged_by", None)
        values.setdefault("flagged_at", None)
        values.setdefault("excerpt", None)
        values.update(mailbox_id=work.mailbox.id, folder=fetched.folder, message_key=fetched.key)
        kept.add(MessageRecord, work.case, **values)
        return
    # A message fresh from its folder has no record yet; only a replay updates one.
    row = (
        message_record(work.session, work.mailbox.id, fetched.folder, fetched.key)
        if replay
        else None
    )
    if row is None:
        row = MessageRecord(
            mailbox_id=work.mailbox.id, folder=fetched.folder, message_key=fetched.key
        )
        work.session.add(row)
    for key, value in _values(intake, work, disposition, row.flagged_by).items():
        setattr(row, key, value)
    row.case = work.case  # the case may still be pending (no id): set at the flush


def may_meet_pending(work: Work) -> bool:
    """Whether ``work``'s steps may look for a record still pending in its batch: its
    Message-ID or one it refers to is an earlier message's of the batch (or it is not
    parsed yet, so nobody knows)."""
    if not batch_rows(work.session):
        return False
    if work.message is None:
        return True
    in_batch = work.shared.get(IN_BATCH, ())
    drafts = work.shared.get(BATCH_DRAFTS, ())
    msg = work.message
    return msg.message_id in in_batch or any(t in in_batch or t in drafts for t in msg.thread_ids)


def write_pending(session: Session) -> None:
    """Insert the batch's kept records and its new cases' events and drafts, a statement per
    table, after a flush has given the cases their ids; queue the new cases' diary documents
    (:func:`_queue_incoming`)."""
    kept = batch_rows(session)
    if kept:
        kept.write(session)


def _queue_incoming(session: Session, written: dict[type, list[tuple[Case, Any]]]) -> None:
    """The incoming diary documents of the new cases whose registrations were written: the
    diary outbox's flush hook queues them only for registration events made as objects.
    The new drafts' letters are kept for the pass to place (:mod:`.fresh_letters`)."""
    events = written.get(CaseEvent, [])
    queue_registered(session, [(c, v) for c, v in events if v["kind"] is EventKind.REGISTERED])
    letters = fresh_letters(session)
    if letters is not None:
        letters.keep((v["message_id"], v["attachment"]) for _c, v in written.get(Draft, []))


@contextmanager
def keeping_rows(session: Session) -> Iterator[None]:
    """While the batch runs whole, its records and its new cases' events and drafts are kept
    to be written together (:func:`write_pending`)."""
    with keeping(session, _queue_incoming):
        yield
        write_pending(session)  # anything kept after the batch's last flush
