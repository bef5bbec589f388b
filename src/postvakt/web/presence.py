"""Who is away and who covers — a thin wrapper over the absence registry
(:mod:`postvakt.registry.absences` and :mod:`postvakt.delegation.cover`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from postvakt.config import Config
from postvakt.delegation.cover import Roster
from postvakt.registry.absences import roster

__all__ = ["Presence", "presence", "today_roster"]


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
