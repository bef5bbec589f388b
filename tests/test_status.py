"""``postvakt status [--json]``: each mailbox's last good pass, lag, last error, lease holder;
workers' heartbeats and the queues; exit code 1 when a mailbox failed or went stale."""

from __future__ import annotations

import json
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from postvakt.cli import main
from postvakt.cli.status import lag_words
from postvakt.clock import Clock, fixed_clock
from postvakt.config import load_config
from postvakt.registry.leases import Lease, acquire
from postvakt.service import Service
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.workspace import Workspace, citizen_mail, make_workspace

COMPLAINT = (
    "Hej! Jag vill klaga på snöröjningen på Storgatan, den har inte plogats på tre dagar. "
    "Jag kan inte ta mig till jobbet. Jag vill ha svar på vad ni tänker göra."
)
MAILBOX_KEYS = {
    "address",
    "name",
    "mailbox_id",
    "ok",
    "failed",
    "stale",
    "last_pass_at",
    "last_success_at",
    "lag_seconds",
    "last_error",
    "last_error_at",
    "failures_in_row",
    "last_duration_seconds",
    "last_messages",
    "last_holder",
    "lease",
}


@pytest.fixture
def space(tmp_path: Path, db_url: str) -> Workspace:
    return make_workspace(tmp_path / "ws", db_url if "postgresql" in db_url else None)


def status(
    space: Workspace, clock: Clock, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str]:
    cwd = Path.cwd()
    os.chdir(space.root)  # the workspace's SQLite path is relative to it
    try:
        code = main(["--config", str(space.config_path), "status", *extra], clock=clock)
    finally:
        os.chdir(cwd)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out


def run_once(space: Workspace, clock: Clock, environ: dict[str, str] | None = None) -> None:
    cwd = Path.cwd()
    os.chdir(space.root)
    try:
        with Service(load_config(space.config_path), clock=clock, environ=environ).open() as s:
            s.run_once()
    finally:
        os.chdir(cwd)


def line_of(text: str, address: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(address))


def test_lag_words() -> None:
    assert lag_words(None) == "aldrig"
    assert lag_words(timedelta(seconds=45)) == "45 s"
    assert lag_words(timedelta(minutes=3, seconds=59)) == "3 min"
    assert lag_words(timedelta(hours=2, minutes=5)) == "2 h 5 min"
    assert lag_words(timedelta(hours=2)) == "2 h"
    assert lag_words(timedelta(days=3, hours=4, minutes=10)) == "3 d 4 h"


def test_status_after_a_pass_then_stale(
    space: Workspace, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = status(space, clock, capsys)  # before any pass: the mailboxes are not read yet
    assert code == 1
    assert "INTE LÄST" in line_of(out, "kontakt@testby.se")
    assert "aldrig" in line_of(out, "kontakt@testby.se")
    assert "2 brevlådor: 0 ok, 0 med fel, 0 gamla, 2 inte lästa" in out

    space.deliver(citizen_mail(COMPLAINT))
    run_once(space, clock)
    code, out = status(space, clock, capsys)
    assert code == 0, out
    row = line_of(out, "kontakt@testby.se")
    assert " ok " in row and "2026-11-23 10:00" in row and "0 s" in row
    assert "inga arbetare (postvakt run)" in out
    assert "Processer (från brevlådornas lån):" in out

    code, raw = status(space, clock, capsys, "--json")
    assert code == 0
    found = json.loads(raw)
    assert set(found) == {"now", "ok", "stale_after_seconds", "mailboxes", "workers", "processes", "queues"}  # fmt: skip
    assert found["ok"] is True and found["workers"] is None
    assert found["stale_after_seconds"] == 180
    kontakt, anna = found["mailboxes"]
    assert set(kontakt) == MAILBOX_KEYS
    assert kontakt["address"] == "kontakt@testby.se" and anna["address"] == "anna@testby.se"
    assert kontakt["last_success_at"] == "2026-11-23T10:00:00+01:00"
    assert kontakt["lag_seconds"] == 0 and kontakt["failures_in_row"] == 0
    assert kontakt["last_messages"] == 1 and anna["last_messages"] == 0
    assert kontakt["last_duration_seconds"] >= 0 and kontakt["lease"] is None
    assert found["processes"][0]["holder"] == kontakt["last_holder"]
    # The complaint's acknowledgment draft went to Drafts; its diary document waits or not.
    assert set(found["queues"]) == {"jobs", "drafts_pending", "diary_waiting", "diary_failed", "failed_messages"}  # fmt: skip
    assert found["queues"]["drafts_pending"] == 0 and found["queues"]["jobs"] is None

    # Two minutes on: behind, not stale; a process holds the lease on one mailbox.
    later = fixed_clock(clock() + timedelta(minutes=2))
    cwd = Path.cwd()
    os.chdir(space.root)
    try:
        with Service(load_config(space.config_path), clock=later).open_readonly() as service:
            assert service.sessions is not None
            with service.sessions.begin() as session:
                got = acquire(session, 2, "other-host:4242:beef", now=later(), seconds=300)
                assert isinstance(got, Lease)
    finally:
        os.chdir(cwd)
    code, out = status(space, later, capsys)
    assert code == 0
    assert "2 min" in line_of(out, "kontakt@testby.se")
    assert "other-host:4242:beef (till 2026-11-23 10:07)" in line_of(out, "anna@testby.se")
    code, raw = status(space, later, capsys, "--json")
    found = json.loads(raw)
    lease = found["mailboxes"][1]["lease"]
    assert lease["holder"] == "other-host:4242:beef" and lease["expires_in_seconds"] == 300
    processes = {p["holder"]: p for p in found["processes"]}
    assert processes["other-host:4242:beef"]["leases"] == 1  # the newest first
    assert found["processes"][0]["holder"] == "other-host:4242:beef"
    assert processes[found["mailboxes"][0]["last_holder"]]["leases"] == 0

    # Four minutes without a good pass is more than three poll intervals (60 s): stale.
    stale = fixed_clock(clock() + timedelta(minutes=4))
    code, out = status(space, stale, capsys)
    assert code == 1
    assert "GAMMAL" in line_of(out, "kontakt@testby.se") and "4 min" in out
    assert "2 brevlådor: 0 ok, 0 med fel, 2 gamla, 0 inte lästa" in out
    assert "kontrollera att 'postvakt run'" in out


def test_a_failing_maildir_shows_its_error_and_exit_1(
    space: Workspace, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    anna = space.maildir("anna")
    shutil.rmtree(anna / "new")
    (anna / "new").write_text("ingen mapp")  # the folder is gone: no Maildir any more
    run_once(space, clock)
    run_once(space, fixed_clock(clock() + timedelta(seconds=30)))
    code, out = status(space, clock, capsys)
    assert code == 1
    assert "FEL (2 i rad)" in line_of(out, "anna@testby.se")
    assert " ok " in line_of(out, "kontakt@testby.se")
    assert "Senaste fel:" in out and "är ingen Maildir" in out
    assert "2 brevlådor: 1 ok, 1 med fel, 0 gamla, 0 inte lästa" in out
    code, out = status(space, clock, capsys, "--problems")  # only what needs a look
    assert code == 1
    assert "FEL (2 i rad)" in line_of(out, "anna@testby.se")
    assert not any(line.startswith("kontakt@testby.se") for line in out.splitlines())
    code, raw = status(space, clock, capsys, "--json")
    found = json.loads(raw)
    assert found["ok"] is False
    failing = found["mailboxes"][1]
    assert failing["failed"] is True and failing["failures_in_row"] == 2
    assert failing["last_success_at"] is None and failing["lag_seconds"] is None
    assert failing["last_error_at"] == "2026-11-23T10:00:30+01:00"
    assert "är ingen Maildir" in failing["last_error"] and "@" not in failing["last_error"]

    # Mended: the next pass is good, the error stays on record with its time.
    (anna / "new").unlink()
    (anna / "new").mkdir()
    run_once(space, fixed_clock(clock() + timedelta(minutes=1)))
    code, out = status(space, fixed_clock(clock() + timedelta(minutes=1)), capsys)
    assert code == 0, out
    assert "(läst utan fel sedan dess)" in out


def test_a_wrong_password_on_dovecot(
    tmp_path: Path,
    clock: Clock,
    dovecot: DovecotServer,
    imap_user: ImapUser,
    capsys: pytest.CaptureFixture[str],
) -> None:
    space = make_workspace(tmp_path / "ws")
    address = dovecot.address(imap_user.name)
    space.config_path.write_text(
        space.config_path.read_text(encoding="utf-8")
        + f"""
[[mailboxes]]
address = "{address}"
start_from = 2026-01-01
name = "Bygglov"
kind = "function"
unit = "Kontaktcenter"
owners = ["anna@testby.se"]
connector = "imap"

[mailboxes.imap]
host = "127.0.0.1"
port = {dovecot.imap_port}
security = "none"
username = "{imap_user.name}"
password_env = "PV_TEST_STATUS_PASSWORD"
""",
        encoding="utf-8",
    )
    run_once(space, clock, environ={"PV_TEST_STATUS_PASSWORD": imap_user.password + "fel"})
    code, out = status(space, clock, capsys)
    assert code == 1
    assert "FEL (1 i rad)" in line_of(out, address)
    code, raw = status(space, clock, capsys, "--json")
    failing = json.loads(raw)["mailboxes"][2]
    assert failing["address"] == address and failing["failed"] is True
    assert failing["last_error"] and "@" not in failing["last_error"]
    assert failing["last_error"] in out
    assert [m["ok"] for m in json.loads(raw)["mailboxes"][:2]] == [True, True]


def test_workers_and_queues_from_procrastinate(
    tmp_path: Path, postgres_url: str, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    import procrastinate
    import psycopg

    space = make_workspace(tmp_path / "ws", postgres_url)
    run_once(space, clock)
    conninfo = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))

    @app.task(name="pass_mailbox", queue="passes")
    def pass_mailbox(address: str) -> None:  # pragma: no cover - deferred, never run here
        raise AssertionError(address)

    with app.open():
        app.schema_manager.apply_schema()
        for address in ("kontakt@testby.se", "anna@testby.se", "extra@testby.se"):
            pass_mailbox.defer(address=address)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        worker = connection.execute("SELECT procrastinate_register_worker_v1()").fetchone()
        assert worker is not None
        # The worker takes one job, as a worker does.
        connection.execute(
            "SELECT id FROM procrastinate_fetch_job_v2(%s, %s)", (["passes"], worker[0])
        )
        silent = connection.execute("SELECT procrastinate_register_worker_v1()").fetchone()
        assert silent is not None
        connection.execute(
            "UPDATE procrastinate_workers SET last_heartbeat = NOW() - interval '5 minutes' "
            "WHERE id = %s",
            (silent[0],),
        )

    code, out = status(space, clock, capsys)
    assert code == 0, out
    assert "inga arbetare (postvakt run)" not in out
    rows = {line.split()[0]: line for line in out.splitlines() if line[:1].isdigit()}
    assert " ok " in rows[str(worker[0])] and rows[str(worker[0])].rstrip().endswith("1")
    assert "TYST" in rows[str(silent[0])] and "5 min sedan" in rows[str(silent[0])]
    assert "jobb i kön passes: 2 väntar, 1 pågår" in out

    code, raw = status(space, clock, capsys, "--json")
    found = json.loads(raw)
    workers = {w["id"]: w for w in found["workers"]}
    assert workers[worker[0]]["alive"] is True and workers[worker[0]]["jobs_doing"] == 1
    assert workers[silent[0]]["alive"] is False
    assert workers[silent[0]]["heartbeat_age_seconds"] >= 300
    assert found["queues"]["jobs"] == {"passes": {"todo": 2, "doing": 1}}


def test_status_needs_no_mail_server(
    tmp_path: Path, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    """Read-only: a config whose IMAP password is not even set still gives a status."""
    space = make_workspace(tmp_path / "ws")
    run_once(space, clock)
    space.config_path.write_text(
        space.config_path.read_text(encoding="utf-8")
        + """
[[mailboxes]]
address = "bygg@testby.se"
kind = "function"
unit = "Kontaktcenter"
owners = ["anna@testby.se"]
connector = "imap"
[mailboxes.imap]
host = "imap.invalid"
username = "bygg"
password_env = "PV_TEST_STATUS_UNSET"
""",
        encoding="utf-8",
    )
    code, out = status(space, clock, capsys)
    assert code == 1  # the new mailbox has never been read
    assert "INTE LÄST" in line_of(out, "bygg@testby.se")
    assert " ok " in line_of(out, "kontakt@testby.se")


def test_metrics_show_seconds_since_the_good_pass_and_failures_in_a_row(
    tmp_path: Path, clock: Clock
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from postvakt.metrics import exposition, registry_for

    space = make_workspace(tmp_path / "ws")
    shutil.rmtree(space.maildir("anna") / "cur")  # anna's Maildir is broken
    run_once(space, clock)
    later = fixed_clock(clock() + timedelta(minutes=5))
    cwd = Path.cwd()
    os.chdir(space.root)
    try:
        with Service(load_config(space.config_path), clock=later).open_readonly() as service:
            assert service.sessions is not None
            text = exposition(registry_for(service.config, service.sessions, later)).decode()
    finally:
        os.chdir(cwd)
    samples = {
        (s.name, s.labels.get("mailbox_id")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("postvakt_mailbox_seconds_since_last_good_pass", "1")] == 300
    assert samples[("postvakt_mailbox_failures_in_row", "1")] == 0
    assert samples[("postvakt_mailbox_failures_in_row", "2")] == 1
    assert ("postvakt_mailbox_seconds_since_last_good_pass", "2") not in samples
    assert "@" not in text


def test_a_database_that_does_not_answer_is_said_in_swedish(
    tmp_path: Path, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.ports import free_port

    closed = f"postgresql+psycopg://postvakt@127.0.0.1:{free_port()}/postvakt"
    space = make_workspace(tmp_path / "ws", closed)
    code = main(["--config", str(space.config_path), "status"], clock=clock)
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err.startswith("Fel: ") and "databas" in captured.err.lower()
    assert "Traceback" not in captured.err
