"""Workers that recover (postvakt/workers), holes a review found: a "stalled" job whose own
worker died held the lock every later one waited for, so no stopped worker's jobs were ever
retried again (its mailboxes never passed again); and a worker whose connection to the
database broke stopped with success, which "restart on failure" leaves stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import IntegrityError, ProgrammingError

from postvakt.config import load_config
from postvakt.intake import load_classifier
from tests.support.postgres import PostgresServer
from tests.support.workspace import make_workspace


def _config(tmp_path: Path, url: str) -> Path:
    ws = make_workspace(tmp_path / "ws", url)
    with ws.config_path.open("a", encoding="utf-8") as config:
        config.write("\n[service]\npoll_interval_seconds = 5\n")
    load_classifier(load_config(ws.config_path))  # trained once, before the worker
    return ws.config_path


def _worker(config: Path, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "POSTVAKT_CONFIG"}
    with (tmp_path / "worker.err").open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "postvakt", "--config", str(config), "worker"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def _until(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"not within {seconds:.0f} s: {what}")


def _scalar(engine: Engine, query: str, **params: object) -> object:
    """One value, on a connection of its own; None while the queue's tables are missing."""
    try:
        with engine.connect() as db:
            return db.execute(text(query), params).scalar()
    except ProgrammingError:
        return None


WORKING = "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"


def _running_pass(db: Connection, mailbox: int, worker: int) -> int:
    """A pass of ``mailbox`` that ``worker`` runs, as the queue has it ('doing'); its id."""
    return db.execute(
        text(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, args, "
            "status, worker_id) VALUES ('default', 'postvakt.pass', :lock, "
            "CAST(:args AS jsonb), 'doing', :w) RETURNING id"
        ),
        {"lock": f"mailbox:{mailbox}", "args": f'{{"mailbox_id": {mailbox}}}', "w": worker},
    ).scalar_one()


def test_jobs_of_a_worker_that_died_running_stalled_are_retried(
    tmp_path: Path, postgres_url: str
) -> None:
    """A worker died while it ran "stalled" (the job that puts a stopped worker's jobs back
    in the queue) and a mailbox's pass: both stay 'doing'.  The next "stalled" must still
    run, and the pass go back in the queue (its mailbox waits behind it)."""
    config = _config(tmp_path, postgres_url)
    engine = create_engine(postgres_url)
    worker = _worker(config, tmp_path)
    try:
        _until(lambda: _scalar(engine, WORKING), 120, "the worker at work")
        mailbox = _scalar(engine, "SELECT min(id) FROM mailboxes")
        # a worker gone an hour ago, in the middle of both jobs; the pass goes in when the
        # live worker is not passing that mailbox itself (its running pass holds the lock)
        for _attempt in range(100):
            try:
                with engine.begin() as db:
                    dead = db.execute(
                        text(
                            "INSERT INTO procrastinate_workers (last_heartbeat) "
                            "VALUES (now() - interval '1 hour') RETURNING id"
                        )
                    ).scalar()
                    db.execute(
                        text(
                            "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, "
                            "queueing_lock, args, status, worker_id) VALUES ('default', "
                            "'postvakt.stalled', 'stalled', NULL, '{\"timestamp\": 0}', "
                            "'doing', :w)"
                        ),
                        {"w": dead},
                    )
                    stuck = _running_pass(db, mailbox, dead)
                break
            except IntegrityError:
                time.sleep(0.2)
        else:
            raise AssertionError("the mailbox's lock was never free")
        # "stalled" runs every 30 s and takes a worker silent for 30 s as stopped
        status = "SELECT status FROM procrastinate_jobs WHERE id = :id"
        _until(
            lambda: _scalar(engine, status, id=stuck) != "doing",
            150,
            "the dead worker's pass back in the queue",
        )
        again = (
            "SELECT count(*) FROM procrastinate_jobs WHERE lock = :lock "
            "AND status = 'succeeded' AND id > :id"
        )
        _until(
            lambda: _scalar(engine, again, lock=f"mailbox:{mailbox}", id=stuck),
            60,
            "the mailbox passed again",
        )
    finally:
        worker.kill()
        worker.wait()
        engine.dispose()


def test_a_worker_whose_database_connection_broke_ends_with_an_error(
    tmp_path: Path, postgres_server: PostgresServer, postgres_url: str
) -> None:
    """The database refuses new connections for a moment (a restart, a failover) and the
    worker's listening connection is cut: procrastinate stops the worker as if asked to.
    It ended with success, so systemd's and compose's restart on failure left it stopped
    and no mail was read; now it ends with an error that says what happened, in Swedish."""
    config = _config(tmp_path, postgres_url)
    name = postgres_url.rsplit("/", 1)[1]
    engine = create_engine(postgres_url)
    admin = create_engine(postgres_server.admin_url, isolation_level="AUTOCOMMIT")
    worker = _worker(config, tmp_path)
    try:
        _until(lambda: _scalar(engine, WORKING), 120, "the worker at work")
        with admin.connect() as db:
            db.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            cut = db.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND query LIKE 'LISTEN%'"
                ),
                {"name": name},
            ).all()
        assert cut, "no listening connection to cut"
        time.sleep(3)
        with admin.connect() as db:
            db.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        code = worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        engine.dispose()
        admin.dispose()
    err = (tmp_path / "worker.err").read_text(encoding="utf-8", errors="replace")
    assert code not in (0, None), err[-2000:]
    last = err.strip().splitlines()[-1]  # what the command says last: what happened
    assert last.startswith("Fel: arbetaren ") and "förbindelse med databasen bröts" in last


def test_failed_jobs_are_kept_a_week_then_deleted(tmp_path: Path, postgres_url: str) -> None:
    """procrastinate deletes only succeeded jobs unless told: a mailbox whose pass fails every
    minute left 1,440 failed jobs a day, for ever.  Succeeded ones go after an hour; failed,
    cancelled and aborted ones after a week (to see what went wrong meanwhile)."""
    import asyncio

    from postvakt.service import Service
    from postvakt.workers import apply_queue_schema, build_app, conninfo
    from postvakt.workers.tasks import clean_old_jobs

    workspace = make_workspace(tmp_path / "ws", postgres_url)
    with Service(workspace.config).open() as service:
        assert service.engine is not None
        apply_queue_schema(service.engine)
        ages = {  # (status, hours since it ended) -> kept?
            ("succeeded", 2): False,
            ("succeeded", 0): True,
            ("failed", 8 * 24): False,
            ("failed", 2): True,
            ("aborted", 8 * 24): False,
            ("cancelled", 8 * 24): False,
            ("todo", 30 * 24): True,
            ("doing", 30 * 24): True,
        }
        ids = {}
        with service.engine.begin() as db:
            for (status, hours), _kept in ages.items():
                job = db.execute(
                    text(
                        "INSERT INTO procrastinate_jobs (queue_name, task_name, status) "
                        "VALUES ('default', 'postvakt.pass', CAST(:s AS procrastinate_job_status)) "
                        "RETURNING id"
                    ),
                    {"s": status},
                ).scalar()
                db.execute(text("DELETE FROM procrastinate_events WHERE job_id = :j"), {"j": job})
                db.execute(
                    text(
                        "INSERT INTO procrastinate_events (job_id, type, at) VALUES (:j, "
                        "'deferred', now() - make_interval(hours => :h))"
                    ),
                    {"j": job, "h": hours},
                )
                ids[(status, hours)] = job
        app = build_app(conninfo(service.engine))

        async def clean() -> None:
            async with app.open_async():
                await clean_old_jobs(app.job_manager)

        asyncio.run(clean())
        with service.engine.connect() as db:
            left = set(db.execute(text("SELECT id FROM procrastinate_jobs")).scalars())
    assert {key for key, job in ids.items() if job in left} == {
        key for key, kept in ages.items() if kept
    }


def test_a_mailbox_job_whose_end_was_never_noted_is_taken_up_again(
    tmp_path: Path, postgres_url: str
) -> None:
    """procrastinate could not note a pass's end (a connection cut just then): the job stays
    'doing' under a worker that lives on, which "stalled" never looks at, and every later
    pass of that mailbox waits behind it.  'doing' for longer than two leases while nobody
    holds the mailbox, it goes back in the queue."""
    config = _config(tmp_path, postgres_url)
    engine = create_engine(postgres_url)
    worker = _worker(config, tmp_path)
    try:
        _until(lambda: _scalar(engine, WORKING), 120, "the worker at work")
        with engine.begin() as db:
            live = db.execute(
                text("SELECT id FROM procrastinate_workers ORDER BY last_heartbeat DESC LIMIT 1")
            ).scalar()
            # a mailbox no pass runs for now (a running one holds its lock): not in the config
            mailbox = 1 + db.execute(text("SELECT max(id) FROM mailboxes")).scalar()
            orphan = _running_pass(db, mailbox, live)
            db.execute(
                text(
                    "INSERT INTO procrastinate_events (job_id, type, at) "
                    "VALUES (:j, 'started', now() - interval '20 minutes')"
                ),
                {"j": orphan},
            )
        status = "SELECT status FROM procrastinate_jobs WHERE id = :id"
        _until(
            lambda: _scalar(engine, status, id=orphan) != "doing",
            120,
            "the orphaned pass back in the queue",
        )
        assert _scalar(engine, "SELECT count(*) FROM procrastinate_workers WHERE id = :w", w=live)
    finally:
        worker.kill()
        worker.wait()
        engine.dispose()
