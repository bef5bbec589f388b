"""Who covers whom: chains, cycles, the unit head as the last resort, standing delegates,
people reading their own mail, and absences that end by themselves."""

from __future__ import annotations

from datetime import date

import pytest

from postvakt.delegation.cover import AbsenceView, CycleError, Roster, check_no_cycle

HEADS = {"anna": "chef", "bo": "chef", "carl": "chef", "chef": "kd", "kd": None}


def roster(*absences: AbsenceView, standing: dict[str, tuple[str, ...]] | None = None) -> Roster:
    return Roster(list(absences), standing or {}, HEADS.get)


def away(person: str, start: date, end: date | None, *subs: str, **kw) -> AbsenceView:
    return AbsenceView(
        None, person, kw.get("kind", "semester"), start, end, subs, kw.get("self_handling", False)
    )


DEC_21, DEC_28, JAN_6 = date(2026, 12, 21), date(2026, 12, 28), date(2027, 1, 6)


def test_present_people_cover_themselves() -> None:
    found = roster().who_covers("anna", DEC_21)
    assert (found.by, found.via, found.chain) == ("anna", "present", ("anna",))


def test_the_first_present_substitute_covers() -> None:
    r = roster(away("anna", DEC_21, JAN_6, "bo", "carl"), away("bo", DEC_21, DEC_28))
    found = r.who_covers("anna", DEC_21)
    # Bo is away too and names nobody: his unit head would cover him, but Anna's second
    # substitute comes first.
    assert (found.by, found.via) == ("carl", "substitute")


def test_a_chain_is_followed_through_the_substitutes_own_absence() -> None:
    r = roster(away("anna", DEC_21, JAN_6, "bo"), away("bo", DEC_28, JAN_6, "carl"))
    assert r.who_covers("anna", DEC_21).by == "bo"
    found = r.who_covers("anna", DEC_28)
    assert (found.by, found.chain) == ("carl", ("anna", "bo", "carl"))


def test_nobody_present_falls_back_to_the_unit_head_and_then_theirs() -> None:
    r = roster(away("anna", DEC_21, JAN_6, "bo"), away("bo", DEC_21, JAN_6))
    found = r.who_covers("anna", DEC_21)
    assert (found.by, found.via) == ("chef", "head")
    r = roster(
        away("anna", DEC_21, JAN_6, "bo"), away("bo", DEC_21, JAN_6), away("chef", DEC_21, DEC_28)
    )
    assert r.who_covers("anna", DEC_21).by == "kd"  # the head's own head
    assert r.who_covers("anna", DEC_28.replace(day=29)).by == "chef"  # the head is back


def test_absences_end_by_themselves() -> None:
    r = roster(away("anna", DEC_21, DEC_28, "bo"))
    assert r.who_covers("anna", DEC_28).by == "bo"
    assert r.who_covers("anna", DEC_28.replace(day=29)).via == "present"  # no stale substitute


def test_an_open_ended_absence_lasts_until_ended() -> None:
    r = roster(away("anna", DEC_21, None, "bo"))
    assert r.who_covers("anna", date(2027, 6, 1)).by == "bo"


def test_a_standing_delegate_covers_an_absence_that_names_nobody() -> None:
    r = roster(away("anna", DEC_21, JAN_6, kind="sjukdom"), standing={"anna": ("carl",)})
    found = r.who_covers("anna", DEC_21)
    assert (found.by, found.via) == ("carl", "standing")
    # Named substitutes win over the standing delegate.
    r = roster(away("anna", DEC_21, JAN_6, "bo"), standing={"anna": ("carl",)})
    assert r.who_covers("anna", DEC_21).via == "substitute"


def test_reading_ones_own_mail_is_a_valid_choice() -> None:
    r = roster(away("anna", DEC_21, JAN_6, "bo", self_handling=True))
    found = r.who_covers("anna", DEC_21)
    assert (found.by, found.via) == ("anna", "self")
    assert not r.is_away("anna", DEC_21)


def test_a_cycle_is_refused_naming_the_people_and_the_day() -> None:
    r = roster(away("bo", DEC_28, JAN_6, "anna"))
    with pytest.raises(CycleError) as info:
        check_no_cycle(r, away("anna", DEC_21, JAN_6, "bo"))
    text = str(info.value)
    assert "anna → bo → anna" in text and "2026-12-28" in text and "Välj en annan ersättare" in text
    # Not overlapping: no cycle.
    check_no_cycle(r, away("anna", DEC_21, date(2026, 12, 27), "bo"))


def test_a_cycle_with_a_second_substitute_is_passed_over_when_not_strict() -> None:
    r = roster(away("anna", DEC_21, JAN_6, "bo", "carl"), away("bo", DEC_21, JAN_6, "anna"))
    assert r.who_covers("anna", DEC_21).by == "carl"
    assert r.who_covers("bo", DEC_21).by == "carl"  # bo → anna (away) → carl
