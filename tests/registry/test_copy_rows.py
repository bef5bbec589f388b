"""PostgreSQL: many-row INSERTs of plain values go by COPY (registry/copy_rows.py); anything
else stays an executemany."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    Numeric,
    Table,
    event,
    insert,
    select,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from postvakt.clock import STOCKHOLM
from postvakt.registry.copy_rows import _BINARY, MIN_ROWS, _plain_insert, forget_column_types
from postvakt.registry.db import open_database, session_factory
from postvakt.registry.models import Disposition, Draft, DraftStatus, Mailbox, MessageRecord

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


def _with_a_mailbox(postgres_url: str) -> tuple[Any, Any, int]:
    """The engine and sessions of a new database with one mailbox, and the mailbox's id."""
    engine = open_database(postgres_url)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        box = Mailbox(address="kontakt@testby.se", kind="function", connector="imap")
        session.add(box)
        session.flush()
        return engine, sessions, box.id


def test_a_many_row_insert_goes_by_copy_and_reads_back(postgres_url: str) -> None:
    engine, sessions, box_id = _with_a_mailbox(postgres_url)
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


def test_rows_with_bytes_go_in_binary_and_read_back_the_same(postgres_url: str) -> None:
    """A draft's letter, every byte value in it, NULLs, JSON, a quoted column ("references")
    and an enum: the COPY is binary (every column's type is one the binary format takes) and
    what is read back is what was written."""
    _engine, sessions, box_id = _with_a_mailbox(postgres_url)
    letter = bytes(range(256)) * 40 + "å\x00".encode()
    rows = [
        {
            "case_id": None,
            "mailbox_id": box_id,
            "message_id": f"<draft-{n}@testby.se>",
            "to_name": None if n % 2 else f"Åsa {n}",
            "to_address": f"asa{n}@example.net",
            "subject": f"Sv: ärende {n}\ttab",
            "in_reply_to": None,
            "references": [f"<m{n}@example.net>", '"quoted" \\ back'],
            "body_text": "Hej!\n\nRad två.\\N inte null",
            "attachment_name": "kvittens.docx",
            "attachment": letter if n % 3 else None,
            "status": DraftStatus.PENDING,
            "created_at": WHEN,
            "saved_at": None,
            "location": None,
            "attempts": n,
            "last_error": None,
        }
        for n in range(MIN_ROWS + 2)
    ]
    with sessions.begin() as session:
        session.execute(insert(Draft.__table__), rows)  # as a batch writes them
        cached = session.connection().connection.info["postvakt.copy_types"]
    ((table, _columns), types), *_ = cached.items()
    assert table == "drafts" and all(t in _BINARY for t in types)
    with sessions() as session:
        drafts = session.scalars(select(Draft).order_by(Draft.id)).all()
    assert len(drafts) == len(rows)
    for draft, row in zip(drafts, rows, strict=True):
        assert draft.attachment == row["attachment"]
        assert draft.to_name == row["to_name"] and draft.subject == row["subject"]
        assert draft.references == row["references"] and draft.body_text == row["body_text"]
        assert draft.status is DraftStatus.PENDING and draft.created_at == WHEN
        assert draft.attempts == row["attempts"]


def test_a_column_of_another_type_keeps_the_text_format(postgres_url: str) -> None:
    """A type the binary format is not used for here (numeric): the rows still go by COPY,
    in text, and read back."""
    engine = open_database(postgres_url)
    table = Table(
        "measures", MetaData(), Column("id", Integer, primary_key=True), Column("v", Numeric)
    )
    table.create(engine)
    with engine.begin() as connection:
        connection.execute(insert(table), [{"id": n, "v": Decimal(n) / 3} for n in range(12)])
        cached = connection.connection.info["postvakt.copy_types"]
    assert any(t not in _BINARY for t in next(iter(cached.values())))
    with engine.connect() as connection:
        values = connection.execute(select(table.c.v).order_by(table.c.id)).scalars().all()
    assert values[:3] == [Decimal(0), Decimal(1) / 3, Decimal(2) / 3] and len(values) == 12


def test_the_column_types_are_read_again_after_the_schema_changed(postgres_url: str) -> None:
    """A connection keeps the types it read; after a migration changes one (int4 to int8 here,
    whose binary forms differ) they are forgotten and read again, as ``migrate`` does."""
    engine = open_database(postgres_url)
    table = Table(
        "counts", MetaData(), Column("id", Integer, primary_key=True), Column("v", BigInteger)
    )
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE counts (id integer PRIMARY KEY, v integer)")
        connection.execute(insert(table), [{"id": n, "v": n} for n in range(12)])
        connection.exec_driver_sql("ALTER TABLE counts ALTER COLUMN v TYPE bigint")
        forget_column_types(connection)
        connection.execute(insert(table), [{"id": n, "v": 2**40 + n} for n in range(12, 24)])
    with engine.connect() as connection:
        values = connection.execute(select(table.c.v).order_by(table.c.id)).scalars().all()
    assert values[11:13] == [11, 2**40 + 12] and len(values) == 24
    # Without forgetting, the int4 read before would write the int8 column wrongly: refused.
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(insert(table), [{"id": n, "v": n} for n in range(30, 42)])
        connection.exec_driver_sql("ALTER TABLE counts ALTER COLUMN v TYPE integer")
        connection.execute(insert(table), [{"id": n, "v": n} for n in range(50, 62)])
