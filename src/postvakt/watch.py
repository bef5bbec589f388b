"""Watching one mailbox with IDLE: never busy, quiet in the log, back by itself.

:class:`IdleWatch` waits for new mail on a connector that :class:`SupportsIdle` and runs a
pass when it comes.  After any failure — the server gone or restarting, a refused login, an
unexpected error, or waits that keep ending at once with no news (a connection that cannot
wait) — it waits out a back-off from its :class:`~postvakt.retry.RetryPolicy` (by default
1 s doubling to 5 minutes, with jitter) before it tries again, so a server that is away
costs a connection attempt now and then, never a spinning thread.

It logs each change of state, not each attempt: "watching" once the first wait has stood,
"lost" at the first failure after that, "back" once a wait stands again (attempts in between
at DEBUG).  When the IDLE is open again the mailbox is read once at once, since mail that
came while nobody watched raises no IDLE event.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from postvakt.errors import ConnectorError
from postvakt.mailbox.base import SupportsIdle
from postvakt.retry import Backoff, RetryPolicy

__all__ = ["IDLE_POLL", "QUICK_RETURNS", "QUICK_SHARE", "IdleWatch"]

log = logging.getLogger("postvakt.service")

IDLE_POLL = 5.0
"""Seconds between checks of the stop flag while waiting in IDLE (the IDLE itself stays open)."""
QUICK_RETURNS = 10
QUICK_SHARE = 0.1
"""``QUICK_RETURNS`` waits in a row that end with nothing new within ``QUICK_SHARE`` of their
timeout count as a failure: a connection that cannot wait (a dead socket) must not spin."""


class IdleWatch:
    """The IDLE watch of one mailbox; :meth:`run` until ``stop`` is set."""

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
        self.address = address
        self.connector = connector
        self.folder = folder
        self.run_pass = run_pass
        self.stop = stop
        self.timeout = timeout
        self.backoff = Backoff(policy or RetryPolicy(), monotonic=monotonic)
        self._now = monotonic
        self.open = False
        """The last wait returned normally: the IDLE connection stands."""
        self.proven = False
        """A whole wait has stood since the last failure (the back-off is reset then)."""
        self._ever_proven = False
        self._down_since: float | None = None
        self._quick = 0

    def run(self) -> None:
        while not self.stop.is_set():
            self.step()

    def step(self) -> None:
        """One wait (or one back-off after a failure)."""
        # While the IDLE is not open the wait only opens it (timeout 0), so the mailbox is
        # read as soon as the IDLE stands, not one timeout later.
        timeout = self.timeout if self.open else 0.0
        started = self._now()
        try:
            new = self.connector.wait_for_new(self.folder(), timeout=timeout)
        except ConnectorError as exc:
            self._failed(str(exc))
            return
        except Exception as exc:  # a bug must neither end the watch nor make it spin
            log.debug("IDLE on %s failed", self.address, exc_info=True)
            self._failed(f"{type(exc).__name__}: {exc}", unexpected=True)
            return
        if not self.open:
            self.open = True
            self.run_pass()  # what came while nobody watched
            return
        if not new and self._now() - started < timeout * QUICK_SHARE:
            self._quick += 1
            if self._quick >= QUICK_RETURNS:
                self._failed(f"{self._quick} waits in a row ended at once with nothing new")
            return
        self._quick = 0
        if not self.proven:
            self._stood()
        if new:
            log.info("new mail in %s", self.address)
            self.run_pass()

    def _stood(self) -> None:
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

    def _failed(self, why: str, *, unexpected: bool = False) -> None:
        wait = self.backoff.failed()
        self._quick = 0
        self.open = False
        level = logging.ERROR if unexpected else logging.WARNING
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
        self.stop.wait(wait)
