"""The Graph connector's delegation hooks: automatic replies and delegate access.

Automatic replies are read and written through ``mailboxSettings/automaticRepliesSetting``
(internal and external text, audience, schedule).  Graph can neither grant nor read mailbox
folder permissions, so for delegate access the connector returns the exact Exchange Online
PowerShell line the administrator runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from postvakt.mailbox.base import OutOfOffice
from postvakt.mailbox.exchange import (
    AutomaticReplies,
    folder_permission_line,
    folder_removal_line,
    html_reply,
    permission_level,
    reply_text,
)
from postvakt.mailbox.graph_client import GraphClient

__all__ = ["GraphDelegation"]

log = logging.getLogger("postvakt.mailbox.graph")

# Windows time zone names Graph may answer with, for the zones Swedish mailboxes use.
_WINDOWS_ZONES = {
    "UTC": "UTC",
    "W. Europe Standard Time": "Europe/Stockholm",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "Romance Standard Time": "Europe/Paris",
    "GMT Standard Time": "Europe/London",
    "FLE Standard Time": "Europe/Helsinki",
}


def _zoned(value: Mapping[str, Any] | None) -> datetime | None:
    """A Graph dateTimeTimeZone as an aware datetime."""
    if not value or not value.get("dateTime"):
        return None
    naive = datetime.fromisoformat(str(value["dateTime"])[:26].rstrip("Z"))
    name = str(value.get("timeZone") or "UTC")
    try:
        zone: Any = ZoneInfo(_WINDOWS_ZONES.get(name, name))
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r from Graph; reading the time as UTC", name)
        zone = UTC
    return naive.replace(tzinfo=zone)


def _graph_time(value: datetime) -> dict[str, str]:
    return {
        "dateTime": value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
        "timeZone": "UTC",
    }


class GraphDelegation(GraphClient):
    """Automatic replies and delegate-access instructions for one Graph mailbox."""

    # -- delegate access: instructions for the administrator ------------------------------

    def _folder_identity(self, folder: str) -> str:
        # Exchange Online PowerShell names folders by their display name (Inkorgen, Utkast).
        data = self._request(
            "GET",
            f"/mailFolders/{quote(folder)}",
            f"läsa mappen {folder}",
            params={"$select": "displayName"},
        ).json()
        return f"{self.address}:\\{data.get('displayName') or folder}"

    def grant_instruction(self, folder: str, who: str, rights: str) -> str:
        """The Exchange Online PowerShell line that gives ``who`` the ``rights`` on ``folder``.

        Graph can neither grant nor read mailbox folder permissions: the administrator runs
        this line, and checks it with ``Get-MailboxFolderPermission``.
        """
        identity = self._folder_identity(folder)
        return folder_permission_line("Add", identity, who, permission_level(rights))

    def removal_instruction(self, folder: str, who: str) -> str:
        return folder_removal_line(self._folder_identity(folder), who)

    # -- out-of-office ------------------------------------------------------------------------

    def automatic_replies(self) -> AutomaticReplies:
        data = self._request(
            "GET", "/mailboxSettings/automaticRepliesSetting", "läsa frånvaromeddelandet"
        ).json()
        status = {"alwaysEnabled": "enabled", "scheduled": "scheduled"}.get(
            str(data.get("status")), "disabled"
        )
        audience = {"none": "none", "contactsOnly": "known"}.get(
            str(data.get("externalAudience")), "all"
        )
        internal = str(data.get("internalReplyMessage") or "")
        external = str(data.get("externalReplyMessage") or "")
        return AutomaticReplies(
            status=status,  # type: ignore[arg-type]
            start=_zoned(data.get("scheduledStartDateTime")) if status == "scheduled" else None,
            end=_zoned(data.get("scheduledEndDateTime")) if status == "scheduled" else None,
            internal_text=reply_text(internal),
            external_text=reply_text(external),
            audience=audience,  # type: ignore[arg-type]
            internal_html=internal,
            external_html=external,
        )

    def set_automatic_replies(self, replies: AutomaticReplies) -> None:
        if replies.status == "scheduled" and (
            replies.start is None or replies.end is None or replies.end <= replies.start
        ):
            raise ValueError("ett schemalagt frånvaromeddelande behöver start före slut")
        setting: dict[str, Any] = {
            "status": {"enabled": "alwaysEnabled", "scheduled": "scheduled"}.get(
                replies.status, "disabled"
            ),
            "externalAudience": {"none": "none", "known": "contactsOnly"}.get(
                replies.audience, "all"
            ),
            "internalReplyMessage": replies.internal_html or html_reply(replies.internal_text),
            "externalReplyMessage": replies.external_html or html_reply(replies.external_text),
        }
        if replies.status == "scheduled" and replies.start and replies.end:
            setting["scheduledStartDateTime"] = _graph_time(replies.start)
            setting["scheduledEndDateTime"] = _graph_time(replies.end)
        self._request(
            "PATCH",
            "/mailboxSettings",
            "sätta frånvaromeddelandet",
            json={"automaticRepliesSetting": setting},
        )

    def set_out_of_office(self, reply: OutOfOffice) -> None:
        """An automatic reply from ``reply.start`` through ``reply.end`` (whole local days) to
        everyone.  Exchange has no subject for automatic replies: ``reply.subject`` is not kept."""
        self.set_automatic_replies(AutomaticReplies.for_days(reply, self.clock()))

    def clear_out_of_office(self) -> None:
        """Turn the automatic reply off, keeping its texts (as Outlook does)."""
        self.set_automatic_replies(self.automatic_replies().turned_off())

    def out_of_office(self) -> OutOfOffice | None:
        return self.automatic_replies().as_out_of_office(self.clock())
