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


def test_a_drafts_letter_is_stored_on_postgresql_as_it_is_not_compressed_again(
    postgres_url: str,
) -> None:
    """A letter is a .docx, a zip already compressed: PostgreSQL stores it out of line without
    compressing it (storage EXTERNAL), which cost the intake most of its drafts' INSERT time."""
    from postvakt.registry.models import Draft, DraftStatus, Mailbox

    engine = open_database(postgres_url)
    letter = b"PK\x03\x04" + b"Med vanlig h\xc3\xa4lsning\n" * 2000  # would shrink if compressed
    with session_factory(engine).begin() as session:
        mailbox = Mailbox(
            address="kontakt@testby.se", name="Kontakt", kind="function", connector="imap"
        )
        session.add(mailbox)
        session.flush()
        session.add(
            Draft(
                mailbox_id=mailbox.id,
                message_id="<d1@testby.se>",
                to_address="medborgare@example.net",
                subject="Svar",
                body_text="Hej",
                attachment_name="svar.docx",
                attachment=letter,
                status=DraftStatus.PENDING,
                created_at=datetime(2026, 12, 5, 9, 0, tzinfo=STOCKHOLM),
            )
        )
    with engine.connect() as connection:
        storage = connection.execute(
            text(
                "SELECT attstorage FROM pg_attribute "
                "WHERE attrelid = 'drafts'::regclass AND attname = 'attachment'"
            )
        ).scalar_one()
        compressed, stored = connection.execute(
            text("SELECT pg_column_compression(attachment), attachment FROM drafts")
        ).one()
    assert storage == "e"
    assert compressed is None
    assert bytes(stored) == letter
