"""Schema set-up under a lock, and a database newer than this Postvakt refused.

Several real processes open one fresh database at the same moment: each either sets the
schema up or waits and finds it done; none fails.  A database stamped with a revision these
migrations do not know is refused with a Swedish message and left as it was.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from postvakt.errors import SchemaTooNewError
from postvakt.registry.db import is_current, open_database
from tests.registry.upgrade_data import HEAD
from tests.support.workspace import make_workspace

OPENER = """
import sys, time
from postvakt.registry.db import open_database
start = float(sys.argv[2])
while time.time() < start:  # every process is imported and ready: now all at once
    time.sleep(0.001)
open_database(sys.argv[1]).dispose()
print("ok")
"""


def open_at_once(url: str, processes: int, tmp_path: Path) -> list[subprocess.CompletedProcess]:
    start = time.time() + 3.0  # longer than an import of postvakt
    env = {k: v for k, v in os.environ.items() if k != "POSTVAKT_CONFIG"}
    running = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, url, repr(start)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    done = []
    for proc in running:
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def test_processes_setting_up_one_fresh_database_at_once_never_fail(
    db_url: str, tmp_path: Path
) -> None:
    results = open_at_once(db_url, 4, tmp_path)
    for result in results:
        assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
        assert "Traceback" not in result.stderr
    engine = create_engine(db_url)
    try:
        assert is_current(engine)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    finally:
        engine.dispose()


def _stamp(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    finally:
        engine.dispose()


def test_a_database_newer_than_postvakt_is_refused_untouched(db_url: str) -> None:
    open_database(db_url).dispose()
    _stamp(db_url, "9999")
    with pytest.raises(SchemaTooNewError) as caught:
        open_database(db_url)
    message = str(caught.value)
    assert "schemaversion 9999" in message
    assert f"till och med {HEAD}" in message and "Uppgradera Postvakt" in message
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "9999"
        assert "mailbox_leases" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_the_command_line_refuses_a_newer_database_without_a_traceback(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    url = f"sqlite:///{workspace.root / 'postvakt.db'}"
    open_database(url).dispose()
    _stamp(url, "9999")
    env = {k: v for k, v in os.environ.items() if k != "POSTVAKT_CONFIG"}
    for command in (["run", "--once"], ["cases", "list"]):
        result = subprocess.run(
            [sys.executable, "-m", "postvakt", "--config", str(workspace.config_path), *command],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert "Databasen har schemaversion 9999" in result.stderr
        assert "Uppgradera Postvakt" in result.stderr


def test_database_errors_carry_no_bound_values(db_url: str) -> None:
    """Engines hide bound parameters: an error on an insert does not quote the row's values."""
    engine = open_database(db_url)
    insert = text("INSERT INTO people (name, address) VALUES (:name, :address)")
    try:
        with engine.begin() as connection:
            connection.execute(insert, {"name": "Karin Ek", "address": "k@example.net"})
        with pytest.raises(IntegrityError) as caught, engine.begin() as connection:
            connection.execute(insert, {"name": "Hemlig Hemligsson", "address": "k@example.net"})
    finally:
        engine.dispose()
    assert "Hemlig Hemligsson" not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)


def test_a_damaged_sqlite_file_is_told_in_swedish_without_a_traceback(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    path = workspace.root / "postvakt.db"
    open_database(f"sqlite:///{path}").dispose()
    data = bytearray(path.read_bytes())
    data[4096:] = b"Z" * (len(data) - 4096)  # the header stays valid, the pages do not
    path.write_bytes(bytes(data))
    env = {k: v for k, v in os.environ.items() if k != "POSTVAKT_CONFIG"}
    for command in (["run", "--once"], ["cases", "list"]):
        result = subprocess.run(
            [sys.executable, "-m", "postvakt", "--config", str(workspace.config_path), *command],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert "Databasfilen är skadad" in result.stderr
        assert "säkerhetskopian" in result.stderr
