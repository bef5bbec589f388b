"""Moving a case between a person and whoever covers them, with its event.

One place for the three moves, so the intake (a new case for someone away) and the
reconciliation (open cases on the day an absence starts or ends) write the same record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from postvakt.registry.cases import add_event
from postvakt.registry.models import Case, EventKind

__all__ = ["hand_over"]


def hand_over(
    session: Session,
    case: Case,
    to: str,
    *,
    regular: str,
    now: datetime,
    leaving: bool = False,
) -> str:
    """Give ``case`` to ``to``; ``regular`` is whose it is.  Returns the event's text.

    - ``to`` is someone else: they cover while ``regular`` is away (and it comes back);
    - ``to`` is ``regular``: back after the absence;
    - ``leaving``: ``regular`` has left, and the case is ``to``'s for good.
    """
    previous = case.handler
    case.handler = to
    if leaving:
        case.regular_handler = None
        detail = f"Flyttat till efterträdaren {to}: {regular} har slutat."
        kind = EventKind.DELEGATED
    elif to == regular:
        case.regular_handler = None
        detail = f"Tillbaka hos {regular} efter frånvaron (hanterades av {previous})."
        kind = EventKind.RETURNED
    else:
        case.regular_handler = regular
        detail = f"Lämnat till {to} under {regular}s frånvaro."
        kind = EventKind.DELEGATED
    add_event(session, case, kind, actor="postvakt", at=now, detail=detail)
    return detail
