"""PostgreSQL: many-row INSERTs of plain values go by COPY (registry/copy_rows.py); anything
else stays an executemany."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import IntegrityError

from postvakt.clock import STOCKHOLM
from postvakt.registry.copy_rows import MIN_ROWS, _plain_insert
from postvakt.registry.db import open_database, session_factory
from postvakt.registry.models import Disposition, Mailbox, MessageRecord

WHEN = datetime(2026, 12, 7, 9, 0, tzinfo=STOCKHOLM)


def _records(box: int, count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "mailbox_id": box,
            "folder": "INBOX",
            "message_key": f"1:{n}",
            "message_id": f"<m{n}@example.net>",
            "processed_at": WHEN,
            "disposition": Disposition.NOT_CASE,
            "reasons": [f"skäl {n}"],
        }
        for n in range(start, start + count)
    ]


def _sent(engine: Any) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    return seen


def test_a_many_row_insert_goes_by_copy_and_reads_back(postgres_url: str) -> None:
    engine = open_database(postgres_url)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        box = Mailbox(address="kontakt@testby.se", kind="function", connector="imap")
        session.add(box)
        session.flush()
        box_id = box.id
    seen = _sent(engine)
    with sessions.begin() as session:
        session.execute(insert(MessageRecord), _records(box_id, MIN_ROWS + 5))
    ((statement, parameters),) = [s for s in seen if s[0].startswith("INSERT")]
    assert _plain_insert(statement, parameters) is not None  # the hook takes it
    with sessions() as session:
        records = session.scalars(select(MessageRecord).order_by(MessageRecord.id)).all()
    assert [r.message_key for r in records] == [f"1:{n}" for n in range(MIN_ROWS + 5)]
    assert records[3].reasons == ["skäl 3"] and records[3].disposition is Disposition.NOT_CASE
    assert records[3].processed_at == WHEN and records[3].defects == []  # a default filled
    # A row the database refuses: the INSERT's error, and nothing of the statement kept.
    with pytest.raises(IntegrityError), sessions.begin() as session:
        rows = _records(box_id, MIN_ROWS, start=100)
        rows[-1]["mailbox_id"] = box_id + 1000  # no such mailbox
        session.execute(insert(MessageRecord), rows)
    with sessions() as session:
        assert len(session.scalars(select(MessageRecord)).all()) == MIN_ROWS + 5


@pytest.mark.parametrize(
    ("statement", "rows", "taken"),
    [
        ("INSERT INTO t (a, b) VALUES (%(a)s::INTEGER, %(b)s::TIMESTAMP WITH TIME ZONE)", 10, True),
        ("INSERT INTO t (a, b) VALUES (%(a)s, %(b)s::JSON)", 10, True),
        ("INSERT INTO t (a, b) VALUES (%(a)s, %(b)s)", 9, False),  # too few rows
        ("INSERT INTO t (a, b) VALUES (%(a)s, now())", 10, False),  # not plain data
        ("INSERT INTO t (a, b) VALUES (%(a)s, %(b)s) RETURNING t.id", 10, False),
        ("INSERT INTO t (a, b) VALUES (%(a)s, %(b)s) ON CONFLICT DO NOTHING", 10, False),
        ("INSERT INTO t (a, b) VALUES (%(a)s, (%(b)s + 1))", 10, False),
        ("UPDATE t SET a=%(a)s WHERE t.id = %(id)s", 10, False),
    ],
)
def test_only_a_plain_many_row_insert_is_taken(statement: str, rows: int, taken: bool) -> None:
    parameters = [{"a": 1, "b": 2, "id": 3}] * rows
    assert (_plain_insert(statement, parameters) is not None) is taken
