"""``column IN (values)`` as one parameter on PostgreSQL.

A batch of the intake looks up its hundred messages' Message-IDs, thread ids and drafts with
``IN`` lists.  Written as SQLAlchemy's expanding ``IN``, each list is a hundred parameters:
psycopg then parses the statement's text again on every execution (it caches no statement
over 50 parameters) and PostgreSQL plans it again, since the text differs with the count.
On PostgreSQL the list goes as one array parameter (``column = ANY(%(values)s)``): one
statement text whatever the count, parsed once and prepared by psycopg after a few uses.
SQLite has no arrays and keeps the ``IN`` list, which its driver binds cheaply.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

__all__ = ["one_of"]


def one_of(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column`` is one of ``values``: an array parameter on PostgreSQL, ``IN`` elsewhere."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)
