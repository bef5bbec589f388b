"""Emergency delegation: mail of someone unreachable, delegated only on two orders.

The Örebro routine ("Akut läge – den anställda är inte nåbar under längre tid"): when
someone cannot be reached for a long time and nothing was planned, their mail may be
delegated to a suitable person only when the unit head *and the head's own nearest manager*
order it, and the delegate may open only mail that concerns the service.

So an emergency absence is recorded like any other, but it is *pending* — not in the roster,
nothing applied to the mailbox, no case moved — until both have approved.  The one who
orders it must be one of the two, and their order counts as their approval; the other
approves with ``postvakt absence approve NR --by ADDRESS`` or on the Frånvaro page.  Both
are told at once (:mod:`postvakt.delegation.emergency_notices`), and so is the delegate
when it is in force, with what they may open.  Changing the delegate of an emergency asks
for both approvals again.

Everything is kept in the absence's ``approvals`` (JSON)::

    {"head": "…", "manager": "…", "round": 1,
     "log": [{"at": "…", "by": "…", "what": "ordered" | "approved" | "changed"}, …],
     "told": {"order-1:…": "<when>", …}}

and the time of the last approval in ``approved_at``.  :func:`events` reads the log back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from postvakt.config import Config
from postvakt.errors import InvalidTransitionError, PermissionDeniedError
from postvakt.registry.models import Absence

__all__ = [
    "Approvers",
    "Event",
    "approve",
    "approved_by",
    "approvers",
    "events",
    "order",
    "pending",
    "reorder",
    "waiting_for",
]

log = logging.getLogger("postvakt.delegation")

WHAT_SV = {
    "created": "lade in frånvaron",
    "ordered": "beställde akut delegering (räknas som godkännande)",
    "approved": "godkände den akuta delegeringen",
    "changed": "bytte ombud; båda behöver godkänna igen",
    "in_force": "delegeringen gäller: båda har godkänt",
    "applied": "autosvar och behörigheter sattes på",
    "told": "meddelande skickat till",
    "ended": "avslutade frånvaron",
}


@dataclass(frozen=True)
class Approvers:
    """The two who must order an emergency delegation."""

    head: str
    """The unit head of the person."""
    manager: str
    """The head's own nearest manager: the head of the unit above."""

    def __contains__(self, address: object) -> bool:
        return address in (self.head, self.manager)


@dataclass(frozen=True)
class Event:
    """One line of an absence's log."""

    at: datetime
    by: str
    what: str
    detail: str = ""

    @property
    def text(self) -> str:
        return f"{WHAT_SV.get(self.what, self.what)}{' ' + self.detail if self.detail else ''}"


def approvers(config: Config, person: str) -> Approvers:
    """The unit head of ``person`` and that head's nearest manager (from ``[[units]]``)."""
    staff = config.person(person)
    unit = config.unit(staff.unit) if staff and staff.unit else None
    while unit is not None and unit.head == person:  # a head's head is the parent unit's
        unit = config.unit(unit.parent) if unit.parent else None
    if unit is None:
        raise InvalidTransitionError(
            f"{person} hör inte till någon enhet med en chef i konfigurationen ([[people]] unit "
            "och [[units]] head), så ingen kan beställa en akut delegering. Lägg in enheten."
        )
    head, above = unit.head, config.unit(unit.parent) if unit.parent else None
    while above is not None and above.head == head:
        above = config.unit(above.parent) if above.parent else None
    if above is None:
        raise InvalidTransitionError(
            f"Enhetschefen {head} har ingen närmaste chef i konfigurationen (enheten "
            f"{unit.name} saknar parent i [[units]]), och en akut delegering kräver att både "
            "enhetschefen och dennes närmaste chef beställer den. Ange enheten ovanför."
        )
    return Approvers(head, above.head)


def _state(absence: Absence) -> dict[str, Any]:
    return dict(absence.approvals or {})


def _log(state: dict[str, Any], at: datetime, by: str, what: str) -> None:
    state["log"] = [*state.get("log", []), {"at": at.isoformat(), "by": by, "what": what}]


def pending(absence: Absence) -> bool:
    """An emergency not yet approved by both: not in force, nothing applied."""
    return bool(absence.emergency) and absence.approved_at is None


def approved_by(absence: Absence) -> list[str]:
    """Who of the two has approved in the current round (an order counts), in order."""
    state = _state(absence)
    wanted = (state.get("head"), state.get("manager"))
    since = 0
    log_ = state.get("log", [])
    for index, entry in enumerate(log_):
        if entry.get("what") == "changed":
            since = index + 1
    found = [
        e["by"]
        for e in log_[since:]
        if e.get("what") in ("ordered", "approved") and e.get("by") in wanted
    ]
    return list(dict.fromkeys(found))


def waiting_for(absence: Absence) -> list[str]:
    """Who still has to approve (empty when it is in force, or no emergency)."""
    if not absence.emergency:
        return []
    state = _state(absence)
    done = approved_by(absence)
    return [a for a in (state.get("head"), state.get("manager")) if a and a not in done]


def _settle(absence: Absence, state: dict[str, Any], now: datetime) -> None:
    absence.approved_at = None
    absence.approvals = state
    if not waiting_for(absence):
        absence.approved_at = now
        log.info("absence %s: emergency delegation approved by both", absence.id)


def order(config: Config, absence: Absence, *, actor: str, now: datetime) -> None:
    """Make a new absence an emergency ordered by ``actor`` (one of the two approvers)."""
    actor = actor.lower()
    who = approvers(config, absence.person)
    if actor not in who:
        raise PermissionDeniedError(
            f"{actor} kan inte beställa en akut delegering av {absence.person}s e-post: det gör "
            f"enhetschefen {who.head} eller dennes närmaste chef {who.manager}, och båda måste "
            "godkänna den."
        )
    if absence.self_handling:
        raise InvalidTransitionError(
            "En akut delegering är till för den som inte kan nås; den som läser sin e-post "
            "själv behöver ingen. Ta bort --self eller lägg in en vanlig frånvaro."
        )
    if not absence.substitutes:
        raise InvalidTransitionError(
            "En akut delegering går till en utsedd person: ange den med --substitute "
            "(på webben: Ersättare)."
        )
    state = {"head": who.head, "manager": who.manager, "round": 1, "log": [], "told": {}}
    _log(state, now, actor, "ordered")
    absence.emergency = True
    _settle(absence, state, now)
    log.info("absence %s: emergency delegation ordered", absence.id)


def approve(config: Config, absence: Absence, *, actor: str, now: datetime) -> list[str]:
    """``actor``'s approval of emergency ``absence``; returns who is still waited for."""
    actor = actor.lower()
    if not absence.emergency:
        raise InvalidTransitionError(
            f"Frånvaro {absence.id} är ingen akut delegering och behöver inget godkännande."
        )
    if absence.ended_at is not None or absence.applied.get("done"):
        raise InvalidTransitionError(f"Frånvaro {absence.id} är redan avslutad.")
    state = _state(absence)
    wanted = (state.get("head"), state.get("manager"))
    if actor not in wanted:
        raise PermissionDeniedError(
            f"{actor} kan inte godkänna den akuta delegeringen {absence.id}: det gör "
            f"enhetschefen {wanted[0]} och dennes närmaste chef {wanted[1]}."
        )
    if actor in approved_by(absence):
        raise InvalidTransitionError(
            f"{actor} har redan godkänt den akuta delegeringen {absence.id}"
            + (
                f"; den väntar på {', '.join(waiting_for(absence))}."
                if waiting_for(absence)
                else " och den gäller redan."
            )
        )
    _log(state, now, actor, "approved")
    log.info("absence %s: emergency delegation approved by one of the two", absence.id)
    _settle(absence, state, now)
    return waiting_for(absence)


def reorder(absence: Absence, before: Sequence[str], *, actor: str, now: datetime) -> None:
    """After a change: a new delegate for an emergency needs both approvals again (the one
    who changed it, if an approver, approves by changing)."""
    if not absence.emergency or list(before) == list(absence.substitutes):
        return
    state = _state(absence)
    state["round"] = int(state.get("round", 1)) + 1
    _log(state, now, actor.lower(), "changed")
    if actor.lower() in (state.get("head"), state.get("manager")):
        _log(state, now, actor.lower(), "ordered")
    _settle(absence, state, now)


def events(absence: Absence) -> list[Event]:
    """The absence's log: added, ordered and approved, told, applied, ended — oldest first."""
    found = [Event(absence.created_at, absence.created_by, "created")]
    state = _state(absence)
    for entry in state.get("log", []):
        found.append(Event(datetime.fromisoformat(entry["at"]), entry["by"], entry["what"]))
    for key, when in (state.get("told") or {}).items():
        found.append(Event(datetime.fromisoformat(when), "postvakt", "told", key.partition(":")[2]))
    if absence.emergency and absence.approved_at is not None:
        found.append(Event(absence.approved_at, "postvakt", "in_force"))
    started = (absence.applied or {}).get("started_at")
    if started:
        found.append(Event(datetime.fromisoformat(started), "postvakt", "applied"))
    if absence.ended_at is not None:
        found.append(Event(absence.ended_at, absence.ended_by or "?", "ended"))
    order_of = {what: i for i, what in enumerate(WHAT_SV)}
    return sorted(found, key=lambda e: (e.at, order_of.get(e.what, 99)))
