"""The intake step that gives a case its service area and, from a central mailbox, its unit.

Deciding is :func:`postvakt.areas.find_area`'s; this step acts on the decision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from postvakt.areas import find_area
from postvakt.classifier.webform import form_fields
from postvakt.registry.cases import add_event
from postvakt.registry.models import Disposition, EventKind, Mailbox, Unit

if TYPE_CHECKING:
    from postvakt.intake import Intake
    from postvakt.intake.steps import Work

__all__ = ["service_area"]

ACTOR = "postvakt"


def service_area(intake: Intake, work: Work) -> Disposition | None:
    """The case's service area (:func:`postvakt.areas.find_area`), its reason among the case's.

    A case that arrives in a central mailbox — a function mailbox of a unit without that
    area, such as Kontaktcenter — goes to the unit that has it ("förmedlat rätt i
    organisationen/till berörd enhetschef"): that unit, its head as handler and its function
    mailbox for the letters to come.  The acknowledgment is still drafted in the mailbox the
    citizen wrote to.
    """
    case = work.case
    assert case is not None and work.verdict is not None
    config = intake.config
    msg = intake.citizen_message(work.msg, work.verdict)
    fields = form_fields(msg.body_text)
    sender = work.msg.sender
    is_form = "meddelande" in fields or (
        sender is not None and sender.address in config.organisation.web_form_senders
    )
    own_unit = work.mailbox.unit.name if work.mailbox.unit else None
    found = find_area(
        config,
        form_text=msg.body_text if is_form else "",
        text=f"{msg.subject}\n{fields.get('meddelande') or msg.body_text}",
        own_unit=own_unit,
    )
    if found is None:
        return None
    case.service_area = found.area
    case.classifier_reasons = [*(case.classifier_reasons or []), found.reason]
    if found.unit is None or found.unit == own_unit or work.mailbox.kind != "function":
        return None
    unit = work.session.scalars(select(Unit).where(Unit.name == found.unit)).one_or_none()
    if unit is None:
        return None
    target = next(
        (m for m in config.mailboxes if m.kind == "function" and m.unit == unit.name), None
    )
    mailbox = (
        work.session.scalars(select(Mailbox).where(Mailbox.address == target.address)).first()
        if target is not None
        else None
    )
    case.unit, case.handler = unit, unit.head
    if mailbox is not None:
        case.mailbox = mailbox
    add_event(
        work.session,
        case,
        EventKind.ASSIGNED,
        actor=ACTOR,
        at=work.now,
        detail=f"Kom in till {work.mailbox.address}; lämnat till {unit.name} efter "
        f"{found.reason}: handläggare {unit.head}"
        + (f", brevlåda {mailbox.address}." if mailbox is not None else "."),
    )
    return None
