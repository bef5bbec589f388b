"""Alembic environment: migrations run on the engine Postvakt passes in (no alembic.ini)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from postvakt.registry.models import Base

config = context.config
target_metadata = Base.metadata


def _ours(name: str | None, type_: str, _parent: object) -> bool:
    """The worker queue's tables (procrastinate's, :mod:`postvakt.workers`) are not
    Alembic's: ``alembic revision --autogenerate`` must not drop them."""
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=_ours,
        # SQLite cannot ALTER most things; batch mode recreates tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:  # postvakt.registry.db.migrate: its transaction, under its lock
        _run(given)
        return
    engine = config.attributes.get("engine")
    if engine is None:  # `alembic` run by hand during development: -x url=sqlite:///dev.db
        engine = create_engine(context.get_x_argument(as_dictionary=True)["url"])
    with engine.connect() as connection:
        _run(connection)
        if connection.in_transaction():
            connection.commit()


if context.is_offline_mode():  # pragma: no cover - offline SQL generation is not used
    raise SystemExit("Postvakt runs its migrations online only.")
run_migrations_online()
