"""Placing a pass's drafts while it reads on.

A pass over a folder with more new mail than one batch commits a batch, then reads and
registers the next.  Meanwhile the drafts of the committed batches can go to the mailbox's
Drafts folder: on :data:`PLACER_CONNECTIONS` more connections to the mailbox (the connector's
:meth:`~postvakt.mailbox.base.SupportsCompanion.companion`), each from a thread of its own
taking the next handed-over append from one queue, so the server's work of appending
overlaps Postvakt's work on the next batch instead of following all of it.

The pass's own thread does all the database work, between its batches: after a batch
commits it notes the drafts the placer has placed since the last hand-over and reads the
drafts committed since then, in one transaction, and hands those to the placer; when the pass
has read everything it stops the placer, notes the rest it placed, and places what is left
itself as before (:func:`~postvakt.intake.drafts.deliver_drafts`, which also removes the
drafts of withdrawn cases).  So the placer never waits for the database, and on SQLite never
for the write lock the pass's batches hold; and a long pass's placed drafts are noted as it
goes, so ``postvakt status`` does not count them as still to be placed until it ends.

Nothing of the drafts' guarantees (:mod:`postvakt.intake.drafts`) changes:

- **Only under the pass's lease.**  The placer appends only while at least half of the
  lease's time is left (the pass renews it as it reads); else it stops.
- **One thread per draft.**  Each draft is handed over once, in one append, which one
  thread takes.  The pass stops the placer, and waits for the appends under way, before it
  places drafts itself; so the check for a draft already in Drafts and its APPEND stay one
  thread's.
- **A crash doubles nothing.**  A draft appended but not yet noted stays pending; whoever
  places it next finds it in Drafts by its Message-ID and does not append it again.
- **A failure costs nothing.**  A server error, a refused login (the server's connection
  limit, say) or a draft that cannot be built stops the placer, or skips that batch,
  quietly: those drafts stay pending, and the pass places them at its end with its usual
  error handling and reports.

A pass of one batch or less starts no placer: no thread, no other connection.
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from postvakt.errors import ConnectorError
from postvakt.intake.drafts import DRAFT_BATCH, mark_placed, read_pending
from postvakt.intake.report import PassReport
from postvakt.intake.turns import Turn
from postvakt.mailbox.base import Connector, DraftReply, SupportsCompanion
from postvakt.registry.db import database_errors
from postvakt.registry.models import Draft

if TYPE_CHECKING:
    from postvakt.intake import Intake

__all__ = ["DraftPlacer"]

log = logging.getLogger("postvakt.intake")

PLACER_CONNECTIONS = 2
"""Companion connections appending at once, each from a thread of its own.  A server that
flushes each saved message to disk (Dovecot's default ``mail_fsync = optimized`` with a
maildir) makes one connection wait for the disk after every draft; two overlap those waits.
Measured with ``benchmarks/imap_ingest.py`` (2,000 small messages, Dovecot's default),
alternately with one and two, two runs of three rounds each: the pass's time after its last
batch fell from 0.25-1.02 s to 0.24-0.34 s, the SQLite pass from 1.61 and 1.57 times the
floor (medians) to 1.45 and 1.51; the PostgreSQL pass moved within the noise (1.73 and 1.59
against 1.62 and 1.70).  It costs one more connection to the server while a pass of more
than one batch runs."""

_Batch = list[tuple[int, str, DraftReply]]
"""Drafts handed over: (draft id, case reference, the draft as the connector takes it)."""


class DraftPlacer:
    """The drafts of one pass's committed batches, appended from a thread while it reads on.

    :meth:`nudge` after a batch commits, from the pass's thread (the first starts the
    placer); :meth:`stop` before the pass places drafts itself.  A connector without a
    companion gets no placer: its nudges do nothing.
    """

    def __init__(
        self, intake: Intake, session: Session, connector: Connector, turn: Turn, mailbox_id: int
    ):
        self._intake, self._session, self._connector = intake, session, connector
        self._turn, self._mailbox_id = turn, mailbox_id
        self._queue: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._handed = 0
        """The highest draft id handed over so far: later ones are the next hand-over's."""
        self._placed: dict[int, tuple[str, str]] = {}
        """Draft id -> (case reference, where it went): appended, not yet noted."""
        self._noted = PassReport()
        """The drafts noted at the hand-overs so far, for :meth:`stop`'s report."""
        self.handed_over = 0
        """Drafts handed to the placer."""
        self.stopped_by: str | None = None
        """Why the placer stopped early, or None."""

    def nudge(self) -> None:
        """A batch committed: hand its drafts (every one pending since the last hand-over)
        to the placer.  In the pass's thread, between its transactions."""
        if not isinstance(self._connector, SupportsCompanion) or self.stopped_by:
            return
        session = self._session
        placed = self._take_placed()
        with database_errors(), session.begin():
            if placed:  # appended since the last hand-over: noted, so no longer pending
                self._noted.drafts_saved += mark_placed(session, placed, self._intake.now())
            batch = read_pending(
                self._intake,
                self._connector,
                session,
                Draft.mailbox_id == self._mailbox_id,
                Draft.id > self._handed,
            )
        session.expunge_all()
        if not batch:
            return
        self._handed = batch[-1][0]
        self.handed_over += len(batch)
        if not self._threads:
            for k in range(PLACER_CONNECTIONS):
                thread = threading.Thread(
                    target=self._run, name=f"postvakt-drafts-{self._mailbox_id}-{k}", daemon=True
                )
                thread.start()
                self._threads.append(thread)
        # In appends of at most DRAFT_BATCH, as the pass places them: the lease is looked at
        # before each, so a backlog (drafts a refusing server left pending) is no one append
        # that could outlast it.
        for start in range(0, len(batch), DRAFT_BATCH):
            self._queue.put(batch[start : start + DRAFT_BATCH])

    def stop(self) -> PassReport:
        """Wait for the appends under way, then note the drafts placed and not yet noted (one
        transaction); the report has every draft the placer placed and noted.  What is not
        noted stays pending for the pass to place."""
        report, self._noted = self._noted, PassReport()
        self._join()
        placed = self._take_placed()
        if placed:
            if self._session.in_transaction():
                # The pass stopped on a database error in a read outside a transaction of
                # its own (the folder's state, say): that transaction is over, its error
                # goes on as it was (not "a transaction is already begun").
                self._session.rollback()
            with database_errors(), self._session.begin():
                report.drafts_saved += mark_placed(self._session, placed, self._intake.now())
        return report

    def _take_placed(self) -> dict[int, tuple[str, str]]:
        """The drafts appended and not yet taken to be noted (the threads may add more)."""
        with self._lock:
            placed, self._placed = self._placed, {}
        return placed

    def _join(self) -> None:
        """Wait for the appends under way and end the threads; nothing is noted."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _run(self) -> None:
        try:
            self._append_handed()
        except Exception as exc:  # a bug: the pass places these drafts itself and reports
            self.stopped_by = type(exc).__name__
            log.warning(
                "draft placer of mailbox %d failed (%s); the pass places the rest",
                self._mailbox_id,
                self.stopped_by,
            )
            log.debug("draft placer of mailbox %d failed", self._mailbox_id, exc_info=True)

    def _append_handed(self) -> None:
        assert isinstance(self._connector, SupportsCompanion)
        companion = self._connector.companion()
        lease = self._turn.lease
        margin = timedelta(seconds=lease.seconds / 2)
        stopped_here = False  # the other thread says so itself when it stops the placer
        try:
            while (batch := self._queue.get()) is not None:
                if self.stopped_by:
                    continue  # drained: the pass places these itself
                if lease.expires_at - self._intake.now() < margin:
                    self.stopped_by = "lease"  # the pass renews it, or finds it was lost
                    stopped_here = True
                    continue
                try:
                    locations = companion.save_drafts([reply for _id, _ref, reply in batch])
                except ConnectorError as exc:
                    self.stopped_by = type(exc).__name__
                    stopped_here = True
                    continue
                except Exception as exc:  # a draft that cannot be built: the pass marks it
                    log.info(
                        "a draft of mailbox %d cannot be built (%s); the pass places its batch",
                        self._mailbox_id,
                        type(exc).__name__,
                    )
                    continue
                with self._lock:
                    for (draft_id, reference, _reply), location in zip(
                        batch, locations, strict=True
                    ):
                        self._placed[draft_id] = (reference, location)
        finally:
            companion.close()
            if stopped_here:
                log.info(
                    "draft placer of mailbox %d stopped (%s); the pass places the rest",
                    self._mailbox_id,
                    self.stopped_by,
                )
