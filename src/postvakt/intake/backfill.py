"""``postvakt backfill``: a mailbox's older mail registered on purpose.

Mail that arrived before a mailbox's start is recorded as seen and left alone
(:mod:`postvakt.intake.start`).  A person who wants part of it registered names the mailbox
and a first day; every such message that arrived from that day on is read again where it is
and goes through the same steps as new mail, with three differences kept by the steps:
deadlines count from arrival (so many have passed), a case whose deadline had passed is
flagged once for review instead of being reminded of, and a message the mailbox had
already answered becomes an answered case without a letter.  No letter promises a date
that has passed (:meth:`postvakt.templates.casework.CaseLetters.render`).

Running it again does nothing twice: a message registered is no longer ``before_start``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from postvakt.errors import PermissionDeniedError
from postvakt.intake import Intake, MessageOutcome, PassReport
from postvakt.intake.drafts import deliver_drafts
from postvakt.intake.start import Backfill
from postvakt.intake.turns import LeaseLost, Turn, held_message, mailbox_turn
from postvakt.mailbox.base import Connector, FetchedMessage
from postvakt.registry.db import database_errors
from postvakt.registry.models import Disposition, Mailbox, MessageRecord
from postvakt.roles import can_correct_message, user_for

__all__ = ["BackfillReport", "backfill"]


@dataclass
class BackfillReport:
    """What one ``postvakt backfill`` did."""

    mailbox: str
    since: datetime
    read: PassReport = field(default_factory=PassReport)
    """The pass over what was new, which records the older mail first."""
    outcomes: list[MessageOutcome] = field(default_factory=list)
    """One per older message taken up, in order of arrival."""
    gone: list[str] = field(default_factory=list)
    """Keys of older messages no longer where they were (deleted or moved by their owner)."""
    placed: PassReport = field(default_factory=PassReport)
    """The drafts placed in the mailbox afterwards."""
    skipped: str | None = None
    """Why nothing was done: another process works the mailbox now."""

    def count(self, disposition: Disposition) -> int:
        return sum(1 for o in self.outcomes if o.disposition is disposition)


def check_right(intake: Intake, address: str, by: str) -> None:
    """Only those who may register the mailbox's messages by hand may backfill it."""
    user = user_for(intake.config, by)
    mailbox = intake.config.mailbox(address)
    unit = mailbox.unit if mailbox else None
    if user is None or not can_correct_message(user, address, unit):
        raise PermissionDeniedError(
            f"{by} får inte registrera äldre post i {address}: det får bara brevlådans "
            "ansvariga, den vars brevlåda det är, enhetens chef, registratorn och "
            "administratörer. Ange din egen adress med --by."
        )


def backfill(intake: Intake, connector: Connector, *, since: datetime, by: str) -> BackfillReport:
    """Register the mail of ``connector``'s mailbox that arrived from ``since`` on and before
    the mailbox's start; ``by`` is the person who asked (their right is checked first)."""
    check_right(intake, connector.address, by)
    report = BackfillReport(connector.address, since)
    # What is new is read first, so every older message has its record (on a mailbox's
    # first pass, all of them).
    report.read = intake.run_mailbox(connector)
    if report.read.skipped:
        report.skipped = report.read.skipped[0]
        return report
    order = Backfill(by=by, since=since)
    with intake.sessions() as session:
        with database_errors():
            mailbox_id = session.scalars(
                select(Mailbox.id).where(Mailbox.address == connector.address)
            ).one()
            folders = connector.folders("inbox")
            older = [
                (r.folder, r.message_key, r.received_at)
                for r in session.scalars(
                    select(MessageRecord)
                    .where(
                        MessageRecord.mailbox_id == mailbox_id,
                        MessageRecord.disposition == Disposition.BEFORE_START,
                        MessageRecord.folder.in_(folders),
                        MessageRecord.received_at >= since,
                    )
                    .order_by(MessageRecord.received_at, MessageRecord.id)
                )
            ]
            session.rollback()
        with mailbox_turn(intake, session, mailbox_id, connector.address) as turn:
            if not isinstance(turn, Turn):
                report.skipped = held_message(connector.address, turn, intake.now())
                return report
            try:
                for folder, key, received_at in older:
                    turn.keep()
                    found = connector.fetch_one(folder, key)
                    if found is None:
                        report.gone.append(key)
                        continue
                    # The arrival stamp the record was judged by, whatever the store says now.
                    fetched = FetchedMessage(
                        folder, key, found.raw, received_at or found.received_at
                    )
                    report.outcomes.append(
                        intake.process(
                            session, mailbox_id, fetched, "inbox", replay=True, backfill=order
                        )
                    )
                report.placed = deliver_drafts(intake, connector, session=session, turn=turn)
            except LeaseLost as exc:
                report.skipped = str(exc)
    return report
