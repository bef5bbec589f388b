"""The workers' procrastinate app: its connection, its schema, and periodic tasks in local time."""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo
from functools import cached_property
from typing import Any

import croniter
import procrastinate
from procrastinate.periodic import PeriodicTask
from procrastinate.schema import SchemaManager
from sqlalchemy import Engine, text

from postvakt.clock import STOCKHOLM
from postvakt.registry.db import database_errors, schema_lock

__all__ = [
    "apply_queue_schema",
    "build_app",
    "conninfo",
    "even_interval",
    "every",
    "periodic_local",
]

log = logging.getLogger("postvakt.workers")

MAX_DELAY = 3600
"""A periodic job missed while no worker ran (the whole site restarted) is still deferred,
once, when a worker starts within this many seconds of its time: as ``postvakt run`` lets a
rule job come up to an hour late."""


def conninfo(engine: Engine) -> str:
    """The libpq connection string of ``engine``'s PostgreSQL database (password included:
    it is given to procrastinate's pool, never printed)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def apply_queue_schema(engine: Engine) -> bool:
    """Create procrastinate's tables, types and functions unless they are there; True if
    this call created them.

    Under the schema lock the Alembic migrations take (:func:`postvakt.registry.db.
    schema_lock`) and in one transaction: workers starting at the same moment take turns,
    the first creates the schema, the others find it and go on.
    """
    with (
        database_errors(),
        engine.connect() as connection,
        schema_lock(connection),
        connection.begin(),
    ):
        present = connection.scalar(text("SELECT to_regclass('procrastinate_jobs')"))
        if present is not None:
            return False
        # Many statements (functions with $$ bodies among them): run as one script on the
        # driver's cursor, without parameters, inside this transaction.
        cursor = connection.connection.cursor()
        try:
            cursor.execute(SchemaManager.get_schema())
        finally:
            cursor.close()
    log.info("the worker queue's tables were created")
    return True


def build_app(info: str, *, pool_size: int = 4) -> procrastinate.App:
    """A procrastinate app on the database ``info`` (a libpq connection string)."""
    connector = procrastinate.PsycopgConnector(
        conninfo=info, min_size=1, max_size=max(2, pool_size)
    )
    return procrastinate.App(connector=connector, periodic_defaults={"max_delay": MAX_DELAY})


_EVEN_SECONDS = (5, 6, 10, 12, 15, 20, 30)
_EVEN_MINUTES = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)


def even_interval(seconds: int) -> int:
    """``seconds`` rounded down to an interval cron repeats evenly: one that divides a minute
    (5–30 s) or an hour (1–60 min).  ``*/45`` in cron's seconds would fire at :00 and :45,
    gaps of 45 and 15 s; so 45 s becomes 30, 90 s one minute, 150 s two minutes."""
    if seconds < 60:
        return max(s for s in _EVEN_SECONDS if s <= max(seconds, _EVEN_SECONDS[0]))
    return 60 * max(m for m in _EVEN_MINUTES if m * 60 <= min(seconds, 3600))


def every(seconds: int) -> str:
    """A cron expression firing every :func:`even_interval` (``seconds``) seconds."""
    interval = even_interval(seconds)
    if interval < 60:
        return f"* * * * * */{interval}"  # procrastinate's sixth column: seconds
    minutes = interval // 60
    return "0 * * * *" if minutes == 60 else f"*/{minutes} * * * *"


class _LocalPeriodic(PeriodicTask):  # type: ignore[type-arg]
    """A periodic task whose cron is read in a time zone (procrastinate reads it in UTC)."""

    zone: tzinfo = STOCKHOLM

    @cached_property
    def croniter(self) -> croniter.croniter:
        # croniter keeps the zone of its start time: 08:00 stays 08:00 over summer time
        return croniter.croniter(self.cron, datetime.now(self.zone))


def periodic_local(
    app: procrastinate.App, task: Any, *, cron: str, periodic_id: str, **configure: Any
) -> None:
    """Register ``task`` as periodic on ``cron`` read in Swedish time (Europe/Stockholm):
    the rules' times are the organisation's clock, not UTC."""
    registry = app.periodic_registry
    registry.register_task(
        task=task, cron=cron, periodic_id=periodic_id, configure_kwargs=configure
    )
    registry.periodic_tasks[(task.name, periodic_id)] = _LocalPeriodic(
        task=task, cron=cron, periodic_id=periodic_id, configure_kwargs=configure
    )
