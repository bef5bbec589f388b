"""The service: passes over real Maildirs, and the long-running process stopping cleanly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from postvakt.clock import fixed_clock
from postvakt.config import load_config
from postvakt.errors import ConfigError
from postvakt.registry.models import Disposition
from postvakt.service import Service
from tests.support.workspace import IMAP_SECRET_CONFIG, Workspace, citizen_mail

COMPLAINT = (
    "Hej!\n\nJag vill klaga på att snön inte har röjts på Björkvägen på tre dagar. "
    "Det är inte acceptabelt.\n\nKarin Ek\n"
)
OPINION = (
    "Hej!\n\nJag har en synpunkt: biblioteket borde ha öppet längre på lördagar. "
    "Det vore bra för många.\n\nPer Ek\n"
)


def cases_in(database: Path) -> dict[str, str]:
    """Message-ID (in angle brackets, as in the header) -> diary number, from the SQLite file."""
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT message_id, reference FROM cases")).all()
    except OperationalError:  # not created yet by the service's migration
        return {}
    finally:
        engine.dispose()
    return {f"<{mid}>": str(ref) for mid, ref in rows}


# ------------------------------------------------------------------------- in process


@pytest.fixture
def service(workspace: Workspace, now: datetime) -> Iterator[Service]:
    with Service(workspace.config, clock=fixed_clock(now)).open() as svc:
        yield svc


def test_a_second_pass_registers_nothing_again(workspace: Workspace, service: Service) -> None:
    workspace.deliver(citizen_mail(COMPLAINT, message_id="<k1@example.net>"), name="k1")
    workspace.deliver(
        citizen_mail(
            OPINION,
            subject="Synpunkt på biblioteket",
            sender="Per Ek <per.ek@example.org>",
            to="anna@testby.se",
            message_id="<p1@example.org>",
        ),
        who="anna",
        name="p1",
    )
    workspace.deliver(
        citizen_mail(
            "Jag är på semester till den 1 december.",
            subject="Autosvar: Frånvaro",
            headers={"Auto-Submitted": "auto-replied"},
            message_id="<auto1@example.net>",
        ),
        name="auto1",
    )
    before = {who: workspace.files(who) for who in ("kontakt", "anna")}

    first = service.run_once()

    assert first.errors == []
    dispositions = {o.key: o.disposition for o in first.outcomes}
    assert dispositions == {
        "k1": Disposition.CASE,
        "p1": Disposition.CASE,
        "auto1": Disposition.SCREENED,
    }
    numbers = sorted(o.case for o in first.outcomes if o.case)
    assert numbers == ["KS 2026/1", "KS 2026/2"]
    assert sorted(ref for ref, _where in first.drafts_saved) == numbers
    assert len(workspace.drafts("kontakt")) == 1
    assert len(workspace.drafts("anna")) == 1

    second = service.run_once()

    assert second.outcomes == []
    assert second.drafts_saved == []
    assert second.errors == []
    assert len(workspace.drafts("kontakt")) == 1
    assert len(workspace.drafts("anna")) == 1
    assert cases_in(workspace.root / "postvakt.db") == {
        "<k1@example.net>": "KS 2026/1",
        "<p1@example.org>": "KS 2026/2",
    }
    # The mailboxes are read in place: nothing moved, renamed or changed.
    assert {who: workspace.files(who) for who in ("kontakt", "anna")} == before


def test_a_new_service_on_the_same_database_does_not_repeat_work(
    workspace: Workspace, now: datetime
) -> None:
    workspace.deliver(citizen_mail(COMPLAINT, message_id="<k1@example.net>"), name="k1")
    with Service(workspace.config, clock=fixed_clock(now)).open() as first:
        assert [o.case for o in first.run_once().outcomes] == ["KS 2026/1"]

    workspace.deliver(
        citizen_mail(COMPLAINT, subject="Snöröjningen igen", message_id="<k2@example.net>"),
        name="k2",
    )
    with Service(workspace.config, clock=fixed_clock(now)).open() as second:
        report = second.run_once()

    assert [(o.key, o.case) for o in report.outcomes] == [("k2", "KS 2026/2")]


def test_a_missing_maildir_is_reported_and_the_other_mailbox_still_read(
    workspace: Workspace, now: datetime
) -> None:
    shutil.rmtree(workspace.maildir("kontakt"))  # the first mailbox in the config
    workspace.deliver(
        citizen_mail(OPINION, subject="Synpunkt", to="anna@testby.se", message_id="<p1@x.se>"),
        who="anna",
        name="p1",
    )

    with Service(workspace.config, clock=fixed_clock(now)).open() as service:
        report = service.run_once()

        assert len(report.errors) == 1
        assert "kontakt@testby.se" in report.errors[0]
        assert str(workspace.maildir("kontakt")) in report.errors[0]
        assert [(o.mailbox, o.key, o.disposition) for o in report.outcomes] == [
            ("anna@testby.se", "p1", Disposition.CASE)
        ]

        # Once the folder is back, the next pass reads it.
        for sub in ("cur", "new", "tmp"):
            (workspace.maildir("kontakt") / sub).mkdir(parents=True)
        workspace.deliver(citizen_mail(COMPLAINT, message_id="<k1@x.se>"), name="k1")
        again = service.run_once()

    assert again.errors == []
    assert [(o.mailbox, o.key, o.case) for o in again.outcomes] == [
        ("kontakt@testby.se", "k1", "KS 2026/2")
    ]


def test_open_refuses_when_a_named_secret_is_not_set(tmp_path: Path, now: datetime) -> None:
    path = tmp_path / "postvakt.toml"
    path.write_text(IMAP_SECRET_CONFIG, encoding="utf-8")
    config = load_config(path)

    with pytest.raises(ConfigError) as info:
        Service(config, clock=fixed_clock(now), environ={}).open()

    assert [p.key for p in info.value.problems] == ["mailboxes[0].imap.password_env"]
    assert "PV_TEST_IMAP_PASSWORD" in str(info.value)
    assert not (tmp_path / "postvakt.db").exists()  # refused before touching anything

    # Reading the register needs no connectors and so no secrets.
    with Service(config, clock=fixed_clock(now), environ={}).open(need_connectors=False) as svc:
        assert svc.connectors == {}
        assert svc.run_once().outcomes == []


# ------------------------------------------------------------------------- the process


def start_service(workspace: Workspace, tmp_path: Path) -> subprocess.Popen[bytes]:
    with workspace.config_path.open("a", encoding="utf-8") as f:
        f.write("\n[service]\npoll_interval_seconds = 5\n")
    env = dict(os.environ)
    env.pop("POSTVAKT_CONFIG", None)
    with (tmp_path / "stdout.txt").open("wb") as out, (tmp_path / "stderr.txt").open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "postvakt", "--config", str(workspace.config_path), "run"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=err,
        )


def wait_for_case(
    proc: subprocess.Popen[bytes], database: Path, message_id: str, tmp_path: Path
) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = cases_in(database).get(message_id)
        if found:
            return found
        if proc.poll() is not None:
            stderr = (tmp_path / "stderr.txt").read_text(errors="replace")
            pytest.fail(f"the service exited with {proc.returncode}:\n{stderr}")
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    stderr = (tmp_path / "stderr.txt").read_text(errors="replace")
    pytest.fail(f"no case for {message_id} within 20 s:\n{stderr}")


def stop(proc: subprocess.Popen[bytes], signum: int) -> int:
    proc.send_signal(signum)
    try:
        return proc.wait(timeout=8)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"the service did not stop within 8 s of signal {signum}")


def test_run_polls_until_sigterm_and_exits_cleanly(workspace: Workspace, tmp_path: Path) -> None:
    proc = start_service(workspace, tmp_path)
    database = workspace.root / "postvakt.db"
    try:
        workspace.deliver(citizen_mail(COMPLAINT, message_id="<t1@example.net>"), name="t1")
        assert wait_for_case(proc, database, "<t1@example.net>", tmp_path) == "KS 2026/1"

        # A message arriving later is picked up by a later pass of the same process.
        workspace.deliver(
            citizen_mail(
                OPINION,
                subject="Synpunkt på biblioteket",
                to="anna@testby.se",
                message_id="<t2@example.net>",
            ),
            who="anna",
            name="t2",
        )
        assert wait_for_case(proc, database, "<t2@example.net>", tmp_path) == "KS 2026/2"

        assert stop(proc, signal.SIGTERM) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = (tmp_path / "stderr.txt").read_text(errors="replace")
    assert "Postvakt stopped" in stderr
    assert "Traceback" not in stderr
    assert len(workspace.drafts("kontakt")) == 1
    assert len(workspace.drafts("anna")) == 1


def test_run_stops_on_sigint(workspace: Workspace, tmp_path: Path) -> None:
    proc = start_service(workspace, tmp_path)
    try:
        workspace.deliver(citizen_mail(COMPLAINT, message_id="<i1@example.net>"), name="i1")
        found = wait_for_case(proc, workspace.root / "postvakt.db", "<i1@example.net>", tmp_path)
        assert found == "KS 2026/1"

        assert stop(proc, signal.SIGINT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = (tmp_path / "stderr.txt").read_text(errors="replace")
    assert "Postvakt stopped" in stderr
    assert "KeyboardInterrupt" not in stderr
