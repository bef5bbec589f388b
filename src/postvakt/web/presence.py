"""Who is away and who covers — a thin wrapper over the absence registry
(:mod:`postvakt.registry.absences` and :mod:`postvakt.delegation.cover`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from postvakt.config import Config
from postvakt.delegation.cover import AbsenceView, Roster
from postvakt.registry.absences import roster

__all__ = ["Presence", "presence", "today_roster", "trial_cover"]


@dataclass(frozen=True)
class Presence:
    address: str
    name: str
    present: bool
    covered_by: str | None
    """Who covers while they are away (None when present, or nobody can)."""
    covered_by_name: str | None


def today_roster(session: Session, config: Config) -> Roster:
    return roster(session, config)


def _name(config: Config, address: str | None) -> str | None:
    if address is None:
        return None
    person = config.person(address)
    return person.name if person else address


def presence(config: Config, plan: Roster, address: str, day: date) -> Presence:
    cover = plan.who_covers(address, day)
    present = cover.via in ("present", "self")
    by = None if present else cover.by
    return Presence(address, _name(config, address) or address, present, by, _name(config, by))


def trial_cover(
    plan: Roster, person: str, start: date, end: date | None, substitutes: list[str]
) -> str | None:
    """Who would cover ``person`` on ``start`` with this absence (for the auto-reply text)."""
    trial = AbsenceView(None, person, "semester", start, end, tuple(substitutes))
    others = [a for a in plan.absences if a.person != person or not a.covers_day(start)]
    return Roster([*others, trial], plan.standing, plan.head_of).who_covers(person, start).by
