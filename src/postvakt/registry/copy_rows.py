"""PostgreSQL: a many-row INSERT of plain values is sent as one ``COPY … FROM STDIN``.

A batch of the intake (:mod:`postvakt.intake.batch`) inserts a hundred cases, their events,
drafts and message records, one ``executemany`` per table (the ids are given before:
:mod:`postvakt.registry.serial_ids`).  psycopg sends such an executemany as one prepared
statement executed once per row; the server binds, plans and runs each.  ``COPY`` gives the
server the rows as data: measured alternately with the executemany
(``benchmarks/imap_ingest.py``, 2,000 small messages), the whole machine's work for a pass
fell by about a tenth.

This hooks SQLAlchemy's ``do_executemany`` (a public dialect event) on a PostgreSQL engine
driven by psycopg 3.  SQLAlchemy has done everything before the hook that it does for the
INSERT: the columns' defaults filled in, each value converted for the database (enums as
their values, JSON wrapped), the statement seen by its own events.  The hook then writes the
same values with ``COPY`` instead, and an error it meets is raised as the INSERT's would be
(a row the unique constraints refuse: :class:`~sqlalchemy.exc.IntegrityError`).

Only a statement that is exactly ``INSERT INTO t (columns) VALUES (binds)`` — every value a
parameter, nothing after it (no ``RETURNING``, no ``ON CONFLICT``) — with at least
:data:`MIN_ROWS` rows goes this way; anything else is left to the executemany.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, event

__all__ = ["MIN_ROWS", "copy_for_many_inserts"]

MIN_ROWS = 10
"""Fewer rows than this keep the executemany (a COPY's own round trips cost more there)."""

_INSERT = re.compile(
    r"INSERT INTO (?P<table>[\w.\"]+) \((?P<columns>[^()]*)\) VALUES \((?P<values>.*)\)", re.S
)
_BIND = re.compile(r"%\((?P<name>\w+)\)s(?:::[A-Za-z][A-Za-z0-9_ ]*(?:\(\d+\))?(?:\[\])?)?")
_BETWEEN = re.compile(r",\s*(?=%\()")


def copy_for_many_inserts(engine: Engine) -> None:
    """Send ``engine``'s many-row INSERTs of plain values as COPY (PostgreSQL, psycopg 3)."""
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        event.listen(engine, "do_executemany", _as_copy)


def _as_copy(cursor: Any, statement: str, parameters: Sequence[Any], _context: Any) -> bool | None:
    """The hook: True when the rows went by COPY, None to leave them to the executemany."""
    plain = _plain_insert(statement, parameters)
    if plain is None:
        return None
    sql, names = plain
    with cursor.copy(sql) as copy:
        for row in parameters:
            copy.write_row([row[name] for name in names])
    return True


def _plain_insert(statement: str, parameters: Sequence[Any]) -> tuple[str, list[str]] | None:
    """For a plain many-row INSERT, the COPY that writes the same rows and the parameter of
    each of its columns, in order; None for any other statement."""
    if len(parameters) < MIN_ROWS or not isinstance(parameters[0], Mapping):
        return None
    found = _INSERT.fullmatch(statement)
    if found is None:
        return None
    names = []
    for value in _BETWEEN.split(found["values"]):
        bind = _BIND.fullmatch(value.strip())
        if bind is None:
            return None  # an expression, a function, a literal: not plain data
        names.append(bind["name"])
    if len(names) != len(found["columns"].split(",")):
        return None
    return f"COPY {found['table']} ({found['columns']}) FROM STDIN", names
