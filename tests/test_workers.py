"""``postvakt worker``: many processes on one PostgreSQL database, through procrastinate.

The main test starts three real worker processes over 200 mailboxes on a real Dovecot, kills
one with SIGKILL in the middle of a pass and lets the others finish: every message ends as
exactly one record (and a case at most once), no draft is placed twice, the rule job of the
minute runs once, and the two left stop cleanly on SIGTERM.  The smaller tests: a mailbox's
pass is never queued twice, SQLite is refused in Swedish, the queue's schema is created
once by workers starting together, and the rules' times are Swedish time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from postvakt.clock import STOCKHOLM
from postvakt.config import load_config
from postvakt.intake import load_classifier
from postvakt.registry.models import Draft, JobClaim, MailboxLease, MessageRecord
from postvakt.rules.calendar import WorkingCalendar
from tests.support.dovecot import MASTER_ENV, DovecotServer
from tests.support.workspace import make_workspace
from tests.test_two_processes import Installation, counts, make_installation, messages_for

LIMITS = """
default_client_limit = 5000
service imap {
  process_limit = 3000
  client_limit = 1
}
service anvil {
  client_limit = 5000
}
"""
"""Three workers keep a connection to each of 200 mailboxes: 600 sessions, more than the
fixture Dovecot's default of 100 imap processes with one client each."""


@pytest.fixture(scope="module")
def big_dovecot() -> Iterator[DovecotServer]:
    server = DovecotServer.start(extra_config=LIMITS)
    try:
        yield server
    finally:
        server.stop()


def rules_config(now: datetime) -> str:
    """Every rule far from now except coverage, due a minute ago: due once at start."""
    local = now.astimezone(STOCKHOLM)
    due = (local - timedelta(minutes=1)).time().replace(second=0, microsecond=0)
    later = (local + timedelta(hours=6)).time().replace(second=0, microsecond=0)
    return f"""
[service]
poll_interval_seconds = 5
lease_seconds = 60

[rules]
working_hours = [00:00:00, 23:59:59]
coverage_time = {due:%H:%M:%S}
daily_open_time = {later:%H:%M:%S}
reminder_times = [{later:%H:%M:%S}]
head_digest = false
"""


def start_worker(config: Path, dovecot: DovecotServer, tmp_path: Path, name: str):
    env = {**os.environ, MASTER_ENV: dovecot.master_password}
    env.pop("POSTVAKT_CONFIG", None)
    out = (tmp_path / f"{name}.out").open("wb")
    err = (tmp_path / f"{name}.err").open("wb")
    command = [sys.executable, "-m", "postvakt", "--config", str(config), "worker"]
    proc = subprocess.Popen(
        [*command, "--concurrency", "2"], cwd=tmp_path, env=env, stdout=out, stderr=err
    )
    out.close()
    err.close()
    return proc


def scalar(engine, query: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(query), params).scalar()


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except DBAPIError:  # the tables are not there yet
            pass
        assert time.monotonic() < deadline, f"not within {seconds:.0f} s: {what}"
        time.sleep(0.2)


def drafts_per_reply(install: Installation, dovecot: DovecotServer) -> Counter[tuple[str, str]]:
    """(user, In-Reply-To) of every draft in the users' Drafts folders, counted."""
    found: Counter[tuple[str, str]] = Counter()
    for user in install.users:
        for head in dovecot.headers_in(user):
            found[(user, str(head["In-Reply-To"]))] += 1
    return found


@pytest.mark.postgres
def test_three_workers_one_killed_mid_pass_leave_every_message_once(
    tmp_path: Path, big_dovecot: DovecotServer, postgres_url: str
) -> None:
    dovecot = big_dovecot
    install = make_installation(tmp_path, dovecot, postgres_url, mailboxes=200, per_mailbox=2)
    started_at = datetime.now(STOCKHOLM)
    with install.config.open("a", encoding="utf-8") as config:
        config.write(rules_config(started_at))
    expected = sum(len(v) for v in install.delivered.values())
    # The model trained (or read) once here: three workers would each train it at once.
    load_classifier(load_config(install.config))

    procs = [start_worker(install.config, dovecot, tmp_path, n) for n in ("w1", "w2", "w3")]
    victim = procs[0]
    engine = create_engine(postgres_url)
    try:

        def victim_mid_pass() -> bool:
            assert victim.poll() is None, (tmp_path / "w1.err").read_text(errors="replace")
            with engine.connect() as conn:
                recorded = conn.scalar(select(func.count()).select_from(MessageRecord))
                holders = conn.scalars(select(MailboxLease.holder)).all()
            mine = [h for h in holders if h.split(":")[1] == str(victim.pid)]
            return recorded >= 100 and bool(mine)

        wait_for(victim_mid_pass, 120, "the first worker working a mailbox, 100 messages in")
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at = time.monotonic()
        with engine.connect() as conn:
            left = conn.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_jobs j JOIN procrastinate_workers w "
                    "ON w.id = j.worker_id WHERE j.status = 'doing' AND "
                    "j.task_name = 'postvakt.pass'"
                )
            )
            recorded = conn.scalar(select(func.count()).select_from(MessageRecord))
        assert recorded < expected, "everything was done before the kill: no test"

        def all_done() -> bool:
            for proc in procs[1:]:
                assert proc.poll() is None, "a surviving worker stopped"
            with engine.connect() as conn:
                records = conn.scalar(select(func.count()).select_from(MessageRecord))
                pending = conn.scalar(
                    text("SELECT count(*) FROM drafts WHERE status IN ('pending', 'remove')")
                )
                stuck = conn.scalar(
                    text(
                        "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing' "
                        "AND (worker_id IS NULL OR worker_id NOT IN "
                        "(SELECT id FROM procrastinate_workers WHERE "
                        "last_heartbeat > now() - interval '30 seconds'))"
                    )
                )
            return records == expected and pending == 0 and stuck == 0

        wait_for(all_done, 150, "every message recorded, every draft placed, no job stuck")
        recovered_in = time.monotonic() - killed_at

        for proc in procs[1:]:
            proc.send_signal(signal.SIGTERM)
        for proc, name in zip(procs[1:], ("w2", "w3"), strict=True):
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pytest.fail(f"worker {name} did not stop on SIGTERM within 60 s")
            stderr = (tmp_path / f"{name}.err").read_text(errors="replace")
            assert code == 0, stderr
            assert "Traceback" not in stderr, stderr

        found = counts(postgres_url, install, dovecot)
        print(
            f"three workers, one killed ({left} passes running then), done {recovered_in:.0f} s after:",
            found,
        )
        with engine.connect() as conn:
            per_message_id = conn.execute(
                select(MessageRecord.mailbox_id, MessageRecord.message_id, func.count())
                .group_by(MessageRecord.mailbox_id, MessageRecord.message_id)
                .having(func.count() > 1)
            ).all()
            drafts_per_case = conn.execute(
                select(Draft.mailbox_id, Draft.in_reply_to, func.count())
                .group_by(Draft.mailbox_id, Draft.in_reply_to)
                .having(func.count() > 1)
            ).all()
            cases_per_message_id = conn.scalar(
                text(
                    "SELECT count(*) FROM (SELECT message_id FROM messages WHERE "
                    "disposition = 'case' GROUP BY message_id HAVING count(*) > 1) AS twice"
                )
            )
            rule_jobs = (
                conn.execute(
                    text(
                        "SELECT j.status FROM procrastinate_jobs j JOIN procrastinate_periodic_defers "
                        "p ON p.job_id = j.id WHERE p.task_name = 'postvakt.rule' AND "
                        "p.periodic_id = 'coverage@'"
                    )
                )
                .scalars()
                .all()
            )
            claims = conn.scalar(
                select(func.count()).select_from(JobClaim).where(JobClaim.job == "coverage")
            )
            ticks = conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT args->>'timestamp') FROM "
                    "procrastinate_jobs WHERE task_name = 'postvakt.tick'"
                )
            ).one()
            workers_left = conn.scalar(text("SELECT count(*) FROM procrastinate_workers"))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        engine.dispose()

    assert found.records == expected and found.duplicate_records == 0, found
    assert per_message_id == [], per_message_id
    assert found.failed_records == 0 and found.failed_store == 0, found
    assert found.cases == found.case_records > 0 and cases_per_message_id == 0, found
    assert found.doubled_drafts == 0 and found.missing_drafts == 0, found
    assert found.drafts_in_folders == found.drafts_saved == found.cases, found
    assert drafts_per_case == []
    in_folders = drafts_per_reply(install, dovecot)
    assert max(in_folders.values()) == 1 and sum(in_folders.values()) == found.cases
    # The rule due a minute before the start: one job for all three workers, run once.
    assert rule_jobs == ["succeeded"], rule_jobs
    day = datetime.now(STOCKHOLM).date()
    calendar = WorkingCalendar.with_closures(())
    assert claims == (1 if calendar.is_working_day(day) else 0)
    # The tick: one job per time for the three workers, and more than one time went by.
    assert ticks[0] == ticks[1] > 1, ticks
    assert workers_left == 0  # the killed one pruned, the two stopped ones took themselves out


@pytest.mark.postgres
def test_sigterm_lets_the_running_pass_finish(tmp_path: Path, postgres_url: str) -> None:
    """SIGTERM in the middle of a pass: the worker takes no new job but finishes the pass
    it is in (every message read, the lease given back, the job succeeded), then exits 0."""
    workspace = make_workspace(tmp_path / "ws", postgres_url)
    delivered = messages_for(0, 120, [])
    for n, raw in enumerate(delivered):
        workspace.deliver(raw, name=f"k{n:03d}")
    with workspace.config_path.open("a", encoding="utf-8") as config:
        config.write("\n[service]\nbatch_size = 5\n")  # commits show as the pass goes on
    load_classifier(load_config(workspace.config_path))  # trained before the worker starts
    env = {k: v for k, v in os.environ.items() if k != "POSTVAKT_CONFIG"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "postvakt", "--config", str(workspace.config_path), "worker"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    engine = create_engine(postgres_url)
    try:

        def mid_pass() -> bool:
            assert proc.poll() is None, "the worker stopped before the test could stop it"
            with engine.connect() as conn:
                recorded = conn.scalar(select(func.count()).select_from(MessageRecord))
            return 5 <= recorded < len(delivered) - 20

        wait_for(mid_pass, 120, "the pass under way")
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=120)
        with engine.connect() as conn:
            recorded = conn.scalar(select(func.count()).select_from(MessageRecord))
            leases = conn.scalar(select(func.count()).select_from(MailboxLease))
            passes = (
                conn.execute(
                    text(
                        "SELECT status FROM procrastinate_jobs WHERE task_name = 'postvakt.pass' "
                        "AND args->>'mailbox_id' = (SELECT id::text FROM mailboxes WHERE "
                        "address = 'kontakt@testby.se')"
                    )
                )
                .scalars()
                .all()
            )
            workers = conn.scalar(text("SELECT count(*) FROM procrastinate_workers"))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        engine.dispose()
    text_err = err.decode(errors="replace")
    assert proc.returncode == 0, text_err
    assert "Traceback" not in text_err
    assert recorded == len(delivered)  # the pass went on to the end
    assert leases == 0 and workers == 0
    assert passes == ["succeeded"], passes


@pytest.mark.postgres
def test_a_worker_serves_its_own_counters_and_the_job_queue(
    tmp_path: Path, postgres_url: str
) -> None:
    """The worker reads the mail, so its process counts the messages and passes: it serves
    them on ``--metrics-port`` with the database's figures, the worker queue among them."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    from tests.support.ports import free_port

    workspace = make_workspace(tmp_path / "ws", postgres_url)
    delivered = messages_for(0, 6, [])
    for n, raw in enumerate(delivered):
        workspace.deliver(raw, name=f"m{n:03d}")
    load_classifier(load_config(workspace.config_path))  # trained before the worker starts
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "POSTVAKT_CONFIG"}
    command = ["worker", "--metrics-port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "postvakt", "--config", str(workspace.config_path), *command],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    engine = create_engine(postgres_url)
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    try:

        def counted() -> bool:
            assert proc.poll() is None, "the worker stopped"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    scraped = r.read().decode()
            except OSError:
                return False  # not listening yet
            samples.clear()
            samples.update(
                ((s.name, tuple(sorted(s.labels.items()))), s.value)
                for family in text_string_to_metric_families(scraped)
                for s in family.samples
            )
            assert "@" not in scraped  # no address in what a monitoring system keeps
            return sum(
                v for (name, _labels), v in samples.items() if name == "postvakt_messages_total"
            ) == len(delivered)

        wait_for(counted, 120, "the worker's pass counted on its metrics port")
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=120)
        engine.dispose()
    assert proc.returncode == 0, err.decode(errors="replace")
    assert samples[("postvakt_messages_total", (("outcome", "case"),))] >= 1
    durations = [v for (n, _l), v in samples.items() if n == "postvakt_pass_duration_seconds_count"]
    assert sum(durations) >= 1
    assert ("postvakt_queue_depth", (("queue", "jobs"),)) in samples
    assert ("postvakt_jobs_running", ()) in samples


# ------------------------------------------------------------------------ smaller ones
# ------------------------------------------------------------------------ smaller ones


def _service(tmp_path: Path, db_url: str):
    from postvakt.service import Service

    workspace = make_workspace(tmp_path / "ws", db_url)
    return Service(workspace.config).open()


@pytest.mark.postgres
def test_a_mailbox_is_never_queued_twice(tmp_path: Path, postgres_url: str) -> None:
    """Two ticks before any worker took a job: each mailbox has one pass waiting, not two."""
    from postvakt.workers import apply_queue_schema, build_app, conninfo
    from postvakt.workers.tasks import Runtime, register

    with _service(tmp_path, postgres_url) as service:
        assert service.engine is not None
        assert apply_queue_schema(service.engine) is True
        app = build_app(conninfo(service.engine))
        register(app, Runtime(service))

        async def two_ticks() -> list[dict[str, int]]:
            async with app.open_async():
                tick = app.tasks["postvakt.tick"]
                return [await tick(timestamp=1), await tick(timestamp=2)]

        first, second = asyncio.run(two_ticks())
        with service.engine.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT args->>'mailbox_id', lock, queueing_lock FROM procrastinate_jobs "
                    "WHERE task_name = 'postvakt.pass' AND status = 'todo'"
                )
            ).all()
            after = conn.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' AND "
                    "task_name IN ('postvakt.notify', 'postvakt.diary', 'postvakt.care')"
                )
            )
    assert first == {"mailboxes": 2, "queued": 2}
    assert second == {"mailboxes": 2, "queued": 0}
    assert len(waiting) == 2 and len({m for m, _l, _q in waiting}) == 2
    for mailbox_id, lock, queueing_lock in waiting:
        assert lock == queueing_lock == f"mailbox:{mailbox_id}"
    assert after == 3  # the after-pass work once too


def test_worker_refuses_sqlite_in_swedish(tmp_path: Path, capsys) -> None:
    from postvakt.cli import main

    workspace = make_workspace(tmp_path / "ws")
    database = tmp_path / "ws" / "postvakt.db"
    existed = database.exists()
    code = main(["--config", str(workspace.config_path), "worker"])
    err = capsys.readouterr().err
    assert code == 2
    assert "'postvakt worker' kräver PostgreSQL" in err
    assert "'postvakt run'" in err and "database.url" in err
    assert "Traceback" not in err
    assert database.exists() == existed  # nothing opened, nothing created


@pytest.mark.postgres
def test_a_pass_that_loses_the_database_logs_one_line(
    tmp_path: Path, postgres_server, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The database gone in the middle: the job ends with one line in the log (no
    traceback from the queue), and the next tick tries again."""
    from postvakt.registry.models import Mailbox
    from postvakt.workers import build_app, conninfo
    from postvakt.workers.tasks import Runtime, register

    name = postgres_url.rsplit("/", 1)[1]
    admin = create_engine(postgres_server.admin_url, isolation_level="AUTOCOMMIT")
    with _service(tmp_path, postgres_url) as service:
        assert service.engine is not None and service.sessions is not None
        app = build_app(conninfo(service.engine))
        runtime = Runtime(service)
        register(app, runtime)
        with service.sessions() as session:
            box = session.scalars(
                select(Mailbox.id).where(Mailbox.address == "kontakt@testby.se")
            ).one()
        assert runtime.address(box) == "kontakt@testby.se"
        try:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
            caplog.clear()
            result = app.tasks["postvakt.pass"](mailbox_id=box)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            admin.dispose()
    assert result == {"errors": 1}
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].name == "postvakt.workers", errors
    line = errors[0].getMessage()
    assert line.startswith(f"the pass over mailbox {box}: ") and "Databasen" in line
    assert errors[0].exc_info is None
    assert "kontakt@testby.se" not in line


@pytest.mark.postgres
def test_the_queue_schema_is_created_once_by_workers_starting_together(
    postgres_url: str,
) -> None:
    from postvakt.registry.db import open_database
    from postvakt.workers import apply_queue_schema

    engines = [open_database(postgres_url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    results: list[bool | BaseException] = []

    def start(engine) -> None:
        barrier.wait()
        try:
            results.append(apply_queue_schema(engine))
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert sorted(results, key=repr) == [False, False, False, True], results
        assert apply_queue_schema(engines[0]) is False  # and again later: nothing to do
        with engines[0].connect() as conn:
            tables = conn.scalar(
                text("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'procrastinate_%'")
            )
        assert tables == 4
    finally:
        for engine in engines:
            engine.dispose()


def test_rule_times_are_swedish_time_over_summer_time() -> None:
    """08:30 in the config is 08:30 in Sweden in winter and in summer (UTC 07:30 / 06:30)."""
    import procrastinate
    from procrastinate.testing import InMemoryConnector

    from postvakt.workers.app import periodic_local

    app = procrastinate.App(connector=InMemoryConnector())

    @app.task(name="t")
    def task(timestamp: int) -> None: ...

    periodic_local(app, task, cron="30 8 * * *", periodic_id="x")
    (registered,) = app.periodic_registry.periodic_tasks.values()
    cron = registered.croniter
    for day in (date(2026, 3, 28), date(2026, 3, 29), date(2026, 10, 24), date(2026, 10, 25)):
        start = datetime.combine(day, datetime.min.time(), STOCKHOLM).timestamp()
        cron.set_current(start_time=start)
        fired = datetime.fromtimestamp(cron.get_next(ret_type=float), STOCKHOLM)
        assert (fired.date(), fired.hour, fired.minute) == (day, 8, 30)


@pytest.mark.parametrize(
    ("seconds", "interval", "cron"),
    [
        (5, 5, "* * * * * */5"),
        (45, 30, "* * * * * */30"),  # */45 would fire at :00 and :45: gaps of 45 and 15 s
        (59, 30, "* * * * * */30"),
        (60, 60, "*/1 * * * *"),
        (90, 60, "*/1 * * * *"),
        (150, 120, "*/2 * * * *"),
        (420, 360, "*/6 * * * *"),  # */7 minutes would leave a gap of 4 at the hour
        (3600, 3600, "0 * * * *"),
    ],
)
def test_the_workers_poll_no_less_often_than_asked_and_evenly(
    seconds: int, interval: int, cron: str
) -> None:
    from postvakt.workers.app import even_interval, every

    assert (even_interval(seconds), every(seconds)) == (interval, cron)
    if interval < 60:  # the firing seconds of a minute are evenly spaced
        fires = [s for s in range(60) if s % interval == 0]
        assert {b - a for a, b in zip(fires, [*fires[1:], 60], strict=True)} == {interval}
    else:
        assert 3600 % interval == 0
