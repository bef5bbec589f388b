"""The SQLite database and the demo's folder hold citizen mail: only their owner may read them."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from postvakt.registry.db import open_database


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets everyone read new files, as on many servers."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def test_a_new_sqlite_database_is_the_owners_only(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "postvakt.db"
    engine = open_database(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT count(*) FROM cases"))
            files = sorted(p.name for p in tmp_path.iterdir())
            assert files == ["postvakt.db", "postvakt.db-shm", "postvakt.db-wal"]
            for name in files:
                assert _mode(tmp_path / name) == 0o600, name
    finally:
        engine.dispose()


def test_an_existing_database_open_to_others_is_warned_about(
    tmp_path: Path, open_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "postvakt.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="postvakt.db"):
        open_database(f"sqlite:///{path}").dispose()
    assert "can be read by others than its owner (mode 644)" in caplog.text
    assert _mode(path) == 0o644  # the operator's file: told, not changed


def test_the_demo_folder_is_the_owners_only(tmp_path: Path, open_umask: None) -> None:
    from postvakt.demo import build_demo

    config = build_demo(tmp_path / "demo")
    assert _mode(tmp_path / "demo") == 0o700
    assert config.parent == tmp_path / "demo"
