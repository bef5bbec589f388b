"""Correct a case's service area (verksamhetsområde).

The area is the machine's decision (the web form's field or the words of the message,
:mod:`postvakt.areas`) and decides which unit answers a case that came to a central mailbox
and how the compilation groups it.  A person who knows better sets it here: the case keeps
its number; when another unit answers for the new area the case goes to that unit, its head
as handler until they give it to someone (``cases assign``), and the head is told.
"""

from __future__ import annotations

from sqlalchemy import select

from postvakt.clock import STOCKHOLM
from postvakt.corrections.common import Corrected, CorrectionsBase
from postvakt.errors import InvalidInputError
from postvakt.registry.cases import add_event
from postvakt.registry.db import database_errors
from postvakt.registry.models import EventKind, Mailbox, Unit
from postvakt.rules.notify import Planned

__all__ = ["AreaCorrections"]

_MAX_AREA = 60  # Case.service_area's length


class AreaCorrections(CorrectionsBase):
    def set_area(self, reference: str, *, area: str, by: str) -> Corrected:
        """Give the case the service area ``area``; move it to the unit that has the area."""
        wanted = " ".join(area.split()).lower()
        if not wanted or len(wanted) > _MAX_AREA:
            raise InvalidInputError(
                "ange verksamhetsområdet med 1–60 tecken, t.ex. skola", argument="--area"
            )
        owner = next((u for u in self.config.units if wanted in u.areas), None)
        user, now = self.person(by), self.clock()
        planned: list[Planned] = []
        with self.sessions() as session, database_errors(), session.begin():
            case = self._case(session, reference)
            self._may_correct(user, case, "ändra verksamhetsområde på")
            self._open(case)
            before = case.service_area
            if before == wanted:
                raise InvalidInputError(
                    f"{case.label} har redan verksamhetsområdet {wanted}.", argument="--area"
                )
            case.service_area = wanted
            detail = f"{by} ändrade verksamhetsområde från {before or 'inget'} till {wanted}"
            text = f"{case.label}: verksamhetsområde {wanted}"
            unit = (
                session.scalars(select(Unit).where(Unit.name == owner.name)).one_or_none()
                if owner is not None
                else None
            )
            if unit is not None and case.unit_id != unit.id:
                target = next(
                    (
                        m
                        for m in self.config.mailboxes
                        if m.kind == "function" and m.unit == unit.name
                    ),
                    None,
                )
                mailbox = (
                    session.scalars(
                        select(Mailbox).where(Mailbox.address == target.address)
                    ).first()
                    if target is not None
                    else None
                )
                case.unit, case.handler, case.regular_handler = unit, unit.head, None
                if mailbox is not None:
                    case.mailbox = mailbox
                detail += f"; ärendet lämnat till {unit.name}, handläggare {unit.head}"
                text += f", nu hos {unit.name} (handläggare {unit.head})"
                planned.append(
                    Planned(
                        unit.head,
                        "assigned",
                        case.reference,
                        now.astimezone(STOCKHOLM).date(),
                        f"{case.label} {case.heading}: lämnat till {unit.name} av {by} "
                        f"(verksamhetsområde {wanted}); ge det gärna vidare till en handläggare.",
                    )
                )
            elif owner is None:
                text += " (ingen enhet har det området i konfigurationen; enheten är oförändrad)"
            add_event(session, case, EventKind.ASSIGNED, actor=by, at=now, detail=detail + ".")
            result = Corrected(case.reference, case.status.value, text + ".")
        self._tell(planned, now)
        return result
