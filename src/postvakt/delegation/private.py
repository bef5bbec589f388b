"""Mail marked private kept out of the delegate's sight for an absence (``[delegation]
move_private``).

Without the setting nothing is moved: the delegate's rights are on whole folders, so
everything in the inbox — private or not — is readable to them; only new private mail that
arrives during the absence is filed away (IMAP: the Sieve script files it into ``Privat``).

With it, when the absence starts (before the delegate gets any rights) the mail in the
inbox that is marked private and that the intake has read is moved to the folder ``Privat``,
on every pass while the absence lasts (so mail that came in meanwhile follows), and the
delegate is kept off that folder's ACL.  When the absence ends (after the rights are taken
back) it is moved back, together with the private mail the Sieve script filed there during
the absence.  A connector that cannot move mail (Exchange) is refused with a message saying
so, once per absence.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from postvakt.clock import STOCKHOLM
from postvakt.config import Config
from postvakt.mailbox.base import Connector, IsKnown, SupportsAccessGrants
from postvakt.mailbox.private import SupportsPrivateMove
from postvakt.registry.db import database_errors
from postvakt.registry.messages import known_keys
from postvakt.registry.models import Mailbox

__all__ = ["PRIVATE_FOLDER", "PrivateMail"]

log = logging.getLogger("postvakt.delegation")

PRIVATE_FOLDER = "Privat"
"""Where mail marked private goes while a delegate reads the inbox (and the Sieve script
files new private mail)."""

_KINDS = {"EwsConnector": "Exchange (EWS)", "GraphConnector": "Exchange Online (Graph)"}


class PrivateMail:
    """Moving mail marked private out of the inbox for an absence, and back."""

    def __init__(self, config: Config, sessions: sessionmaker[Session]):
        self.config = config
        self.sessions = sessions

    @property
    def wanted(self) -> bool:
        return self.config.delegation.move_private

    def _known(self, address: str, folder: str) -> IsKnown:
        with self.sessions() as session, database_errors():
            mailbox_id = session.scalar(select(Mailbox.id).where(Mailbox.address == address))
            keys = known_keys(session, mailbox_id, folder) if mailbox_id is not None else set()
        return keys.__contains__

    def refusal(self, connector: Connector) -> str:
        kind = _KINDS.get(type(connector).__name__, type(connector).__name__)
        return (
            f"{connector.address}: {kind} kan inte flytta post mellan mappar, så privat post "
            f"som redan ligger i inkorgen flyttas inte till {PRIVATE_FOLDER} ([delegation] "
            "move_private). Exchange döljer själv objekt med känsligheten Privat för ombud, men "
            "inte post som bara är märkt i ämnet. Be personen flytta sådan post själv, eller "
            "stäng av move_private."
        )

    def away(
        self, absence_id: int, connector: Connector, state: dict[str, Any], now: datetime
    ) -> str | None:
        """Move what is marked private out of each inbox folder; returns a refusal to report
        (once per absence) when the connector cannot move mail."""
        if not self.wanted:
            return None
        if not isinstance(connector, SupportsPrivateMove):
            if state.get("private_refused"):
                return None
            state["private_refused"] = True
            return self.refusal(connector)
        marker = self.config.organisation.private_marker
        record = dict(state.get("private") or {"folder": PRIVATE_FOLDER, "moved": 0})
        for folder in connector.folders("inbox"):
            known = self._known(connector.address, folder)
            moved = connector.move_private(folder, PRIVATE_FOLDER, marker, known)
            if moved:
                log.info(
                    "absence %s: %d private messages moved out of the inbox", absence_id, moved
                )
            record["moved"] = int(record.get("moved", 0)) + moved
        state["private"] = record
        return None

    def keep_out(self, connector: Connector, login: str, state: dict[str, Any]) -> None:
        """Make sure the delegate ``login`` has no rights on the private folder."""
        if "private" not in state or not isinstance(connector, SupportsAccessGrants):
            return
        if login in connector.access(PRIVATE_FOLDER):
            connector.remove_access(PRIVATE_FOLDER, login)

    def back(
        self, absence_id: int, start: date, connector: Connector | None, state: dict[str, Any]
    ) -> None:
        """Move back what was moved, and what the Sieve script filed from ``start`` on."""
        record = state.get("private")
        if record is None or not isinstance(connector, SupportsPrivateMove):
            return
        marker = self.config.organisation.private_marker
        since = datetime.combine(start, time(), STOCKHOLM)
        back = 0
        for index, folder in enumerate(connector.folders("inbox")):
            # Sieve files into Privat from the first inbox folder's delivery: back there.
            back += connector.move_back(
                folder, PRIVATE_FOLDER, marker, since if index == 0 else None
            )
        log.info("absence %s: %d private messages moved back to the inbox", absence_id, back)
        state.pop("private")
        state["private_returned"] = back
