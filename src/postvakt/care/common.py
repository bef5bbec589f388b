"""What the care routing's parts share: the states of a routing, its lease, how events
name the deviation function, and the mail a pass claimed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from postvakt.registry.models import (
    Case,
)

if TYPE_CHECKING:
    pass

log = logging.getLogger("postvakt.care")

ACTOR = "postvakt"
DEVIATION = "avvikelsefunktionen (organisation.care_deviation)"
"""The deviation function as events name it: by role and config key, never by address."""
LEX_REMINDER = (
    "Tänk på skyldigheten att överväga en rapport enligt lex Sarah (SoL 14 kap., LSS 24 a §) "
    "eller, för hälso- och sjukvård, lex Maria (patientsäkerhetslagen 3 kap. 5 §)."
)
"""The line that reminds the unit's head of the reporting duties."""
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_WAITING = ("send", "retract")
_CLAIMED = {"send": "sending", "retract": "retracting"}
_CLAIMED_FOR = {claimed: state for state, claimed in _CLAIMED.items()}
CARE_LEASE = timedelta(minutes=15)
"""A card or retraction claimed longer ago than this was left by a process that stopped (a
mail goes within seconds, or fails within the SMTP time-out): the next pass takes it up."""


def _comma(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def _due(case: Case) -> str | None:
    """What the deviation function is still to be told, from the mark and whether it holds
    the card: the state a routing goes back to when its mail went, was refused, or was left
    by a stopped process."""
    if case.individual_care:
        return "send" if case.care_routed_at is None else None
    return "retract" if case.care_routed_at is not None else None


@dataclass(frozen=True)
class _Mail:
    case_id: int
    state: str
    to: str
    subject: str
    body: str
    attachments: list[tuple[str, str, bytes]]
    message_id: str
    """The same each time this card (or retraction) is sent: see :meth:`CareRouting._message_id`."""
    claimed_at: datetime
    """When this pass claimed it: its claim still stands while ``care_claimed_at`` says so."""
