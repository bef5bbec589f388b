"""The Microsoft Graph connector: Exchange Online, where EWS is being switched off.

App-only authentication with MSAL: an Entra ID application with a client secret or a
certificate, granted ``Mail.ReadWrite`` and ``MailboxSettings.ReadWrite`` and scoped to the
watched mailboxes by the tenant's application access policy.  The secret (or the
certificate's private key) is handed to the connector by :func:`postvakt.mailbox.open_connector`,
which reads it from the environment variable (or the key file) the config names.

In place: messages are listed with delta queries on ``inbox`` and ``sentitems`` and read as
MIME with ``GET /messages/{id}/$value``, which leaves ``isRead`` as it is; nothing is moved
or deleted.  The writes are reply drafts (``createReply``, then the .docx as a file
attachment, through an upload session when it is large) and, when asked, the automatic
replies (``mailboxSettings/automaticRepliesSetting``).

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
from postvakt.mailbox.identity import location_key
from postvakt.retry import Backoff, RetryPolicy

__all__ = [
    "DRAFTS",
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
_GONE = {"syncstatenotfound", "resyncrequired", "syncstateinvalid", "410"}
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

    # -- drafts ---------------------------------------------------------------------------

    def save_draft(self, draft: DraftReply) -> str:
        return self.save_drafts([draft])[0]

    def save_drafts(self, drafts: Sequence[DraftReply]) -> list[str]:
        """Each draft once: a draft already in Drafts with the draft's Message-ID (a retry
        after a crash) is completed with any attachment it lacks, the rest created."""
        return [self._save(draft) for draft in drafts]

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
                json={**fields, "body": {"contentType": "text", "content": draft.text}},
            )
        created = response.json()
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
