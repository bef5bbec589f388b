"""The Microsoft Graph connector: Exchange Online, where EWS is being switched off.

App-only authentication with MSAL: an Entra ID application with a client secret or a
certificate, granted ``Mail.ReadWrite`` and ``MailboxSettings.ReadWrite`` and scoped to the
watched mailboxes by the tenant's application access policy.  The secret (or the
certificate's private key) is handed to the connector by :func:`postvakt.mailbox.open_connector`,
which reads it from the environment variable (or the key file) the config names.

In place: messages are listed with delta queries on ``inbox`` and ``sentitems`` and read as
MIME with ``GET /messages/{id}/$value``, which leaves ``isRead`` as it is; nothing is moved.
The writes are reply drafts (``createReply``, then the .docx as a file attachment, through an
upload session when it is large), the removal of Postvakt's own drafts of a withdrawn case
(``DELETE``, which puts them in Deleted Items, see :meth:`GraphConnector.remove_drafts`) and,
when asked, the automatic replies (``mailboxSettings/automaticRepliesSetting``).

Postvakt's drafts carry its id twice: as ``internetMessageId`` (found by it on a retry) and
in the named property ``PostvaktDraftId`` (:data:`DRAFT_KEY`, the one the EWS connector
writes), which only Postvakt sets: that is how a draft is known to be Postvakt's own.

Incremental sync per folder: the state keeps the delta link and the day's count of changed
messages (opened-today evidence).  A message's key is where it is (its immutable item id),
so a lost delta link — or a 410 Gone (``syncStateNotFound``, ``resyncRequired``) — restarts
the delta and registers nothing twice: known keys are not read again, and the intake
recognises a message seen before by Message-ID and content.  Pages (``@odata.nextLink``) are
followed; the new messages of a pass are yielded oldest first, the new delta link with the
last of them.

Private items: Graph's message has no sensitivity property, so the delta expands the MAPI
property PidTagSensitivity (``Integer 0x0036``); a private item whose MIME lacks the
``Sensitivity`` header gets one, as on EWS.

The pieces: tokens (MSAL's cache, shared per app registration), requests, throttling
(``Retry-After`` through a :class:`ThrottlePolicy`) and paging are in
:mod:`postvakt.mailbox.graph_client`; automatic replies and delegate-access instructions in
:mod:`postvakt.mailbox.graph_delegation`.  What the EWS connector shares with this one
(:class:`AutomaticReplies`, :class:`ThrottlePolicy`, the helpers for reply texts and the
``Sensitivity`` header) is in :mod:`postvakt.mailbox.exchange`, and importable from here too.

No ``requests`` or ``msal`` exception leaves these modules.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from datetime import time as clock_time
from typing import Any
from urllib.parse import quote

from postvakt.clock import Clock
from postvakt.config import GraphSettings
from postvakt.errors import MailboxNotFoundError, ProtocolError
from postvakt.mailbox.addresses import draft_recipient, one_line
from postvakt.mailbox.base import (
    Checkpoint,
    DraftReply,
    FetchedMessage,
    FolderRole,
    IsKnown,
    OpenedEvidence,
)
from postvakt.mailbox.exchange import (
    AutomaticReplies,
    ThrottlePolicy,
    html_reply,
    mark_sensitivity,
    oldest_first,
    reply_text,
)
from postvakt.mailbox.graph_client import GraphClient
from postvakt.mailbox.graph_delegation import GraphDelegation
from postvakt.mailbox.identity import is_hashed, location_key
from postvakt.retry import Backoff, RetryPolicy

__all__ = [
    "DRAFTS",
    "DRAFT_KEY",
    "INBOX",
    "SENT",
    "AutomaticReplies",
    "GraphConnector",
    "ThrottlePolicy",
    "html_reply",
    "mark_sensitivity",
    "oldest_first",
    "reply_text",
]

log = logging.getLogger("postvakt.mailbox.graph")

INBOX = "inbox"
SENT = "sentitems"
DRAFTS = "drafts"
"""Graph's well-known folder names (the same as EWS's distinguished folder ids)."""

SMALL_ATTACHMENT = 3 * 1024 * 1024  # Graph takes attachments under 3 MB in one POST
UPLOAD_CHUNK = 10 * 320 * 1024  # upload-session chunks: multiples of 320 KiB, under 4 MB
DELTA_FIELDS = "internetMessageId,receivedDateTime,isRead"
SENSITIVITY = "Integer 0x0036"
"""PidTagSensitivity as a Graph extended property: Graph's message has no sensitivity of its own."""
DELTA_EXPAND = f"singleValueExtendedProperties($filter=id eq '{SENSITIVITY}')"
DRAFT_KEY = "String {00020329-0000-0000-C000-000000000046} Name PostvaktDraftId"
"""Postvakt's id of a draft as a named property in PS_PUBLIC_STRINGS: the property the EWS
connector sets (exchangelib's ``PublicStrings``), so both connectors know each other's drafts."""
DRAFT_EXPAND = f"singleValueExtendedProperties($filter=id eq '{DRAFT_KEY}')"
_GONE = {"syncstatenotfound", "resyncrequired", "syncstateinvalid", "410"}
_NOT_THERE = {"ErrorItemNotFound", "ErrorInvalidIdMalformed"}
"""Graph's codes for an id that names no message (404 and 400)."""
_SENSITIVITY_VALUES = {"1": "personal", "2": "private", "3": "confidential"}


# ------------------------------------------------------------------ reading helpers


def _sensitivity(change: Mapping[str, Any]) -> str | None:
    """'private', 'personal' or 'confidential' from the expanded PidTagSensitivity, if set."""
    for prop in change.get("singleValueExtendedProperties") or []:
        kind, _, tag = str(prop.get("id", "")).partition(" ")
        try:
            if kind.lower() == "integer" and int(tag, 16) == 0x36:
                return _SENSITIVITY_VALUES.get(str(prop.get("value")))
        except ValueError:
            continue
    return None


def _draft_key(message: Mapping[str, Any]) -> str | None:
    """The value of :data:`DRAFT_KEY` expanded on ``message``, if it has one."""
    for prop in message.get("singleValueExtendedProperties") or []:
        if str(prop.get("id", "")).lower() == DRAFT_KEY.lower():
            return str(prop.get("value"))
    return None


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _odata(value: str) -> str:
    """A string literal for $filter."""
    return "'" + value.replace("'", "''") + "'"


class GraphConnector(GraphDelegation, GraphClient):
    """One Exchange Online mailbox over Microsoft Graph, read in place."""

    def __init__(
        self,
        address: str,
        settings: GraphSettings,
        credential: str,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        backoff: Backoff | None = None,
        throttle: ThrottlePolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        small_attachment: int = SMALL_ATTACHMENT,
        upload_chunk: int = UPLOAD_CHUNK,
    ):
        """``credential`` is the client secret, or with ``certificate_path`` the private key (PEM)."""
        super().__init__(
            address,
            settings,
            credential,
            clock=clock,
            retry=retry,
            backoff=backoff,
            throttle=throttle,
            sleep=sleep,
        )
        self.small_attachment = small_attachment
        self.upload_chunk = upload_chunk

    def __repr__(self) -> str:
        return f"GraphConnector({self.address!r}, {self.settings.endpoint})"

    # -- folders -------------------------------------------------------------------------

    def folders(self, role: FolderRole) -> list[str]:
        return [INBOX] if role == "inbox" else [SENT]

    def drafts_folder(self) -> str:
        """The Drafts folder (a delegate needs rights there to answer with Postvakt's drafts)."""
        return DRAFTS

    # -- reading -------------------------------------------------------------------------

    def _delta(self, folder: str, link: str | None) -> tuple[list[dict], str]:
        """Every change since ``link`` (all messages when None) and the new delta link."""
        path = link or f"/mailFolders/{quote(folder)}/messages/delta"
        # The delta link keeps these parameters; they are given on the first call only.
        params = None if link else {"$select": DELTA_FIELDS, "$expand": DELTA_EXPAND}
        changes: list[dict] = []
        for page in self._pages(path, f"läsa ändringar i {folder}", params):
            changes.extend(page.get("value", []))
            if "@odata.deltaLink" in page:
                return changes, page["@odata.deltaLink"]
        raise ProtocolError(
            f"Microsoft Graph avslutade delta för {folder} utan deltaLink",
            mailbox=self.address,
        )

    def fetch_new(
        self, folder: str, state: Mapping[str, Any] | None, is_known: IsKnown
    ) -> Iterator[FetchedMessage | Checkpoint]:
        old = dict(state or {})
        today = self.clock().date().isoformat()
        link = old.get("delta_link")
        try:
            changes, new_link = self._delta(folder, link)
        except ProtocolError as exc:
            if not link or (exc.code or "").lower() not in _GONE:
                raise
            log.warning(
                "Graph no longer knows the delta link of a folder of %s (%s); reading it again",
                self.address,
                exc.code,
            )
            link = None
            changes, new_link = self._delta(folder, None)
        changed = 0
        candidates: dict[str, tuple[datetime | None, str, dict]] = {}
        for change in changes:
            if "@removed" in change or "id" not in change:
                continue
            received = _when(change.get("receivedDateTime"))
            key = location_key(change["id"])
            if is_known(key):
                changed += 1 if link else 0  # a known message came back: its flags changed
                continue
            if link and change.get("isRead"):
                changed += 1
            candidates[change["id"]] = (received, key, change)
        counted = int(old.get("changed_today", 0)) if old.get("day") == today else 0
        new_state = {"delta_link": new_link, "day": today, "changed_today": counted + changed}
        ordered = sorted(candidates.values(), key=oldest_first)
        yielded_last = False
        for index, (received, key, change) in enumerate(ordered):
            last = index == len(ordered) - 1
            try:
                response = self._request(
                    "GET",
                    f"/messages/{quote(change['id'])}/$value",
                    f"hämta ett meddelande i {folder}",
                )
            except MailboxNotFoundError:
                continue  # deleted by its owner meanwhile
            raw = mark_sensitivity(response.content, _sensitivity(change))
            yield FetchedMessage(folder, key, raw, received, new_state if last else None)
            yielded_last = last
        if not yielded_last and new_state != old:
            yield Checkpoint(folder, new_state)

    def fetch_one(self, folder: str, key: str) -> FetchedMessage | None:
        """The message whose immutable id is ``key`` (its properties, then its MIME with
        ``$value``; neither changes ``isRead``).  The id stays when the owner moves the message,
        so it is found in another folder too.  None when it is gone, or the key was stored
        hashed (ids over 300 characters)."""
        if not key or is_hashed(key):
            return None
        path = f"/messages/{quote(key)}"
        action = f"hämta ett meddelande i {folder}"
        try:
            info = self._request(
                "GET",
                path,
                action,
                params={"$select": "receivedDateTime", "$expand": DELTA_EXPAND},
            ).json()
            response = self._request("GET", f"{path}/$value", action)
        except (MailboxNotFoundError, ProtocolError) as exc:
            if exc.code in _NOT_THERE:
                return None
            raise
        raw = mark_sensitivity(response.content, _sensitivity(info))
        return FetchedMessage(folder, key, raw, _when(info.get("receivedDateTime")))

    # -- drafts ---------------------------------------------------------------------------

    def save_draft(self, draft: DraftReply) -> str:
        return self.save_drafts([draft])[0]

    def save_drafts(self, drafts: Sequence[DraftReply]) -> list[str]:
        """Each draft once: a draft already in Drafts with the draft's Message-ID (a retry
        after a crash) is completed with any attachment it lacks, the rest created."""
        return [self._save(draft) for draft in drafts]

    def remove_drafts(self, message_ids: Sequence[str]) -> list[str]:
        """Postvakt's own drafts with these ids deleted from Drafts (into Deleted Items).

        Per id, the drafts in Drafts with that ``internetMessageId``, with :data:`DRAFT_KEY`
        expanded; only one whose property holds the same id is Postvakt's and is deleted
        (``DELETE /messages/{id}``, which moves it to Deleted Items as Outlook does, so the
        person can still see and restore it).  A person's draft with the same Message-ID
        has no such property and stays.
        """
        removed: list[str] = []
        for message_id in dict.fromkeys(message_ids):
            own: list[str] = []
            for page in self._pages(
                f"/mailFolders/{DRAFTS}/messages",
                "leta efter utkast",
                {
                    "$filter": f"internetMessageId eq {_odata('<' + message_id + '>')}",
                    "$select": "id,internetMessageId",
                    "$expand": DRAFT_EXPAND,
                },
            ):
                own += [
                    m["id"]
                    for m in page.get("value", [])
                    if m.get("internetMessageId") == f"<{message_id}>"
                    and _draft_key(m) == message_id
                ]
            gone = False
            for item_id in own:
                try:
                    self._request(
                        "DELETE", f"/messages/{quote(item_id)}", "ta bort Postvakts utkast"
                    )
                except MailboxNotFoundError as exc:
                    if exc.code not in _NOT_THERE:
                        raise
                    continue  # deleted or sent by the person meanwhile
                gone = True
            if gone:
                removed.append(message_id)
        return removed

    def _find(self, path: str, message_id: str, action: str) -> dict | None:
        response = self._request(
            "GET",
            path,
            action,
            params={
                "$filter": f"internetMessageId eq {_odata('<' + message_id + '>')}",
                "$select": "id,hasAttachments",
                "$top": "1",
            },
        )
        found = response.json().get("value", [])
        return found[0] if found else None

    def _save(self, draft: DraftReply) -> str:
        existing = self._find(
            f"/mailFolders/{DRAFTS}/messages", draft.message_id, "leta efter utkast"
        )
        if existing is not None:
            self._attach(existing["id"], draft, complete=True)
            return f"{DRAFTS}/{existing['id']}"
        fields: dict[str, Any] = {
            "subject": draft.subject,
            # Writable while the message is a draft: it makes the draft findable by its id.
            "internetMessageId": f"<{draft.message_id}>",
        }
        mark = {"singleValueExtendedProperties": [{"id": DRAFT_KEY, "value": draft.message_id}]}
        to = draft_recipient(draft.to_address)
        if to:  # none when the citizen's address needs a person's check: a draft without To
            fields["toRecipients"] = [
                {"emailAddress": {"address": to, "name": one_line(draft.to_name) or to}}
            ]
        original = (
            self._find("/messages", draft.in_reply_to, "leta upp meddelandet som besvaras")
            if draft.in_reply_to
            else None
        )
        if original is not None:
            response = self._request(
                "POST",
                f"/messages/{quote(original['id'])}/createReply",
                "skapa ett svarsutkast",
                json={"message": fields, "comment": draft.text},
            )
        else:
            # The citizen's message is gone (or there was none): a new draft, not threaded.
            response = self._request(
                "POST",
                "/messages",
                "skapa ett utkast",
                json={**fields, "body": {"contentType": "text", "content": draft.text}, **mark},
            )
        created = response.json()
        if original is not None:
            # Extended properties are documented for a new message and an existing one
            # (PATCH), not for createReply's message parameter.
            self._request(
                "PATCH",
                f"/messages/{quote(created['id'])}",
                "märka utkastet som Postvakts",
                json=mark,
            )
        self._attach(created["id"], draft, complete=False)
        return f"{DRAFTS}/{created['id']}"

    def _attach(self, message_id: str, draft: DraftReply, *, complete: bool) -> None:
        if not draft.attachments:
            return
        have: set[str] = set()
        if complete:
            for page in self._pages(
                f"/messages/{quote(message_id)}/attachments",
                "läsa utkastets bilagor",
                {"$select": "name"},
            ):
                have.update(a.get("name", "") for a in page.get("value", []))
        for attachment in draft.attachments:
            if attachment.filename in have:
                continue
            if len(attachment.data) < self.small_attachment:
                self._request(
                    "POST",
                    f"/messages/{quote(message_id)}/attachments",
                    "bifoga brevet",
                    json={
                        "@odata.type": "#microsoft.graph.fileAttachment",
                        "name": attachment.filename,
                        "contentType": attachment.content_type,
                        "contentBytes": base64.b64encode(attachment.data).decode("ascii"),
                    },
                )
            else:
                self._upload(
                    message_id, attachment.filename, attachment.content_type, attachment.data
                )

    def _upload(self, message_id: str, name: str, content_type: str, data: bytes) -> None:
        """A large attachment through an upload session, in chunks of ``upload_chunk`` bytes."""
        session = self._request(
            "POST",
            f"/messages/{quote(message_id)}/attachments/createUploadSession",
            "starta uppladdning av brevet",
            json={
                "AttachmentItem": {
                    "attachmentType": "file",
                    "name": name,
                    "size": len(data),
                    "contentType": content_type,
                }
            },
        ).json()
        url = session["uploadUrl"]
        start = 0
        while start < len(data):
            end = min(start + self.upload_chunk, len(data)) - 1
            # The upload URL carries its own authorisation: no token goes with it.
            response = self._request(
                "PUT",
                url,
                "ladda upp brevet",
                data=data[start : end + 1],
                headers={
                    "Content-Range": f"bytes {start}-{end}/{len(data)}",
                    "Content-Type": "application/octet-stream",
                },
                authorised=False,
            )
            if response.status_code == 201:
                return
            ranges = response.json().get("nextExpectedRanges") or [f"{end + 1}-"]
            start = int(str(ranges[0]).split("-", 1)[0])

    # -- opened-today evidence --------------------------------------------------------------

    def opened_evidence(self, folder: str, state: Mapping[str, Any] | None) -> OpenedEvidence:
        """Messages whose flags changed since the day began (from the day's delta passes and
        a look at the changes since the last one, which does not move the saved link), and
        the unread messages that arrived before the day began.  Graph does not publish the
        owner's last sign-in to this app: ``last_login`` is None."""
        state = state or {}
        now = self.clock()
        today = now.date()
        changed = int(state.get("changed_today", 0)) if state.get("day") == today.isoformat() else 0
        if state.get("delta_link"):
            try:
                changes, _link = self._delta(folder, state["delta_link"])
            except ProtocolError:
                changes = []  # an expired link: the next pass starts over
            # Without the intake's keys, a message that comes back read is the evidence.
            changed += sum(1 for c in changes if "@removed" not in c and c.get("isRead"))
        start_of_day = datetime.combine(today, clock_time(0), tzinfo=now.tzinfo).astimezone(UTC)
        response = self._request(
            "GET",
            f"/mailFolders/{quote(folder)}/messages",
            f"räkna olästa i {folder}",
            params={
                "$filter": "isRead eq false and receivedDateTime lt "
                + start_of_day.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "$count": "true",
                "$top": "1",
                "$select": "id",
            },
        )
        unread = int(response.json().get("@odata.count", 0))
        return OpenedEvidence(changed_today=changed, last_login=None, unread_from_before=unread)

    def count_before(self, folder: str, moment: datetime) -> int:
        """Messages in ``folder`` received before ``moment`` (``$count`` with one result)."""
        response = self._request(
            "GET",
            f"/mailFolders/{quote(folder)}/messages",
            f"räkna meddelanden i {folder}",
            params={
                "$filter": "receivedDateTime lt "
                + moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "$count": "true",
                "$top": "1",
                "$select": "id",
            },
        )
        return int(response.json().get("@odata.count", 0))
