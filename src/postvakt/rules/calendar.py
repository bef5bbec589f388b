"""The Swedish working-day calendar.

A working day is Monday–Friday that is neither a Swedish public holiday nor midsommarafton,
julafton or nyårsafton, nor one of the organisation's own closure days (klämdagar).

"Within N working days" of a date is the N-th working day *after* it: the day of receipt does
not count, and a receipt on a Saturday counts from Monday.  "Within N days" is N calendar
days; a last day that is not a working day moves to the next working day, as lag (1930:173)
om beräkning av lagstadgad tid says.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import holidays
from holidays import DE_FACTO, PUBLIC

__all__ = ["WorkingCalendar"]

_WEEKDAYS_SV = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")


@dataclass(frozen=True)
class WorkingCalendar:
    """Swedish working days, minus ``closure_days``.  Immutable and cheap to share."""

    closure_days: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def with_closures(cls, days: Iterable[date]) -> WorkingCalendar:
        return cls(closure_days=frozenset(days))

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        # include_sundays=False: Sundays are not working days anyway, and listing every Sunday
        # as a "holiday" would drown the real ones in `non_working_days`.
        return holidays.Sweden(categories=(PUBLIC, DE_FACTO), include_sundays=False, language="sv")

    def warm(self, today: date) -> None:
        """Read the holidays of ``today``'s year and the next now, not in a first pass.

        The ``holidays`` package imports its country modules and computes a year's days on
        first use: about 0.15 s, once per process, which a service pays at start (as it loads
        its model) rather than inside the first message's transaction.
        """
        for year in (today.year, today.year + 1):
            self.is_working_day(date(year, 1, 1))

    def holiday_name(self, day: date) -> str | None:
        """The Swedish name of the public holiday or eve on ``day``, or the closure day, or None."""
        name = self._holidays.get(day)
        if name:
            return str(name)
        if day in self.closure_days:
            return "Lokal stängningsdag"
        return None

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays and day not in self.closure_days

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def working_day_on_or_after(self, day: date) -> date:
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` itself never counts)."""
        if n < 0:
            raise ValueError("n must not be negative")
        day = start
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def add_days(self, start: date, n: int) -> date:
        """``n`` calendar days after ``start``; a non-working last day moves to the next working day."""
        if n < 0:
            raise ValueError("n must not be negative")
        return self.working_day_on_or_after(start + timedelta(days=n))

    def due(self, start: date, amount: int, unit: str) -> date:
        """The due date for ``amount`` ``unit`` ('working_days' or 'days') from ``start``.

        Remembered per calendar: a pass over thousands of messages asks for few dates.
        """
        key = (start, amount, unit)
        cached = self._due.get(key)
        if cached is None:
            cached = (
                self.add_working_days(start, amount)
                if unit == "working_days"
                else self.add_days(start, amount)
            )
            self._due[key] = cached
        return cached

    @cached_property
    def _due(self) -> dict[tuple[date, int, str], date]:
        return {}

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days lie in (start, end]; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def non_working_weekdays(self, year: int) -> Iterator[tuple[date, str]]:
        """Monday–Friday dates in ``year`` that are not working days, with their Swedish names."""
        day = date(year, 1, 1)
        while day.year == year:
            if day.weekday() < 5 and not self.is_working_day(day):
                yield day, self.holiday_name(day) or ""
            day += timedelta(days=1)

    @staticmethod
    def weekday_name(day: date) -> str:
        return _WEEKDAYS_SV[day.weekday()]
