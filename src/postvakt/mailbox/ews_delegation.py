"""The EWS connector's delegation hooks: automatic replies, delegates, folder permissions.

Automatic replies are read and written as the mailbox's ``OofSettings``.  Delegates and
folder permissions are read (``GetDelegate``, ``PermissionSet``); exchangelib cannot add
delegates, so :meth:`EwsDelegation.grant_instruction` returns the exact Exchange Management
Shell line the mail administrator runs, and :meth:`EwsDelegation.has_access` verifies it
later by reading.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC

from exchangelib import OofSettings

from postvakt.mailbox.base import OutOfOffice
from postvakt.mailbox.ews_client import EwsClient, plain_datetime
from postvakt.mailbox.exchange import (
    EDIT_RANK,
    PERMISSION_LEVELS,
    AutomaticReplies,
    folder_permission_line,
    folder_removal_line,
    html_reply,
    permission_level,
    ps_quote,
    reply_text,
)

__all__ = ["Delegate", "EwsDelegation", "FolderPermission"]


@dataclass(frozen=True)
class FolderPermission:
    """One entry of a folder's permissions, with the Exchange permission level it amounts to."""

    who: str
    """The user's primary SMTP address, or 'Default' / 'Anonymous'."""
    level: str
    read: bool
    create: bool
    edit: str
    delete: str


@dataclass(frozen=True)
class Delegate:
    """A delegate as Outlook's delegate dialog (``GetDelegate``) shows it."""

    address: str
    name: str | None
    inbox: str
    """The delegate's permission level on the Inbox ('None', 'Reviewer', 'Author', 'Editor')."""
    view_private_items: bool


class EwsDelegation(EwsClient):
    """Automatic replies, delegates and folder permissions of one EWS mailbox."""

    # -- out-of-office ----------------------------------------------------------------------------

    def automatic_replies(self) -> AutomaticReplies:
        """The mailbox's automatic replies (OofSettings) as they are now."""
        account = self._connection()
        oof = self._call("läsa frånvaromeddelandet", lambda: account.oof_settings)
        status = {"Enabled": "enabled", "Scheduled": "scheduled"}.get(oof.state, "disabled")
        audience = {"None": "none", "Known": "known"}.get(oof.external_audience or "", "all")
        return AutomaticReplies(
            status=status,  # type: ignore[arg-type]
            start=plain_datetime(oof.start) if status == "scheduled" else None,
            end=plain_datetime(oof.end) if status == "scheduled" else None,
            internal_text=reply_text(oof.internal_reply or ""),
            external_text=reply_text(oof.external_reply or ""),
            audience=audience,  # type: ignore[arg-type]
            internal_html=oof.internal_reply or "",
            external_html=oof.external_reply or "",
        )

    def set_automatic_replies(self, replies: AutomaticReplies) -> None:
        """Set the automatic replies: scheduled or not, internal and external text, audience.

        A schedule that has already ended is written as 'disabled' (with its texts): Exchange
        refuses an end in the past, and the effect is the same.
        """
        if replies.status == "scheduled":
            if replies.start is None or replies.end is None or replies.end <= replies.start:
                raise ValueError("ett schemalagt frånvaromeddelande behöver start före slut")
            if replies.end <= self.clock():
                replies = dataclasses.replace(replies, status="disabled")
        scheduled = replies.status == "scheduled"
        settings = OofSettings(
            state={"enabled": "Enabled", "scheduled": "Scheduled"}.get(replies.status, "Disabled"),
            external_audience={"none": "None", "known": "Known"}.get(replies.audience, "All"),
            start=replies.start.astimezone(UTC) if scheduled and replies.start else None,
            end=replies.end.astimezone(UTC) if scheduled and replies.end else None,
            internal_reply=replies.internal_html or html_reply(replies.internal_text),
            external_reply=replies.external_html or html_reply(replies.external_text),
        )
        account = self._connection()

        def store() -> None:
            account.oof_settings = settings

        self._call("sätta frånvaromeddelandet", store)

    def set_out_of_office(self, reply: OutOfOffice) -> None:
        """An automatic reply from ``reply.start`` through ``reply.end`` (whole days, local time),
        to everyone inside and outside the organisation.

        Exchange has no subject for automatic replies (it answers 'Automatiskt svar: <subject>'),
        so ``reply.subject`` is not stored.
        """
        self.set_automatic_replies(AutomaticReplies.for_days(reply, self.clock()))

    def clear_out_of_office(self) -> None:
        """Turn the automatic reply off, keeping its texts (as Outlook does)."""
        self.set_automatic_replies(self.automatic_replies().turned_off())

    def out_of_office(self) -> OutOfOffice | None:
        return self.automatic_replies().as_out_of_office(self.clock())

    # -- delegates and folder permissions ---------------------------------------------------------

    def delegates(self) -> list[Delegate]:
        """The mailbox's delegates (read-only: exchangelib has no AddDelegate)."""
        account = self._connection()
        found = self._call("läsa ombud", lambda: account.delegates)
        out = []
        for entry in found:
            if isinstance(entry, Exception):
                continue
            user = entry.user_id
            permissions = entry.delegate_permissions
            out.append(
                Delegate(
                    address=(user.primary_smtp_address or "").lower() if user else "",
                    name=user.display_name if user else None,
                    inbox=permissions.inbox_folder_permission_level if permissions else "None",
                    view_private_items=bool(entry.view_private_items),
                )
            )
        return out

    def permissions(self, folder: str) -> list[FolderPermission]:
        """The folder's permission entries (``PermissionSet``)."""
        target = self._folder(folder)
        # A fresh GetFolder: the folder object is cached for the connector's lifetime.
        permission_set = self._call(
            f"läsa behörigheter för {folder}", lambda: target.refresh().permission_set
        )
        out = []
        for entry in (permission_set.permissions or []) if permission_set else []:
            user = entry.user_id
            who = (
                (user.primary_smtp_address or "").lower()
                if user and user.primary_smtp_address
                else (user.distinguished_user if user else None) or "?"
            )
            rights = (
                entry.read_items == "FullDetails",
                bool(entry.can_create_items),
                entry.edit_items or "None",
                entry.delete_items or "None",
            )
            out.append(FolderPermission(who, _level_of(rights), *rights))
        return out

    def access(self, folder: str) -> dict[str, str]:
        """Who has which permission level on ``folder`` ('Default' and 'Anonymous' left out)."""
        return {
            p.who: p.level
            for p in self.permissions(folder)
            if p.who not in ("Default", "Anonymous") and p.level != "None"
        }

    def has_access(self, folder: str, who: str, rights: str) -> bool:
        """Whether ``who`` holds at least ``rights`` on ``folder`` (verifies an instruction)."""
        wanted = permission_level(rights)
        if wanted == "FullAccess":
            raise ValueError(
                "FullAccess syns inte i EWS; kontrollera med Get-MailboxPermission -Identity "
                f"{ps_quote(self.address)} -User {ps_quote(who)}"
            )
        entry = next((p for p in self.permissions(folder) if p.who == who.lower()), None)
        if entry is None:
            return wanted == "None"
        need = PERMISSION_LEVELS[wanted]
        return (
            (entry.read or not need[0])
            and (entry.create or not need[1])
            and EDIT_RANK[entry.edit] >= EDIT_RANK[need[2]]
            and EDIT_RANK[entry.delete] >= EDIT_RANK[need[3]]
        )

    def grant_instruction(self, folder: str, who: str, rights: str) -> str:
        """The Exchange Management Shell line that gives ``who`` the ``rights``.

        EWS (and exchangelib) cannot grant mailbox or folder permissions; the mail
        administrator runs this, and :meth:`has_access` checks the result afterwards.
        """
        level = permission_level(rights)
        if level == "FullAccess":
            return (
                f"Add-MailboxPermission -Identity {ps_quote(self.address)} -User {ps_quote(who)} "
                "-AccessRights FullAccess -InheritanceType All -AutoMapping $false"
            )
        identity = self._folder_identity(folder)
        verb = "Set" if who.lower() in self.access(folder) else "Add"
        return folder_permission_line(verb, identity, who, level)

    def removal_instruction(self, folder: str, who: str, *, full_access: bool = False) -> str:
        """The Exchange Management Shell line that takes ``who``'s rights away again."""
        if full_access:
            return (
                f"Remove-MailboxPermission -Identity {ps_quote(self.address)} -User {ps_quote(who)} "
                "-AccessRights FullAccess -InheritanceType All -Confirm:$false"
            )
        return folder_removal_line(self._folder_identity(folder), who)

    def _folder_identity(self, folder: str) -> str:
        # The shell names folders by their display name in the mailbox's language (Inkorgen).
        return f"{self.address}:\\{self._folder(folder).name}"


def _level_of(rights: tuple[bool, bool, str, str]) -> str:
    # exchangelib reads the level from the wrong element name; the rights themselves are right.
    for name, levels in PERMISSION_LEVELS.items():
        if levels == rights:
            return name
    return "Custom"
