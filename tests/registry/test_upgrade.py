"""Upgrading a database that holds data loses nothing.

For each earlier revision a database is created at that revision (SQLite and PostgreSQL),
filled through **that revision's** tables — the ``sa.table`` definitions in
``upgrade_data.py``, written from the migrations, never the current models — and upgraded to the newest revision by
:func:`postvakt.registry.db.migrate`, as ``postvakt`` does at start-up.  Then every row is
read back: numbers and references, deadlines, arrival stamps across the summer-time
changes, the order of events, the bytes of drafts, originals and failed messages, the JSON
columns; the columns added since carry their defaults; 0007 gave each case the content
hash of its stored original, cases stay unique on (Message-ID, content hash), and the diary
numbering goes on where it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postvakt.clock import STOCKHOLM
from postvakt.mailbox.identity import content_hash
from postvakt.registry.case_query import awaiting_reply
from postvakt.registry.db import (
    _alembic_config,
    create_db_engine,
    is_current,
    migrate,
    session_factory,
)
from postvakt.registry.models import (
    Absence,
    Case,
    CaseKind,
    CaseStatus,
    Draft,
    FailedMessage,
    JobClaim,
    MessageRecord,
    SyncState,
)
from postvakt.registry.numbering import allocate_collective_entry, allocate_number
from tests.registry.upgrade_data import (
    AUTUMN_FIRST,
    AUTUMN_SECOND,
    DOCX,
    HEAD,
    MIDSUMMER,
    REVISIONS,
    SPRING,
    YEAR_END,
    rows,
    tables,
)

# --------------------------------------------------------------------------- helpers


def _stored(value: Any, dialect: str) -> Any:
    """A value as the Postvakt of the time wrote it: times in UTC, without zone on SQLite."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect == "sqlite" else value
    return value


def _comparable(value: Any) -> Any:
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


ONE_PER_MAILBOX = ("mailbox_leases", "mailbox_starts", "mailbox_passes")
"""Tables keyed by their mailbox, with no id of their own."""


def _key(table: str, row: dict[str, Any]) -> tuple[Any, ...]:
    if table == "mailbox_owners":
        return (row["mailbox_id"], row["address"])
    if table in ONE_PER_MAILBOX:
        return (row["mailbox_id"],)
    return (row["id"],)


def _read(engine: Engine, table: sa.TableClause) -> dict[tuple[Any, ...], dict[str, Any]]:
    with engine.connect() as connection:
        found = [dict(r._mapping) for r in connection.execute(select(table))]
    return {_key(table.name, r): {k: _comparable(v) for k, v in r.items()} for r in found}


def at_revision(engine: Engine, revision: str) -> None:
    command.upgrade(_alembic_config(engine), revision)


def fill(engine: Engine, revision: str) -> dict[str, list[dict[str, Any]]]:
    data = rows(revision)
    dialect = engine.dialect.name
    with engine.begin() as connection:
        for name, table in tables(revision).items():
            if data.get(name):
                connection.execute(
                    table.insert(),
                    [{k: _stored(v, dialect) for k, v in row.items()} for row in data[name]],
                )
        if dialect == "postgresql":  # explicit ids: move the sequences past them
            for name in tables(revision):
                if name != "mailbox_owners" and name not in ONE_PER_MAILBOX:
                    connection.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608 - names from ORDER
                            f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
                        )
                    )
    return data


def assert_rows_kept(engine: Engine, revision: str, data: dict[str, list[dict[str, Any]]]) -> None:
    """Every row written at ``revision`` is there, each old column with its old value."""
    dialect = engine.dialect.name
    for name, table in tables(revision).items():
        found = _read(engine, table)
        written = {
            _key(name, row): {k: _comparable(_stored(v, dialect)) for k, v in row.items()}
            for row in data.get(name, [])
        }
        assert set(found) == set(written), f"{name}: rows lost or added"
        for key, row in written.items():
            assert found[key] == row, f"{name} {key}: changed by the upgrade"


@contextmanager
def opened(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as session:
        yield session


# --------------------------------------------------------------------------- the tests


def test_every_earlier_revision_is_filled_and_upgraded(tmp_path: Path) -> None:
    """A new migration makes this fail until its predecessor joins REVISIONS (with its rows)."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'postvakt.db'}")
    try:
        script = ScriptDirectory.from_config(_alembic_config(engine))
        shipped = [r.revision for r in reversed(list(script.walk_revisions()))]
    finally:
        engine.dispose()
    assert shipped == [*REVISIONS, HEAD]


@pytest.mark.parametrize("revision", REVISIONS)
def test_upgrading_a_filled_database_loses_nothing(db_url: str, revision: str) -> None:
    engine = create_db_engine(db_url)
    try:
        at_revision(engine, revision)
        data = fill(engine, revision)

        migrate(engine)  # what `postvakt` does when it starts

        assert is_current(engine)
        assert_rows_kept(engine, revision, data)
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        check_through_the_models(engine, revision, data)
        check_unique_identity(engine)
        check_numbering_goes_on(engine)
    finally:
        engine.dispose()


def check_through_the_models(
    engine: Engine, revision: str, data: dict[str, list[dict[str, Any]]]
) -> None:
    """What the current Postvakt reads: aware arrival stamps, deadlines, events in order,
    bytes, JSON, and the columns added since with their defaults."""
    with opened(engine) as session:
        cases = {c.id: c for c in session.scalars(select(Case))}
        for written in data["cases"]:
            case = cases[written["id"]]
            assert case.reference == written["reference"] and case.number == written["number"]
            assert case.kind is CaseKind(written["kind"])
            assert case.status is CaseStatus(written["status"])
            for stamp in ("received_at", "registered_at", "closed_at"):
                value, expected = getattr(case, stamp), written[stamp]
                # The same instant (compared in UTC: Python never calls a time in the
                # autumn's repeated hour equal to one in another zone) …
                assert value == (expected and expected.astimezone(UTC)), stamp
                if expected is not None:  # … and the same wall-clock time in Stockholm
                    local = value.astimezone(STOCKHOLM)
                    assert (local.date(), local.time(), local.utcoffset()) == (
                        expected.date(),
                        expected.time(),
                        expected.utcoffset(),
                    ), stamp
            assert (case.reply_due, case.ack_due, case.answer_due) == (
                written["reply_due"],
                written["ack_due"],
                written["answer_due"],
            )
            assert case.classifier_reasons == written["classifier_reasons"]
            assert case.original == written["original"]
            # 0007: the content hash of the stored original, nothing else changed about it.
            expected_hash = content_hash(written["original"]) if written["original"] else None
            assert case.content_hash == expected_hash
            if revision < "0007":
                assert case.address_check is False and case.review_reasons == []
            else:
                assert case.address_check is (written["id"] == 1)
                assert case.review_reasons == written["review_reasons"]
            # 0008: case 4 was merged into case 1 (withdrawn, by its handler).
            if revision < "0008":
                assert case.corrected_by is None and case.withdrawn_at is None
                assert case.merged_into_id is None
            else:
                assert (case.corrected_by, case.merged_into_id) == (
                    written["corrected_by"],
                    written["merged_into_id"],
                )
                assert case.withdrawn_reason == written["withdrawn_reason"]
            if revision < "0009":
                # Nothing was marked for, or sent to, the deviation function by routing.
                assert case.care_route is None and case.care_routed_at is None
                assert case.care_flagged_at is None
            else:
                for stamp in ("care_flagged_at", "care_routed_at"):
                    value, expected = getattr(case, stamp), written[stamp]
                    assert (value and value.timestamp()) == (expected and expected.timestamp())
            # 0010: Postvakt's numbers were the diary numbers, unless the registrar typed the
            # diary system's own on the Registrator page.
            assert case.diary_number == (written.get("diary_entered_number") or written["number"])
            # Columns added after ``revision`` have their defaults.
            if revision < "0004":
                assert case.individual_care is False and case.registrar_status == "none"
            if revision < "0005":
                assert case.private is False and case.classifier_flags == []
                assert case.regular_handler is None
            if revision < "0006":
                assert case.diary_entered_number is None
        assert [(e.kind.value, e.detail) for e in cases[1].events] == [
            (e["kind"], e["detail"]) for e in data["case_events"] if e["case_id"] == 1
        ]
        assert cases[1].events[0].at == SPRING and cases[1].events[0].at.tzinfo is not None

        drafts = {d.id: d for d in session.scalars(select(Draft))}
        assert drafts[1].attachment == DOCX and drafts[1].references == [
            "a0@example.net",
            "a1@example.net",
        ]
        assert drafts[2].attachment is None and drafts[2].status.value == "pending"

        failed = {f.id: f for f in session.scalars(select(FailedMessage))}
        for written in data["failed_messages"]:
            assert failed[written["id"]].raw == written["raw"]
            assert failed[written["id"]].role == written.get("role", "inbox")

        records = {m.id: m for m in session.scalars(select(MessageRecord))}
        assert {m.id: m.disposition.value for m in records.values()} == {
            m["id"]: m["disposition"] for m in data["messages"]
        }
        assert all(  # no bytes kept for them; a 0007 Postvakt hashed what it read
            m.content_hash == ("c" * 64 if revision >= "0007" and m.id == 3 else None)
            for m in records.values()
        )
        assert all(
            (m.flagged_by, m.case_probability)
            == (("anna@testby.se", 0.41) if revision >= "0008" and m.id == 3 else (None, None))
            for m in records.values()
        )
        assert records[1].reasons == ["ord: klaga"] and records[1].case_id == 1
        assert records[3].received_at == AUTUMN_SECOND.astimezone(UTC)
        assert records[3].received_at != AUTUMN_FIRST.astimezone(UTC)  # the hour that repeats
        answered = records[3].answered_at
        assert answered == (YEAR_END.astimezone(UTC) if revision >= "0002" else None)

        states = {s.id: s.state for s in session.scalars(select(SyncState))}
        assert states[1] == data["sync_states"][0]["state"] and states[2] == {}

        if revision >= "0005":
            absence = session.scalars(select(Absence)).one()
            assert absence.substitutes == ["chef@testby.se", "kd@testby.se"]
            assert absence.applied == {"auto_reply": True, "granted": ["chef@testby.se"]}
            assert absence.end is None and absence.start == date(2026, 7, 1)


def check_unique_identity(engine: Engine) -> None:
    """After 0007: the same message (Message-ID and content) cannot be a case twice; another
    message that reuses the Message-ID can."""
    with opened(engine) as session, session.begin():
        first = session.get_one(Case, 1)

        def copy(reference: str, content: str | None) -> Case:
            return Case(
                reference=reference, number=reference, year=2026, seq=99, kind=first.kind,
                status=first.status, heading=first.heading, summary=first.summary,
                received_at=first.received_at, registered_at=first.registered_at,
                message_id=first.message_id, content_hash=content, classifier_reasons=[],
            )  # fmt: skip

        with pytest.raises(IntegrityError), session.begin_nested():
            session.add(copy("KS 2026/98", first.content_hash))
            session.flush()
        with session.begin_nested():
            session.add(copy("KS 2026/99", content_hash(b"another message, same Message-ID")))
            session.flush()
        session.rollback()


def check_numbering_goes_on(engine: Engine) -> None:
    """The next number follows the last one given before the upgrade; so does the next
    anonymous entry under the year's collective number."""
    with opened(engine) as session, session.begin():
        fmt = "{prefix} {year}/{seq}"
        number = allocate_number(session, fmt=fmt, prefix="KS", year=2026)
        entry = allocate_collective_entry(session, fmt=fmt, prefix="KS", year=2026)
        assert number.reference == "KS 2026/5"
        assert entry.reference == "KS 2026/3-2"
        session.rollback()


def test_0007_and_0008_can_be_taken_back_and_applied_again(db_url: str) -> None:
    """Down to 0006 keeps the data of 0006; up again computes the hashes again."""
    engine = create_db_engine(db_url)
    try:
        at_revision(engine, "0006")
        data = fill(engine, "0006")
        migrate(engine)
        with foreign_keys_off(engine) as connection:
            cfg = _alembic_config(engine, connection)
            command.downgrade(cfg, "0006")
        assert_rows_kept(engine, "0006", data)
        with engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("cases")}
        assert "content_hash" not in columns and "review_reasons" not in columns
        migrate(engine)
        assert is_current(engine)
        assert_rows_kept(engine, "0006", data)
        check_through_the_models(engine, "0006", data)
    finally:
        engine.dispose()


@contextmanager
def foreign_keys_off(engine: Engine) -> Iterator[sa.Connection]:
    """A connection in one transaction; on SQLite with foreign keys off around it (as a
    table rebuilt by a batch migration needs), checked before commit."""
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def test_old_damage_does_not_stop_the_upgrade_on_sqlite(tmp_path: Path) -> None:
    """A row that already referred to nothing before the upgrade (written with foreign keys
    off, by hand) is left as it was; the upgrade runs and keeps everything else."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'postvakt.db'}")
    try:
        at_revision(engine, "0006")
        data = fill(engine, "0006")
        with foreign_keys_off_unchecked(engine) as connection:
            connection.exec_driver_sql(
                "INSERT INTO case_events (id, case_id, at, kind, actor, detail) "
                "VALUES (99, 404, '2026-01-01 00:00:00.000000', 'note', 'x', 'föräldralös')"
            )
        migrate(engine)
        assert is_current(engine)
        assert_rows_kept(engine, "0006", data | {"case_events": data["case_events"] + [ORPHAN]})
    finally:
        engine.dispose()


ORPHAN = {
    "id": 99,
    "case_id": 404,
    "at": datetime(2026, 1, 1, tzinfo=UTC),
    "kind": "note",
    "actor": "x",
    "detail": "föräldralös",
    "document": None,
}


@contextmanager
def foreign_keys_off_unchecked(engine: Engine) -> Iterator[sa.Connection]:
    with engine.connect() as connection:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
        finally:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def test_0018_marks_old_messages_after_an_answer_and_watches_recent_ones(db_url: str) -> None:
    """Messages that came in an answered case before the upgrade were watched by nothing: those
    whose reply time has passed are marked answered with a note (no flood of breaches); a
    recent one is watched from now on; one from before the answer stays as it was."""
    engine = create_db_engine(db_url)
    today = datetime.now(STOCKHOLM).date()
    try:
        at_revision(engine, "0017")
        data = fill(engine, "0017")
        old = tables("0017")
        dialect = engine.dialect.name
        answered = datetime(2026, 5, 4, 10, 0, tzinfo=STOCKHOLM)
        template = next(m for m in data["messages"] if m["id"] == 3)

        def later(number: int, received: datetime, due: date) -> dict[str, Any]:
            return {
                **template, "id": number, "message_key": f"f{number}", "message_id": f"f{number}@x",
                "sender_address": "Goran@example.net", "disposition": "followup", "case_id": 1,
                "received_at": received, "processed_at": received, "reply_due": due,
                "answered_at": None, "answered_by": None,
            }  # fmt: skip

        with engine.begin() as connection:
            connection.execute(
                old["cases"].update().where(old["cases"].c.id == 1).values(status="answered")
            )
            connection.execute(
                old["case_events"].insert(),
                [{"id": 50, "case_id": 1, "at": _stored(answered, dialect), "kind": "answered",
                  "actor": "anna@testby.se", "detail": "Svar", "document": None}],
            )  # fmt: skip
            rows_ = [
                later(60, answered.replace(day=6), date(2026, 5, 13)),  # after, long passed
                later(61, answered.replace(day=6), today + timedelta(days=30)),  # after, recent
                later(62, answered.replace(day=2), date(2026, 5, 11)),  # before the answer
                # from whoever else may write in the case: not the citizen's
                {
                    **later(63, answered.replace(day=6), date(2026, 5, 13)),
                    "sender_address": "annan@example.net",
                },
            ]
            connection.execute(
                old["messages"].insert(),
                [{k: _stored(v, dialect) for k, v in r.items()} for r in rows_],
            )

        migrate(engine)

        with opened(engine) as session:
            found = {
                m.id: m
                for m in session.scalars(select(MessageRecord).where(MessageRecord.id >= 60))
            }
            assert found[60].answered_by == "postvakt" and found[60].answered_at is not None
            assert "innan Postvakt bevakade sådana meddelanden" in (found[60].answered_note or "")
            assert (found[61].answered_at, found[61].answered_note) == (None, None)
            assert (found[62].answered_at, found[62].answered_note) == (None, None)
            assert (found[63].answered_at, found[63].answered_note) == (None, None)
            watched = session.scalars(select(MessageRecord.id).where(*awaiting_reply())).all()
            assert set(watched) & {60, 61, 62, 63} == {61}
        command.downgrade(_alembic_config(engine), "0017")  # gives back what it marked
        with engine.connect() as connection:
            marked = connection.execute(
                sa.text("SELECT answered_at, answered_by FROM messages WHERE id = 60")
            ).one()
        assert tuple(marked) == (None, None)
    finally:
        engine.dispose()


def test_0019_takes_claims_from_before_as_finished_and_marks_private_messages(
    db_url: str,
) -> None:
    """A rule job's claim from before the upgrade was made by a run that is over: it is not
    taken up and run again (a claim not finished is, from this version on).  A message of a
    private case is private."""
    engine = create_db_engine(db_url)
    try:
        at_revision(engine, "0018")
        data = fill(engine, "0018")
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE cases SET private = TRUE WHERE id = 1"))
        migrate(engine)
        with opened(engine) as session:
            [claim] = session.scalars(select(JobClaim)).all()
            assert claim.finished_at == claim.claimed_at == MIDSUMMER
            private = {m.id: m.private for m in session.scalars(select(MessageRecord))}
        expected = {m["id"]: m.get("case_id") == 1 for m in data["messages"]}
        assert private == expected and any(expected.values())
    finally:
        engine.dispose()
