"""Absences in the database: adding, changing, ending, listing — with who may do it.

Unit heads create, change and end absences for their staff (and the staff of units below
theirs); a person for themself.  An absence whose substitutes would make a circle is
refused.  Absences end by themselves after their last day; ending one early records who did.
Applying them to the mail system and the work is ``postvakt.delegation.apply``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.clock import STOCKHOLM
from postvakt.config import Config
from postvakt.delegation.cover import AbsenceView, Roster, check_no_cycle
from postvakt.delegation.texts import KINDS
from postvakt.errors import InvalidTransitionError, NotFoundError
from postvakt.registry.models import Absence

__all__ = [
    "absences_on",
    "add_absence",
    "change_absence",
    "end_absence",
    "get_absence",
    "head_of",
    "may_manage",
    "roster",
    "view",
]


def view(absence: Absence) -> AbsenceView:
    end = absence.end
    if absence.ended_at is not None:  # ended early: back the day it was ended
        stopped = absence.ended_at.astimezone(STOCKHOLM).date() - timedelta(days=1)
        end = min(end, stopped) if end else stopped
    return AbsenceView(
        absence.id,
        absence.person,
        absence.kind,
        absence.start,
        end,
        tuple(absence.substitutes),
        absence.self_handling,
    )


def head_of(config: Config) -> Callable[[str], str | None]:
    """Each person's unit head; a head's own head is the parent unit's."""

    def lookup(address: str) -> str | None:
        person = config.person(address)
        unit = config.unit(person.unit) if person and person.unit else None
        while unit is not None and unit.head == address:  # a head's head is the parent unit's
            unit = config.unit(unit.parent) if unit.parent else None
        return unit.head if unit else None

    return lookup


def roster(session: Session, config: Config) -> Roster:
    """Who is away and who covers.  An emergency delegation that both approvers have not yet
    approved is not in it: until then the person counts as present."""
    absences = [
        view(a)
        for a in session.scalars(select(Absence).order_by(Absence.id))
        if not (a.emergency and a.approved_at is None)
    ]
    standing = {
        p.address: tuple(p.standing_delegates) for p in config.people if p.standing_delegates
    }
    return Roster(absences, standing, head_of(config))


def may_manage(config: Config, actor: str, person: str) -> bool:
    """The person themself, or the head of their unit or of a unit above it."""
    if actor == person:
        return True
    staff = config.person(person)
    unit = config.unit(staff.unit) if staff and staff.unit else None
    while unit is not None:
        if unit.head == actor:
            return True
        unit = config.unit(unit.parent) if unit.parent else None
    return False


def _check_actor(config: Config, actor: str, person: str) -> None:
    if not may_manage(config, actor, person):
        raise InvalidTransitionError(
            f"{actor} får inte lägga in eller ändra frånvaro för {person}: det gör personen själv "
            "eller chefen för personens enhet."
        )


def _check(
    config: Config,
    *,
    person: str,
    kind: str,
    start: date,
    end: date | None,
    substitutes: list[str],
) -> None:
    if kind not in KINDS:
        raise InvalidTransitionError(f"Okänd frånvaro {kind!r}; välj en av: {', '.join(KINDS)}.")
    if end is not None and end < start:
        raise InvalidTransitionError(
            f"Frånvaron slutar ({end.isoformat()}) före den börjar ({start.isoformat()})."
        )
    if person in substitutes:
        raise InvalidTransitionError(f"{person} kan inte vara sin egen ersättare.")
    if kind == "slutat" and not substitutes:
        raise InvalidTransitionError(
            "Den som slutar behöver en efterträdare: ange den med --substitute."
        )
    unknown = [a for a in (person, *substitutes) if config.person(a) is None]
    if unknown:
        raise InvalidTransitionError(
            f"{', '.join(unknown)} finns inte bland personerna i konfigurationen ([[people]]). "
            "Kontrollera stavningen eller lägg till personen."
        )


def add_absence(
    session: Session,
    config: Config,
    *,
    person: str,
    kind: str,
    start: date,
    end: date | None,
    substitutes: list[str],
    actor: str,
    now: datetime,
    self_handling: bool = False,
    reply_subject: str | None = None,
    reply_text: str | None = None,
    source: str = "postvakt",
) -> Absence:
    """Record an absence; refused with a clear message when it is not allowed or makes no
    sense (unknown person or kind, end before start, a circle of substitutes)."""
    person, actor = person.lower(), actor.lower()
    substitutes = list(dict.fromkeys(s.lower() for s in substitutes))
    _check(config, person=person, kind=kind, start=start, end=end, substitutes=substitutes)
    _check_actor(config, actor, person)
    absence = Absence(
        person=person,
        kind=kind,
        start=start,
        end=end,
        substitutes=substitutes,
        self_handling=self_handling,
        reply_subject=reply_subject,
        reply_text=reply_text,
        created_by=actor,
        created_at=now,
        applied={},
        source=source,
    )
    check_no_cycle(roster(session, config), view(absence))
    session.add(absence)
    session.flush()
    return absence


def get_absence(session: Session, absence_id: int) -> Absence:
    absence = session.get(Absence, absence_id)
    if absence is None:
        raise NotFoundError(
            f"Det finns ingen frånvaro med nummer {absence_id}. Se 'postvakt absence list'."
        )
    return absence


_UNCHANGED: object = object()


def change_absence(
    session: Session,
    config: Config,
    absence_id: int,
    *,
    actor: str,
    now: datetime,
    start: date | None = None,
    end: date | object | None = _UNCHANGED,
    kind: str | None = None,
    substitutes: list[str] | None = None,
    self_handling: bool | None = None,
    reply_subject: str | object | None = _UNCHANGED,
    reply_text: str | object | None = _UNCHANGED,
) -> Absence:
    """Change an absence that has not ended; what was applied follows on the next pass (the
    auto-reply text and the access are set anew)."""
    absence = get_absence(session, absence_id)
    _check_actor(config, actor.lower(), absence.person)
    if absence.ended_at is not None or absence.applied.get("done"):
        raise InvalidTransitionError(
            f"Frånvaro {absence_id} är redan avslutad; lägg in en ny med 'postvakt absence add'."
        )
    new_start = start or absence.start
    new_end = absence.end if end is _UNCHANGED else end
    new_kind = kind or absence.kind
    new_subs = (
        list(dict.fromkeys(s.lower() for s in substitutes))
        if substitutes is not None
        else list(absence.substitutes)
    )
    assert new_end is None or isinstance(new_end, date)
    _check(
        config,
        person=absence.person,
        kind=new_kind,
        start=new_start,
        end=new_end,
        substitutes=new_subs,
    )
    absence.start, absence.end, absence.kind, absence.substitutes = (
        new_start,
        new_end,
        new_kind,
        new_subs,
    )
    if self_handling is not None:
        absence.self_handling = self_handling
    if reply_subject is not _UNCHANGED:
        absence.reply_subject = reply_subject  # type: ignore[assignment]
    if reply_text is not _UNCHANGED:
        absence.reply_text = reply_text  # type: ignore[assignment]
    check_no_cycle(roster(session, config), view(absence))
    # Applied again on the next pass: the reply and the access follow the change.
    absence.applied = {**absence.applied, "changed_at": now.isoformat(), "stale": True}
    session.flush()
    return absence


def end_absence(
    session: Session, config: Config, absence_id: int, *, actor: str, now: datetime
) -> Absence:
    """End an absence early (today is the first day back); the next pass undoes what was set."""
    absence = get_absence(session, absence_id)
    _check_actor(config, actor.lower(), absence.person)
    if absence.ended_at is not None:
        raise InvalidTransitionError(f"Frånvaro {absence_id} är redan avslutad.")
    absence.ended_at, absence.ended_by = now, actor.lower()
    return absence


def absences_on(session: Session, day: date | None = None) -> list[Absence]:
    """Every absence (``day`` None), or those in force on ``day``, in order of start."""
    found = session.scalars(select(Absence).order_by(Absence.start, Absence.id)).all()
    if day is None:
        return list(found)
    return [a for a in found if view(a).covers_day(day)]
