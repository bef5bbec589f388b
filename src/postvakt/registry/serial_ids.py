"""PostgreSQL: the ids of a flush's new rows drawn from their sequences at once.

A batch (:mod:`postvakt.intake.batch`) flushes a hundred cases, events, drafts and message
records together.  Without their ids, SQLAlchemy inserts each table's rows as one long
``INSERT … VALUES (…), (…) RETURNING id`` whose thousands of placeholders psycopg parses
anew at every batch (tens of milliseconds of CPU per batch).  With the ids known, it hands
the rows to psycopg's ``executemany``, which parses the one-row statement once and sends
the rows in a pipeline: one round trip still.

The ids come from the same sequences the columns' defaults use (``SERIAL``), in one query for
every table of the flush, in the order the objects were added — the same ids the database
would have given, and like those, not given back when the transaction rolls back.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Integer, func, inspect, literal, select, union_all
from sqlalchemy.orm import Mapper, Session

__all__ = ["assign_serial_ids"]

MIN_ROWS = 2
"""Fewer new rows of a table than this keep the database's own id (one INSERT … RETURNING)."""


def _serial_key(mapper: Mapper[Any]) -> str | None:
    """The attribute of the mapper's single integer primary key a sequence fills, if any."""
    keys = mapper.primary_key
    if len(keys) != 1 or not isinstance(keys[0].type, Integer):
        return None
    key = keys[0]
    if key.autoincrement not in (True, "auto") or key.table is not mapper.local_table:
        return None
    return mapper.get_property_by_column(key).key


def assign_serial_ids(session: Session, _context: Any, _instances: Any) -> None:
    """``before_flush``: give the new objects of every table with at least ``MIN_ROWS`` of them
    their ids from the table's sequence, in one query."""
    wanting: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for state in sorted((inspect(o) for o in session.new), key=lambda s: s.insert_order):
        key = _serial_key(state.mapper)
        if key is None or state.dict.get(key) is not None:
            continue
        table = state.mapper.local_table
        wanting[(table.name, table.primary_key.columns[0].name, key)].append(state.obj())
    groups = [(name, objects) for name, objects in wanting.items() if len(objects) >= MIN_ROWS]
    if not groups:
        return
    parts = [
        select(
            literal(index).label("part"),
            func.nextval(func.pg_get_serial_sequence(table, id_column)).label("id"),
        ).select_from(func.generate_series(1, len(objects)).alias("n"))
        for index, ((table, id_column, _), objects) in enumerate(groups)
    ]
    drawn: dict[int, list[int]] = defaultdict(list)
    for part, value in session.connection().execute(union_all(*parts)):
        if value is not None:
            drawn[part].append(value)
    for index, ((_, _, key), objects) in enumerate(groups):
        ids = sorted(drawn[index])
        if len(ids) != len(objects):
            continue  # no sequence (not SERIAL): the database gives them as usual
        for obj, value in zip(objects, ids, strict=True):
            setattr(obj, key, value)
