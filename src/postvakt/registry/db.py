"""Opening the database: engine, migrations, sessions and lock errors.

SQLite is the embedded default, in WAL mode so readers never wait for the writer.  Every
SQLite transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock up front, so two
processes registering at once queue on the busy timeout instead of failing half-way with
"database is locked" when a read transaction tries to become a write one.  PostgreSQL uses
row locks (see :mod:`postvakt.registry.numbering`).

Alembic migrations ship inside the package and run on :func:`open_database`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from postvakt.errors import DatabaseError, DatabaseLockedError

__all__ = ["create_db_engine", "database_errors", "migrate", "open_database", "session_factory"]

log = logging.getLogger("postvakt.db")

MIGRATIONS = Path(__file__).with_name("migrations")


def create_db_engine(
    url: str, *, busy_timeout: float = 30.0, password: str | None = None
) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE."""
    parsed = make_url(url)
    if password and parsed.password is None:
        parsed = parsed.set(password=password)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            folder = Path(database).parent
            if not folder.exists():
                raise DatabaseError(
                    f"Mappen för databasen finns inte: {folder}. Skapa den eller ändra database.url."
                )
        engine = create_engine(
            parsed,
            connect_args={
                "timeout": busy_timeout,
                "isolation_level": None,
                "check_same_thread": False,
            },
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(parsed, pool_pre_ping=True)


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision."""
    with database_errors():
        command.upgrade(_alembic_config(engine), "head")


def is_current(engine: Engine) -> bool:
    """Whether the schema is at the newest revision."""
    script = ScriptDirectory.from_config(_alembic_config(engine))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())


def open_database(url: str, *, busy_timeout: float = 30.0, password: str | None = None) -> Engine:
    """Create the engine and run migrations."""
    engine = create_db_engine(url, busy_timeout=busy_timeout, password=password)
    migrate(engine)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn driver errors about locks and connections into Postvakt's errors, with advice."""
    try:
        yield
    except OperationalError as exc:
        text = str(exc.orig) if exc.orig is not None else str(exc)
        if "locked" in text or "busy" in text:
            raise DatabaseLockedError(
                "Databasen är låst av en annan process längre än väntetiden. Kontrollera att "
                "inte två Postvakt-processer använder samma SQLite-fil utan att behöva det, "
                "eller höj database.busy_timeout_seconds; använd PostgreSQL för flera instanser."
            ) from exc
        raise DatabaseError(
            f"Databasen kan inte användas: {text.strip()}. Kontrollera database.url och att "
            "databasservern är igång."
        ) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise DatabaseError(
                "Förbindelsen med databasen bröts. Kontrollera att databasservern är igång."
            ) from exc
        raise
