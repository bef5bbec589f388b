"""PostgreSQL's planner statistics, refreshed by a pass that has grown its tables many times.

PostgreSQL plans each query from the statistics ``ANALYZE`` gathers about its tables.  Its
autovacuum runs ``ANALYZE`` on a table once a tenth of it has changed, but only at its next
round, up to a minute later (``autovacuum_naptime``).  Until then a table that has never been
analysed, or that has grown many times over since, is planned from guesses.  That is a new
site's first pass over a mailbox's backlog: the batch's lookup of its Message-IDs
(:func:`postvakt.intake.batch.run_batch`) then reads every row of ``messages`` and
``cases`` instead of their index, a cost that grows with each batch the pass commits (1.6 ms
per batch at 1,700 rows, measured with ``benchmarks/imap_ingest.py``; 0.1 ms with the
statistics).  PostgreSQL's manual says to run ``ANALYZE`` after loading much data ("Populating
a Database"); a pass does so itself:

- once it has written :data:`MIN_ROWS` message records into a table that has never been
  analysed, or as many as the table held at its last ``ANALYZE`` (the table has doubled);
- on the tables a pass writes in bulk (:data:`TABLES`), in a transaction of its own between
  two batches;
- with ``SKIP_LOCKED``: a table another process is analysing or vacuuming (autovacuum,
  another worker) is left to it, and the pass never waits;
- not at all on SQLite (its planner takes an index on an equality without statistics), nor
  by a pass that writes less (almost every pass at a running site: autovacuum keeps up).

A role that does not own the tables gets a warning from PostgreSQL and no statistics; an
error (a PostgreSQL older than 12, which has no ``SKIP_LOCKED``) is logged once and the pass
goes on without it.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from postvakt.registry.models import Case, CaseEvent, Draft, MessageRecord

__all__ = ["MIN_ROWS", "TABLES", "PlannerStatistics"]

log = logging.getLogger("postvakt.registry")

MIN_ROWS = 500
"""Message records a pass writes before it analyses tables never analysed."""

TABLES = tuple(str(m.__tablename__) for m in (MessageRecord, Case, CaseEvent, Draft))
"""The tables a pass writes in bulk, and that its lookups read."""

_ANALYZE = text(f"ANALYZE (SKIP_LOCKED) {', '.join(TABLES)}")
_ROWS = text("SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)")


class PlannerStatistics:
    """Counts the message records one pass writes; analyses :data:`TABLES` when they are due.

    :meth:`wrote` after each committed batch, outside any transaction.
    """

    def __init__(self, session: Session):
        self._session = session
        self._on = session.get_bind().dialect.name == "postgresql"
        self._written = 0
        self._due = MIN_ROWS
        """Records written since the last ANALYZE (or the pass's start) that make the next."""
        self._known = False
        """``_due`` is the table's own figure, read from PostgreSQL (not only the minimum)."""
        self.analysed = 0
        """How many times this pass analysed the tables."""

    def wrote(self, records: int) -> None:
        """``records`` more message records committed by the pass."""
        if not self._on:
            return
        self._written += records
        if self._written < self._due:
            return
        try:
            if not self._known:  # the first time past the minimum: the table's own figure
                self._known = True
                with self._session.begin():
                    self._due = self._threshold()
                if self._written < self._due:
                    return
            with self._session.begin():
                self._session.execute(_ANALYZE)
                self._due = self._threshold()
        except SQLAlchemyError as exc:
            self._on = False
            log.info("planner statistics not refreshed (%s); the pass goes on", type(exc).__name__)
            log.debug("ANALYZE failed: %s", exc)
            return
        log.debug("analysed %s after the pass wrote %d records", ", ".join(TABLES), self._written)
        self._written = 0
        self.analysed += 1

    def _threshold(self) -> int:
        """As many records as ``messages`` held at its last ANALYZE, at least the minimum
        (PostgreSQL 14 and later say -1 for a table never analysed, earlier ones 0)."""
        held = self._session.scalar(_ROWS, {"table": TABLES[0]})
        return max(MIN_ROWS, int(held or 0))
