"""The Microsoft Graph connector: Exchange Online, where EWS is being switched off.

App-only authentication with MSAL: an Entra ID application with a client secret or a
certificate, granted ``Mail.ReadWrite`` and ``MailboxSettings.ReadWrite`` and scoped to the
watched mailboxes by the tenant's application access policy.  Tokens are cached by MSAL —
one cache per app registration, shared by every mailbox it reads — and renewed before they
expire; a token the service rejects (401 ``InvalidAuthenticationToken``) is dropped and a
new one fetched once.  The secret (or the
certificate's private key) is handed to the connector by :func:`postvakt.mailbox.open_connector`,
which reads it from the environment variable (or the key file) the config names.

In place: messages are listed with delta queries on ``inbox`` and ``sentitems`` and read as
MIME with ``GET /messages/{id}/$value``, which leaves ``isRead`` as it is; nothing is moved
or deleted.  The writes are reply drafts (``createReply``, then the .docx as a file
attachment, through an upload session when it is large) and, when asked, the automatic
replies (``mailboxSettings/automaticRepliesSetting``).

Incremental sync per folder: the state keeps the delta link and the day's count of changed
messages (opened-today evidence).  Keys are Message-IDs, as on IMAP and EWS, so a lost
delta link — or a 410 Gone (``syncStateNotFound``, ``resyncRequired``) — restarts the delta
and registers nothing twice.  Pages (``@odata.nextLink``) are followed; the new messages
of a pass are yielded oldest first, the new delta link with the last of them.

Private items: Graph's message has no sensitivity property, so the delta expands the MAPI
property PidTagSensitivity (``Integer 0x0036``); a private item whose MIME lacks the
``Sensitivity`` header gets one, as on EWS.

Throttling: a 429 (or 503) answer's ``Retry-After`` is honoured through a
:class:`ThrottlePolicy`: a short wait is waited out within the pass, a long one ends the pass
with :class:`~postvakt.errors.ThrottledError` and no request goes out until it has passed.

This module also holds what the EWS connector shares with it: :class:`AutomaticReplies`,
:class:`ThrottlePolicy` and the helpers for reply texts and the ``Sensitivity`` header.

No ``requests`` or ``msal`` exception leaves this module.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from datetime import time as clock_time
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msal
import requests

from postvakt.clock import Clock, system_clock
from postvakt.config import GraphSettings
from postvakt.errors import (
    AuthenticationError,
    MailboxNotFoundError,
    ProtocolError,
    ThrottledError,
    UnavailableError,
)
from postvakt.mailbox.addresses import draft_recipient, one_line
from postvakt.mailbox.base import (
    Checkpoint,
    DraftReply,
    FetchedMessage,
    FolderRole,
    IsKnown,
    OpenedEvidence,
    OutOfOffice,
)
from postvakt.mailbox.exchange import (
    AutomaticReplies,
    ThrottlePolicy,
    folder_permission_line,
    folder_removal_line,
    html_reply,
    mark_sensitivity,
    oldest_first,
    permission_level,
    reply_text,
)
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

PAGE_SIZE = 100  # Prefer: odata.maxpagesize for delta pages
IMMUTABLE_IDS = 'IdType="ImmutableId"'
"""The preference that makes item ids survive a move between folders (sent on every request)."""
SMALL_ATTACHMENT = 3 * 1024 * 1024  # Graph takes attachments under 3 MB in one POST
UPLOAD_CHUNK = 10 * 320 * 1024  # upload-session chunks: multiples of 320 KiB, under 4 MB
DELTA_FIELDS = "internetMessageId,receivedDateTime,isRead"
SENSITIVITY = "Integer 0x0036"
"""PidTagSensitivity as a Graph extended property: Graph's message has no sensitivity of its own."""
DELTA_EXPAND = f"singleValueExtendedProperties($filter=id eq '{SENSITIVITY}')"
_GONE = {"syncstatenotfound", "resyncrequired", "syncstateinvalid", "410"}
_SENSITIVITY_VALUES = {"1": "personal", "2": "private", "3": "confidential"}
"""An automatic reply 'until further notice' is scheduled this far ahead: a start date is kept."""


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


def _odata(value: str) -> str:
    """A string literal for $filter."""
    return "'" + value.replace("'", "''") + "'"


def _session(verify: str | bool, timeout: float) -> requests.Session:
    """A session that sends ``verify`` and ``timeout`` with every request: requests lets
    REQUESTS_CA_BUNDLE override a session's own ``verify``, which would drop ``ca_file``."""
    session = requests.Session()
    session.headers["User-Agent"] = "Postvakt"
    session.request = functools.partial(  # type: ignore[method-assign]
        session.request, verify=verify, timeout=timeout
    )
    return session


_APPLICATIONS: dict[tuple[str, ...], msal.ConfidentialClientApplication] = {}
_APPLICATIONS_LOCK = threading.Lock()


def _application(
    settings: GraphSettings, credential: str, verify: str | bool
) -> msal.ConfidentialClientApplication:
    """The MSAL application for an app registration, shared by every mailbox it reads:
    one token cache, so a hundred mailboxes cost one token an hour, not a hundred."""
    authority = f"{settings.authority.rstrip('/')}/{settings.tenant_id}"
    thumbprint = (settings.certificate_thumbprint or "").replace(":", "")
    fingerprint = hashlib.sha256(credential.encode("utf-8")).hexdigest()
    key = (authority, settings.client_id, thumbprint, fingerprint, str(verify))
    with _APPLICATIONS_LOCK:
        app = _APPLICATIONS.get(key)
        if app is None:
            client_credential: Any = (
                {"private_key": credential, "thumbprint": thumbprint}
                if settings.certificate_path
                else credential
            )
            app = msal.ConfidentialClientApplication(
                settings.client_id,
                client_credential=client_credential,
                authority=authority,
                # Only the tenant's OpenID configuration is read; no instance discovery call
                # to login.microsoftonline.com (sovereign clouds, proxies, tests).
                instance_discovery=False,
                http_client=_session(verify, settings.timeout_seconds),
            )
            _APPLICATIONS[key] = app
        return app


class GraphConnector:
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
        self.address = address
        self.settings = settings
        self._credential = credential
        self.clock = clock or system_clock()
        self._backoff = backoff or Backoff(retry or RetryPolicy())
        self.throttle = throttle or ThrottlePolicy(max_wait=settings.throttle_wait_seconds)
        self._sleep = sleep
        self.small_attachment = small_attachment
        self.upload_chunk = upload_chunk
        self._app: msal.ConfidentialClientApplication | None = None
        self._session: requests.Session | None = None
        self.calls = 0
        """Graph requests made (for tests and the idle-cost benchmark)."""

    def __repr__(self) -> str:
        return f"GraphConnector({self.address!r}, {self.settings.endpoint})"

    # -- authentication ------------------------------------------------------------------

    @property
    def _verify(self) -> str | bool:
        return str(self.settings.ca_file) if self.settings.ca_file else True

    @property
    def scope(self) -> str:
        parts = urlsplit(self.settings.endpoint)
        return f"{parts.scheme}://{parts.netloc}/.default"

    def _client(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            with self._token_errors("hämta en token"):
                self._app = _application(self.settings, self._credential, self._verify)
        return self._app

    def _token(self) -> str:
        app = self._client()
        with self._token_errors("hämta en token"):
            result = app.acquire_token_for_client(scopes=[self.scope])
        if "access_token" not in result:
            error = str(result.get("error") or "okänt fel")
            raise AuthenticationError(
                f"Entra ID gav ingen token till appen {self.settings.client_id}: "
                f"{result.get('error_description') or error}. Kontrollera tenant_id, client_id "
                "och hemligheten eller certifikatet.",
                mailbox=self.address,
                code=error,
            )
        return str(result["access_token"])

    def _forget_token(self) -> None:
        """Drop cached access tokens: the service said ours is no longer good."""
        if self._app is None:
            return
        cache = self._app.token_cache
        for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            cache.remove_at(entry)

    @contextmanager
    def _token_errors(self, action: str) -> Iterator[None]:
        """Map MSAL's and requests' exceptions during token work to Postvakt's errors."""
        try:
            yield
        except requests.RequestException as exc:
            self._backoff.failed()
            raise UnavailableError(
                f"inloggningstjänsten ({self.settings.authority}) svarade inte när Postvakt "
                f"skulle {action} ({type(exc).__name__}). Postvakt försöker igen.",
                mailbox=self.address,
            ) from exc
        except ValueError as exc:
            # MSAL raises ValueError for an unknown tenant or a key it cannot read.
            raise AuthenticationError(
                f"appen kunde inte logga in mot {self.settings.authority}: {exc}. "
                "Kontrollera tenant_id, authority och certifikatet.",
                mailbox=self.address,
                code="invalid_configuration",
            ) from exc

    # -- HTTP ----------------------------------------------------------------------------

    def _http(self) -> requests.Session:
        if self._session is None:
            self._session = _session(self._verify, self.settings.timeout_seconds)
        return self._session

    def close(self) -> None:
        """Close the connections; the next request opens new ones (MSAL keeps its tokens)."""
        if self._session is not None:
            self._session.close()

    def _url(self, path: str) -> str:
        if path.startswith("https://") or path.startswith("http://"):
            return path
        return f"{self.settings.endpoint.rstrip('/')}/users/{quote(self.address)}{path}"

    @staticmethod
    def _retry_after(response: requests.Response) -> float | None:
        value = response.headers.get("Retry-After")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def _request(
        self,
        method: str,
        path: str,
        action: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        authorised: bool = True,
    ) -> requests.Response:
        """One Graph request, with a fresh token on 401 and the throttle policy on 429/503."""
        attempt = 0
        renewed = False
        while True:
            attempt += 1
            wait = self._backoff.wait_left()
            if wait > 0 and self._backoff.failures:
                raise UnavailableError(
                    f"Microsoft Graph svarade inte nyss; nästa försök om {wait:.0f} s",
                    mailbox=self.address,
                )
            if wait > 0:
                raise ThrottledError(
                    f"Microsoft Graph bad nyss Postvakt vänta; nästa försök om {wait:.0f} s",
                    mailbox=self.address,
                    code="TooManyRequests",
                    retry_after=wait,
                )
            sent = dict(headers or {})
            # Immutable ids on every request (delta queries too): a message keeps its id when
            # its owner moves it between folders, so it is never taken for a new one.
            sent["Prefer"] = ", ".join(p for p in (sent.get("Prefer"), IMMUTABLE_IDS) if p)
            if authorised:
                sent["Authorization"] = f"Bearer {self._token()}"
            try:
                self.calls += 1
                response = self._http().request(
                    method, self._url(path), json=json, params=params, headers=sent, data=data
                )
            except requests.RequestException as exc:
                self._backoff.failed()
                self.close()
                raise UnavailableError(
                    f"förbindelsen med Microsoft Graph bröts eller kunde inte öppnas när Postvakt "
                    f"skulle {action} ({type(exc).__name__}). Postvakt försöker igen.",
                    mailbox=self.address,
                ) from exc
            status = response.status_code
            if status == 401 and authorised and not renewed:
                # Expired or revoked before MSAL expected: one new token, one new try.
                renewed = True
                self._forget_token()
                continue
            if status in (429, 503):
                hint = self._retry_after(response)
                pause = self.throttle.pause(hint, attempt)
                if pause is None:
                    self._backoff.not_before = self._backoff.monotonic() + (
                        hint or self.throttle.default_wait
                    )
                    raise ThrottledError(
                        "Microsoft Graph ber Postvakt vänta"
                        + (f" {hint:.0f} s" if hint else "")
                        + f" innan den kan {action}.",
                        mailbox=self.address,
                        code=self._error_code(response) or str(status),
                        retry_after=hint,
                    )
                log.info("Graph throttles %s; waiting %.1f s", self.address, pause)
                self._sleep(pause)
                continue
            if status >= 400:
                self._raise(response, action)
            self._backoff.succeeded()
            return response

    @staticmethod
    def _error_code(response: requests.Response) -> str | None:
        try:
            error = response.json().get("error")
        except ValueError:
            return None
        if isinstance(error, Mapping):
            return str(error.get("code") or "") or None
        return str(error) if error else None

    def _raise(self, response: requests.Response, action: str) -> None:
        status = response.status_code
        code = self._error_code(response) or str(status)
        try:
            message = response.json().get("error", {}).get("message", "")
        except (ValueError, AttributeError):
            message = response.text[:200]
        text = f"Microsoft Graph svarade {status} {code} när Postvakt skulle {action}"
        if status == 401:
            raise AuthenticationError(
                f"{text}: tokenen godtogs inte ({message}). Kontrollera appens registrering.",
                mailbox=self.address,
                code=code,
            )
        if status == 403:
            raise AuthenticationError(
                f"{text}: åtkomst nekad ({message}). Appen behöver Mail.ReadWrite och "
                "MailboxSettings.ReadWrite (programbehörigheter med administratörsmedgivande), "
                "och brevlådan måste ingå i programåtkomstprincipen (New-ApplicationAccessPolicy).",
                mailbox=self.address,
                code=code,
            )
        if status == 404:
            raise MailboxNotFoundError(
                f"{text}: finns inte ({message}). Kontrollera adressen och att brevlådan finns "
                "i Exchange Online.",
                mailbox=self.address,
                code=code,
            )
        if status >= 500:
            self._backoff.failed()
            raise UnavailableError(
                f"{text}. Postvakt försöker igen.", mailbox=self.address, code=code
            )
        raise ProtocolError(f"{text}: {message}", mailbox=self.address, code=code)

    def _pages(
        self, path: str, action: str, params: Mapping[str, str] | None = None
    ) -> Iterator[dict]:
        """Every page of a collection, following @odata.nextLink."""
        response = self._request(
            "GET", path, action, params=params, headers={"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}
        )
        while True:
            page = response.json()
            yield page
            link = page.get("@odata.nextLink")
            if not link:
                return
            response = self._request(
                "GET", link, action, headers={"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}
            )

    # -- folders -------------------------------------------------------------------------

    def folders(self, role: FolderRole) -> list[str]:
        return [INBOX] if role == "inbox" else [SENT]

    def drafts_folder(self) -> str:
        """The Drafts folder (a delegate needs rights there to answer with Postvakt's drafts)."""
        return DRAFTS

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
        current = self.automatic_replies()
        self.set_automatic_replies(
            AutomaticReplies(
                status="disabled",
                internal_text=current.internal_text,
                external_text=current.external_text,
                audience=current.audience,
                internal_html=current.internal_html,
                external_html=current.external_html,
            )
        )

    def out_of_office(self) -> OutOfOffice | None:
        return self.automatic_replies().as_out_of_office(self.clock())
