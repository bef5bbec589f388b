"""Watching mailboxes with IDLE: never busy, quiet in the log, back by itself.

Every mailbox watched with IDLE has a :class:`WatchState`: after any failure — the server
gone or restarting, a refused login, a server with no room for another connection, an
unexpected error, or a connection that cannot wait (readable again and again with nothing
in it) — it waits out a back-off from its :class:`~postvakt.retry.RetryPolicy` (by default
1 s doubling to 5 minutes, with jitter) before it tries again, so a server that is away
costs a connection attempt now and then, never a spinning thread.

It logs each change of state, not each attempt: "watching" once the IDLE has stood, "lost"
at the first failure after that, "back" once it stands again (attempts in between at DEBUG).
When the IDLE is open again the mailbox is read once at once, since mail that came while
nobody watched raises no IDLE event.

:class:`~postvakt.idle_hub.IdleHub` drives these states for every mailbox from one event
loop; :class:`IdleWatch` is the state of a connector that can only block in
``wait_for_new`` (the hub steps those on a small fixed pool).  :class:`PassRunner` runs the
passes the watchers ask for on a bounded pool: one pass per mailbox at a time, and a burst
of news for one mailbox gives one more pass, not one per event.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from postvakt.errors import ConnectorError
from postvakt.mailbox.base import SupportsIdle
from postvakt.retry import Backoff, RetryPolicy

__all__ = [
    "IDLE_POLL",
    "QUICK_RETURNS",
    "QUICK_SHARE",
    "IdleWatch",
    "PassRunner",
    "WatchState",
]

log = logging.getLogger("postvakt.service")

IDLE_POLL = 5.0
"""Seconds a blocking wait lasts (the IDLE itself stays open), and how long an IDLE must
stand before it counts as standing (the back-off is reset then)."""
QUICK_RETURNS = 10
QUICK_SHARE = 0.1
"""``QUICK_RETURNS`` waits in a row that end with nothing new within ``QUICK_SHARE`` of their
timeout (or readable sockets with nothing in them) count as a failure: a connection that
cannot wait (a dead socket) must not spin."""


class WatchState:
    """The back-off and the log lines of one watched mailbox (not thread-safe: one owner)."""

    def __init__(
        self,
        address: str,
        *,
        policy: RetryPolicy | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.address = address
        self.backoff = Backoff(policy or RetryPolicy(), monotonic=monotonic)
        self._now = monotonic
        self.proven = False
        """The IDLE has stood since the last failure (the back-off is reset then)."""
        self._ever_proven = False
        self._down_since: float | None = None
        self.quick = 0

    def stood(self) -> None:
        """The IDLE stands: say so if that is news, and reset the back-off."""
        if self.proven:
            return
        if not self._ever_proven:
            log.info("IDLE on %s: watching", self.address)
        else:
            assert self._down_since is not None
            log.info(
                "IDLE on %s back after %.0f s and %d failed attempts",
                self.address,
                self._now() - self._down_since,
                self.backoff.failures,
            )
        self.proven = self._ever_proven = True
        self._down_since = None
        self.backoff.succeeded()

    def failed(self, why: str, *, unexpected: bool = False) -> float:
        """Record a failure, log it if it changes the state; the seconds to wait."""
        wait = self.backoff.failed()
        self.quick = 0
        level = logging.ERROR if unexpected else logging.WARNING
        why = why.removeprefix(f"{self.address}: ").rstrip(".")  # the line names the mailbox
        if self.proven:
            self.proven = False
            self._down_since = self._now()
            log.log(
                level,
                "IDLE on %s lost: %s; trying again with back-off, first in %.1f s",
                self.address,
                why,
                wait,
            )
        elif self.backoff.failures == 1 and not self._ever_proven:
            self._down_since = self._now()
            log.log(
                level,
                "IDLE on %s could not start: %s; trying again with back-off, first in %.1f s",
                self.address,
                why,
                wait,
            )
        else:
            log.debug(
                "IDLE on %s: attempt %d failed (%s); next in %.1f s",
                self.address,
                self.backoff.failures,
                why,
                wait,
            )
        return wait


class IdleWatch(WatchState):
    """The IDLE watch of a mailbox whose connector can only block in ``wait_for_new``.

    :meth:`step` waits once and says when the next step is due; :meth:`run` steps until
    ``stop`` is set (one thread for this one mailbox: for tests and tools; the service steps
    every such watch on the hub's small pool)."""

    def __init__(
        self,
        address: str,
        connector: SupportsIdle,
        *,
        folder: Callable[[], str],
        run_pass: Callable[[], None],
        stop: threading.Event,
        policy: RetryPolicy | None = None,
        timeout: float = IDLE_POLL,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        super().__init__(address, policy=policy, monotonic=monotonic)
        self.connector = connector
        self.folder = folder
        self.run_pass = run_pass
        self.stop = stop
        self.timeout = timeout
        self.open = False
        """The last wait returned normally: the IDLE connection stands."""

    def run(self) -> None:
        while not self.stop.is_set():
            delay = self.step()
            if delay > 0:
                self.stop.wait(delay)

    def step(self) -> float:
        """One wait; the seconds until the next step is due (a back-off after a failure)."""
        # While the IDLE is not open the wait only opens it (timeout 0), so the mailbox is
        # read as soon as the IDLE stands, not one timeout later.
        timeout = self.timeout if self.open else 0.0
        started = self._now()
        try:
            new = self.connector.wait_for_new(self.folder(), timeout=timeout)
        except ConnectorError as exc:
            return self._fail(str(exc))
        except Exception as exc:  # a bug must neither end the watch nor make it spin
            # the traceback once per run of failures: the same one at every back-off is noise
            log.debug("IDLE on %s failed", self.address, exc_info=self.backoff.failures == 0)
            return self._fail(f"{type(exc).__name__}: {exc}", unexpected=True)
        if not self.open:
            self.open = True
            self.run_pass()  # what came while nobody watched
            return 0.0
        if not new and self._now() - started < timeout * QUICK_SHARE:
            self.quick += 1
            if self.quick >= QUICK_RETURNS:
                return self._fail(f"{self.quick} waits in a row ended at once with nothing new")
            return 0.0
        self.quick = 0
        self.stood()
        if new:
            log.info("new mail in %s", self.address)
            self.run_pass()
        return 0.0

    def _fail(self, why: str, *, unexpected: bool = False) -> float:
        self.open = False
        return self.failed(why, unexpected=unexpected)


class PassRunner:
    """Runs the passes watchers ask for on at most ``workers`` threads.

    A pass for one mailbox never runs twice at once: asking while one waits changes nothing,
    asking while one runs gives exactly one more after it (mail may have come after it read
    the folder).  :meth:`close` lets running passes finish and drops the waiting ones."""

    def __init__(self, run_pass: Callable[[str], None], *, workers: int = 4):
        self._run_pass = run_pass
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="idle-pass")
        self._lock = threading.Lock()
        self._waiting: set[str] = set()
        self._running: set[str] = set()
        self._again: set[str] = set()
        self._closed = False
        self.asked = 0
        """Passes asked for (for tests and benchmarks)."""
        self.started = 0
        """Passes started."""

    def request(self, address: str) -> None:
        with self._lock:
            self.asked += 1
            if self._closed or address in self._waiting:
                return
            if address in self._running:
                self._again.add(address)
                return
            self._waiting.add(address)
            self._pool.submit(self._run, address)

    def busy(self) -> bool:
        """Whether a pass waits or runs."""
        with self._lock:
            return bool(self._waiting or self._running)

    def _run(self, address: str) -> None:
        with self._lock:
            self._waiting.discard(address)
            if self._closed:
                return
            self._running.add(address)
            self.started += 1
        try:
            self._run_pass(address)
        except Exception:  # the service's pass logs its own errors; this is a last guard
            log.exception("pass over %s stopped", address)
        finally:
            with self._lock:
                self._running.discard(address)
                if address in self._again and not self._closed:
                    self._again.discard(address)
                    self._waiting.add(address)
                    self._pool.submit(self._run, address)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
