"""What ``postvakt absence …`` does, so that ``cli.py`` stays a few lines (and the web page
for unit heads calls the same functions).

Every function takes an opened :class:`~postvakt.service.Service` and returns plain values
or Swedish lines to print; errors are :mod:`postvakt.errors` with what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from postvakt.clock import STOCKHOLM
from postvakt.delegation import emergency
from postvakt.delegation.apply import ApplyReport, Delegation
from postvakt.delegation.cover import Coverage, Roster
from postvakt.delegation.emergency_notices import send_due
from postvakt.delegation.importing import Proposal, propose
from postvakt.mailbox.base import OutOfOffice
from postvakt.registry import absences as store
from postvakt.registry.db import database_errors
from postvakt.registry.models import Absence

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from postvakt.service import Service

__all__ = [
    "AbsenceRow",
    "add",
    "apply_now",
    "approve",
    "change",
    "coverage_text",
    "end",
    "events",
    "import_replies",
    "listing",
    "preview",
    "who_covers",
]

_VIA_SV = {
    "present": "är på plats",
    "self": "läser sin e-post själv",
    "substitute": "ersättare",
    "standing": "stående ombud",
    "head": "enhetschef (ingen ersättare på plats)",
    "nobody": "ingen",
}


@dataclass(frozen=True)
class AbsenceRow:
    """An absence as the list shows it."""

    id: int
    person: str
    kind: str
    start: date
    end: date | None
    substitutes: tuple[str, ...]
    covered_by: str | None
    via: str
    self_handling: bool
    status: str
    access: str
    created_by: str
    source: str
    emergency: bool = False
    waiting_for: tuple[str, ...] = ()
    """An emergency's approvers who have not approved yet."""
    approved_by: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    """What went wrong telling the approvers or the delegate (Swedish), if anything."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "person": self.person,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "substitutes": list(self.substitutes),
            "covered_by": self.covered_by,
            "via": self.via,
            "self_handling": self.self_handling,
            "status": self.status,
            "access": self.access,
            "created_by": self.created_by,
            "source": self.source,
            "emergency": self.emergency,
            "waiting_for": list(self.waiting_for),
            "approved_by": list(self.approved_by),
        }


def _delegation(service: Service) -> Delegation:
    if service.delegation is not None:
        return service.delegation
    assert service.sessions is not None, "open the service first"
    from postvakt.rules.calendar import WorkingCalendar

    return Delegation(
        service.config,
        service.sessions,
        service.connectors,
        clock=service.clock,
        calendar=WorkingCalendar.with_closures(service.config.organisation.closure_days),
    )


def _today(service: Service) -> date:
    return service.clock().astimezone(STOCKHOLM).date()


def _status(absence: Absence, day: date) -> str:
    seen = store.view(absence)
    if absence.applied.get("done") or (seen.end is not None and day > seen.end):
        return "avslutad"
    if emergency.pending(absence):
        return f"akut: väntar på godkännande av {', '.join(emergency.waiting_for(absence))}"
    if day < seen.start:
        return "kommande"
    return "pågår" if absence.applied.get("active") else "pågår (tillämpas vid nästa körning)"


def _access_text(absence: Absence) -> str:
    access = absence.applied.get("access") or {}
    if not access:
        return "-"
    who = access.get("who", "?")
    if access.get("instruction") and not access.get("verified"):
        return f"{who}: väntar på e-postadministratören"
    return f"{who}" + (" (stående)" if access.get("standing") else "")


def _row(absence: Absence, day: date, roster: Any) -> AbsenceRow:
    coverage: Coverage = roster.who_covers(absence.person, max(day, absence.start))
    return AbsenceRow(
        absence.id,
        absence.person,
        absence.kind,
        absence.start,
        store.view(absence).end,
        tuple(absence.substitutes),
        coverage.by,
        coverage.via,
        absence.self_handling,
        _status(absence, day),
        _access_text(absence),
        absence.created_by,
        absence.source,
        bool(absence.emergency),
        tuple(emergency.waiting_for(absence)),
        tuple(emergency.approved_by(absence)) if absence.emergency else (),
    )


def listing(service: Service, day: date | None = None, *, every: bool = False) -> list[AbsenceRow]:
    """Absences in force on ``day`` (default today) and those ahead; ``every``: all."""
    assert service.sessions is not None
    delegation = _delegation(service)
    today = day or _today(service)
    with service.sessions() as session, database_errors():
        roster = delegation.roster(session)
        found = store.absences_on(session)
        rows = [
            _row(a, today, roster)
            for a in found
            if every
            or (
                not a.applied.get("done")
                and (store.view(a).end is None or store.view(a).end >= today)
            )
        ]
    return rows


def _tell(service: Service, absence_id: int) -> tuple[str, ...]:
    """Send an emergency's notices now; what went wrong, in Swedish."""
    assert service.sessions is not None
    mailer = service.notifier.mailer if service.notifier is not None else None
    return tuple(send_due(service.config, service.sessions, mailer, absence_id, service.clock()))


def _reread(service: Service, absence_id: int, notices: tuple[str, ...]) -> AbsenceRow:
    assert service.sessions is not None
    with service.sessions() as session, database_errors():
        absence = store.get_absence(session, absence_id)
        row = _row(absence, _today(service), _delegation(service).roster(session))
    return replace(row, notices=notices)


def add(service: Service, *, emergency_order: bool = False, **fields: Any) -> AbsenceRow:
    """Record an absence (``registry.absences.add_absence``'s fields, with ``actor``).

    ``emergency_order``: an emergency delegation ordered by ``actor`` (see
    :mod:`postvakt.delegation.emergency`): in force only when both approvers have approved,
    and both are told at once."""
    assert service.sessions is not None
    now = service.clock()
    delegation = _delegation(service)
    with service.sessions() as session, database_errors(), session.begin():
        absence = store.add_absence(session, service.config, now=now, **fields)
        if emergency_order:
            emergency.order(service.config, absence, actor=fields["actor"], now=now)
        absence_id = absence.id
        row = _row(absence, _today(service), delegation.roster(session))
    return _reread(service, absence_id, _tell(service, absence_id)) if emergency_order else row


def approve(service: Service, absence_id: int, *, actor: str) -> AbsenceRow:
    """``actor``'s approval of emergency delegation ``absence_id``; the approvers (and, once
    it is in force, the delegate) are told at once."""
    assert service.sessions is not None
    now = service.clock()
    with service.sessions() as session, database_errors(), session.begin():
        absence = store.get_absence(session, absence_id)
        emergency.approve(service.config, absence, actor=actor, now=now)
    return _reread(service, absence_id, _tell(service, absence_id))


def change(service: Service, absence_id: int, **fields: Any) -> AbsenceRow:
    """Change an absence; a new delegate for an emergency needs both approvals again."""
    assert service.sessions is not None
    now = service.clock()
    delegation = _delegation(service)
    with service.sessions() as session, database_errors(), session.begin():
        before = list(store.get_absence(session, absence_id).substitutes)
        absence = store.change_absence(session, service.config, absence_id, now=now, **fields)
        emergency.reorder(absence, before, actor=fields["actor"], now=now)
        again = absence.emergency and emergency.pending(absence)
        row = _row(absence, _today(service), delegation.roster(session))
    return _reread(service, absence_id, _tell(service, absence_id)) if again else row


def events(service: Service, absence_id: int) -> tuple[AbsenceRow, list[emergency.Event]]:
    """An absence and its log: who added (ordered, approved) it, who was told, when it was
    applied and ended."""
    assert service.sessions is not None
    with service.sessions() as session, database_errors():
        absence = store.get_absence(session, absence_id)
        row = _row(absence, _today(service), _delegation(service).roster(session))
        return row, emergency.events(absence)


def end(service: Service, absence_id: int, *, actor: str) -> AbsenceRow:
    assert service.sessions is not None
    now = service.clock()
    delegation = _delegation(service)
    with service.sessions() as session, database_errors(), session.begin():
        absence = store.end_absence(session, service.config, absence_id, actor=actor, now=now)
        return _row(absence, _today(service), delegation.roster(session))


def who_covers(service: Service, person: str, day: date | None = None) -> Coverage:
    return _delegation(service).roster().who_covers(person.lower(), day or _today(service))


def coverage_text(service: Service, coverage: Coverage) -> str:
    """``anna@… den 2026-12-21: bo@… (ersättare; kedja anna → carl → bo)``."""
    by = coverage.by or "ingen"
    person = service.config.person(by) if coverage.by else None
    name = f"{person.name} <{by}>" if person else by
    chain = f"; kedja {' → '.join(coverage.chain)}" if len(coverage.chain) > 2 else ""
    if coverage.via == "present":
        return f"{coverage.person} den {coverage.day.isoformat()}: är på plats"
    return (
        f"{coverage.person} den {coverage.day.isoformat()}: {name} ({_VIA_SV[coverage.via]}{chain})"
    )


def preview(
    service: Service,
    *,
    person: str,
    kind: str,
    start: date,
    end: date | None,
    substitutes: list[str],
    reply_subject: str | None = None,
    reply_text: str | None = None,
    replacing: int | None = None,
    session: Session | None = None,
) -> OutOfOffice:
    """The auto-reply the citizen will get for an absence not yet saved (or the change of
    absence ``replacing``): as :meth:`Delegation.reply_for` will write it."""
    draft = Absence(
        id=None,
        person=person.lower(),
        kind=kind,
        start=start,
        end=end,
        substitutes=[s.lower() for s in substitutes],
        self_handling=False,
        reply_subject=reply_subject,
        reply_text=reply_text,
        applied={},
    )
    delegation = _delegation(service)
    if session is None:
        assert service.sessions is not None
        with service.sessions() as own, database_errors():
            roster = delegation.roster(own)
    else:
        roster = delegation.roster(session)
    seen = store.view(draft)
    # The person's other absences over the same days give way to this one.
    others = [
        a
        for a in roster.absences
        if a.id != replacing
        and not (
            a.person == seen.person
            and a.start <= (end or date.max)
            and (a.end or date.max) >= start
        )
    ]
    return delegation.reply_for(draft, Roster([*others, seen], roster.standing, roster.head_of))


def import_replies(service: Service, *, create: bool) -> tuple[list[Proposal], list[str]]:
    """Out-of-office replies in the mail system that no absence accounts for; with
    ``create``, added as absences (by the person themself, source 'imported')."""
    assert service.sessions is not None
    today = _today(service)
    with service.sessions() as session, database_errors():
        absences = store.absences_on(session)
        known = [store.view(a) for a in absences]
        ours = [a.person for a in absences if a.applied.get("reply_set")]
    proposals, problems = propose(service.config, service.connectors, known, today, ours=ours)
    if create:
        now: datetime = service.clock()
        with service.sessions() as session, database_errors(), session.begin():
            for p in proposals:
                store.add_absence(
                    session,
                    service.config,
                    person=p.person,
                    kind=p.kind,
                    start=p.start,
                    end=p.end,
                    substitutes=list(p.substitutes),
                    actor=p.person,
                    now=now,
                    reply_subject=p.reply.subject or None,
                    reply_text=p.reply.text or None,
                    source="imported",
                )
    return proposals, problems


def apply_now(service: Service) -> ApplyReport:
    """Switch on and off what today's absences say, now (the daemon does it every pass)."""
    return _delegation(service).apply()
