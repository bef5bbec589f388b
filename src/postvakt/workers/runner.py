"""Running one ``postvakt worker`` process until it is stopped."""

from __future__ import annotations

import logging
import os
import socket

from sqlalchemy.engine import make_url

from postvakt.config import Config
from postvakt.errors import ConfigError, ConfigProblem, DatabaseError
from postvakt.service import Service
from postvakt.workers.app import apply_queue_schema, build_app, conninfo
from postvakt.workers.tasks import STALLED_SECONDS, Runtime, register

__all__ = ["HEARTBEAT_SECONDS", "refuse_sqlite", "run_worker"]

log = logging.getLogger("postvakt.workers")

HEARTBEAT_SECONDS = 10.0
"""How often a worker notes in ``procrastinate_workers`` that it is alive."""


def refuse_sqlite(config: Config) -> None:
    """Raise :class:`ConfigError` unless the database is PostgreSQL: the workers' queue,
    its locks and its periodic jobs live in PostgreSQL."""
    if make_url(config.database_url).get_backend_name() == "postgresql":
        return
    raise ConfigError(
        [
            ConfigProblem(
                "database.url",
                "'postvakt worker' kräver PostgreSQL, men databasen är SQLite. Kör "
                "'postvakt run' (en process, för SQLite och små installationer), eller flytta "
                "databasen till PostgreSQL för att köra flera arbetare",
            )
        ]
    )


def run_worker(service: Service, *, concurrency: int = 4) -> None:
    """Take jobs from the queue until SIGTERM or SIGINT (procrastinate's handlers: the jobs
    running are finished, no new one is taken), with ``concurrency`` jobs at a time.

    ``service`` is opened (migrated, its connectors built); the queue's schema is created
    here if it is missing.
    """
    assert service.engine is not None, "open() first"
    refuse_sqlite(service.config)
    apply_queue_schema(service.engine)
    app = build_app(conninfo(service.engine), pool_size=concurrency + 2)
    register(app, Runtime(service))
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # Two lines per job (a pass a minute per mailbox) would drown the log.
        logging.getLogger("procrastinate").setLevel(logging.WARNING)
    name = f"{socket.gethostname()}:{os.getpid()}"
    log.info("worker %s starts: %d jobs at a time", name, concurrency)
    failed = _SideTaskFailed()
    watched = logging.getLogger("procrastinate.worker")  # the worker logs as a child of it
    watched.addHandler(failed)
    try:
        app.run_worker(
            name=name,
            concurrency=concurrency,
            update_heartbeat_interval=HEARTBEAT_SECONDS,
            stalled_worker_timeout=STALLED_SECONDS,
            install_signal_handlers=True,
        )
    finally:
        watched.removeHandler(failed)
    if failed.what is not None:
        # procrastinate stops a worker whose listener, heartbeat or periodic deferrer failed
        # (a database restarted, a connection cut) as if it had been asked to: ended with
        # success, systemd's and compose's "restart on failure" would leave it stopped, and
        # no mail would be read.  An error, then: the worker is started again.
        raise DatabaseError(
            f"arbetaren {name} stannade: dess förbindelse med databasen bröts "
            f"({failed.what}). Den startas om av systemd eller compose; kontrollera "
            "databasen om det upprepas"
        )
    log.info("worker %s stopped", name)


class _SideTaskFailed(logging.Handler):
    """Notes procrastinate's "side task failed, stopping worker" (an error: above the level
    procrastinate's log is kept at); writes nothing itself."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.what: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "action", None) == "side_task_failed":
            self.what = str(getattr(record, "task_name", None) or "okänd del")
