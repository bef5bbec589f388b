"""Who covers whom on a day.  Deciding only: pure functions over the absences.

A person who is not away covers themself.  A person away is covered by the first of their
substitutes (or, without an absence of their own naming any, their standing delegates) who
is present — following chains: A is covered by B, B is away too and covered by C, so C
covers A.  When nobody in the chain is present, the unit head covers.  A chain that comes
back to someone already in it is a cycle: :func:`check_no_cycle` refuses an absence that
would make one, with a message naming the people and the day.  A person who handles their
own mail while away covers themself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from postvakt.errors import InvalidTransitionError

__all__ = ["AbsenceView", "Coverage", "CycleError", "Roster", "check_no_cycle"]

Via = Literal["present", "self", "substitute", "standing", "head", "nobody"]


@dataclass(frozen=True)
class AbsenceView:
    id: int | None
    person: str
    kind: str
    start: date
    end: date | None
    substitutes: tuple[str, ...]
    self_handling: bool = False

    def covers_day(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Coverage:
    person: str
    day: date
    by: str | None
    via: Via
    chain: tuple[str, ...]
    """Everyone passed on the way, the person first and the one covering last."""


class CycleError(InvalidTransitionError):
    """The substitutes lead back to the absent person."""


@dataclass(frozen=True)
class Roster:
    """Absences and standing delegations, and each person's unit head."""

    absences: Sequence[AbsenceView]
    standing: Mapping[str, Sequence[str]]
    head_of: Callable[[str], str | None]

    def away(self, person: str, day: date) -> AbsenceView | None:
        return next((a for a in self.absences if a.person == person and a.covers_day(day)), None)

    def is_away(self, person: str, day: date) -> bool:
        """Away and not reading their own mail: notifications go to whoever covers."""
        absence = self.away(person, day)
        return absence is not None and not absence.self_handling

    def _candidates(self, person: str, absence: AbsenceView) -> tuple[tuple[str, Via], ...]:
        if absence.substitutes:
            return tuple((s, "substitute") for s in absence.substitutes)
        return tuple((s, "standing") for s in self.standing.get(person, ()))

    def _walk(
        self, person: str, day: date, seen: tuple[str, ...], strict: bool
    ) -> tuple[str, Via, tuple[str, ...]] | None:
        absence = self.away(person, day)
        if absence is None:
            return person, "present", seen
        for candidate, via in self._candidates(person, absence):
            if candidate in seen:
                if strict:
                    raise CycleError(
                        f"{' → '.join((*seen, candidate))} den {day.isoformat()}: ersättarna leder "
                        "tillbaka till någon som själv är borta (en cirkel). Välj en annan ersättare."
                    )
                continue
            found = self._walk(candidate, day, (*seen, candidate), strict)
            if found is not None:
                return found[0], via, found[2]
        return None

    def who_covers(self, person: str, day: date, *, strict: bool = False) -> Coverage:
        absence = self.away(person, day)
        if absence is None:
            return Coverage(person, day, person, "present", (person,))
        if absence.self_handling:
            return Coverage(person, day, person, "self", (person,))
        found = self._walk(person, day, (person,), strict)
        if found is not None:
            by, via, chain = found
            return Coverage(person, day, by, via, chain)
        head = self.head_of(person)
        seen: tuple[str, ...] = (person,)
        while head is not None and head not in seen:
            present = self._walk(head, day, (*seen, head), strict=False)
            if present is not None:
                return Coverage(person, day, present[0], "head", present[2])
            seen = (*seen, head)
            head = self.head_of(head)
        return Coverage(person, day, None, "nobody", seen)


def check_no_cycle(roster: Roster, absence: AbsenceView, *, horizon_days: int = 366) -> None:
    """Refuse ``absence`` if, on any of its days, its substitutes lead back in a circle."""
    trial = Roster(
        [*[a for a in roster.absences if a.id != absence.id or a.id is None], absence],
        roster.standing,
        roster.head_of,
    )
    last = absence.end or absence.start + timedelta(days=horizon_days)
    day = absence.start
    while day <= last:
        trial.who_covers(absence.person, day, strict=True)
        day += timedelta(days=1)
