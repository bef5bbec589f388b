"""Retry and back-off as a policy object, passed to connectors and to the IDLE watcher.

A connector that fails to reach its server records the failure and refuses to try again
until the back-off has passed; the error it raises then says how long it waits.  A success
resets the count.  The clock is passed in (``monotonic``) so tests need not sleep, and so is
the source of randomness for the jitter (``random``), so a test can fix it.

The default policy waits 1 s after the first failure, doubling to at most 5 minutes, each
wait drawn at random from its last quarter (``jitter``): many Postvakt watchers cut off by
one server restart do not all come back in the same second.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Backoff", "RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off: ``base`` seconds after the first failure, doubling, at most ``cap``.

    ``jitter`` is the share of each wait that is random: a wait of ``d`` is drawn from
    ``[d * (1 - jitter), d]``, so it never exceeds the cap and never drops to nothing.
    """

    base: float = 1.0
    cap: float = 300.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base or not 0 <= self.jitter < 1:
            raise ValueError(f"not a back-off: {self!r}")

    def delay(self, failures: int) -> float:
        """The longest wait after ``failures`` failures in a row (0 before the first)."""
        if failures <= 0:
            return 0.0
        # min() on the exponent first: 2 ** 2000 would not fit a float
        return min(self.cap, self.base * 2 ** min(failures - 1, 64))

    def wait(self, failures: int, draw: Callable[[], float] = _random.random) -> float:
        """The wait after ``failures`` failures, jittered with ``draw()`` in [0, 1)."""
        longest = self.delay(failures)
        return longest * (1 - self.jitter * draw())


@dataclass
class Backoff:
    """The failure count and the earliest next attempt for one server connection."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    monotonic: Callable[[], float] = time.monotonic
    random: Callable[[], float] = _random.random
    failures: int = 0
    not_before: float = 0.0

    def wait_left(self) -> float:
        """Seconds until the next attempt is allowed (0 when it may go now)."""
        return max(0.0, self.not_before - self.monotonic())

    def failed(self) -> float:
        """Record a failure; return the seconds to wait before the next attempt."""
        self.failures += 1
        wait = self.policy.wait(self.failures, self.random)
        self.not_before = self.monotonic() + wait
        return wait

    def succeeded(self) -> None:
        self.failures = 0
        self.not_before = 0.0
