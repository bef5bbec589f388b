"""Policies: the presets from the routines, durations, overrides, the compilation date."""

from __future__ import annotations

from datetime import date

import pytest

from postvakt.rules.calendar import WorkingCalendar
from postvakt.rules.policy import PRESETS, Duration, Policy, parse_duration

CAL = WorkingCalendar()
WD = "working_days"


def test_presets_are_the_three_routines() -> None:
    assert set(PRESETS) == {"orebro", "linkoping", "timra"}
    for name, policy in PRESETS.items():
        assert policy.name == name


def test_orebro() -> None:
    # "besvaras inom fem arbetsdagar", complaint answer "inom fem arbetsdagar", callers
    # "inom två arbetsdagar".
    p = PRESETS["orebro"]
    assert p.reply == Duration(5, WD)
    assert p.complaint_ack == Duration(5, WD)
    assert p.complaint_answer == Duration(5, WD)
    assert p.callback == Duration(2, WD)
    assert p.compilation_month_day == (2, 15)
    # Reply to a letter of Tue 22 Dec 2026: 23 (1), [24 julafton, 25, 26-27], 28 (2), 29 (3),
    # 30 (4), [31 nyårsafton, 1 Jan, 2-3], 4 Jan (5)
    assert p.reply.due(date(2026, 12, 22), CAL) == date(2027, 1, 4)
    # Callback for a call on Thu 2 Apr 2026: [3 långfredagen, 4-5, 6 annandag påsk], 7 (1), 8 (2)
    assert p.callback.due(date(2026, 4, 2), CAL) == date(2026, 4, 8)


def test_linkoping() -> None:
    # "återkoppling inom 7 dagar"; callback falls back to Örebro's two working days.
    p = PRESETS["linkoping"]
    assert p.reply == Duration(7, "days")
    assert p.complaint_ack == Duration(7, "days")
    assert p.complaint_answer == Duration(7, "days")
    assert p.callback == Duration(2, WD)
    assert p.compilation_month_day == (2, 15)
    # Fri 12 Jun 2026 + 7 = Fri 19 Jun midsommarafton -> [19, 20, 21] -> Mon 22 Jun
    assert p.complaint_ack.due(date(2026, 6, 12), CAL) == date(2026, 6, 22)


def test_timra() -> None:
    # Letters and e-mail "senast inom en vecka"; complaint feedback "senast inom 3 arbetsdagar".
    p = PRESETS["timra"]
    assert p.reply == Duration(7, "days")
    assert p.complaint_ack == Duration(3, WD)
    assert p.complaint_answer == Duration(7, "days")
    assert p.callback == Duration(2, WD)
    assert p.compilation_month_day == (2, 15)
    # Reply to Thu 17 Dec 2026 + 7 = Thu 24 Dec julafton -> [24, 25, 26-27] -> Mon 28 Dec
    assert p.reply.due(date(2026, 12, 17), CAL) == date(2026, 12, 28)
    # Complaint of Wed 13 May 2026: [14 Kristi himmelsfärdsdag], 15 (1), [16-17], 18 (2), 19 (3)
    assert p.complaint_ack.due(date(2026, 5, 13), CAL) == date(2026, 5, 19)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5 arbetsdagar", Duration(5, WD)),
        ("1 arbetsdag", Duration(1, WD)),
        ("7 dagar", Duration(7, "days")),
        ("1 dag", Duration(1, "days")),
        ("1 vecka", Duration(7, "days")),
        ("2 veckor", Duration(14, "days")),
        ("5 working days", Duration(5, WD)),
        ("1 working day", Duration(1, WD)),
        ("7 days", Duration(7, "days")),
        ("2 weeks", Duration(14, "days")),
        ("  3 Arbetsdagar ", Duration(3, WD)),
    ],
)
def test_parse_duration(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["fem dagar", "", "5", "dagar", "5 timmar", "-5 dagar"])
def test_parse_duration_errors(text: str) -> None:
    with pytest.raises(ValueError, match="ingen tidsfrist"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (Duration(5, WD), "5 arbetsdagar"),
        (Duration(1, WD), "1 arbetsdag"),
        (Duration(7, "days"), "7 dagar"),
        (Duration(1, "days"), "1 dag"),
    ],
)
def test_duration_in_swedish(duration: Duration, text: str) -> None:
    assert str(duration) == text
    assert parse_duration(str(duration)) == duration


def test_a_week_is_seven_calendar_days() -> None:
    # Timrå's "en vecka" from Fri 18 Dec 2026 = Fri 25 Dec juldagen -> [25, 26-27] -> Mon 28 Dec
    assert parse_duration("1 vecka").due(date(2026, 12, 18), CAL) == date(2026, 12, 28)


def test_with_overrides_changes_one_value() -> None:
    orebro = PRESETS["orebro"]
    changed = orebro.with_overrides(reply="7 dagar")
    assert changed.reply == Duration(7, "days")
    assert changed.name == "orebro"
    assert changed.complaint_ack == orebro.complaint_ack
    assert changed.complaint_answer == orebro.complaint_answer
    assert changed.callback == orebro.callback
    assert changed.compilation_month_day == orebro.compilation_month_day
    # The preset itself is untouched.
    assert PRESETS["orebro"].reply == Duration(5, WD)
    # Thu 17 Dec 2026 + 7 = julafton -> Mon 28 Dec; the preset's 5 wd: 18 (1), 21 (2),
    # 22 (3), 23 (4), [24-27], 28 (5) -- the same day by another road.
    assert changed.reply.due(date(2026, 12, 17), CAL) == date(2026, 12, 28)
    assert orebro.reply.due(date(2026, 12, 17), CAL) == date(2026, 12, 28)


def test_with_overrides_callback_and_nothing() -> None:
    timra = PRESETS["timra"]
    assert timra.with_overrides(callback="1 arbetsdag").callback == Duration(1, WD)
    assert timra.with_overrides(callback="1 arbetsdag").complaint_ack == Duration(3, WD)
    assert timra.with_overrides() == timra


def test_with_overrides_rejects_bad_duration() -> None:
    with pytest.raises(ValueError, match="ingen tidsfrist"):
        PRESETS["linkoping"].with_overrides(complaint_answer="fem dagar")


def test_compilation_due() -> None:
    # The 2026 complaints are compiled by 15 February 2027.
    for policy in PRESETS.values():
        assert policy.compilation_due(2026) == date(2027, 2, 15)
    assert PRESETS["linkoping"].compilation_due(2027) == date(2028, 2, 15)


def test_compilation_date_override() -> None:
    policy: Policy = PRESETS["orebro"].with_overrides(compilation_date="03-01")
    assert policy.compilation_month_day == (3, 1)
    assert policy.compilation_due(2026) == date(2027, 3, 1)
    assert policy.reply == PRESETS["orebro"].reply
    # 29 February exists in 2028: the 2027 compilation may be due then.
    leap = PRESETS["timra"].with_overrides(compilation_date="02-29")
    assert leap.compilation_due(2027) == date(2028, 2, 29)


def test_a_compilation_date_of_29_february_falls_on_the_28th_in_ordinary_years() -> None:
    from datetime import date

    from postvakt.rules.policy import PRESETS

    policy = PRESETS["orebro"].with_overrides(compilation_date="02-29")
    assert policy.compilation_due(2026) == date(2027, 2, 28)
    assert policy.compilation_due(2027) == date(2028, 2, 29)
