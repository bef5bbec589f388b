"""Running the ``postvakt`` command in tests: as a real process, and the fixtures that keep
in-process runs from leaving logging or a config variable behind."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["DEMO_MESSAGES", "no_config_from_environment", "postvakt", "restore_logging"]

DEMO_MESSAGES = Path(__file__).resolve().parents[2] / "src" / "postvakt" / "demo_messages"


def postvakt(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real command in a fresh interpreter; POSTVAKT_CONFIG only when given."""
    environ = {k: v for k, v in os.environ.items() if k != "POSTVAKT_CONFIG"}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "postvakt", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        # a bound against a hang, not a speed test: `classifier train` takes about 30 s
        # alone and over 120 s on a two-core machine busy with other training
        timeout=300,
        check=False,
    )


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """In-process runs configure the 'postvakt' logger on the captured stderr; undo that."""
    logger = logging.getLogger("postvakt")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


@pytest.fixture(autouse=True)
def no_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POSTVAKT_CONFIG", raising=False)
