"""Rows of a batch's new cases kept to be written in one INSERT per table.

A batch of the intake run whole (:mod:`postvakt.intake.records`) records tens of messages and
registers most of them as cases; each case has events and a draft.  As ORM objects, each such
row costs its construction, its place in the unit of work and its bookkeeping after the
flush: more than writing it.  While a batch keeps them (:func:`keeping`), the intake puts its
messages' records here (:meth:`BatchRows.add`, whatever their case), and
:func:`~postvakt.registry.cases.add_event` and :func:`~postvakt.registry.drafts.add_draft`
the rows of a case not yet flushed (:meth:`BatchRows.add_to`), as column values;
:meth:`BatchRows.write` inserts them, one executemany per table (on PostgreSQL a
``COPY``: :mod:`postvakt.registry.copy_rows`), after a flush has given
their cases ids.  A case keeps its events and drafts here from its first to the batch's
end, so its events are written in the order they happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

__all__ = ["BatchRows", "batch_rows", "keeping"]

_KEY = "postvakt.batch_rows"

Written = Callable[[Session, dict[type, list[tuple[Any, dict[str, Any]]]]], None]
"""Told, after a write, the rows it inserted: per mapped class, (case, column values)."""


class BatchRows:
    """The kept rows, per mapped class, each (case or None, column values without
    ``case_id``)."""

    def __init__(self, written: Written | None = None) -> None:
        self.rows: dict[type, list[tuple[Any, dict[str, Any]]]] = {}
        self._cases: set[Any] = set()
        """The cases with rows kept (ORM objects hash by identity; kept alive here)."""
        self._written = written

    def __bool__(self) -> bool:
        return any(self.rows.values())

    def keeps(self, case: Any) -> bool:
        """Whether ``case``'s new events and drafts are kept: it is not flushed yet, or has
        some kept."""
        return case.id is None or case in self._cases

    def add(self, mapped: type, case: Any | None, **values: Any) -> None:
        """Keep a row that names ``case`` (or none), without keeping the case's others."""
        self.rows.setdefault(mapped, []).append((case, values))

    def add_to(self, mapped: type, case: Any, **values: Any) -> None:
        """Keep a row of ``case``'s own, and from now on the case's others (:meth:`keeps`)."""
        self._cases.add(case)
        self.add(mapped, case, **values)

    def write(self, session: Session) -> None:
        """Insert the rows kept (after a flush gives their cases ids), then tell the keeper
        what was written (the intake queues the new cases' diary documents)."""
        if not self:
            return
        session.flush()
        kept, self.rows = self.rows, {}
        for mapped, rows in kept.items():
            session.execute(
                insert(mapped.__table__),  # type: ignore[attr-defined]
                [
                    dict(values, case_id=case.id if case is not None else None)
                    for case, values in rows
                ],
            )
        if self._written is not None:
            self._written(session, kept)


def batch_rows(session: Session) -> BatchRows | None:
    """The rows ``session``'s batch keeps, if it keeps them."""
    found = session.info.get(_KEY)
    return found if isinstance(found, BatchRows) else None


@contextmanager
def keeping(session: Session, written: Written | None = None) -> Iterator[BatchRows]:
    """Keep the new cases' rows while the block runs (the caller writes them); ``written``
    is called with what each write inserted."""
    rows = session.info[_KEY] = BatchRows(written)
    try:
        yield rows
    finally:
        session.info.pop(_KEY, None)
