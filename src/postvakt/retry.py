"""Retry and back-off as a policy object, passed to connectors.

A connector that fails to reach its server records the failure and refuses to try again
until the back-off has passed; the error it raises then says how long it waits.  A success
resets the count.  The clock is passed in (``monotonic``) so tests need not sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Backoff", "RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off: ``base`` seconds after the first failure, doubling, at most ``cap``."""

    base: float = 2.0
    cap: float = 300.0

    def delay(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        return min(self.cap, self.base * 2 ** (failures - 1))


@dataclass
class Backoff:
    """The failure count and the earliest next attempt for one server connection."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    monotonic: Callable[[], float] = time.monotonic
    failures: int = 0
    not_before: float = 0.0

    def wait_left(self) -> float:
        """Seconds until the next attempt is allowed (0 when it may go now)."""
        return max(0.0, self.not_before - self.monotonic())

    def failed(self) -> float:
        """Record a failure; return the seconds to wait before the next attempt."""
        self.failures += 1
        wait = self.policy.delay(self.failures)
        self.not_before = self.monotonic() + wait
        return wait

    def succeeded(self) -> None:
        self.failures = 0
        self.not_before = 0.0
