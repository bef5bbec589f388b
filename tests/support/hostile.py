"""Running ``postvakt`` on hostile input, in-process and as a real process (tests of bad input)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock

CLOCK = fixed_clock(datetime(2026, 11, 25, 10, 0, tzinfo=STOCKHOLM))
UNSET = "PV_TEST_BAD_INPUT_UNSET"
"""An environment variable no test sets."""


def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No config from the environment, no secret named by a row, crash files in tmp_path; the
    'postvakt' logger put back as it was (in-process runs point it at captured stderr)."""
    monkeypatch.delenv("POSTVAKT_CONFIG", raising=False)
    monkeypatch.delenv(UNSET, raising=False)
    monkeypatch.setenv("POSTVAKT_CRASH_DIR", str(tmp_path / "krascher"))
    logger = logging.getLogger("postvakt")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``main`` as the entry point runs it: a usage error's SystemExit is its exit code."""
    try:
        code = main(argv, clock=CLOCK)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def run_process(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("POSTVAKT_CONFIG", UNSET)}
    environ.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "postvakt", *argv],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr
