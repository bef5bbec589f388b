"""Run a call in a helper process with a time limit: for work that may never end in C code
(a regular expression that backtracks without bound), which no thread can interrupt."""

from __future__ import annotations

import importlib
import multiprocessing
from collections.abc import Callable
from multiprocessing.pool import Pool
from typing import Any, TypeVar

T = TypeVar("T")


class Bounded:
    """One helper process, started on first use and replaced when a call overruns."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.overruns = 0
        self._pool: Pool | None = None

    def __call__(self, function: Callable[..., T], *args: Any) -> T | None:
        """``function(*args)`` in the helper; None when it took longer than the limit (the
        helper is killed and a new one starts for the next call; its start is not timed).
        ``function`` must be importable by name: the helper is forked from the forkserver's
        clean process, not from this one, which runs threads."""
        if self._pool is None:  # started, and the function's module imported, untimed
            self._pool = multiprocessing.get_context("forkserver").Pool(1)
            self._pool.apply(_load, (function.__module__,))
        pending = self._pool.apply_async(function, args)
        try:
            return pending.get(self.seconds)
        except multiprocessing.TimeoutError:
            self.overruns += 1
            self.close()
            return None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None


def _load(module: str) -> None:
    importlib.import_module(module)
