"""``mailbox_passes`` (migration 0016) replaces the stopgap: the last good pass as a
``sync_states`` row under the pseudo-folder ``*pass*``.  Its rows move to the table on the
way up, and back on the way down; the bulk note is one statement for many mailboxes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from sqlalchemy import event, select

from postvakt.clock import STOCKHOLM
from postvakt.registry.db import _alembic_config, create_db_engine, migrate, session_factory
from postvakt.registry.models import Mailbox, SyncState
from postvakt.registry.passes import (
    MailboxPass,
    clean_error,
    last_pass,
    last_passes,
    note_failure,
    note_pass,
    note_passes,
)

BEFORE = "0015"
PASSED = datetime(2026, 3, 29, 1, 30, tzinfo=STOCKHOLM)  # the night summer time begins
INBOX_AT = datetime(2026, 3, 28, 12, 0, tzinfo=STOCKHOLM)


def _naive_utc(value: datetime, dialect: str) -> datetime:
    value = value.astimezone(UTC)
    return value.replace(tzinfo=None) if dialect == "sqlite" else value


def test_the_stopgap_rows_move_to_the_table_and_back(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        command.upgrade(_alembic_config(engine), BEFORE)
        dialect = engine.dialect.name
        mailboxes = sa.table(
            "mailboxes",
            sa.column("id", sa.Integer()),
            sa.column("address", sa.String()),
            sa.column("kind", sa.String()),
            sa.column("connector", sa.String()),
            sa.column("active", sa.Boolean()),
        )
        states = sa.table(
            "sync_states",
            sa.column("mailbox_id", sa.Integer()),
            sa.column("folder", sa.String()),
            sa.column("state", sa.JSON()),
            sa.column("updated_at", sa.DateTime(timezone=True)),
        )
        with engine.begin() as connection:
            connection.execute(
                mailboxes.insert(),
                [
                    {"id": 1, "address": "kontakt@testby.se", "kind": "function",
                     "connector": "maildir", "active": True},
                    {"id": 2, "address": "anna@testby.se", "kind": "personal",
                     "connector": "maildir", "active": True},
                ],
            )  # fmt: skip
            connection.execute(
                states.insert(),
                [
                    {"mailbox_id": 1, "folder": "*pass*", "state": {"holder": "vm:12:ab"},
                     "updated_at": _naive_utc(PASSED, dialect)},
                    {"mailbox_id": 1, "folder": "INBOX", "state": {"last_uid": 7},
                     "updated_at": _naive_utc(INBOX_AT, dialect)},
                    {"mailbox_id": 2, "folder": "INBOX", "state": {"last_uid": 1},
                     "updated_at": _naive_utc(INBOX_AT, dialect)},
                ],
            )  # fmt: skip

        migrate(engine)  # as postvakt does at start-up

        with session_factory(engine)() as session:
            moved = session.scalars(select(MailboxPass)).all()
            assert [(p.mailbox_id, p.holder, p.failures_in_row) for p in moved] == [
                (1, "vm:12:ab", 0)
            ]
            assert moved[0].last_success_at == PASSED
            assert moved[0].last_pass_at == PASSED
            assert moved[0].last_error is None
            folders = session.execute(
                select(SyncState.mailbox_id, SyncState.folder, SyncState.state).order_by(
                    SyncState.mailbox_id
                )
            ).all()
            assert [tuple(f) for f in folders] == [
                (1, "INBOX", {"last_uid": 7}),
                (2, "INBOX", {"last_uid": 1}),
            ]
            assert last_passes(session) == {1: PASSED}
            assert last_pass(session) == PASSED

        command.downgrade(_alembic_config(engine), BEFORE)
        with engine.connect() as connection:
            assert not sa.inspect(connection).has_table("mailbox_passes")
            back = connection.execute(
                select(states.c.mailbox_id, states.c.state, states.c.updated_at).where(
                    states.c.folder == "*pass*"
                )
            ).all()
        assert [(m, s) for m, s, _at in back] == [(1, {"holder": "vm:12:ab"})]
        at = back[0][2]
        assert (at if at.tzinfo else at.replace(tzinfo=UTC)) == PASSED
    finally:
        engine.dispose()


def test_passes_failures_and_the_bulk_note(db_url: str) -> None:
    from postvakt.registry.db import open_database

    engine = open_database(db_url)
    sessions = session_factory(engine)
    now = datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)
    with sessions.begin() as session:
        for address in ("a@testby.se", "b@testby.se", "c@testby.se"):
            session.add(Mailbox(address=address, kind="function", connector="imap"))
    with sessions.begin() as session:
        note_pass(session, 1, "vm:1:aa", now, duration_ms=1500, messages=3)
        note_failure(
            session, 2, "vm:1:aa", now, clean_error("b@testby.se: fel lösenord", "b@testby.se")
        )
    later = now + timedelta(minutes=1)
    with sessions.begin() as session:
        note_failure(
            session, 1, "vm:1:aa", later, clean_error("skrev till karin.ek@example.net: nej")
        )
        note_failure(session, 2, "vm:1:aa", later, "servern svarar inte")
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", seen)
    latest = later + timedelta(minutes=1)
    with sessions.begin() as session:
        note_passes(session, [2, 3], "vm:2:bb", latest)
    event.remove(engine, "before_cursor_execute", seen)
    assert len([s for s in statements if "mailbox_passes" in s]) == 1

    with sessions() as session:
        rows = {p.mailbox_id: p for p in session.scalars(select(MailboxPass))}
        first = rows[1]
        assert (first.failures_in_row, first.last_success_at, first.last_error_at) == (
            1,
            now,
            later,
        )
        assert first.last_error == "skrev till [e-post]: nej"
        assert (first.last_duration_ms, first.last_messages) == (None, None)
        second = rows[2]  # two failures, then a good probe: the error stays, with its time
        assert (second.failures_in_row, second.last_success_at) == (0, latest)
        assert (second.last_error, second.last_error_at) == ("servern svarar inte", later)
        assert second.holder == "vm:2:bb" and second.last_messages == 0
        assert rows[3].last_success_at == latest and rows[3].last_error is None
        assert last_passes(session) == {1: now, 2: latest, 3: latest}
        assert last_pass(session) == latest
    engine.dispose()


def test_clean_error_drops_the_mailbox_and_masks_addresses() -> None:
    text = clean_error("Kontakt@Testby.se: inloggningen nekades för kontakt@testby.se")
    assert "@" not in text
    own = clean_error("Kontakt@Testby.se: inloggningen nekades", "kontakt@testby.se")
    assert own == "inloggningen nekades"
    assert len(clean_error("x" * 5000)) == 2000
