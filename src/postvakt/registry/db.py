"""Opening the database: engine, migrations, sessions and lock errors.

SQLite is the embedded default, in WAL mode so readers never wait for the writer.  Every
SQLite transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock up front, so two
processes registering at once queue on the busy timeout instead of failing half-way with
"database is locked" when a read transaction tries to become a write one.  PostgreSQL uses
row locks (see :mod:`postvakt.registry.numbering`).

Alembic migrations ship inside the package and run on :func:`open_database`, under a lock
so that two processes starting at once never race in schema set-up: a PostgreSQL advisory
lock held on one connection across the upgrade, or on SQLite the write lock of one
``BEGIN IMMEDIATE`` transaction that holds the whole upgrade (SQLite's DDL is transactional).
The second process waits, then finds the schema current.  A database whose schema is newer
than this Postvakt's migrations is refused, untouched.

Engines hide bound parameters in their errors (``hide_parameters=True``): a database error
never carries a sender, a subject or message bytes into a log.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from postvakt.errors import (
    DatabaseError,
    DatabaseLockedError,
    InvalidTransitionError,
    SchemaTooNewError,
)
from postvakt.registry.copy_rows import copy_for_many_inserts, forget_column_types
from postvakt.registry.serial_ids import assign_serial_ids, assign_sqlite_ids

__all__ = [
    "create_db_engine",
    "database_errors",
    "is_conflict",
    "is_current",
    "migrate",
    "open_database",
    "schema_lock",
    "session_factory",
]

log = logging.getLogger("postvakt.db")

MIGRATIONS = Path(__file__).with_name("migrations")


def _create_private(path: Path) -> None:
    """Create the SQLite file readable and writable by its owner only, unless it exists (SQLite
    gives its -wal and -shm files the database file's mode); warn about an existing file that
    others may read."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning(
                "the database file %s can be read by others than its owner (mode %o): chmod 600 it",
                path,
                mode,
            )
        return
    except OSError as exc:
        raise DatabaseError(
            f"Databasfilen {path} kan inte skapas ({exc.strerror}). Kontrollera att mappen "
            "finns och att Postvakt får skriva i den, eller ändra database.url."
        ) from exc
    os.close(fd)


def _begin_immediate(connection: Any) -> None:
    """SQLite: every transaction takes the write lock at its start (one writer at a time)."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(
    url: str, *, busy_timeout: float = 30.0, password: str | None = None, pool_size: int = 5
) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE.

    ``pool_size`` connections are kept for threads working at once (opened when needed;
    10 more may open for a moment), e.g. the passes of ``service.pool_size`` mailboxes."""
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
            _create_private(Path(database))
        engine = create_engine(
            parsed,
            connect_args={
                "timeout": busy_timeout,
                "isolation_level": None,
                "check_same_thread": False,
            },
            hide_parameters=True,
            pool_size=pool_size,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            _wal(cursor, busy_timeout)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        event.listen(engine, "begin", _begin_immediate)
        return engine
    engine = create_engine(parsed, pool_pre_ping=True, hide_parameters=True, pool_size=pool_size)
    copy_for_many_inserts(engine)
    return engine


SCHEMA_LOCK = int.from_bytes(b"postvakt", "big")
"""The PostgreSQL advisory lock key held while the schema is set up or upgraded ('postvakt')."""


def _alembic_config(engine: Engine, connection: Connection | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    if connection is not None:
        cfg.attributes["connection"] = connection  # env.py runs on it, in its transaction
    return cfg


def _known_revisions(script: ScriptDirectory) -> list[str]:
    """Every revision this Postvakt ships, oldest first."""
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def _refuse_unknown(connection: Connection, script: ScriptDirectory) -> None:
    """Raise if the database is at a revision this Postvakt's migrations do not know."""
    current = MigrationContext.configure(connection).get_current_heads()
    known = _known_revisions(script)
    unknown = sorted(set(current) - set(known))
    if unknown:
        raise SchemaTooNewError(
            f"Databasen har schemaversion {', '.join(unknown)} men den här Postvakt känner "
            f"bara till versioner till och med {known[-1]}. Uppgradera Postvakt till den "
            "version som senast använde databasen (eller nyare) och starta igen. Databasen "
            "har inte ändrats."
        )


@contextmanager
def _schema_lock(connection: Connection) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock for the schema on ``connection`` (session level, so it
    outlives the transactions in between); other databases rely on their own locking."""
    if connection.dialect.name != "postgresql":
        yield
        return
    got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEMA_LOCK})
    if not got.scalar():
        log.info("waiting for another process to finish setting up the database schema")
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK})
    connection.commit()
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK})
        connection.commit()


schema_lock = _schema_lock
"""The schema lock for other schema set-up that must not race the migrations (the worker
queue's tables, :func:`postvakt.workers.apply_queue_schema`)."""


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision, one process at a time.

    The check of the current revision and the whole upgrade run in one transaction under
    the schema lock, so a second process starting at the same moment waits and then finds
    nothing to do.  Raises :class:`~postvakt.errors.SchemaTooNewError` for a database at a
    revision these migrations do not know (written by a newer Postvakt), leaving it as it is.
    """
    with (
        database_errors(),
        engine.connect() as connection,
        _schema_lock(connection),
        _foreign_keys_off(connection),
    ):
        script = ScriptDirectory.from_config(_alembic_config(engine))
        with connection.begin():  # SQLite: BEGIN IMMEDIATE takes the write lock here
            _refuse_unknown(connection, script)
            current = set(MigrationContext.configure(connection).get_current_heads())
            if current != set(script.get_heads()):
                dangling = _dangling(connection)
                command.upgrade(_alembic_config(engine, connection), "head")
                _check_foreign_keys(connection, dangling)
                forget_column_types(connection)  # a migration may have written rows by COPY


@contextmanager
def _foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite: foreign keys off while the schema changes (PostgreSQL: nothing to do).

    A batch migration rebuilds a table on SQLite (copy it, DROP the old one, rename the
    copy); with foreign keys on, the DROP of a table that other rows refer to fails, so a
    database holding cases could never be upgraded.  The pragma is ignored inside a
    transaction, so it is set around it; :func:`_check_foreign_keys` checks before commit.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


def _dangling(connection: Connection) -> Counter[tuple[str, str]]:
    """SQLite: how many rows of each (table, referred table) refer to a row that does not
    exist (counted, not listed: a rebuilt table's rows may get other rowids)."""
    if connection.dialect.name != "sqlite":
        return Counter()
    check = connection.exec_driver_sql("PRAGMA foreign_key_check")
    return Counter((table, parent) for table, _rowid, parent, _key in check)


def _check_foreign_keys(connection: Connection, before: Counter[tuple[str, str]]) -> None:
    """Refuse (roll back) an upgrade that leaves a row referring to nothing; what was
    dangling before it is not the upgrade's doing and does not stop it."""
    broken = _dangling(connection) - before
    if broken:
        tables = sorted({table for table, _parent in broken})
        raise DatabaseError(
            "Uppgraderingen av databasens schema skulle lämna rader som pekar på rader som "
            f"inte finns (i {', '.join(tables)}); den har inte gjorts. Kontrollera databasen "
            "med sqlite3 (PRAGMA foreign_key_check) och starta igen."
        )


def is_current(engine: Engine) -> bool:
    """Whether the schema is at the newest revision."""
    script = ScriptDirectory.from_config(_alembic_config(engine))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())


def _wal(cursor: Any, busy_timeout: float) -> None:
    """Switch a SQLite file to WAL.  The switch needs the file to itself, and SQLite answers
    "database is locked" at once, without its busy timeout, while another process is opening
    the same fresh file: so wait for it here, up to the busy timeout."""
    import sqlite3

    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def open_database(
    url: str, *, busy_timeout: float = 30.0, password: str | None = None, pool_size: int = 5
) -> Engine:
    """Create the engine and run migrations (refusing a schema newer than this Postvakt)."""
    engine = create_db_engine(
        url, busy_timeout=busy_timeout, password=password, pool_size=pool_size
    )
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is a transient conflict with another transaction that is worth
    running again: a PostgreSQL serialization failure or deadlock (SQLSTATE 40001, 40P01)."""
    while exc is not None:
        if isinstance(exc, DBAPIError):
            state = getattr(exc.orig, "sqlstate", None)
            return state in ("40001", "40P01")
        exc = exc.__cause__  # type: ignore[assignment]
    return False


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine``; a flush's new rows get their ids at once
    (:mod:`postvakt.registry.serial_ids`)."""
    factory = sessionmaker(engine, expire_on_commit=False)
    if engine.dialect.name == "postgresql":
        event.listen(factory, "before_flush", assign_serial_ids)
    elif engine.dialect.name == "sqlite" and event.contains(engine, "begin", _begin_immediate):
        # Counting on from the highest id is safe only with the write lock held from the
        # transaction's start: an engine made elsewhere lets SQLite give the ids.
        event.listen(factory, "before_flush", assign_sqlite_ids)
    return factory


def _unique_violation(exc: IntegrityError) -> str | None:
    """The constraint (PostgreSQL) or columns (SQLite) of a unique constraint that ``exc``
    broke, or None when it broke another kind (not null, a foreign key, a check)."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "23505":  # PostgreSQL: unique_violation
        diag = getattr(orig, "diag", None)
        return getattr(diag, "constraint_name", None) or "unique"
    text = str(orig) if orig is not None else ""
    if getattr(orig, "sqlite_errorname", "") in _SQLITE_UNIQUE or text.startswith(
        "UNIQUE constraint failed"
    ):
        return text.removeprefix("UNIQUE constraint failed:").strip() or "unique"
    return None


_SQLITE_UNIQUE = ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")
_MET = ("40P01", "40001", "55P03")
"""PostgreSQL's deadlock, serialization failure and lock not available: two transactions
met, and this one was ended (its text says "blocked by process …", which is no SQLite
file locked)."""


@contextmanager
def database_errors(*, same_time: str | None = None) -> Iterator[None]:
    """Turn driver errors about locks and connections into Postvakt's errors, with advice.

    ``same_time``: for an action that may meet another doing the same at the same moment
    (two people registering one message), the Swedish sentence the person is told when
    the other wrote first — a row that breaks a unique constraint is raised as
    :class:`~postvakt.errors.InvalidTransitionError` with it (the command line and the
    web say it, not a traceback), the constraint logged.  Any other integrity error (not
    null, a foreign key) is a bug and goes on as it is; so does a unique violation where
    ``same_time`` is not given (the intake runs its messages again on one)."""
    try:
        yield
    except IntegrityError as exc:
        constraint = _unique_violation(exc) if same_time else None
        if constraint is None:
            raise
        log.warning("another transaction wrote first (unique constraint %s)", constraint)
        raise InvalidTransitionError(same_time) from exc
    except OperationalError as exc:
        text = str(exc.orig) if exc.orig is not None else str(exc)
        sqlstate = getattr(exc.orig, "sqlstate", None)  # PostgreSQL's; SQLite has none
        if sqlstate in _MET:
            raise DatabaseLockedError(
                "Två ändringar i databasen väntade på varandra, och databasen avbröt den här; "
                "ingenting av den sparades. Försök igen."
            ) from exc
        if sqlstate is None and ("locked" in text or "busy" in text):
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
        text = str(exc.orig) if exc.orig is not None else ""
        if "malformed" in text or "not a database" in text:
            raise DatabaseError(
                "Databasfilen är skadad och kan inte läsas (SQLite: "
                f"{text.strip()}). Stoppa Postvakt, återställ filen från säkerhetskopian och "
                "starta igen; e-posten ligger kvar i brevlådorna och läses om från den "
                "återställda punkten."
            ) from exc
        raise
