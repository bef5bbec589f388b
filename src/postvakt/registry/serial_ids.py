"""The ids of a flush's new rows, given before the flush: drawn from their sequences at once
on PostgreSQL, counted on from the highest on SQLite.

A batch (:mod:`postvakt.intake.batch`) flushes a hundred cases, events, drafts and message
records together.  Without their ids, SQLAlchemy inserts each table's rows as one long
``INSERT … VALUES (…), (…) RETURNING id`` whose thousands of placeholders psycopg parses
anew at every batch (tens of milliseconds of CPU per batch).  With the ids known, it hands
the rows to psycopg's ``executemany``, which parses the one-row statement once and sends
the rows in a pipeline: one round trip still.

The ids come from the same sequences the columns' defaults use (``SERIAL``), in one query for
every table of the flush, in the order the objects were added — the same ids the database
would have given, and like those, not given back when the transaction rolls back.

**SQLite** has no sequences: an ``INTEGER PRIMARY KEY`` without ``AUTOINCREMENT`` (as every
table here) gets one more than the highest id in the table.  The ids are given the same way,
from one query for the highest of every table of the flush.  That is safe because every
SQLite transaction here begins with ``BEGIN IMMEDIATE`` (:func:`postvakt.registry.db.
make_engine`): no other writer can add a row between that query and the INSERT.  Without
the ids, SQLAlchemy sends each table's rows as multi-row ``INSERT … RETURNING`` statements and
sorts the returned ids back onto the objects; with them, the stdlib's ``executemany``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Integer, func, inspect, literal, select, union_all
from sqlalchemy.orm import Mapper, Session

__all__ = ["assign_serial_ids", "assign_sqlite_ids"]

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


Group = tuple[Any, str, list[Any]]
"""A table, the primary key's attribute, the new objects wanting an id (in insert order)."""


def _wanting(session: Session, given: dict[str, int] | None = None) -> list[Group]:
    """The tables of the flush with at least ``MIN_ROWS`` new objects without an id; the
    highest id set by hand on a new object of each table goes in ``given``."""
    wanting: dict[str, Group] = {}
    for state in sorted((inspect(o) for o in session.new), key=lambda s: s.insert_order):
        key = _serial_key(state.mapper)
        if key is None:
            continue
        table = state.mapper.local_table
        value = state.dict.get(key)
        if value is not None:
            if given is not None:
                given[table.name] = max(value, given.get(table.name, value))
            continue
        wanting.setdefault(table.name, (table, key, []))[2].append(state.obj())
    return [group for group in wanting.values() if len(group[2]) >= MIN_ROWS]


def assign_serial_ids(session: Session, _context: Any, _instances: Any) -> None:
    """PostgreSQL ``before_flush``: give the new objects of every table with at least
    ``MIN_ROWS`` of them their ids from the table's sequence, in one query."""
    groups = _wanting(session)
    if not groups:
        return
    parts = [
        select(
            literal(index).label("part"),
            func.nextval(
                func.pg_get_serial_sequence(table.name, table.primary_key.columns[0].name)
            ).label("id"),
        ).select_from(func.generate_series(1, len(objects)).alias("n"))
        for index, (table, _key, objects) in enumerate(groups)
    ]
    drawn: dict[int, list[int]] = defaultdict(list)
    for part, value in session.connection().execute(union_all(*parts)):
        if value is not None:
            drawn[part].append(value)
    for index, (_table, key, objects) in enumerate(groups):
        ids = sorted(drawn[index])
        if len(ids) != len(objects):
            continue  # no sequence (not SERIAL): the database gives them as usual
        for obj, value in zip(objects, ids, strict=True):
            setattr(obj, key, value)


def assign_sqlite_ids(session: Session, _context: Any, _instances: Any) -> None:
    """SQLite ``before_flush``: give the new objects of every table with at least
    ``MIN_ROWS`` of them the ids SQLite would give, counting on from the table's highest,
    found for every table in one query (safe under ``BEGIN IMMEDIATE``, see above)."""
    given: dict[str, int] = {}
    groups = _wanting(session, given)
    if not groups:
        return
    parts = [
        select(literal(index).label("part"), func.max(table.primary_key.columns[0]).label("top"))
        for index, (table, _key, _objects) in enumerate(groups)
    ]
    tops: dict[int, int | None] = {
        part: top for part, top in session.connection().execute(union_all(*parts))
    }
    for index, (table, key, objects) in enumerate(groups):
        # An id someone set by hand on a new row of the same table is taken too.
        top = max(tops.get(index) or 0, given.get(table.name, 0))
        for offset, obj in enumerate(objects, start=1):
            setattr(obj, key, top + offset)
