"""What the database layer tells a person when two transactions meet on PostgreSQL: a
deadlock's text says "blocked by process …", and 'locked' in it was taken for a SQLite file
locked too long ("använder samma SQLite-fil …", on PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine, text

from postvakt.errors import DatabaseLockedError
from postvakt.registry.db import database_errors


def test_a_deadlock_on_postgresql_is_told_as_two_changes_that_met(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as db:
            db.execute(text("CREATE TABLE pair (id int PRIMARY KEY)"))
            db.execute(text("INSERT INTO pair VALUES (1), (2)"))
        both = threading.Barrier(2, timeout=20)
        errors: list[BaseException] = []

        def take(first: int, second: int) -> None:
            try:
                with database_errors(), engine.begin() as db:
                    db.execute(text("SELECT id FROM pair WHERE id = :i FOR UPDATE"), {"i": first})
                    both.wait()  # each holds one row, then wants the other's
                    db.execute(text("SELECT id FROM pair WHERE id = :i FOR UPDATE"), {"i": second})
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=take, args=pair) for pair in ((1, 2), (2, 1))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        engine.dispose()
    assert len(errors) == 1, errors  # the database ended one; the other went through
    (error,) = errors
    assert isinstance(error, DatabaseLockedError)
    assert "SQLite" not in str(error)
    assert str(error).startswith("Två ändringar i databasen väntade på varandra")


def test_a_sqlite_file_locked_too_long_is_still_told_so(tmp_path) -> None:
    import sqlite3

    path = tmp_path / "p.db"
    holder = sqlite3.connect(path)
    holder.execute("CREATE TABLE t (id int)")
    holder.execute("BEGIN IMMEDIATE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.1})
    try:
        with (
            pytest.raises(DatabaseLockedError, match="SQLite-fil"),
            database_errors(),
            engine.begin() as db,
        ):
            db.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
