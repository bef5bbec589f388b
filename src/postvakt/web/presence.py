"""Who is away and who covers — a thin wrapper over the absence registry
(:mod:`postvakt.registry.absences` and :mod:`postvakt.delegation.cover`), plus the one
operation it lacks: changing an absence (:func:`replace_absence`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from postvakt.clock import STOCKHOLM
from postvakt.config import Config
from postvakt.delegation.cover import AbsenceView, Roster
from postvakt.registry.absences import add_absence, end_absence, roster
from postvakt.registry.models import Absence

__all__ = ["Presence", "presence", "replace_absence", "today_roster", "trial_cover"]


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


def replace_absence(
    session: Session,
    config: Config,
    absence_id: int,
    *,
    actor: str,
    now: datetime,
    **values: Any,
) -> Absence:
    """Change an absence: the registry has no change operation, so the old one is ended
    (:func:`end_absence`) and the changed one added (:func:`add_absence`) in one transaction
    — both checked for who may do it and for cycles; delegation switches the old one off
    and the new one on at its next pass, and the history keeps both."""
    old = end_absence(session, config, absence_id, actor=actor, now=now)
    today = now.astimezone(STOCKHOLM).date()
    start = values.pop("start")
    return add_absence(
        session,
        config,
        person=old.person,
        start=max(start, today) if old.start <= today else start,
        actor=actor,
        now=now,
        **values,
    )


def trial_cover(
    plan: Roster, person: str, start: date, end: date | None, substitutes: list[str]
) -> str | None:
    """Who would cover ``person`` on ``start`` with this absence (for the auto-reply text)."""
    trial = AbsenceView(None, person, "semester", start, end, tuple(substitutes))
    others = [a for a in plan.absences if a.person != person or not a.covers_day(start)]
    return Roster([*others, trial], plan.standing, plan.head_of).who_covers(person, start).by
