"""The Swedish working-day calendar, pinned to real dates computed by hand.

Every case carries its reasoning: "(n)" marks the n-th working day counted, brackets list the
days skipped.  The day of receipt never counts for working days.  For calendar days the last
day moves to the next working day when it is not one (lag (1930:173)).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from postvakt.rules.calendar import WorkingCalendar
from tests.support.cli import postvakt

CAL = WorkingCalendar()
# Örebro-style klämdag: the Friday after Ascension Day 2026 (Thu 14 May) is closed.
KLAMDAG = date(2026, 5, 15)
CAL_CLOSED = WorkingCalendar.with_closures([KLAMDAG])

D = date


# --- "within N working days" ----------------------------------------------------------------

WORKING_DAY_CASES = [
    # Christmas and New Year 2026/27 (julafton Thu 24 Dec, nyårsafton Thu 31 Dec).
    pytest.param(
        # Tue 22 Dec 2026: 23 (1), [24 julafton, 25 juldagen, 26-27 weekend], 28 (2),
        # 29 (3), 30 (4), [31 nyårsafton, 1 Jan nyårsdagen, 2-3 weekend], 4 Jan (5)
        D(2026, 12, 22),
        5,
        D(2027, 1, 4),
        id="2026-christmas-5wd",
    ),
    pytest.param(
        # Wed 23 Dec 2026: [24 julafton, 25 juldagen, 26-27 weekend], 28 (1)
        D(2026, 12, 23),
        1,
        D(2026, 12, 28),
        id="2026-christmas-eve-eve-1wd",
    ),
    pytest.param(
        # Wed 23 Dec 2026: 28 (1), 29 (2), 30 (3), [31, 1 Jan, 2-3 weekend], 4 Jan (4), 5 Jan (5)
        D(2026, 12, 23),
        5,
        D(2027, 1, 5),
        id="2026-christmas-eve-eve-5wd",
    ),
    pytest.param(
        # Wed 30 Dec 2026: [31 nyårsafton, 1 Jan nyårsdagen, 2-3 weekend], 4 (1), 5 (2),
        # [6 Jan trettondedag jul], 7 (3), 8 (4), [9-10 weekend], 11 (5)
        D(2026, 12, 30),
        5,
        D(2027, 1, 11),
        id="2026-new-year-and-epiphany-5wd",
    ),
    # Christmas and New Year 2027/28 (julafton Fri 24 Dec, juldagen Sat, nyårsafton Fri 31 Dec,
    # nyårsdagen Sat 1 Jan 2028, trettondedag jul Thu 6 Jan 2028).
    pytest.param(
        # Wed 22 Dec 2027: 23 (1), [24 julafton, 25-26 weekend], 27 (2), 28 (3), 29 (4), 30 (5)
        D(2027, 12, 22),
        5,
        D(2027, 12, 30),
        id="2027-christmas-5wd",
    ),
    pytest.param(
        # Thu 23 Dec 2027: [24 julafton, 25-26 weekend], 27 (1), 28 (2), 29 (3), 30 (4),
        # [31 nyårsafton, 1-2 Jan weekend], 3 Jan (5)
        D(2027, 12, 23),
        5,
        D(2028, 1, 3),
        id="2027-christmas-across-year-5wd",
    ),
    pytest.param(
        # Thu 30 Dec 2027: [31 nyårsafton, 1-2 weekend], 3 (1), 4 (2), 5 (3)
        D(2027, 12, 30),
        3,
        D(2028, 1, 5),
        id="2027-new-year-3wd",
    ),
    pytest.param(
        # Thu 30 Dec 2027: 3 (1), 4 (2), 5 (3), [6 trettondedag jul], 7 (4)
        D(2027, 12, 30),
        4,
        D(2028, 1, 7),
        id="2028-epiphany-4wd",
    ),
    # Trettondedag jul 2026 is Tue 6 Jan.
    pytest.param(
        # Mon 5 Jan 2026: [6 trettondedag jul], 7 (1)
        D(2026, 1, 5),
        1,
        D(2026, 1, 7),
        id="2026-epiphany-1wd",
    ),
    # Easter 2026: långfredagen Fri 3 Apr, annandag påsk Mon 6 Apr; skärtorsdag is a working day.
    pytest.param(
        # Wed 1 Apr 2026: 2 (1), [3 långfredagen, 4-5 weekend, 6 annandag påsk], 7 (2)
        D(2026, 4, 1),
        2,
        D(2026, 4, 7),
        id="2026-easter-2wd",
    ),
    pytest.param(
        # Thu 2 Apr 2026: [3, 4, 5, 6], 7 (1), 8 (2), 9 (3), 10 (4), [11-12 weekend], 13 (5)
        D(2026, 4, 2),
        5,
        D(2026, 4, 13),
        id="2026-easter-5wd",
    ),
    # Easter 2027: långfredagen Fri 26 Mar, annandag påsk Mon 29 Mar.
    pytest.param(
        # Wed 24 Mar 2027: 25 (1), [26 långfredagen, 27-28 weekend, 29 annandag påsk],
        # 30 (2), 31 (3)
        D(2027, 3, 24),
        3,
        D(2027, 3, 31),
        id="2027-easter-3wd",
    ),
    # Första maj: Fri 1 May 2026 (a weekday lost); Sat 1 May 2027 (none lost).
    pytest.param(
        # Thu 30 Apr 2026: [1 May första maj, 2-3 weekend], 4 (1)
        D(2026, 4, 30),
        1,
        D(2026, 5, 4),
        id="2026-may-day-1wd",
    ),
    pytest.param(
        # Fri 30 Apr 2027: [1-2 May weekend, första maj on the Saturday], 3 (1), 4 (2)
        D(2027, 4, 30),
        2,
        D(2027, 5, 4),
        id="2027-may-day-on-saturday-2wd",
    ),
    # Ascension Day: Thu 14 May 2026, Thu 6 May 2027.
    pytest.param(
        # Wed 13 May 2026: [14 Kristi himmelsfärdsdag], 15 (1), [16-17 weekend], 18 (2)
        D(2026, 5, 13),
        2,
        D(2026, 5, 18),
        id="2026-ascension-2wd",
    ),
    pytest.param(
        # Tue 12 May 2026: 13 (1), [14], 15 (2), [16-17], 18 (3), 19 (4), 20 (5)
        D(2026, 5, 12),
        5,
        D(2026, 5, 20),
        id="2026-ascension-5wd",
    ),
    pytest.param(
        # Wed 5 May 2027: [6 Kristi himmelsfärdsdag], 7 (1)
        D(2027, 5, 5),
        1,
        D(2027, 5, 7),
        id="2027-ascension-1wd",
    ),
    # National Day: Sat 6 Jun 2026 and Sun 6 Jun 2027 (no weekday lost, no substitute day);
    # Fri 6 Jun 2025 is a weekday holiday.
    pytest.param(
        # Fri 5 Jun 2026: [6 nationaldagen (Sat), 7 Sun], 8 (1), 9 (2), 10 (3), 11 (4), 12 (5)
        D(2026, 6, 5),
        5,
        D(2026, 6, 12),
        id="2026-national-day-on-saturday-5wd",
    ),
    pytest.param(
        # Fri 4 Jun 2027: [5 Sat, 6 nationaldagen (Sun)], 7 (1)
        D(2027, 6, 4),
        1,
        D(2027, 6, 7),
        id="2027-national-day-on-sunday-1wd",
    ),
    pytest.param(
        # Thu 5 Jun 2025: [6 nationaldagen (Fri), 7-8 weekend], 9 (1)
        D(2025, 6, 5),
        1,
        D(2025, 6, 9),
        id="2025-national-day-on-friday-1wd",
    ),
    # Midsommarafton: Fri 19 Jun 2026, Fri 25 Jun 2027.
    pytest.param(
        # Thu 18 Jun 2026: [19 midsommarafton, 20 midsommardagen, 21 Sun], 22 (1)
        D(2026, 6, 18),
        1,
        D(2026, 6, 22),
        id="2026-midsummer-1wd",
    ),
    pytest.param(
        # Wed 17 Jun 2026: 18 (1), [19, 20, 21], 22 (2), 23 (3)
        D(2026, 6, 17),
        3,
        D(2026, 6, 23),
        id="2026-midsummer-3wd",
    ),
    pytest.param(
        # Thu 24 Jun 2027: [25 midsommarafton, 26 midsommardagen, 27 Sun], 28 (1)
        D(2027, 6, 24),
        1,
        D(2027, 6, 28),
        id="2027-midsummer-1wd",
    ),
    # Alla helgons dag: Sat 31 Oct 2026 (no weekday lost; Fri 30 Oct is a working day).
    pytest.param(
        # Thu 29 Oct 2026: 30 (1), [31 alla helgons dag (Sat), 1 Nov Sun], 2 Nov (2)
        D(2026, 10, 29),
        2,
        D(2026, 11, 2),
        id="2026-all-saints-on-saturday-2wd",
    ),
    # Receipt on a weekend counts from Monday.
    pytest.param(
        # Sat 7 Nov 2026: [8 Sun], 9 (1), 10 (2), 11 (3), 12 (4), 13 (5)
        D(2026, 11, 7),
        5,
        D(2026, 11, 13),
        id="saturday-receipt-5wd",
    ),
    pytest.param(
        # Sun 8 Nov 2026: 9 (1), 10 (2), 11 (3), 12 (4), 13 (5)
        D(2026, 11, 8),
        5,
        D(2026, 11, 13),
        id="sunday-receipt-5wd",
    ),
    pytest.param(
        # Sat 7 Nov 2026: [8 Sun], 9 (1)
        D(2026, 11, 7),
        1,
        D(2026, 11, 9),
        id="saturday-receipt-1wd",
    ),
    pytest.param(
        # Sun 8 Nov 2026: 9 (1)
        D(2026, 11, 8),
        1,
        D(2026, 11, 9),
        id="sunday-receipt-1wd",
    ),
    # Receipt on a holiday.
    pytest.param(
        # Thu 24 Dec 2026 (julafton): [25, 26-27], 28 (1)
        D(2026, 12, 24),
        1,
        D(2026, 12, 28),
        id="receipt-on-julafton-1wd",
    ),
    pytest.param(
        # Fri 25 Dec 2026 (juldagen): [26-27], 28 (1), 29 (2)
        D(2026, 12, 25),
        2,
        D(2026, 12, 29),
        id="receipt-on-juldagen-2wd",
    ),
    pytest.param(
        # Fri 1 Jan 2027 (nyårsdagen): [2-3 weekend], 4 (1), 5 (2)
        D(2027, 1, 1),
        2,
        D(2027, 1, 5),
        id="receipt-on-nyarsdagen-2wd",
    ),
    pytest.param(
        # Fri 3 Apr 2026 (långfredagen): [4-5, 6 annandag påsk], 7 (1)
        D(2026, 4, 3),
        1,
        D(2026, 4, 7),
        id="receipt-on-good-friday-1wd",
    ),
    pytest.param(
        # Fri 19 Jun 2026 (midsommarafton): [20-21], 22 (1), 23 (2)
        D(2026, 6, 19),
        2,
        D(2026, 6, 23),
        id="receipt-on-midsommarafton-2wd",
    ),
    # N = 1 on an ordinary week, and N = 0 (the receipt day itself when it is a working day).
    pytest.param(
        # Mon 9 Nov 2026: 10 (1)
        D(2026, 11, 9),
        1,
        D(2026, 11, 10),
        id="ordinary-1wd",
    ),
    pytest.param(
        # Fri 13 Nov 2026: [14-15 weekend], 16 (1)
        D(2026, 11, 13),
        1,
        D(2026, 11, 16),
        id="friday-1wd",
    ),
    pytest.param(
        # Tue 22 Dec 2026, N = 0: no working day is counted
        D(2026, 12, 22),
        0,
        D(2026, 12, 22),
        id="zero-wd",
    ),
]


@pytest.mark.parametrize(("start", "n", "expected"), WORKING_DAY_CASES)
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert CAL.add_working_days(start, n) == expected
    assert CAL.due(start, n, "working_days") == expected


CLOSURE_CASES = [
    pytest.param(
        # Wed 13 May 2026: [14 Kristi himmelsfärdsdag, 15 klämdag, 16-17 weekend], 18 (1), 19 (2)
        D(2026, 5, 13),
        2,
        D(2026, 5, 19),
        id="ascension-klamdag-2wd",
    ),
    pytest.param(
        # Tue 12 May 2026: 13 (1), [14, 15, 16, 17], 18 (2), 19 (3), 20 (4), 21 (5)
        D(2026, 5, 12),
        5,
        D(2026, 5, 21),
        id="ascension-klamdag-5wd",
    ),
    pytest.param(
        # Thu 14 May 2026 (holiday): [15 klämdag, 16-17], 18 (1)
        D(2026, 5, 14),
        1,
        D(2026, 5, 18),
        id="receipt-on-ascension-klamdag-1wd",
    ),
]


@pytest.mark.parametrize(("start", "n", "expected"), CLOSURE_CASES)
def test_closure_days_are_not_working_days(start: date, n: int, expected: date) -> None:
    assert CAL_CLOSED.add_working_days(start, n) == expected
    # Without the closure the Friday counts, and the result is one working day earlier.
    assert CAL.add_working_days(start, n) < expected


def test_closure_day_itself() -> None:
    assert CAL.is_working_day(KLAMDAG)
    assert not CAL_CLOSED.is_working_day(KLAMDAG)
    assert CAL_CLOSED.holiday_name(KLAMDAG) == "Lokal stängningsdag"
    assert CAL.holiday_name(KLAMDAG) is None
    # A closure day on a weekend changes nothing: Sat 16 May 2026.
    weekend = WorkingCalendar.with_closures([D(2026, 5, 16)])
    # Fri 15 May 2026: [16-17], 18 (1)
    assert weekend.add_working_days(D(2026, 5, 15), 1) == D(2026, 5, 18)


# --- "within N days" --------------------------------------------------------------------------

DAY_CASES = [
    pytest.param(
        # Mon 2 Nov 2026 + 7 = Mon 9 Nov, a working day: stays
        D(2026, 11, 2),
        7,
        D(2026, 11, 9),
        id="lands-on-working-day",
    ),
    pytest.param(
        # Mon 2 Nov 2026 + 5 = Sat 7 Nov -> [7 Sat, 8 Sun] -> Mon 9 Nov
        D(2026, 11, 2),
        5,
        D(2026, 11, 9),
        id="lands-on-saturday",
    ),
    pytest.param(
        # Sat 31 Oct 2026 (alla helgons dag) + 7 = Sat 7 Nov -> Mon 9 Nov
        D(2026, 10, 31),
        7,
        D(2026, 11, 9),
        id="saturday-receipt-lands-on-saturday",
    ),
    pytest.param(
        # Mon 2 Nov 2026 + 6 = Sun 8 Nov -> Mon 9 Nov
        D(2026, 11, 2),
        6,
        D(2026, 11, 9),
        id="lands-on-sunday",
    ),
    pytest.param(
        # Thu 17 Dec 2026 + 7 = Thu 24 Dec julafton -> [24, 25 juldagen, 26-27] -> Mon 28 Dec
        D(2026, 12, 17),
        7,
        D(2026, 12, 28),
        id="2026-lands-on-julafton",
    ),
    pytest.param(
        # Fri 17 Dec 2027 + 7 = Fri 24 Dec julafton -> [24, 25-26 weekend] -> Mon 27 Dec
        D(2027, 12, 17),
        7,
        D(2027, 12, 27),
        id="2027-lands-on-julafton",
    ),
    pytest.param(
        # Fri 12 Jun 2026 + 7 = Fri 19 Jun midsommarafton -> [19, 20, 21] -> Mon 22 Jun
        D(2026, 6, 12),
        7,
        D(2026, 6, 22),
        id="2026-lands-on-midsommarafton",
    ),
    pytest.param(
        # Fri 18 Jun 2027 + 7 = Fri 25 Jun midsommarafton -> [25, 26, 27] -> Mon 28 Jun
        D(2027, 6, 18),
        7,
        D(2027, 6, 28),
        id="2027-lands-on-midsommarafton",
    ),
    pytest.param(
        # Fri 24 Dec 2027 + 7 = Fri 31 Dec nyårsafton -> [31, 1-2 Jan weekend] -> Mon 3 Jan 2028
        D(2027, 12, 24),
        7,
        D(2028, 1, 3),
        id="2027-lands-on-nyarsafton-across-year",
    ),
    pytest.param(
        # Fri 25 Dec 2026 + 7 = Fri 1 Jan 2027 nyårsdagen -> [1, 2-3] -> Mon 4 Jan
        D(2026, 12, 25),
        7,
        D(2027, 1, 4),
        id="2026-lands-on-nyarsdagen",
    ),
    pytest.param(
        # Thu 24 Dec 2026 (receipt on julafton) + 7 = Thu 31 Dec nyårsafton -> [31, 1, 2-3]
        # -> Mon 4 Jan 2027
        D(2026, 12, 24),
        7,
        D(2027, 1, 4),
        id="receipt-on-julafton-7d",
    ),
    pytest.param(
        # Tue 22 Dec 2026 + 7 = Tue 29 Dec, a working day between the holidays: stays
        D(2026, 12, 22),
        7,
        D(2026, 12, 29),
        id="2026-between-the-holidays",
    ),
    pytest.param(
        # Wed 30 Dec 2026 + 7 = Wed 6 Jan 2027 trettondedag jul -> Thu 7 Jan
        D(2026, 12, 30),
        7,
        D(2027, 1, 7),
        id="lands-on-epiphany",
    ),
    pytest.param(
        # Fri 27 Mar 2026 + 7 = Fri 3 Apr långfredagen -> [3, 4-5, 6 annandag påsk] -> Tue 7 Apr
        D(2026, 3, 27),
        7,
        D(2026, 4, 7),
        id="lands-on-good-friday",
    ),
    pytest.param(
        # Thu 7 May 2026 + 7 = Thu 14 May Kristi himmelsfärdsdag -> Fri 15 May
        D(2026, 5, 7),
        7,
        D(2026, 5, 15),
        id="lands-on-ascension",
    ),
    pytest.param(
        # Fri 24 Apr 2026 + 7 = Fri 1 May första maj -> [1, 2-3] -> Mon 4 May
        D(2026, 4, 24),
        7,
        D(2026, 5, 4),
        id="lands-on-may-day",
    ),
    pytest.param(
        # Mon 1 Jun 2026 + 5 = Sat 6 Jun nationaldagen -> [6, 7] -> Mon 8 Jun
        D(2026, 6, 1),
        5,
        D(2026, 6, 8),
        id="lands-on-national-day-saturday",
    ),
    pytest.param(
        # Tue 22 Dec 2026 + 0 = Tue 22 Dec, a working day: stays
        D(2026, 12, 22),
        0,
        D(2026, 12, 22),
        id="zero-days-working-day",
    ),
    pytest.param(
        # Thu 24 Dec 2026 + 0 = julafton, not a working day -> [24, 25, 26-27] -> Mon 28 Dec
        D(2026, 12, 24),
        0,
        D(2026, 12, 28),
        id="zero-days-on-julafton",
    ),
    pytest.param(
        # Mon 9 Nov 2026 + 1 = Tue 10 Nov
        D(2026, 11, 9),
        1,
        D(2026, 11, 10),
        id="one-day",
    ),
    pytest.param(
        # Thu 18 Jun 2026 + 1 = Fri 19 Jun midsommarafton -> Mon 22 Jun
        D(2026, 6, 18),
        1,
        D(2026, 6, 22),
        id="one-day-onto-midsommarafton",
    ),
]


@pytest.mark.parametrize(("start", "n", "expected"), DAY_CASES)
def test_add_days(start: date, n: int, expected: date) -> None:
    assert CAL.add_days(start, n) == expected
    assert CAL.due(start, n, "days") == expected


def test_add_days_onto_closure_day() -> None:
    # Fri 8 May 2026 + 7 = Fri 15 May: a working day normally ...
    assert CAL.add_days(D(2026, 5, 8), 7) == D(2026, 5, 15)
    # ... but the klämdag moves it: [15 closed, 16-17 weekend] -> Mon 18 May
    assert CAL_CLOSED.add_days(D(2026, 5, 8), 7) == D(2026, 5, 18)


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(D(2026, 1, 1), -1)
    with pytest.raises(ValueError):
        CAL.add_days(D(2026, 1, 1), -1)


def test_due_is_remembered_per_calendar() -> None:
    cal = WorkingCalendar()
    first = cal.due(D(2026, 12, 22), 5, "working_days")
    assert cal.due(D(2026, 12, 22), 5, "working_days") is first
    # The same numbers as days are a different question: Tue 22 Dec + 5 = Sun 27 Dec -> Mon 28
    assert cal.due(D(2026, 12, 22), 5, "days") == D(2026, 12, 28)
    # A calendar with a closure does not share the other's answers.
    closed = WorkingCalendar.with_closures([D(2026, 12, 28)])
    # [28 closed] -> Tue 29 Dec
    assert closed.due(D(2026, 12, 22), 5, "days") == D(2026, 12, 29)


def test_warm_reads_this_year_and_the_next_before_any_question() -> None:
    cal = WorkingCalendar()
    cal.warm(D(2026, 12, 3))
    assert {2026, 2027} <= set(cal._holidays.years)
    assert 2028 not in cal._holidays.years  # only the two a first pass can ask about
    # Warming changes no answer: the same days as a cold calendar's.
    assert cal.add_working_days(D(2026, 12, 22), 5) == WorkingCalendar().add_working_days(
        D(2026, 12, 22), 5
    )


# --- working days, holidays and names --------------------------------------------------------


def test_weekends_are_never_working_days() -> None:
    day = D(2025, 1, 1)
    while day < D(2029, 1, 1):
        if day.weekday() >= 5:
            assert not CAL.is_working_day(day), day
            assert not CAL_CLOSED.is_working_day(day), day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2026, 4, 2), True),  # skärtorsdag is a working day
        (D(2026, 4, 3), False),  # långfredagen
        (D(2026, 4, 6), False),  # annandag påsk
        (D(2026, 10, 30), True),  # Friday before alla helgons dag (no eve off)
        (D(2026, 12, 23), True),  # the day before julafton
        (D(2026, 12, 24), False),  # julafton
        (D(2026, 12, 28), True),  # Monday between the holidays
        (D(2026, 12, 31), False),  # nyårsafton
        (D(2027, 1, 6), False),  # trettondedag jul
        (D(2027, 1, 5), True),  # trettondagsafton is a working day
        (D(2027, 6, 25), False),  # midsommarafton
        (D(2027, 5, 6), False),  # Kristi himmelsfärdsdag
        (D(2027, 5, 7), True),  # the Friday after, without a closure
        (D(2025, 6, 6), False),  # nationaldagen on a Friday
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (D(2026, 12, 24), "Julafton"),
        (D(2026, 6, 19), "Midsommarafton"),
        (D(2026, 6, 6), "Nationaldagen"),
        (D(2026, 10, 31), "Alla helgons dag"),
        (D(2027, 3, 26), "Långfredagen"),
        (D(2026, 11, 10), None),
    ],
)
def test_holiday_name(day: date, name: str | None) -> None:
    assert CAL.holiday_name(day) == name


EXPECTED_2026 = [
    (D(2026, 1, 1), "Nyårsdagen"),  # Thu
    (D(2026, 1, 6), "Trettondedag jul"),  # Tue
    (D(2026, 4, 3), "Långfredagen"),  # Fri
    (D(2026, 4, 6), "Annandag påsk"),  # Mon
    (D(2026, 5, 1), "Första maj"),  # Fri
    (D(2026, 5, 14), "Kristi himmelsfärdsdag"),  # Thu
    # Nationaldagen Sat 6 Jun, midsommardagen Sat 20 Jun, alla helgons dag Sat 31 Oct and
    # annandag jul Sat 26 Dec fall on weekends: no weekday lost.
    (D(2026, 6, 19), "Midsommarafton"),  # Fri
    (D(2026, 12, 24), "Julafton"),  # Thu
    (D(2026, 12, 25), "Juldagen"),  # Fri
    (D(2026, 12, 31), "Nyårsafton"),  # Thu
]


def test_non_working_weekdays_2026() -> None:
    assert list(CAL.non_working_weekdays(2026)) == EXPECTED_2026


def test_non_working_weekdays_2026_with_closure() -> None:
    expected = sorted([*EXPECTED_2026, (KLAMDAG, "Lokal stängningsdag")])
    assert list(CAL_CLOSED.non_working_weekdays(2026)) == expected


def test_non_working_weekdays_2027() -> None:
    # 1 May (Sat), 6 Jun (Sun), juldagen (Sat) and annandag jul (Sun) cost no weekday.
    assert list(CAL.non_working_weekdays(2027)) == [
        (D(2027, 1, 1), "Nyårsdagen"),
        (D(2027, 1, 6), "Trettondedag jul"),
        (D(2027, 3, 26), "Långfredagen"),
        (D(2027, 3, 29), "Annandag påsk"),
        (D(2027, 5, 6), "Kristi himmelsfärdsdag"),
        (D(2027, 6, 25), "Midsommarafton"),
        (D(2027, 12, 24), "Julafton"),
        (D(2027, 12, 31), "Nyårsafton"),
    ]


def test_weekday_names() -> None:
    assert WorkingCalendar.weekday_name(D(2026, 12, 24)) == "torsdag"
    assert WorkingCalendar.weekday_name(D(2026, 4, 6)) == "måndag"
    assert WorkingCalendar.weekday_name(D(2026, 6, 6)) == "lördag"
    assert WorkingCalendar.weekday_name(D(2026, 6, 7)) == "söndag"


# --- working_days_between ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # (22 Dec 2026, 4 Jan 2027]: 23, 28, 29, 30, 4 Jan -> 5
        (D(2026, 12, 22), D(2027, 1, 4), 5),
        # (23 Dec, 28 Dec 2026]: 28 -> 1
        (D(2026, 12, 23), D(2026, 12, 28), 1),
        # (24 Dec, 27 Dec 2026]: 25 juldagen, 26-27 weekend -> 0
        (D(2026, 12, 24), D(2026, 12, 27), 0),
        # (Fri 3 Apr, Tue 7 Apr 2026]: 4-5 weekend, 6 annandag påsk, 7 -> 1
        (D(2026, 4, 3), D(2026, 4, 7), 1),
        # (Sat 7 Nov, Fri 13 Nov 2026]: 9-13 -> 5
        (D(2026, 11, 7), D(2026, 11, 13), 5),
        # the same day -> 0
        (D(2026, 11, 9), D(2026, 11, 9), 0),
        # backwards -> negative: (22 Dec 2026, 4 Jan 2027] has 5
        (D(2027, 1, 4), D(2026, 12, 22), -5),
        # all of 2026: 261 weekdays (52 weeks + Thu 31 Dec) minus 10 holidays -> 251
        (D(2025, 12, 31), D(2026, 12, 31), 251),
        # all of 2027: 261 weekdays (52 weeks + Fri 31 Dec) minus 8 holidays -> 253
        (D(2026, 12, 31), D(2027, 12, 31), 253),
    ],
)
def test_working_days_between(start: date, end: date, expected: int) -> None:
    assert CAL.working_days_between(start, end) == expected


def test_working_days_between_with_closure() -> None:
    # (12 May, 21 May 2026]: 13, [14, 15 closed], 18, 19, 20, 21 -> 5; without closure 6
    assert CAL_CLOSED.working_days_between(D(2026, 5, 12), D(2026, 5, 21)) == 5
    assert CAL.working_days_between(D(2026, 5, 12), D(2026, 5, 21)) == 6


def test_working_days_between_inverts_add_working_days() -> None:
    # Every receipt day in Christmas/New Year 2027/28, including weekends and holidays.
    start = D(2027, 12, 18)
    while start < D(2028, 1, 10):
        for n in (1, 3, 5, 10):
            due = CAL.add_working_days(start, n)
            assert CAL.is_working_day(due)
            assert CAL.working_days_between(start, due) == n, (start, n)
        start += timedelta(days=1)


# --- the command line -------------------------------------------------------------------------

CONFIG = '[organisation]\nname = "X"\ndiary_prefix = "KS"\nclosure_days = [2026-05-15]\n'


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # Tue 22 Dec 2026 + 5 wd -> Mon 4 Jan 2027 (see 2026-christmas-5wd)
        (("--from", "2026-12-22", "--working-days", "5"), "2027-01-04"),
        # Thu 23 Dec 2027 + 5 wd -> Mon 3 Jan 2028 (see 2027-christmas-across-year-5wd)
        (("--from", "2027-12-23", "--working-days", "5"), "2028-01-03"),
        # Wed 1 Apr 2026 + 2 wd -> Tue 7 Apr (Easter)
        (("--from", "2026-04-01", "--working-days", "2"), "2026-04-07"),
        # Sat 7 Nov 2026 + 1 wd -> Mon 9 Nov
        (("--from", "2026-11-07", "--working-days", "1"), "2026-11-09"),
        # Fri 12 Jun 2026 + 7 d = midsommarafton -> Mon 22 Jun
        (("--from", "2026-06-12", "--days", "7"), "2026-06-22"),
        # Fri 17 Dec 2027 + 7 d = julafton -> Mon 27 Dec
        (("--from", "2027-12-17", "--days", "7"), "2027-12-27"),
        # Wed 13 May 2026 + 2 wd, no config: 15 (1), 18 (2)
        (("--from", "2026-05-13", "--working-days", "2"), "2026-05-18"),
    ],
)
def test_cli_due(args: tuple[str, ...], expected: str, tmp_path: Path) -> None:
    result = postvakt("calendar", "due", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{expected}\n"


def test_cli_show_2027(tmp_path: Path) -> None:
    result = postvakt("calendar", "show", "2027", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "2027-01-01  fredag   Nyårsdagen",
        "2027-01-06  onsdag   Trettondedag jul",
        "2027-03-26  fredag   Långfredagen",
        "2027-03-29  måndag   Annandag påsk",
        "2027-05-06  torsdag  Kristi himmelsfärdsdag",
        "2027-06-25  fredag   Midsommarafton",
        "2027-12-24  fredag   Julafton",
        "2027-12-31  fredag   Nyårsafton",
    ]


def test_cli_closure_day_from_config_option(tmp_path: Path) -> None:
    config = tmp_path / "postvakt.toml"
    config.write_text(CONFIG, encoding="utf-8")
    # Wed 13 May 2026 + 2 wd: [14 Kristi himmelsfärdsdag, 15 closed, 16-17], 18 (1), 19 (2)
    result = postvakt(
        "--config",
        str(config),
        "calendar",
        "due",
        "--from",
        "2026-05-13",
        "--working-days",
        "2",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2026-05-19\n"
    shown = postvakt("--config", str(config), "calendar", "show", "2026", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "2026-05-15  fredag   Lokal stängningsdag" in shown.stdout.splitlines()


def test_cli_closure_day_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "postvakt.toml"
    config.write_text(CONFIG, encoding="utf-8")
    # Fri 8 May 2026 + 7 d = Fri 15 May, closed -> [15, 16-17] -> Mon 18 May
    result = postvakt(
        "calendar",
        "due",
        "--from",
        "2026-05-08",
        "--days",
        "7",
        cwd=tmp_path,
        env={"POSTVAKT_CONFIG": str(config)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2026-05-18\n"


def test_cli_bad_date(tmp_path: Path) -> None:
    result = postvakt("calendar", "due", "--from", "2026-13-01", "--days", "3", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "är inget datum" in result.stderr
    assert "ÅÅÅÅ-MM-DD" in result.stderr


def test_cli_working_days_and_days_together(tmp_path: Path) -> None:
    result = postvakt(
        "calendar",
        "due",
        "--from",
        "2026-12-01",
        "--working-days",
        "2",
        "--days",
        "3",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "fel:" in result.stderr
