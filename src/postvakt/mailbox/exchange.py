"""What the two Exchange connectors (EWS and Microsoft Graph) share: throttling waits,
automatic replies with internal and external text, the private-item marker, and ordering.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any, Literal

from postvakt.mailbox.base import OutOfOffice
from postvakt.mailbox.message import html_to_text

FOREVER = timedelta(days=3650)
"""An automatic reply with no end date is stored as running this long."""

__all__ = [
    "EDIT_RANK",
    "PERMISSION_LEVELS",
    "AutomaticReplies",
    "ThrottlePolicy",
    "folder_permission_line",
    "folder_removal_line",
    "html_reply",
    "mark_sensitivity",
    "oldest_first",
    "permission_level",
    "ps_quote",
    "reply_text",
]


PERMISSION_LEVELS: dict[str, tuple[bool, bool, str, str]] = {
    "Owner": (True, True, "All", "All"),
    "PublishingEditor": (True, True, "All", "All"),
    "Editor": (True, True, "All", "All"),
    "PublishingAuthor": (True, True, "Owned", "Owned"),
    "Author": (True, True, "Owned", "Owned"),
    "NonEditingAuthor": (True, True, "None", "Owned"),
    "Reviewer": (True, False, "None", "None"),
    "Contributor": (False, True, "None", "None"),
    "None": (False, False, "None", "None"),
}
EDIT_RANK = {"None": 0, "Owned": 1, "All": 2}


def permission_level(rights: str) -> str:
    """An Exchange permission level for ``rights``: a level's name, 'FullAccess', or RFC 4314
    letters as on IMAP ('lrs' reads: Reviewer; any of 'i', 'w', 't', 'e' writes: Editor)."""
    for name in (*PERMISSION_LEVELS, "FullAccess"):
        if rights.lower() == name.lower():
            return name
    letters = set(rights)
    if not letters or not letters <= set("lrswipkxtea"):
        raise ValueError(
            f"okänd behörighet {rights!r}: ange en nivå (Reviewer, Editor, FullAccess) "
            "eller RFC 4314-bokstäver (t.ex. lrs)"
        )
    if letters & set("iwte"):
        return "Editor"
    return "Reviewer" if "r" in letters else "None"


def ps_quote(value: str) -> str:
    """A PowerShell single-quoted string."""
    return "'" + value.replace("'", "''") + "'"


def folder_permission_line(verb: str, identity: str, who: str, level: str) -> str:
    """``Add-`` / ``Set-MailboxFolderPermission``: the same cmdlet on Exchange Server and in
    Exchange Online PowerShell."""
    return (
        f"{verb}-MailboxFolderPermission -Identity {ps_quote(identity)} -User {ps_quote(who)} "
        f"-AccessRights {level}"
    )


def folder_removal_line(identity: str, who: str) -> str:
    return (
        f"Remove-MailboxFolderPermission -Identity {ps_quote(identity)} -User {ps_quote(who)} "
        "-Confirm:$false"
    )


@dataclass(frozen=True)
class ThrottlePolicy:
    """How to answer a server that asks Postvakt to slow down (EWS ErrorServerBusy, Graph 429).

    A wait the server asks for that is at most ``max_wait`` seconds is waited out within the
    pass, up to ``attempts`` tries in all; a longer one (or the last failed try) ends the pass.
    Without a hint, ``default_wait`` doubles with each try.
    """

    max_wait: float = 30.0
    attempts: int = 4
    default_wait: float = 2.0

    def pause(self, hint: float | None, attempt: int) -> float | None:
        """Seconds to wait before try ``attempt + 1``, or None to give up now."""
        wait = hint if hint is not None else self.default_wait * 2 ** (attempt - 1)
        if attempt >= self.attempts or wait > self.max_wait:
            return None
        return max(0.0, wait)


@dataclass(frozen=True)
class AutomaticReplies:
    """A mailbox's automatic replies as Exchange keeps them (EWS OofSettings, Graph
    automaticRepliesSetting): on, off or scheduled, a text for colleagues and one for the
    outside world, and who outside gets it.  Times are aware datetimes."""

    status: Literal["disabled", "enabled", "scheduled"]
    start: datetime | None = None
    end: datetime | None = None
    internal_text: str = ""
    external_text: str = ""
    audience: Literal["none", "known", "all"] = "all"
    """Outside senders who get the external reply: nobody, known contacts only, everyone."""
    internal_html: str = field(default="", compare=False)
    """The reply as the server stores it (HTML); written back as it is, to restore it exactly."""
    external_html: str = field(default="", compare=False)

    def turned_off(self) -> AutomaticReplies:
        """Off, without a schedule, keeping the texts and the audience (as Outlook does)."""
        return AutomaticReplies(
            status="disabled",
            internal_text=self.internal_text,
            external_text=self.external_text,
            audience=self.audience,
            internal_html=self.internal_html,
            external_html=self.external_html,
        )

    @classmethod
    def for_days(cls, reply: OutOfOffice, now: datetime) -> AutomaticReplies:
        """Whole days in ``now``'s time zone, the same text inside and out, to everyone."""
        tz = now.tzinfo
        start = datetime.combine(reply.start, clock_time(0), tzinfo=tz)
        end = (
            datetime.combine(reply.end + timedelta(days=1), clock_time(0), tzinfo=tz)
            if reply.end is not None
            else start + FOREVER
        )
        return cls(
            status="scheduled",
            start=start,
            end=end,
            internal_text=reply.text,
            external_text=reply.text,
            audience="all",
        )

    def as_state(self) -> dict[str, Any]:
        """A JSON form, to keep what a person had and restore it exactly."""
        return {
            "status": self.status,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "internal_text": self.internal_text,
            "external_text": self.external_text,
            "audience": self.audience,
            "internal_html": self.internal_html,
            "external_html": self.external_html,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> AutomaticReplies:
        def when(value: str | None) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        return cls(
            status=state["status"],
            start=when(state.get("start")),
            end=when(state.get("end")),
            internal_text=state.get("internal_text", ""),
            external_text=state.get("external_text", ""),
            audience=state.get("audience", "all"),
            internal_html=state.get("internal_html", ""),
            external_html=state.get("external_html", ""),
        )

    def active(self, now: datetime) -> bool:
        if self.status == "enabled":
            return True
        if self.status == "scheduled" and self.start and self.end:
            return self.start <= now < self.end
        return False

    def as_out_of_office(self, now: datetime) -> OutOfOffice | None:
        """The reply as the connector protocol sees it; None when off or already over.

        Exchange keeps no subject for automatic replies, so ``subject`` is empty.
        """
        if self.status == "disabled":
            return None
        text = self.external_text or self.internal_text
        if self.status == "enabled" or self.start is None or self.end is None:
            return OutOfOffice(start=now.date(), end=None, subject="", text=text)
        if self.end <= now:
            return None
        tz = now.tzinfo
        start = self.start.astimezone(tz)
        end = None if self.end - self.start >= FOREVER else (self.end - timedelta(microseconds=1))
        return OutOfOffice(
            start=start.date(),
            end=end.astimezone(tz).date() if end else None,
            subject="",
            text=text,
        )


def html_reply(text: str) -> str:
    """A plain-text reply as the HTML Exchange stores (paragraph breaks kept)."""
    if not text:
        return ""
    body = html.escape(text).replace("\r\n", "\n").replace("\n", "<br>\n")
    return f"<html>\n<body>\n<div>{body}</div>\n</body>\n</html>\n"


def reply_text(stored: str) -> str:
    """The readable text of a stored automatic reply (HTML or plain)."""
    if not stored:
        return ""
    if "<" in stored and ">" in stored:
        return html_to_text(stored)
    return stored.strip()


_SENSITIVITY = {
    "personal": "Personal",
    "private": "Private",
    "confidential": "Company-Confidential",
    "companyconfidential": "Company-Confidential",
}
_HAS_SENSITIVITY = re.compile(rb"(?im)^sensitivity[ \t]*:")


def mark_sensitivity(raw: bytes, sensitivity: str | None) -> bytes:
    """``raw`` with a ``Sensitivity`` header (RFC 2156) when the item is marked private,
    personal or confidential and its MIME does not say so already.

    Exchange writes the header into the MIME it produces for such items; this makes sure
    the mark reaches the intake even where it does not (an item marked after delivery).
    """
    value = _SENSITIVITY.get((sensitivity or "").lower().replace("-", ""))
    if value is None:
        return raw
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    head = raw[: end if end >= 0 else len(raw)]
    if _HAS_SENSITIVITY.search(head):
        return raw
    eol = b"\r\n" if b"\r\n" in head else b"\n"
    return b"Sensitivity: " + value.encode("ascii") + eol + raw


def oldest_first(entry: tuple[datetime | None, str, Any]) -> tuple[bool, datetime, str]:
    """Sort key for (arrival time, key, …): unknown times first, then by time, then by key.

    Neither EWS sync nor Graph delta promises an order, and the intake wants oldest first.
    """
    received, key = entry[0], entry[1]
    return (received is not None, received or datetime.min.replace(tzinfo=UTC), key)


# ------------------------------------------------------------------------------ the connector

"""Codes of a 410 Gone for a delta link: start the delta over."""
