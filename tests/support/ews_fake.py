"""A stateful fake of Exchange Web Services (EWS), served over real HTTP on loopback.

No Exchange server runs here, so the EWS connector is tested against this: a SOAP endpoint
that exchangelib talks to for real.  It dispatches on the operation element in the SOAP body
and answers with the request and response shapes Microsoft documents for Exchange 2019
("EWS reference for Exchange", messages.xsd / types.xsd):

- ``ConvertId`` (exchangelib's version probe), ``GetFolder`` (with ``PermissionSet``),
  ``SyncFolderItems`` (sync states, paging, Create/Update/Delete/ReadFlagChange),
  ``GetItem`` (``MimeContent``), ``FindItem`` (paging and the restrictions Postvakt uses),
  ``CreateItem`` / ``CreateAttachment`` (drafts), ``DeleteItem`` (``HardDelete``,
  ``SoftDelete``, ``MoveToDeletedItems``: the item gets a new id in Deleted Items, as an
  item moved between folders does), ``GetUserOofSettings`` /
  ``SetUserOofSettings`` and ``GetDelegate``;
- the errors a real server gives: ``ErrorServerBusy`` as a SOAP fault with
  ``BackOffMilliseconds`` (throttling), ``ErrorInvalidSyncStateData``, ``ErrorAccessDenied``,
  ``ErrorImpersonateUserDenied``, ``ErrorNonExistentMailbox``, ``ErrorItemNotFound``, and
  HTTP 401 for a wrong password or token.

Access is checked the way Exchange checks it: a service account reaches another person's
mailbox with FullAccess (delegate access: the mailbox is named in ``DistinguishedFolderId``)
or with the ApplicationImpersonation role (the ``ExchangeImpersonation`` SOAP header).
Basic authentication and OAuth bearer tokens (from a client-credentials token endpoint at
``/<tenant>/oauth2/v2.0/token``) are accepted; NTLM is not (it needs a Windows domain).

Sync states are opaque base64 blobs, as on a real server; they carry the mailbox's
generation, so :meth:`EwsFake.invalidate_sync_states` makes every old state invalid.  The
first page of a sync returns the newest items first: Microsoft does not promise an order,
and the connector must sort.

Every operation is recorded in :attr:`EwsFake.operations`, so tests can prove the connector
never called an operation that changes the person's mail (UpdateItem, MoveItem, DeleteItem…).
A ``DeleteItem`` that touches only drafts Postvakt created (``CreateItem``) is recorded as
``DeleteItem:own-drafts``, which is not such an operation.
"""

from __future__ import annotations

import base64
import email
import email.policy
import html
import itertools
import json
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
ERR = "http://schemas.microsoft.com/exchange/services/2006/errors"

for _prefix, _uri in (("s", SOAP), ("m", M), ("t", T), ("e", ERR)):
    ET.register_namespace(_prefix, _uri)

DISTINGUISHED = {
    "root": "Top of Information Store",
    "msgfolderroot": "Informationsarkivets överkant",
    "inbox": "Inkorgen",
    "sentitems": "Skickat",
    "drafts": "Utkast",
    "deleteditems": "Borttaget",
}
"""Folders every fake mailbox has: distinguished id -> display name (a Swedish mailbox)."""

WRITE_OPERATIONS = frozenset(
    {
        "UpdateItem",
        "MoveItem",
        "CopyItem",
        "DeleteItem",
        "SendItem",
        "MarkAsJunk",
        "MarkAllItemsAsRead",
        "ArchiveItem",
        "EmptyFolder",
        "UpdateFolder",
        "DeleteFolder",
        "MoveFolder",
    }
)
"""Operations that would change what a person sees in their mailbox."""


def _t(name: str) -> str:
    return f"{{{T}}}{name}"


def _m(name: str) -> str:
    return f"{{{M}}}{name}"


def _el(tag: str, text: Any = None, attrs: dict[str, str] | None = None, *children: ET.Element):
    elem = ET.Element(tag, attrs or {})
    if text is not None:
        elem.text = text if isinstance(text, str) else str(text)
    elem.extend(children)
    return elem


def _sub(parent: ET.Element, tag: str, text: Any = None, attrs: dict[str, str] | None = None):
    elem = ET.SubElement(parent, tag, attrs or {})
    if text is not None:
        elem.text = text if isinstance(text, str) else str(text)
    return elem


def _bool(text: str | None) -> bool:
    return (text or "").strip().lower() in ("true", "1")


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_stamp(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _xml_bool(value: bool) -> str:
    return "true" if value else "false"


class EwsFault(Exception):
    """An EWS error answered as a response message (or, with ``fault``, as a SOAP fault)."""

    def __init__(self, code: str, text: str = "", *, fault: bool = False, http: int = 500):
        super().__init__(code)
        self.code = code
        self.text = text or code
        self.fault = fault
        self.http = http


# --------------------------------------------------------------------------- the store


@dataclass
class FakeAttachment:
    id: str
    name: str
    content_type: str
    content: bytes


@dataclass
class FakeItem:
    """One item in a mailbox: a delivered message (``raw``) or a draft built from fields."""

    id: str
    mailbox: str
    folder: str
    received: datetime
    raw: bytes = b""
    subject: str = ""
    message_id: str | None = None
    is_read: bool = False
    is_draft: bool = False
    """Created with CreateItem (Postvakt's drafts); mail delivered into Drafts is not."""
    sensitivity: str = "Normal"
    body: str = ""
    body_type: str = "Text"
    to: list[tuple[str | None, str]] = field(default_factory=list)
    in_reply_to: str | None = None
    references: str | None = None
    attachments: list[FakeAttachment] = field(default_factory=list)
    extended: dict[str, tuple[dict[str, str], str]] = field(default_factory=dict)
    """Extended properties by name: (the ExtendedFieldURI attributes as sent, value)."""
    change: int = 1

    @property
    def change_key(self) -> str:
        return base64.b64encode(f"CQAAABYAAAD{self.change:08d}".encode()).decode()

    @property
    def size(self) -> int:
        return len(self.raw) if self.raw else len(self.mime())

    def mime(self) -> bytes:
        """The item as MIME, as Exchange produces it on request (drafts are built from fields)."""
        if self.raw:
            return self.raw
        msg = EmailMessage()
        msg["From"] = self.mailbox
        msg["To"] = ", ".join(formataddr((name or "", addr)) for name, addr in self.to)
        msg["Subject"] = self.subject
        if self.message_id:
            msg["Message-ID"] = self.message_id
        if self.in_reply_to:
            msg["In-Reply-To"] = self.in_reply_to
        if self.references:
            msg["References"] = self.references
        msg.set_content(self.body or "")
        for attachment in self.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            msg.add_attachment(
                attachment.content,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=attachment.name,
            )
        return msg.as_bytes()


@dataclass
class FakePermission:
    """One entry of a folder's PermissionSet (rights as Exchange lists them)."""

    who: str
    """A primary SMTP address, or 'Default' / 'Anonymous'."""
    level: str
    read: bool
    create: bool
    edit: str
    delete: str
    owner: bool = False
    subfolders: bool = False
    visible: bool = True


PERMISSION_LEVELS: dict[str, dict[str, Any]] = {
    "None": dict(read=False, create=False, edit="None", delete="None"),
    "Owner": dict(read=True, create=True, edit="All", delete="All", owner=True, subfolders=True),
    "PublishingEditor": dict(read=True, create=True, edit="All", delete="All", subfolders=True),
    "Editor": dict(read=True, create=True, edit="All", delete="All"),
    "PublishingAuthor": dict(read=True, create=True, edit="Owned", delete="Owned", subfolders=True),
    "Author": dict(read=True, create=True, edit="Owned", delete="Owned"),
    "NonEditingAuthor": dict(read=True, create=True, edit="None", delete="Owned"),
    "Reviewer": dict(read=True, create=False, edit="None", delete="None"),
    "Contributor": dict(read=False, create=True, edit="None", delete="None"),
}


def permission(who: str, level: str) -> FakePermission:
    """A folder permission with the rights of a named Exchange permission level."""
    return FakePermission(who=who, level=level, **PERMISSION_LEVELS[level])


@dataclass
class FakeDelegate:
    address: str
    display_name: str
    inbox: str = "Reviewer"
    calendar: str = "None"
    view_private_items: bool = False


@dataclass
class FakeOof:
    state: str = "Disabled"
    audience: str = "All"
    start: datetime | None = None
    end: datetime | None = None
    internal: str = ""
    external: str = ""


@dataclass
class FakeMailbox:
    address: str
    display_name: str
    folder_ids: dict[str, str]
    """Distinguished id -> folder id."""
    items: dict[str, FakeItem] = field(default_factory=dict)
    log: list[tuple[int, str, str, str]] = field(default_factory=list)
    """The change log: (sequence, kind, item id, folder); kinds create/update/read/delete."""
    generation: int = 1
    permissions: dict[str, list[FakePermission]] = field(default_factory=dict)
    delegates: list[FakeDelegate] = field(default_factory=list)
    oof: FakeOof = field(default_factory=FakeOof)
    recoverable: list[FakeItem] = field(default_factory=list)
    """Soft-deleted items (Recoverable Items): out of every folder the person sees."""


@dataclass
class Throttle:
    remaining: int
    back_off_ms: int
    operation: str | None


# --------------------------------------------------------------------------- the fake


class EwsFake:
    """An Exchange server's EWS endpoint for tests.  Use as a context manager."""

    def __init__(self, *, build: tuple[int, int, int, int] = (15, 2, 1544, 4)) -> None:
        self.build = build
        self.lock = threading.RLock()
        self.users: dict[str, str] = {}
        """Service accounts and people: login name -> password."""
        self.user_address: dict[str, str] = {}
        self.impersonators: set[str] = set()
        self.full_access: dict[str, set[str]] = {}
        """Mailbox address -> login names with FullAccess."""
        self.mailboxes: dict[str, FakeMailbox] = {}
        self.oauth_clients: dict[str, tuple[str, str]] = {}
        """client id -> (secret, tenant)."""
        self.tokens: dict[str, str] = {}
        """Bearer token -> client id (the app acts with impersonation rights)."""
        self.operations: list[tuple[str, str | None]] = []
        """(operation, target mailbox) of every SOAP request, in order."""
        self.throttles: list[Throttle] = []
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> EwsFake:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> EwsFake:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/EWS/Exchange.asmx"

    # -- set-up ---------------------------------------------------------------------------

    def add_user(self, login: str, password: str, *, impersonation: bool = False) -> None:
        """A Windows account that can log in (a service account or a person)."""
        with self.lock:
            self.users[login.lower()] = password
            if impersonation:
                self.impersonators.add(login.lower())

    def add_mailbox(self, address: str, display_name: str | None = None) -> FakeMailbox:
        address = address.lower()
        with self.lock:
            ids = {name: self._new_id("F") for name in DISTINGUISHED}
            box = FakeMailbox(address, display_name or address.split("@")[0].title(), ids)
            box.permissions = {name: [permission("Default", "None")] for name in DISTINGUISHED}
            self.mailboxes[address] = box
            self.full_access.setdefault(address, set())
            return box

    def grant_full_access(self, address: str, login: str) -> None:
        """Like ``Add-MailboxPermission -AccessRights FullAccess``."""
        with self.lock:
            self.full_access[address.lower()].add(login.lower())

    def add_oauth_client(self, client_id: str, secret: str, tenant: str) -> None:
        """An Entra ID app with the EWS ``full_access_as_app`` role (impersonation by token)."""
        with self.lock:
            self.oauth_clients[client_id] = (secret, tenant)

    def throttle(self, times: int = 1, *, back_off_ms: int = 200, operation: str | None = None):
        """The next ``times`` requests (of ``operation``, if named) get ErrorServerBusy."""
        with self.lock:
            self.throttles.append(Throttle(times, back_off_ms, operation))

    def invalidate_sync_states(self, address: str) -> None:
        """What a mailbox move or a server restore does: every sync state stops being valid."""
        with self.lock:
            self.mailboxes[address.lower()].generation += 1

    def set_folder_permissions(self, address: str, folder: str, entries: list[FakePermission]):
        with self.lock:
            self.mailboxes[address.lower()].permissions[folder] = [
                permission("Default", "None"),
                *entries,
            ]

    def set_delegates(self, address: str, delegates: list[FakeDelegate]) -> None:
        with self.lock:
            self.mailboxes[address.lower()].delegates = list(delegates)

    # -- what happens in the mailbox ---------------------------------------------------

    def deliver(
        self,
        address: str,
        raw: bytes,
        *,
        folder: str = "inbox",
        received: datetime | None = None,
        is_read: bool = False,
        sensitivity: str | None = None,
    ) -> str:
        """Mail arrives (or is filed) in ``folder``; Exchange maps the MIME headers to properties."""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        header = (parsed.get("Sensitivity") or "").strip().lower()
        from_header = {
            "personal": "Personal",
            "private": "Private",
            "company-confidential": "Confidential",
        }.get(header, "Normal")
        if received is None:
            try:
                received = parsedate_to_datetime(parsed["Date"])
            except (TypeError, ValueError):
                received = datetime.now(UTC)
        with self.lock:
            box = self.mailboxes[address.lower()]
            item = FakeItem(
                id=self._new_id("I"),
                mailbox=box.address,
                folder=folder,
                received=received,
                raw=raw,
                subject=str(parsed.get("Subject", "")),
                message_id=(parsed.get("Message-ID") or "").strip() or None,
                is_read=is_read,
                sensitivity=sensitivity or from_header,
            )
            box.items[item.id] = item
            self._log(box, "create", item)
            return item.id

    def mark_read(self, address: str, item_id: str, read: bool = True) -> None:
        """The person (or a delegate) opens a message in Outlook."""
        with self.lock:
            box = self.mailboxes[address.lower()]
            item = box.items[item_id]
            item.is_read = read
            item.change += 1
            self._log(box, "read", item)

    def flag(self, address: str, item_id: str) -> None:
        """The person flags a message (an Update change, not a read-flag change)."""
        with self.lock:
            box = self.mailboxes[address.lower()]
            item = box.items[item_id]
            item.change += 1
            self._log(box, "update", item)

    def delete(self, address: str, item_id: str) -> None:
        with self.lock:
            box = self.mailboxes[address.lower()]
            item = box.items.pop(item_id)
            self._log(box, "delete", item)

    def items(self, address: str, folder: str) -> list[FakeItem]:
        with self.lock:
            box = self.mailboxes[address.lower()]
            return sorted(
                (i for i in box.items.values() if i.folder == folder), key=lambda i: i.received
            )

    def view(self, address: str) -> dict[str, list[tuple[str, str | None, bool, str]]]:
        """What the person sees outside Drafts: per folder, (id, Message-ID, read, change key)."""
        with self.lock:
            out: dict[str, list[tuple[str, str | None, bool, str]]] = {}
            for name in DISTINGUISHED:
                if name == "drafts":
                    continue
                out[name] = [
                    (i.id, i.message_id, i.is_read, i.change_key) for i in self.items(address, name)
                ]
            return out

    def writes(self) -> list[tuple[str, str | None]]:
        """Operations received that would have changed a person's mail."""
        return [op for op in self.operations if op[0] in WRITE_OPERATIONS]

    # -- internals --------------------------------------------------------------------------

    def _new_id(self, kind: str) -> str:
        # Real ids are long base64 strings (AAMkAD…); these look the part.
        raw = f"{kind}:{next(self._ids):06d}:{uuid.uuid4().hex[:8]}".encode()
        return "AAMkA" + base64.b64encode(raw).decode()

    def _log(self, box: FakeMailbox, kind: str, item: FakeItem) -> None:
        box.log.append((next(self._seq), kind, item.id, item.folder))

    def _seq_now(self) -> int:
        return max((entry[0] for box in self.mailboxes.values() for entry in box.log), default=0)

    def folder_of(self, folder_id: str) -> tuple[FakeMailbox, str]:
        for box in self.mailboxes.values():
            for name, fid in box.folder_ids.items():
                if fid == folder_id:
                    return box, name
        raise EwsFault(
            "ErrorFolderNotFound", "The specified folder could not be found in the store."
        )

    def item_of(self, item_id: str) -> tuple[FakeMailbox, FakeItem]:
        for box in self.mailboxes.values():
            if item_id in box.items:
                return box, box.items[item_id]
        raise EwsFault("ErrorItemNotFound", "The specified object was not found in the store.")

    def new_token(self, client_id: str) -> str:
        token = "eyJ0eXAiOiJKV1Qi." + uuid.uuid4().hex
        with self.lock:
            self.tokens[token] = client_id
        return token


# --------------------------------------------------------------------------- the HTTP side


class _Request:
    """One SOAP request: who is calling, on whose behalf, and the operation element."""

    def __init__(self, fake: EwsFake, login: str, app: str | None, envelope: ET.Element):
        self.fake = fake
        self.login = login
        self.app = app
        header = envelope.find(f"{{{SOAP}}}Header")
        body = envelope.find(f"{{{SOAP}}}Body")
        if body is None or len(body) == 0:
            raise EwsFault("ErrorSchemaValidation", "The request has no body.", fault=True)
        self.op = body[0]
        # GetUserOofSettings and SetUserOofSettings name their element "…Request".
        self.name = self.op.tag.split("}", 1)[1].removesuffix("Request")
        self.impersonated: str | None = None
        if header is not None:
            sid = header.find(f"{_t('ExchangeImpersonation')}/{_t('ConnectingSID')}")
            if sid is not None:
                address = sid.findtext(_t("PrimarySmtpAddress")) or sid.findtext(_t("SmtpAddress"))
                self.impersonated = (address or "").lower() or None
        self.target: str | None = self.impersonated

    def mailbox(self, address: str | None) -> FakeMailbox:
        """The mailbox ``address`` (or the impersonated one), if the caller may open it."""
        fake = self.fake
        address = (address or self.impersonated or "").lower()
        self.target = address or self.target
        if self.impersonated is not None:
            if self.app is None and self.login not in fake.impersonators:
                raise EwsFault(
                    "ErrorImpersonateUserDenied",
                    "The account does not have permission to impersonate the requested user.",
                )
            if address != self.impersonated:
                raise EwsFault(
                    "ErrorAccessDenied", "Access is denied. Check credentials and try again."
                )
        box = fake.mailboxes.get(address)
        if box is None:
            raise EwsFault(
                "ErrorNonExistentMailbox",
                f"The SMTP address has no mailbox associated with it. ({address})",
            )
        if self.impersonated is None:
            own = fake.user_address.get(self.login) == address
            if not own and self.login not in fake.full_access.get(address, set()):
                raise EwsFault(
                    "ErrorAccessDenied", "Access is denied. Check credentials and try again."
                )
        return box

    def folder(self, elem: ET.Element) -> tuple[FakeMailbox, str]:
        """A FolderId or DistinguishedFolderId element -> (mailbox, distinguished name)."""
        if elem.tag == _t("DistinguishedFolderId"):
            name = elem.get("Id", "")
            address = elem.findtext(f"{_t('Mailbox')}/{_t('EmailAddress')}")
            box = self.mailbox(address)
            if name not in box.folder_ids:
                raise EwsFault(
                    "ErrorFolderNotFound", "The specified folder could not be found in the store."
                )
            return box, name
        if elem.tag == _t("FolderId"):
            box, name = self.fake.folder_of(elem.get("Id", ""))
            self.mailbox(box.address)
            return box, name
        raise EwsFault("ErrorSchemaValidation", f"unexpected folder element {elem.tag}", fault=True)

    def item(self, item_id: str) -> tuple[FakeMailbox, FakeItem]:
        box, item = self.fake.item_of(item_id)
        self.mailbox(box.address)
        return box, item


class _Handler(BaseHTTPRequestHandler):
    fake: EwsFake
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _send(
        self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length)
        if self.path.endswith("/oauth2/v2.0/token"):
            self._token(data)
            return
        if not self.path.lower().startswith("/ews/exchange.asmx"):
            self._send(404, b"Not Found", "text/plain")
            return
        identity = self._authenticate()
        if identity is None:
            self._send(
                401,
                b"",
                "text/html",
                {"WWW-Authenticate": 'Basic realm="fake-exchange"'},
            )
            return
        login, app = identity
        fake = self.fake
        try:
            envelope = ET.fromstring(data)  # noqa: S314 - the test's own client, on loopback
            request = _Request(fake, login, app, envelope)
        except (ET.ParseError, EwsFault) as exc:
            code = exc.code if isinstance(exc, EwsFault) else "ErrorSchemaValidation"
            self._send(500, _fault(code, str(exc), None), "text/xml; charset=utf-8")
            return
        with fake.lock:
            throttle = next(
                (
                    t
                    for t in fake.throttles
                    if t.operation in (None, request.name) and t.remaining > 0
                ),
                None,
            )
            if throttle is not None:
                throttle.remaining -= 1
                fake.operations.append((f"{request.name}:throttled", request.impersonated))
                body = _fault(
                    "ErrorServerBusy",
                    "The server cannot service this request right now. Try again later.",
                    throttle.back_off_ms,
                )
                self._send(500, body, "text/xml; charset=utf-8")
                return
            handler = OPERATIONS.get(request.name)
            try:
                if handler is None:
                    raise EwsFault(
                        "ErrorInvalidOperation", f"{request.name} is not supported.", fault=True
                    )
                response = handler(request)
            except EwsFault as exc:
                if exc.fault or handler is None:
                    fake.operations.append((request.name, request.target))
                    self._send(
                        exc.http, _fault(exc.code, exc.text, None), "text/xml; charset=utf-8"
                    )
                    return
                response = _error_response(request.name, exc)
            fake.operations.append((request.name, request.target))
        self._send(200, _envelope(fake, response), "text/xml; charset=utf-8")

    def _authenticate(self) -> tuple[str, str | None] | None:
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        fake = self.fake
        if scheme.lower() == "basic":
            # IIS decodes Basic credentials in the server's Western code page, as requests
            # encodes them (Latin-1): å, ä, ö work, characters outside Latin-1 do not.
            try:
                user, _, password = base64.b64decode(value).decode("cp1252").partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            user = user.lower()
            if fake.users.get(user) == password and password:
                return user, None
            return None
        if scheme.lower() == "bearer":
            client = fake.tokens.get(value.strip())
            return (f"app:{client}", client) if client else None
        return None

    def _token(self, data: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(data.decode()).items()}
        tenant = self.path.strip("/").split("/", 1)[0]
        client = form.get("client_id", "")
        known = self.fake.oauth_clients.get(client)
        if (
            form.get("grant_type") != "client_credentials"
            or known is None
            or known != (form.get("client_secret"), tenant)
        ):
            body = json.dumps(
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                }
            ).encode()
            self._send(401, body, "application/json")
            return
        token = self.fake.new_token(client)
        body = json.dumps({"token_type": "Bearer", "expires_in": 3599, "access_token": token})
        self._send(200, body.encode(), "application/json")


def _envelope(fake: EwsFake, response: ET.Element) -> bytes:
    root = _el(f"{{{SOAP}}}Envelope")
    header = _sub(root, f"{{{SOAP}}}Header")
    major, minor, build, revision = fake.build
    _sub(
        header,
        _t("ServerVersionInfo"),
        None,
        {
            "MajorVersion": str(major),
            "MinorVersion": str(minor),
            "MajorBuildNumber": str(build),
            "MinorBuildNumber": str(revision),
            "Version": "V2017_07_11",
        },
    )
    body = _sub(root, f"{{{SOAP}}}Body")
    body.append(response)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root)


def _fault(code: str, text: str, back_off_ms: int | None) -> bytes:
    """A SOAP fault, as Exchange sends throttling and schema errors (with HTTP 500)."""
    root = _el(f"{{{SOAP}}}Envelope")
    body = _sub(root, f"{{{SOAP}}}Body")
    fault = _sub(body, f"{{{SOAP}}}Fault")
    fault_code = ET.SubElement(fault, "faultcode")
    fault_code.text = f"a:{code}"
    fault_code.set("xmlns:a", T)
    fault_string = ET.SubElement(fault, "faultstring", {"xml:lang": "en-US"})
    fault_string.text = text
    detail = ET.SubElement(fault, "detail")
    _sub(detail, f"{{{ERR}}}ResponseCode", code)
    _sub(detail, f"{{{ERR}}}Message", text)
    if back_off_ms is not None:
        xml = _sub(detail, _t("MessageXml"))
        _sub(xml, _t("Value"), back_off_ms, {"Name": "BackOffMilliseconds"})
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root)


def _response(name: str) -> tuple[ET.Element, ET.Element]:
    response = _el(_m(f"{name}Response"))
    messages = _sub(response, _m("ResponseMessages"))
    return response, messages


def _message(messages: ET.Element, name: str, error: EwsFault | None = None) -> ET.Element:
    if error is None:
        msg = _sub(messages, _m(f"{name}ResponseMessage"), None, {"ResponseClass": "Success"})
        _sub(msg, _m("ResponseCode"), "NoError")
        return msg
    msg = _sub(messages, _m(f"{name}ResponseMessage"), None, {"ResponseClass": "Error"})
    _sub(msg, _m("MessageText"), error.text)
    _sub(msg, _m("ResponseCode"), error.code)
    _sub(msg, _m("DescriptiveLinkKey"), "0")
    return msg


def _error_response(name: str, error: EwsFault) -> ET.Element:
    if name in ("GetUserOofSettings", "SetUserOofSettings"):
        response = _el(_m(f"{name}Response"))
        msg = _sub(response, _m("ResponseMessage"), None, {"ResponseClass": "Error"})
        _sub(msg, _m("MessageText"), error.text)
        _sub(msg, _m("ResponseCode"), error.code)
        _sub(msg, _m("DescriptiveLinkKey"), "0")
        return response
    if name == "GetDelegate":
        response = _el(_m("GetDelegateResponse"), None, {"ResponseClass": "Error"})
        _sub(response, _m("MessageText"), error.text)
        _sub(response, _m("ResponseCode"), error.code)
        _sub(response, _m("DescriptiveLinkKey"), "0")
        return response
    response, messages = _response(name)
    msg = _message(messages, name, error)
    if name == "SyncFolderItems":
        # As Microsoft documents the error response: an empty state, the range complete.
        _sub(msg, _m("SyncState"))
        _sub(msg, _m("IncludesLastItemInRange"), "true")
    return response


# --------------------------------------------------------------------------- rendering


def _requested(shape: ET.Element | None) -> tuple[str, set[str], bool]:
    """(base shape, FieldURIs and extended property names asked for, MIME asked for)."""
    if shape is None:
        return "IdOnly", set(), False
    base = shape.findtext(_t("BaseShape")) or "IdOnly"
    fields: set[str] = set()
    for uri in shape.iter(_t("FieldURI")):
        fields.add(uri.get("FieldURI", ""))
    for ext in shape.iter(_t("ExtendedFieldURI")):
        fields.add("ext:" + (ext.get("PropertyName") or ext.get("PropertyTag") or ""))
    mime = _bool(shape.findtext(_t("IncludeMimeContent"))) or "item:MimeContent" in fields
    return base, fields, mime


def _item_xml(item: FakeItem, box: FakeMailbox, fields: set[str], base: str, mime: bool):
    elem = _el(_t("Message"))
    every = base in ("Default", "AllProperties")

    def wants(uri: str) -> bool:
        return every or uri in fields

    if mime:
        _sub(
            elem,
            _t("MimeContent"),
            base64.b64encode(item.mime()).decode(),
            {"CharacterSet": "UTF-8"},
        )
    _sub(elem, _t("ItemId"), None, {"Id": item.id, "ChangeKey": item.change_key})
    if wants("item:ParentFolderId"):
        _sub(
            elem,
            _t("ParentFolderId"),
            None,
            {"Id": box.folder_ids[item.folder], "ChangeKey": "AQAAAA=="},
        )
    if wants("item:ItemClass"):
        _sub(elem, _t("ItemClass"), "IPM.Note")
    if wants("item:Subject"):
        _sub(elem, _t("Subject"), item.subject)
    if wants("item:Sensitivity"):
        _sub(elem, _t("Sensitivity"), item.sensitivity)
    if wants("item:Body") and item.is_draft:
        _sub(elem, _t("Body"), item.body, {"BodyType": item.body_type})
    if wants("item:Attachments") and item.attachments:
        attachments = _sub(elem, _t("Attachments"))
        for attachment in item.attachments:
            node = _sub(attachments, _t("FileAttachment"))
            _sub(node, _t("AttachmentId"), None, {"Id": attachment.id})
            _sub(node, _t("Name"), attachment.name)
            _sub(node, _t("ContentType"), attachment.content_type)
            _sub(node, _t("Size"), len(attachment.content))
    if wants("item:DateTimeReceived"):
        _sub(elem, _t("DateTimeReceived"), _stamp(item.received))
    if wants("item:Size"):
        _sub(elem, _t("Size"), item.size)
    if wants("item:InReplyTo") and item.in_reply_to:
        _sub(elem, _t("InReplyTo"), item.in_reply_to)
    if wants("item:IsDraft"):
        _sub(elem, _t("IsDraft"), _xml_bool(item.is_draft))
    if wants("item:HasAttachments"):
        _sub(elem, _t("HasAttachments"), _xml_bool(bool(item.attachments)))
    for name, (attrs, value) in item.extended.items():
        if "ext:" + name in fields:
            # Exchange answers with the property path in the form it was asked for.
            ext = _sub(elem, _t("ExtendedProperty"))
            _sub(ext, _t("ExtendedFieldURI"), None, attrs)
            _sub(ext, _t("Value"), value)
    if wants("message:ToRecipients") and item.to:
        recipients = _sub(elem, _t("ToRecipients"))
        for name, addr in item.to:
            mailbox = _sub(recipients, _t("Mailbox"))
            if name:
                _sub(mailbox, _t("Name"), name)
            _sub(mailbox, _t("EmailAddress"), addr)
            _sub(mailbox, _t("RoutingType"), "SMTP")
    if wants("message:InternetMessageId") and item.message_id:
        _sub(elem, _t("InternetMessageId"), item.message_id)
    if wants("message:IsRead"):
        _sub(elem, _t("IsRead"), _xml_bool(item.is_read))
    if wants("message:References") and item.references:
        _sub(elem, _t("References"), item.references)
    return elem


def _folder_xml(box: FakeMailbox, name: str, fields: set[str], base: str) -> ET.Element:
    elem = _el(_t("Folder"))
    _sub(elem, _t("FolderId"), None, {"Id": box.folder_ids[name], "ChangeKey": "AQAAABYAAAA="})
    if name != "root":
        _sub(
            elem,
            _t("ParentFolderId"),
            None,
            {"Id": box.folder_ids["msgfolderroot"], "ChangeKey": "AQAAAA=="},
        )
    every = base in ("Default", "AllProperties")
    if every or "folder:FolderClass" in fields:
        _sub(elem, _t("FolderClass"), "IPF.Note")
    if every or "folder:DisplayName" in fields:
        _sub(elem, _t("DisplayName"), DISTINGUISHED[name])
    items = [i for i in box.items.values() if i.folder == name]
    if every or "folder:TotalCount" in fields:
        _sub(elem, _t("TotalCount"), len(items))
    if every or "folder:ChildFolderCount" in fields:
        _sub(elem, _t("ChildFolderCount"), 0)
    if "folder:PermissionSet" in fields:
        permission_set = _sub(elem, _t("PermissionSet"))
        permissions = _sub(permission_set, _t("Permissions"))
        for entry in box.permissions.get(name, []):
            node = _sub(permissions, _t("Permission"))
            user = _sub(node, _t("UserId"))
            if entry.who in ("Default", "Anonymous"):
                _sub(user, _t("DistinguishedUser"), entry.who)
            else:
                _sub(user, _t("SID"), "S-1-5-21-" + str(abs(hash(entry.who)) % 10**9))
                _sub(user, _t("PrimarySmtpAddress"), entry.who)
                _sub(user, _t("DisplayName"), entry.who.split("@")[0].title())
            _sub(node, _t("CanCreateItems"), _xml_bool(entry.create))
            _sub(node, _t("CanCreateSubFolders"), _xml_bool(entry.subfolders))
            _sub(node, _t("IsFolderOwner"), _xml_bool(entry.owner))
            _sub(node, _t("IsFolderVisible"), _xml_bool(entry.visible))
            _sub(node, _t("IsFolderContact"), _xml_bool(entry.owner))
            _sub(node, _t("EditItems"), entry.edit)
            _sub(node, _t("DeleteItems"), entry.delete)
            _sub(node, _t("ReadItems"), "FullDetails" if entry.read else "None")
            _sub(node, _t("PermissionLevel"), entry.level)
    if every or "folder:UnreadCount" in fields:
        _sub(elem, _t("UnreadCount"), sum(1 for i in items if not i.is_read))
    return elem


# --------------------------------------------------------------------------- operations


def _convert_id(request: _Request) -> ET.Element:
    # exchangelib sends a ConvertId with a dummy id to learn the server's version.
    response, messages = _response("ConvertId")
    for _ in request.op.iter(_t("AlternateId")):
        _message(messages, "ConvertId", EwsFault("ErrorInvalidIdMalformed", "Id is malformed."))
    return response


def _get_folder(request: _Request) -> ET.Element:
    base, fields, _mime = _requested(request.op.find(_m("FolderShape")))
    response, messages = _response("GetFolder")
    ids = request.op.find(_m("FolderIds"))
    for elem in list(ids) if ids is not None else []:
        try:
            box, name = request.folder(elem)
        except EwsFault as exc:
            _message(messages, "GetFolder", exc)
            continue
        msg = _message(messages, "GetFolder")
        folders = _sub(msg, _m("Folders"))
        folders.append(_folder_xml(box, name, fields, base))
    return response


def _encode_state(box: FakeMailbox, folder: str, **values: Any) -> str:
    data = {"g": box.generation, "mb": box.address, "f": folder, **values}
    return base64.b64encode(b"H4sIAAAAAAAEAO29B2AcSZ" + json.dumps(data).encode()).decode()


def _decode_state(text: str) -> dict[str, Any]:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return json.loads(raw[len(b"H4sIAAAAAAAEAO29B2AcSZ") :])
    except (ValueError, UnicodeDecodeError) as exc:
        raise EwsFault(
            "ErrorInvalidSyncStateData",
            "Synchronization state data is corrupt or otherwise invalid.",
        ) from exc


def _sync_folder_items(request: _Request) -> ET.Element:
    op = request.op
    base, fields, mime = _requested(op.find(_m("ItemShape")))
    folder_elem = op.find(_m("SyncFolderId"))
    assert folder_elem is not None and len(folder_elem)
    box, folder = request.folder(folder_elem[0])
    limit = int(op.findtext(_m("MaxChangesReturned")) or "100")
    state_text = op.findtext(_m("SyncState"))
    changes: list[tuple[str, FakeItem | str]] = []
    if state_text:
        state = _decode_state(state_text)
        if (
            state.get("g") != box.generation
            or state.get("mb") != box.address
            or state.get("f") != folder
        ):
            raise EwsFault(
                "ErrorInvalidSyncStateData",
                "Synchronization state data is corrupt or otherwise invalid.",
            )
    else:
        state = None
    if state is None or "off" in state:
        # The first sync: every item now in the folder, newest first, page by page.
        upto = state["upto"] if state else request.fake._seq_now()
        offset = state["off"] if state else 0
        created = {e[2]: e[0] for e in box.log if e[1] == "create" and e[3] == folder}
        snapshot = sorted(
            (i for i in box.items.values() if i.folder == folder and created.get(i.id, 0) <= upto),
            key=lambda i: (i.received, i.id),
            reverse=True,
        )
        page = snapshot[offset : offset + limit]
        changes = [("Create", item) for item in page]
        done = offset + len(page) >= len(snapshot)
        new_state = (
            _encode_state(box, folder, seq=upto)
            if done
            else _encode_state(box, folder, upto=upto, off=offset + len(page))
        )
    else:
        since = int(state["seq"])
        entries = [e for e in box.log if e[0] > since and e[3] == folder]
        page_entries = entries[:limit]
        done = len(page_entries) == len(entries)
        last = page_entries[-1][0] if page_entries else since
        for _seq, kind, item_id, _folder in page_entries:
            item = box.items.get(item_id)
            if kind == "delete":
                changes.append(("Delete", item_id))
            elif item is None:
                continue  # created or changed, then deleted within the window: Exchange skips it
            elif kind == "create":
                changes.append(("Create", item))
            elif kind == "read":
                changes.append(("ReadFlagChange", item))
            else:
                changes.append(("Update", item))
        new_state = _encode_state(box, folder, seq=last)
    response, messages = _response("SyncFolderItems")
    msg = _message(messages, "SyncFolderItems")
    _sub(msg, _m("SyncState"), new_state)
    _sub(msg, _m("IncludesLastItemInRange"), _xml_bool(done))
    node = _sub(msg, _m("Changes"))
    for kind, what in changes:
        change = _sub(node, _t(kind))
        if kind == "Delete":
            assert isinstance(what, str)
            _sub(change, _t("ItemId"), None, {"Id": what, "ChangeKey": "AAAA"})
        elif kind == "ReadFlagChange":
            assert isinstance(what, FakeItem)
            _sub(change, _t("ItemId"), None, {"Id": what.id, "ChangeKey": what.change_key})
            _sub(change, _t("IsRead"), _xml_bool(what.is_read))
        else:
            assert isinstance(what, FakeItem)
            change.append(_item_xml(what, box, fields, base, mime))
    return response


def _get_item(request: _Request) -> ET.Element:
    base, fields, mime = _requested(request.op.find(_m("ItemShape")))
    response, messages = _response("GetItem")
    ids = request.op.find(_m("ItemIds"))
    for elem in list(ids) if ids is not None else []:
        try:
            box, item = request.item(elem.get("Id", ""))
        except EwsFault as exc:
            _message(messages, "GetItem", exc)
            continue
        msg = _message(messages, "GetItem")
        items = _sub(msg, _m("Items"))
        items.append(_item_xml(item, box, fields, base, mime))
    return response


def _constant(elem: ET.Element) -> str:
    value = elem.find(f"{_t('FieldURIOrConstant')}/{_t('Constant')}")
    return value.get("Value", "") if value is not None else ""


def _field_value(item: FakeItem, elem: ET.Element) -> Any:
    uri = elem.find(_t("FieldURI"))
    if uri is not None:
        name = uri.get("FieldURI")
        return {
            "message:IsRead": item.is_read,
            "item:DateTimeReceived": item.received,
            "message:InternetMessageId": item.message_id,
            "item:Subject": item.subject,
        }.get(name or "")
    ext = elem.find(_t("ExtendedFieldURI"))
    if ext is not None:
        found = item.extended.get(ext.get("PropertyName") or "")
        return found[1] if found else None
    raise EwsFault(
        "ErrorUnsupportedPathForQuery", "The property path is not supported for queries."
    )


def _compare(value: Any, constant: str) -> tuple[Any, Any]:
    if isinstance(value, bool):
        return value, _bool(constant)
    if isinstance(value, datetime):
        return value, _parse_stamp(constant)
    return value, constant


def _matches(item: FakeItem, node: ET.Element) -> bool:
    tag = node.tag.split("}", 1)[1]
    if tag == "And":
        return all(_matches(item, child) for child in node)
    if tag == "Or":
        return any(_matches(item, child) for child in node)
    if tag == "Not":
        return not _matches(item, node[0])
    if tag == "Exists":
        return _field_value(item, node) is not None
    value = _field_value(item, node)
    if value is None:
        return False
    left, right = _compare(value, _constant(node))
    operators: dict[str, Callable[[Any, Any], bool]] = {
        "IsEqualTo": lambda a, b: a == b,
        "IsNotEqualTo": lambda a, b: a != b,
        "IsLessThan": lambda a, b: a < b,
        "IsLessThanOrEqualTo": lambda a, b: a <= b,
        "IsGreaterThan": lambda a, b: a > b,
        "IsGreaterThanOrEqualTo": lambda a, b: a >= b,
    }
    if tag not in operators:
        raise EwsFault("ErrorUnsupportedQueryFilter", f"{tag} is not supported by the fake.")
    return operators[tag](left, right)


def _find_item(request: _Request) -> ET.Element:
    op = request.op
    base, fields, _mime = _requested(op.find(_m("ItemShape")))
    view = op.find(_m("IndexedPageItemView"))
    limit = int(view.get("MaxEntriesReturned", "1000")) if view is not None else 1000
    offset = int(view.get("Offset", "0")) if view is not None else 0
    restriction = op.find(_m("Restriction"))
    parents = op.find(_m("ParentFolderIds"))
    response, messages = _response("FindItem")
    for elem in list(parents) if parents is not None else []:
        try:
            box, folder = request.folder(elem)
            found = [
                i
                for i in sorted(box.items.values(), key=lambda i: (i.received, i.id), reverse=True)
                if i.folder == folder
                and (restriction is None or len(restriction) == 0 or _matches(i, restriction[0]))
            ]
        except EwsFault as exc:
            _message(messages, "FindItem", exc)
            continue
        page = found[offset : offset + limit]
        msg = _message(messages, "FindItem")
        root = _sub(
            msg,
            _m("RootFolder"),
            None,
            {
                "IndexedPagingOffset": str(offset + len(page)),
                "TotalItemsInView": str(len(found)),
                "IncludesLastItemInRange": _xml_bool(offset + len(page) >= len(found)),
            },
        )
        items = _sub(root, _t("Items"))
        for item in page:
            items.append(_item_xml(item, box, fields, base, False))
    return response


def _read_attachments(node: ET.Element | None, fake: EwsFake) -> list[FakeAttachment]:
    out = []
    for elem in node.findall(_t("FileAttachment")) if node is not None else []:
        out.append(
            FakeAttachment(
                id=fake._new_id("A"),
                name=elem.findtext(_t("Name")) or "",
                content_type=elem.findtext(_t("ContentType")) or "application/octet-stream",
                content=base64.b64decode(elem.findtext(_t("Content")) or ""),
            )
        )
    return out


def _create_item(request: _Request) -> ET.Element:
    op = request.op
    fake = request.fake
    disposition = op.get("MessageDisposition", "")
    saved = op.find(_m("SavedItemFolderId"))
    response, messages = _response("CreateItem")
    if disposition != "SaveOnly":
        # Sending is not something the fake does (and Postvakt never sends).
        raise EwsFault(
            "ErrorInvalidOperation",
            f"MessageDisposition {disposition!r} is not supported by the fake.",
        )
    if saved is None or not len(saved):
        raise EwsFault("ErrorInvalidRequest", "SavedItemFolderId is required for SaveOnly.")
    box, folder = request.folder(saved[0])
    items = op.find(_m("Items"))
    for elem in list(items) if items is not None else []:
        if elem.tag != _t("Message"):
            _message(
                messages,
                "CreateItem",
                EwsFault("ErrorInvalidItemForOperationCreateItem", "Only messages."),
            )
            continue
        if elem.find(_t("MimeContent")) is not None:
            raw = base64.b64decode(elem.findtext(_t("MimeContent")) or "")
        else:
            raw = b""
        to = [
            (mb.findtext(_t("Name")), mb.findtext(_t("EmailAddress")) or "")
            for mb in elem.findall(f"{_t('ToRecipients')}/{_t('Mailbox')}")
        ]
        extended = {}
        for ext in elem.findall(_t("ExtendedProperty")):
            uri = ext.find(_t("ExtendedFieldURI"))
            if uri is not None:
                name = uri.get("PropertyName") or uri.get("PropertyTag") or ""
                extended[name] = (dict(uri.attrib), ext.findtext(_t("Value")) or "")
        body = elem.find(_t("Body"))
        item = FakeItem(
            id=fake._new_id("I"),
            mailbox=box.address,
            folder=folder,
            received=datetime.now(UTC),
            raw=raw,
            subject=elem.findtext(_t("Subject")) or "",
            message_id=f"<{uuid.uuid4().hex}@fake.exchange>",
            is_read=_bool(elem.findtext(_t("IsRead"))),
            is_draft=True,
            sensitivity=elem.findtext(_t("Sensitivity")) or "Normal",
            body=body.text or "" if body is not None else "",
            body_type=body.get("BodyType", "Text") if body is not None else "Text",
            to=to,
            in_reply_to=elem.findtext(_t("InReplyTo")),
            references=elem.findtext(_t("References")),
            attachments=_read_attachments(elem.find(_t("Attachments")), fake),
            extended=extended,
        )
        box.items[item.id] = item
        fake._log(box, "create", item)
        msg = _message(messages, "CreateItem")
        created = _sub(msg, _m("Items"))
        node = _sub(created, _t("Message"))
        _sub(node, _t("ItemId"), None, {"Id": item.id, "ChangeKey": item.change_key})
        if item.attachments:
            attachments = _sub(node, _t("Attachments"))
            for attachment in item.attachments:
                file_node = _sub(attachments, _t("FileAttachment"))
                _sub(
                    file_node,
                    _t("AttachmentId"),
                    None,
                    {
                        "Id": attachment.id,
                        "RootItemId": item.id,
                        "RootItemChangeKey": item.change_key,
                    },
                )
    return response


def _create_attachment(request: _Request) -> ET.Element:
    op = request.op
    parent = op.find(_m("ParentItemId"))
    assert parent is not None
    _box, item = request.item(parent.get("Id", ""))
    added = _read_attachments(op.find(_m("Attachments")), request.fake)
    item.attachments.extend(added)
    item.change += 1
    response, messages = _response("CreateAttachment")
    msg = _message(messages, "CreateAttachment")
    attachments = _sub(msg, _m("Attachments"))
    for attachment in added:
        node = _sub(attachments, _t("FileAttachment"))
        _sub(
            node,
            _t("AttachmentId"),
            None,
            {"Id": attachment.id, "RootItemId": item.id, "RootItemChangeKey": item.change_key},
        )
    return response


DELETE_TYPES = ("HardDelete", "SoftDelete", "MoveToDeletedItems")


def _delete_item(request: _Request) -> ET.Element:
    """DeleteItem: hard and soft deletes take the item out of every folder (a soft-deleted
    one sits in Recoverable Items, kept in :attr:`FakeMailbox.recoverable`); MoveToDeletedItems
    moves it to Deleted Items under a new id (an item in Deleted Items is deleted for good)."""
    op = request.op
    fake = request.fake
    kind = op.get("DeleteType", "")
    if kind not in DELETE_TYPES:
        raise EwsFault("ErrorSchemaValidation", f"DeleteType {kind!r} is not valid.", fault=True)
    response, messages = _response("DeleteItem")
    ids = op.find(_m("ItemIds"))
    touched: list[FakeItem] = []
    for elem in list(ids) if ids is not None else []:
        try:
            box, item = request.item(elem.get("Id", ""))
        except EwsFault as exc:
            _message(messages, "DeleteItem", exc)
            continue
        touched.append(item)
        fake._log(box, "delete", item)
        del box.items[item.id]
        if kind == "MoveToDeletedItems" and item.folder != "deleteditems":
            item.id = fake._new_id("I")
            item.folder = "deleteditems"
            item.change += 1
            box.items[item.id] = item
            fake._log(box, "create", item)
        elif kind == "SoftDelete":
            box.recoverable.append(item)
        _message(messages, "DeleteItem")
    if touched and all(i.is_draft for i in touched):
        request.name = "DeleteItem:own-drafts"
    return response


def _oof_mailbox(request: _Request) -> FakeMailbox:
    address = request.op.findtext(f"{_t('Mailbox')}/{_t('Address')}")
    return request.mailbox(address)


def _as_html(text: str) -> str:
    # Exchange keeps automatic replies as HTML and wraps plain text when it is set.
    if text.lstrip().lower().startswith("<html"):
        return text
    return (
        "<html>\r\n<body>\r\n"
        + html.escape(text).replace("\n", "<br>\r\n")
        + "\r\n</body>\r\n</html>\r\n"
    )


def _get_oof(request: _Request) -> ET.Element:
    box = _oof_mailbox(request)
    oof = box.oof
    response = _el(_m("GetUserOofSettingsResponse"))
    msg = _sub(response, _m("ResponseMessage"), None, {"ResponseClass": "Success"})
    _sub(msg, _m("ResponseCode"), "NoError")
    settings = _sub(response, _t("OofSettings"))
    _sub(settings, _t("OofState"), oof.state)
    _sub(settings, _t("ExternalAudience"), oof.audience)
    duration = _sub(settings, _t("Duration"))
    # A server that never had a schedule reports today and tomorrow.
    start = oof.start or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    end = oof.end or start + timedelta(days=1)
    _sub(duration, _t("StartTime"), _stamp(start))
    _sub(duration, _t("EndTime"), _stamp(end))
    internal = _sub(settings, _t("InternalReply"))
    _sub(internal, _t("Message"), oof.internal)
    external = _sub(settings, _t("ExternalReply"))
    _sub(external, _t("Message"), oof.external)
    _sub(response, _m("AllowExternalOof"), "All")
    return response


def _set_oof(request: _Request) -> ET.Element:
    box = _oof_mailbox(request)
    settings = request.op.find(_t("UserOofSettings"))
    if settings is None:
        raise EwsFault("ErrorInvalidRequest", "UserOofSettings is required.", fault=True)
    state = settings.findtext(_t("OofState")) or "Disabled"
    oof = box.oof
    oof.state = state
    oof.audience = settings.findtext(_t("ExternalAudience")) or oof.audience
    start = settings.findtext(f"{_t('Duration')}/{_t('StartTime')}")
    end = settings.findtext(f"{_t('Duration')}/{_t('EndTime')}")
    if start and end:
        oof.start, oof.end = _parse_stamp(start), _parse_stamp(end)
        if state == "Scheduled" and oof.end <= oof.start:
            raise EwsFault("ErrorOofEndTimeBeforeStartTime", "EndTime must be after StartTime.")
    internal = settings.findtext(f"{_t('InternalReply')}/{_t('Message')}")
    external = settings.findtext(f"{_t('ExternalReply')}/{_t('Message')}")
    if internal is not None:
        oof.internal = _as_html(internal) if internal else ""
    if external is not None:
        oof.external = _as_html(external) if external else ""
    response = _el(_m("SetUserOofSettingsResponse"))
    msg = _sub(response, _m("ResponseMessage"), None, {"ResponseClass": "Success"})
    _sub(msg, _m("ResponseCode"), "NoError")
    return response


def _get_delegate(request: _Request) -> ET.Element:
    address = request.op.findtext(f"{_m('Mailbox')}/{_t('EmailAddress')}")
    box = request.mailbox(address)
    response = _el(_m("GetDelegateResponse"), None, {"ResponseClass": "Success"})
    _sub(response, _m("ResponseCode"), "NoError")
    if box.delegates:
        messages = _sub(response, _m("ResponseMessages"))
        for delegate in box.delegates:
            msg = _sub(
                messages, _m("DelegateUserResponseMessageType"), None, {"ResponseClass": "Success"}
            )
            _sub(msg, _m("ResponseCode"), "NoError")
            user = _sub(msg, _m("DelegateUser"))
            user_id = _sub(user, _t("UserId"))
            _sub(user_id, _t("SID"), "S-1-5-21-" + str(abs(hash(delegate.address)) % 10**9))
            _sub(user_id, _t("PrimarySmtpAddress"), delegate.address)
            _sub(user_id, _t("DisplayName"), delegate.display_name)
            if _bool(request.op.get("IncludePermissions")):
                perms = _sub(user, _t("DelegatePermissions"))
                _sub(perms, _t("CalendarFolderPermissionLevel"), delegate.calendar)
                _sub(perms, _t("InboxFolderPermissionLevel"), delegate.inbox)
            _sub(user, _t("ReceiveCopiesOfMeetingMessages"), "false")
            _sub(user, _t("ViewPrivateItems"), _xml_bool(delegate.view_private_items))
    _sub(response, _m("DeliverMeetingRequests"), "DelegatesAndMe")
    return response


OPERATIONS: dict[str, Callable[[_Request], ET.Element]] = {
    "ConvertId": _convert_id,
    "GetFolder": _get_folder,
    "SyncFolderItems": _sync_folder_items,
    "GetItem": _get_item,
    "FindItem": _find_item,
    "CreateItem": _create_item,
    "CreateAttachment": _create_attachment,
    "DeleteItem": _delete_item,
    "GetUserOofSettings": _get_oof,
    "SetUserOofSettings": _set_oof,
    "GetDelegate": _get_delegate,
}


# --------------------------------------------------------------------------- for tests

SERVICE_USER = "svc-postvakt"
SERVICE_PASSWORD = "Tjänste-Lösen-1"  # a test password; non-ASCII (Latin-1) on purpose
PASSWORD_ENV = "PV_TEST_EWS_PASSWORD"


def new_mailbox(fake: EwsFake, name: str = "kontakt") -> str:
    """A fresh mailbox the service account has FullAccess to; returns its address."""
    address = f"{name}-{uuid.uuid4().hex[:8]}@testby.se"
    fake.add_mailbox(address, name.title())
    fake.grant_full_access(address, SERVICE_USER)
    return address


def settings(fake: EwsFake, **extra: Any) -> Any:
    from postvakt.config import EwsSettings

    values: dict[str, Any] = {
        "endpoint": fake.endpoint,
        "username": SERVICE_USER,
        "password_env": PASSWORD_ENV,
        "auth": "basic",
    }
    values.update(extra)
    return EwsSettings(**values)


def connector(fake: EwsFake, address: str, *, password: str = SERVICE_PASSWORD, **kwargs: Any):
    """An EWS connector as Postvakt builds it, with sleeps recorded instead of slept."""
    from postvakt.mailbox.ews import EwsConnector

    extra = kwargs.pop("settings", {})
    slept: list[float] = []
    kwargs.setdefault("sleep", slept.append)
    made = EwsConnector(address, settings(fake, **extra), password, **kwargs)
    made.slept = slept  # type: ignore[attr-defined]
    return made
