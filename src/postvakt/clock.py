"""The clock is passed in, never read from a global: tests run on any date without patching."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["STOCKHOLM", "Clock", "fixed_clock", "system_clock"]

STOCKHOLM = ZoneInfo("Europe/Stockholm")

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""


def system_clock(tz: tzinfo = STOCKHOLM) -> Clock:
    def now() -> datetime:
        return datetime.now(tz)

    return now


def fixed_clock(at: datetime) -> Clock:
    if at.tzinfo is None:
        raise ValueError("fixed_clock needs an aware datetime")

    def now() -> datetime:
        return at

    return now
