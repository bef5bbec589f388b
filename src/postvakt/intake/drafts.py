"""Placing drafts: the outbox written in each message's transaction goes to the mailbox after
commit; and taking Postvakt's own drafts of withdrawn cases out of it again."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Text,
    bindparam,
    case,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session, defer

from postvakt.errors import ConnectorError
from postvakt.intake.fresh_letters import fresh_letters
from postvakt.intake.report import PassReport
from postvakt.intake.turns import LeaseLost, Turn, held_message, mailbox_turn
from postvakt.mailbox.addresses import header_address
from postvakt.mailbox.base import (
    Connector,
    DraftAttachment,
    DraftReply,
    SupportsDraftRemoval,
)
from postvakt.registry.db import database_errors
from postvakt.registry.drafts import mark_address_check
from postvakt.registry.models import (
    Case,
    Draft,
    DraftStatus,
    Mailbox,
)
from postvakt.registry.one_of import one_of

if TYPE_CHECKING:
    from postvakt.intake import Intake

__all__ = [
    "DOCX",
    "DRAFT_BATCH",
    "NOT_IN_DRAFTS",
    "deliver_drafts",
    "draft_reply",
    "mark_placed",
    "read_pending",
    "retry_failed_drafts",
]

log = logging.getLogger("postvakt.intake")

DRAFT_BATCH = 50
"""Drafts placed per round trip."""
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def deliver_drafts(
    intake: Intake,
    connector: Connector,
    *,
    session: Session | None = None,
    turn: Turn | None = None,
) -> PassReport:
    """Place every pending draft of this mailbox in its Drafts folder (after commit), then
    take out Postvakt's own drafts of withdrawn cases (status ``REMOVE``).

    In batches: one read, one ``save_drafts`` call (one round trip on IMAP), one update.
    A failing server leaves the batch pending for the next pass; saving is idempotent.
    Removal is the same: one ``remove_drafts`` call per batch; a removed draft, and one the
    connector no longer finds (the person deleted or sent it), becomes ``REMOVED`` with
    ``saved_at`` the time it was settled (``last_error`` says when it was not found),
    ``location`` still saying where it was; a failing server leaves the batch ``REMOVE``
    for the next pass.  A draft withdrawn while it was being placed is removed in the same
    pass.

    Only under the mailbox's lease: ``turn`` when the caller holds it (a pass), else the
    lease is taken here; a mailbox another process holds is left to it (``report.skipped``),
    and its drafts stay pending for that process or the next pass.  Saving checks Drafts for
    the draft's Message-ID before appending; the lease makes check and append one
    process's, so no draft is appended twice.
    """
    own = session is None
    session = session or intake.sessions()
    try:
        if turn is not None:
            return _deliver(intake, connector, session, turn)
        with database_errors():
            mailbox_id = session.scalars(
                select(Mailbox.id).where(Mailbox.address == connector.address)
            ).one()
            session.rollback()
        with mailbox_turn(intake, session, mailbox_id, connector.address) as taken:
            if isinstance(taken, Turn):
                return _deliver(intake, connector, session, taken)
            report = PassReport()
            report.skipped.append(held_message(connector.address, taken, intake.now()))
            return report
    finally:
        session.expunge_all()
        if own:
            session.close()


def _deliver(intake: Intake, connector: Connector, session: Session, turn: Turn) -> PassReport:
    report = PassReport()
    try:
        while True:
            with database_errors(), session.begin():
                batch = read_pending(
                    intake,
                    connector,
                    session,
                    Mailbox.address == connector.address,
                    limit=DRAFT_BATCH,
                )
            session.expunge_all()
            if not batch:
                break
            ids = [draft_id for draft_id, _ref, _reply in batch]
            turn.keep(check=True)  # still ours: nobody else appends these meanwhile
            try:
                locations = _save_batch(intake, connector, session, batch, report)
            except ConnectorError as exc:
                with database_errors(), session.begin():
                    session.execute(
                        update(Draft)
                        .where(one_of(session, Draft.id, ids), Draft.status == DraftStatus.PENDING)
                        .values(attempts=Draft.attempts + 1, last_error=str(exc))
                    )
                text = str(exc).removeprefix(f"{connector.address}: ")  # said once, first
                report.errors.append(f"{connector.address}: utkasten kunde inte sparas: {text}")
                log.warning("%d drafts for %s not saved yet: %s", len(ids), connector.address, exc)
                break
            now = intake.now()
            placed = {
                draft_id: (reference, location)
                for (draft_id, reference, _reply), location in zip(batch, locations, strict=True)
                if location is not None  # else it could not be built: marked by _save_batch
            }
            with database_errors(), session.begin():
                for reference, location in mark_placed(session, placed, now):
                    report.drafts_saved.append((reference, location))
            if len(batch) < DRAFT_BATCH:
                break
        _remove(intake, connector, session, turn, report)
    except LeaseLost as exc:
        report.skipped.append(str(exc))
    return report


def read_pending(
    intake: Intake,
    connector: Connector,
    session: Session,
    *where: ColumnElement[bool],
    limit: int | None = None,
) -> list[tuple[int, str, DraftReply]]:
    """The pending drafts that match ``where``, oldest first, as (draft id, case reference,
    the draft as the connector takes it).  In the caller's transaction: building a draft may
    mark its case for an address check (:func:`draft_reply`)."""
    query = (
        select(Draft, Case.reference, Mailbox.name)
        .options(defer(Draft.attachment))  # the pass may have it (_letters)
        .join(Mailbox, Draft.mailbox_id == Mailbox.id)
        .outerjoin(Case, Draft.case_id == Case.id)
        .where(Draft.status == DraftStatus.PENDING, *where)
        .order_by(Draft.id)
    )
    rows = session.execute(query if limit is None else query.limit(limit)).all()
    letters = _letters(session, [d for d, _ref, _name in rows])
    return [
        (d.id, ref or "", draft_reply(intake, connector, d, name, letters.get(d.id)))
        for d, ref, name in rows
    ]


def _letters(session: Session, drafts: list[Draft]) -> dict[int, bytes]:
    """The letters of ``drafts`` (by draft id): those the pass kept when it wrote them
    (:mod:`.fresh_letters`), the others read in one query."""
    kept = fresh_letters(session)
    found: dict[int, bytes] = {}
    if kept is not None:
        for draft in drafts:
            if (data := kept.take(draft.message_id)) is not None:
                found[draft.id] = data
    missing = [d.id for d in drafts if d.id not in found and d.attachment_name]
    if missing:
        rows = session.execute(
            select(Draft.id, Draft.attachment).where(one_of(session, Draft.id, missing))
        )
        found.update({draft_id: data for draft_id, data in rows if data is not None})
    return found


_DRAFTS = Draft.__table__
_PLACED = (
    update(_DRAFTS)
    .where(_DRAFTS.c.id == bindparam("draft_id"), _DRAFTS.c.status == bindparam("was"))
    .values(
        status=bindparam("becomes", type_=_DRAFTS.c.status.type),
        saved_at=bindparam("at", type_=_DRAFTS.c.saved_at.type),
        location=bindparam("where"),
        attempts=_DRAFTS.c.attempts + 1,
        last_error=None,
    )
)

_CHANGES = (
    (DraftStatus.PENDING, DraftStatus.SAVED),
    (DraftStatus.REMOVED, DraftStatus.REMOVE),
)
"""What a draft noted as placed becomes, by the state it is in; any other is left."""
_NOTED = [was for was, _becomes in _CHANGES]


def mark_placed(
    session: Session, placed: dict[int, tuple[str, str]], now: datetime
) -> list[tuple[str, str]]:
    """Note the drafts of ``placed`` (id -> (case reference, location)) as saved; the
    (reference, location) of those saved.

    A draft still pending becomes SAVED.  One whose case was withdrawn while it was on its way
    (REMOVED, never placed as far as the withdrawal could see) is in Drafts now, so it
    becomes REMOVE: out it goes in this same pass.  A row in any other state is left as it
    is, as one UPDATE per draft would.  On PostgreSQL one statement for the whole batch
    (:func:`_mark_at_once`), one round trip; on SQLite, where a statement costs none, a read
    and an UPDATE per draft (:func:`_mark_each`).

    A withdrawal cannot slip between: it reads its drafts locked, so it waits for this
    transaction and then finds a placed draft SAVED (and marks it REMOVE itself); or, when
    it came first, this waits for it and finds the draft REMOVED.
    """
    if not placed:
        return []
    if session.get_bind().dialect.name == "postgresql":
        saved = _mark_at_once(session, placed, now)
    else:
        saved = _mark_each(session, placed, now)
    return [placed[draft_id] for draft_id in placed if draft_id in saved]


def _mark_at_once(session: Session, placed: dict[int, tuple[str, str]], now: datetime) -> set[int]:
    """Both changes in one ``UPDATE … FROM unnest(ids, locations) … RETURNING``: the ids of
    the drafts it made SAVED."""
    rows = (
        func.unnest(
            bindparam("placed_ids", list(placed), type_=ARRAY(Integer)),
            bindparam("placed_at", [where for _ref, where in placed.values()], type_=ARRAY(Text)),
        )
        .table_valued("draft_id", "location")
        .render_derived(name="placed")
    )
    status = _DRAFTS.c.status
    statement = (
        update(_DRAFTS)
        .where(_DRAFTS.c.id == rows.c.draft_id, status.in_(_NOTED))
        .values(
            status=case(
                *((status == was, literal(becomes, status.type)) for was, becomes in _CHANGES)
            ),
            saved_at=now,
            location=rows.c.location,
            attempts=_DRAFTS.c.attempts + 1,
            last_error=None,
        )
        .returning(_DRAFTS.c.id, status)
    )
    return {i for i, now_is in session.execute(statement) if now_is == DraftStatus.SAVED}


def _mark_each(session: Session, placed: dict[int, tuple[str, str]], now: datetime) -> set[int]:
    """The drafts' states read, then one UPDATE per draft (an ``executemany`` per change);
    the ids of the drafts it made SAVED.  On SQLite, whose transactions here take the write
    lock as they begin (``BEGIN IMMEDIATE``), nothing changes between the read and the
    writes."""
    states = session.execute(
        select(Draft.id, Draft.status).where(
            one_of(session, Draft.id, placed), Draft.status.in_(_NOTED)
        )
    ).all()
    for was, becomes in _CHANGES:
        ids = [i for i, status in states if status == was]
        if ids:
            session.execute(
                _PLACED.execution_options(synchronize_session=False),
                [
                    {
                        "draft_id": i,
                        "was": was,
                        "becomes": becomes,
                        "at": now,
                        "where": placed[i][1],
                    }
                    for i in ids
                ],
            )
    return {i for i, status in states if status == DraftStatus.PENDING}


NOT_IN_DRAFTS = (
    "fanns inte i Utkast-mappen när Postvakt skulle ta bort det (borttaget eller skickat av "
    "en person)"
)


def _remove(
    intake: Intake, connector: Connector, session: Session, turn: Turn, report: PassReport
) -> None:
    """Take Postvakt's own drafts of withdrawn cases out of this mailbox's Drafts folder."""
    while True:
        with database_errors(), session.begin():
            rows = session.execute(
                select(Draft.id, Draft.message_id, Draft.location, Case.reference)
                .join(Mailbox, Draft.mailbox_id == Mailbox.id)
                .outerjoin(Case, Draft.case_id == Case.id)
                .where(Mailbox.address == connector.address, Draft.status == DraftStatus.REMOVE)
                .order_by(Draft.id)
                .limit(DRAFT_BATCH)
            ).all()
        if not rows:
            return
        ids = [row.id for row in rows]
        error: str | None = None
        if not isinstance(connector, SupportsDraftRemoval):
            error = "kopplingen kan inte ta bort utkast; ta bort dem för hand"
        else:
            turn.keep(check=True)  # still ours: nobody else works this Drafts folder meanwhile
            try:
                removed = set(connector.remove_drafts([row.message_id for row in rows]))
            except ConnectorError as exc:
                error = str(exc)
        if error is not None:
            with database_errors(), session.begin():
                session.execute(
                    update(Draft)
                    .where(one_of(session, Draft.id, ids), Draft.status == DraftStatus.REMOVE)
                    .values(attempts=Draft.attempts + 1, last_error=error)
                )
            detail = error.removeprefix(f"{connector.address}: ")
            report.errors.append(
                f"{connector.address}: Postvakts utkast till makulerade ärenden kunde inte tas "
                f"bort ur Utkast-mappen: {detail}"
            )
            log.warning(
                "%d drafts of withdrawn cases in %s not removed yet", len(ids), connector.address
            )
            return
        now = intake.now()
        with database_errors(), session.begin():
            for row in rows:
                gone = row.message_id in removed
                session.execute(
                    update(Draft)
                    .where(Draft.id == row.id, Draft.status == DraftStatus.REMOVE)
                    .values(
                        status=DraftStatus.REMOVED,
                        saved_at=now,
                        attempts=Draft.attempts + 1,
                        # never noted as placed (pending when withdrawn), and not there:
                        # never placed, nothing to say
                        last_error=None if gone or row.location is None else NOT_IN_DRAFTS,
                    )
                )
                if gone:
                    report.drafts_removed.append((row.reference or "", row.location or ""))
        log.info(
            "%d drafts of withdrawn cases removed from %s, %d no longer there",
            sum(1 for row in rows if row.message_id in removed),
            connector.address,
            sum(1 for row in rows if row.message_id not in removed),
        )
        if len(rows) < DRAFT_BATCH:
            return


def _save_batch(
    intake: Intake,
    connector: Connector,
    session: Session,
    batch: list[tuple[int, str, DraftReply]],
    report: PassReport,
) -> list[str | None]:
    """Where each draft of ``batch`` went; None for a draft that cannot be built.

    One round trip for the batch; when building one draft fails (anything but a
    :class:`ConnectorError`, which is the server's and raised), the batch is placed one
    draft at a time so the others still go, and the one that fails is marked
    :attr:`DraftStatus.FAILED` with its error (``postvakt failed list``).
    """
    try:
        return list(connector.save_drafts([reply for _id, _ref, reply in batch]))
    except ConnectorError:
        raise
    except Exception:  # a draft the connector cannot build; found below, one at a time
        log.warning("a draft for %s cannot be built; placing them one by one", connector.address)
    locations: list[str | None] = []
    for draft_id, reference, reply in batch:
        try:
            locations.append(connector.save_draft(reply))
        except ConnectorError:
            raise
        except Exception as exc:  # this draft only: recorded, and the others go on
            # The error is kept on the draft (it may name the recipient); the log gets ids.
            log.error("draft %d cannot be built (%s)", draft_id, type(exc).__name__)
            log.debug("draft %d cannot be built", draft_id, exc_info=True)
            error = f"{type(exc).__name__}: {exc}"
            with database_errors(), session.begin():
                session.execute(
                    update(Draft)
                    .where(Draft.id == draft_id)
                    .values(
                        status=DraftStatus.FAILED, attempts=Draft.attempts + 1, last_error=error
                    )
                )
            report.errors.append(
                f"{connector.address}: utkastet till ärende {reference or '-'} kunde inte skapas "
                f"(utkast nr {draft_id}); se 'postvakt failed list'"
            )
            locations.append(None)
    return locations


def retry_failed_drafts(intake: Intake) -> int:
    """Put every draft that could not be built back in the queue; how many there were.

    For ``postvakt failed retry``, after the cause was fixed: the next delivery tries them
    again, and one that still cannot be built is marked failed again.
    """
    with intake.sessions() as session, database_errors(), session.begin():
        result = session.execute(
            update(Draft)
            .where(Draft.status == DraftStatus.FAILED)
            .values(status=DraftStatus.PENDING)
        )
    return int(result.rowcount or 0)


def draft_reply(
    intake: Intake,
    connector: Connector,
    draft: Draft,
    mailbox_name: str | None,
    letter: bytes | None,
) -> DraftReply:
    """The draft as the connector takes it, with its ``letter`` (the attachment's bytes).

    A draft queued before addresses were checked, whose address cannot be written in a
    header, loses its recipient here and its case is marked for an address check (the
    caller's transaction stores both).
    """
    if draft.to_address and header_address(draft.to_address) is None:
        if draft.case is not None:
            mark_address_check(draft.case, draft.to_address)
        draft.to_address = ""
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
            (DraftAttachment(draft.attachment_name, DOCX, letter),)
            if letter and draft.attachment_name
            else ()
        ),
        date=intake.now(),
    )


# -- the failed store ---------------------------------------------------------------
