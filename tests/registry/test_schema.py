"""The Alembic migrations produce exactly the schema the models describe."""

from __future__ import annotations

from datetime import datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from postvakt.clock import STOCKHOLM
from postvakt.registry.db import is_current, migrate, open_database, session_factory
from postvakt.registry.models import Base, Unit


def test_migrations_match_the_models(db_url: str) -> None:
    engine = open_database(db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], (
        "a model changed without a migration: run alembic revision --autogenerate"
    )
    assert is_current(engine)


def test_migrating_twice_changes_nothing(db_url: str) -> None:
    engine = open_database(db_url)
    with session_factory(engine).begin() as session:
        session.add(Unit(name="Kontaktcenter", head="chef@testby.se"))
    migrate(engine)  # a second start-up
    with engine.connect() as connection:
        assert connection.execute(text("SELECT name FROM units")).scalars().all() == [
            "Kontaktcenter"
        ]


def test_times_come_back_aware_and_equal(db_url: str) -> None:
    from postvakt.registry.models import FailedMessage, Mailbox

    engine = open_database(db_url)
    when = datetime(2026, 6, 19, 23, 30, tzinfo=STOCKHOLM)  # midsummer eve, summer time
    with session_factory(engine).begin() as session:
        mailbox = Mailbox(address="a@testby.se", kind="personal", connector="maildir")
        session.add(mailbox)
        session.flush()
        session.add(
            FailedMessage(
                mailbox_id=mailbox.id,
                folder="INBOX",
                message_key="k",
                raw=b"x",
                error="e",
                traceback="t",
                failed_at=when,
            )
        )
    with session_factory(engine)() as session:
        stored = session.query(FailedMessage).one().failed_at
    assert stored == when and stored.tzinfo is not None
    assert stored.utcoffset().total_seconds() == 0  # stored and returned in UTC
