"""A stateful fake of Microsoft Graph (mail) and its token endpoint, served over HTTPS on loopback.

MSAL accepts only https authorities, so the fake serves TLS with a certificate of its own
(:func:`make_tls` creates a throwaway CA and a server certificate for 127.0.0.1); clients
trust it through ``ca_file``.  It answers with the JSON shapes Microsoft documents for
Graph v1.0 and the Microsoft identity platform:

- ``/{tenant}/v2.0/.well-known/openid-configuration`` and ``/{tenant}/oauth2/v2.0/token``
  (client credentials with a client secret or a certificate-signed client assertion, checked
  against the app's certificate);
- ``/v1.0/users/{id}/mailFolders/{folder}/messages/delta`` (pages with ``@odata.nextLink``
  honouring ``Prefer: odata.maxpagesize``, then ``@odata.deltaLink``; ``@removed`` entries;
  ``$select`` and ``$expand`` kept in the tokens; the order not guaranteed — newest first here),
  ``…/messages`` with the ``$filter`` forms Postvakt uses, ``$count``, ``$top``, ``$select``
  (a property v1.0 does not have, such as ``sensitivity``, is a 400 as on the real service;
  PidTagSensitivity comes through ``$expand=singleValueExtendedProperties``);
- ``/messages/{id}/$value`` (MIME), ``/messages/{id}/createReply``, ``POST /messages``,
  ``PATCH`` and ``DELETE /messages/{id}`` (the message goes to Deleted Items, keeping its
  immutable id; deleted there, it is gone), single-value extended properties (set in
  ``POST /messages`` and ``PATCH``, read with ``$expand=singleValueExtendedProperties($filter=
  id eq '…')`` on a message, a list or a delta),
  ``/messages/{id}/attachments`` and ``…/attachments/createUploadSession`` with ``PUT``
  chunks to the upload URL (``Content-Range``, ``nextExpectedRanges``, 201 at the end);
- ``/mailboxSettings/automaticRepliesSetting`` (GET) and ``/mailboxSettings`` (PATCH);
- errors as Graph gives them: 429 with ``Retry-After``, 401 ``InvalidAuthenticationToken``
  for an expired token, 403 ``ErrorAccessDenied`` (a mailbox outside the application access
  policy, or a missing application permission), 404 ``ErrorInvalidUser``, 410 for a delta
  link the service no longer knows (``syncStateNotFound`` / ``resyncRequired``).

Every request is recorded in :attr:`GraphFake.requests`; :meth:`GraphFake.writes` lists the
ones that would have changed a person's mail (anything but the app's own drafts and settings).
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import html
import itertools
import json
import re
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, getaddresses, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SMALL_ATTACHMENT_LIMIT = 3 * 1024 * 1024
UPLOAD_CHUNK_LIMIT = 4 * 1024 * 1024


# --------------------------------------------------------------------------- certificates


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _certificate(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None = None,
    *,
    ca: bool = False,
    ip: str | None = None,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[0].subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ip:
        import ipaddress

        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(ip)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


FOLDER_NAMES = {"inbox": "Inkorgen", "drafts": "Utkast", "sentitems": "Skickat"}
"""Well-known folders and their display names in a Swedish mailbox."""


@dataclass(frozen=True)
class Tls:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls(directory: Path) -> Tls:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca = _certificate("Postvakt test CA", ca_key, ca=True)
    server_key = _key()
    server = _certificate("127.0.0.1", server_key, (ca, ca_key), ip="127.0.0.1")
    tls = Tls(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    tls.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    tls.key_file.write_bytes(_pem_key(server_key))
    return tls


@dataclass(frozen=True)
class AppCertificate:
    """An application's certificate credential: the private key stays with the client."""

    private_key_pem: str
    certificate: x509.Certificate

    @property
    def thumbprint(self) -> str:
        """SHA-1 thumbprint, upper-case hex, as the Entra portal shows it."""
        return self.certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - Entra's format

    @classmethod
    def create(cls, name: str = "postvakt-app") -> AppCertificate:
        key = _key()
        return cls(_pem_key(key).decode("ascii"), _certificate(name, key))


# --------------------------------------------------------------------------- the store


@dataclass
class GraphAttachment:
    id: str
    name: str
    content_type: str
    content: bytes


@dataclass
class GraphMessage:
    id: str
    mailbox: str
    folder: str
    received: datetime
    raw: bytes = b""
    message_id: str | None = None
    subject: str = ""
    is_read: bool = False
    is_draft: bool = False
    sensitivity: str = "normal"
    body: str = ""
    body_type: str = "text"
    to: list[tuple[str | None, str]] = field(default_factory=list)
    in_reply_to: str | None = None
    attachments: list[GraphAttachment] = field(default_factory=list)
    change: int = 1
    rest_id: str = ""
    """The id a client sees without ``Prefer: IdType="ImmutableId"``: it changes on a move."""
    extended: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Single-value extended properties: lower-cased id -> (id as Graph writes it, value)."""
    by_app: bool = False
    """Created by the app (its drafts); mail delivered into Drafts is not."""

    def __post_init__(self) -> None:
        self.rest_id = self.rest_id or self.id

    def mime(self) -> bytes:
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
            msg["References"] = self.in_reply_to
        msg.set_content(self.body, subtype="html" if self.body_type == "html" else "plain")
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
class GraphMailbox:
    address: str
    messages: dict[str, GraphMessage] = field(default_factory=dict)
    log: list[tuple[int, str, str, str]] = field(default_factory=list)
    generation: int = 1
    gone_code: str = "syncStateNotFound"
    replies: dict[str, Any] = field(
        default_factory=lambda: {
            "status": "disabled",
            "externalAudience": "all",
            "scheduledStartDateTime": None,
            "scheduledEndDateTime": None,
            "internalReplyMessage": "",
            "externalReplyMessage": "",
        }
    )


@dataclass
class GraphApp:
    client_id: str
    tenant: str
    secret: str | None = None
    certificate: x509.Certificate | None = None
    roles: set[str] = field(default_factory=lambda: {"Mail.ReadWrite", "MailboxSettings.ReadWrite"})
    allowed: set[str] | None = None
    """The application access policy: mailboxes the app may open (None: every mailbox)."""


@dataclass
class UploadSession:
    message_id: str
    mailbox: str
    name: str
    content_type: str
    size: int
    data: bytearray = field(default_factory=bytearray)


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


# --------------------------------------------------------------------------- the fake


class GraphFake:
    """Microsoft Graph mail for tests.  Use as a context manager; needs :func:`make_tls` files."""

    def __init__(self, tls: Tls, *, tenant: str = "testby-tenant") -> None:
        self.tls = tls
        self.tenant = tenant
        self.lock = threading.RLock()
        self.apps: dict[str, GraphApp] = {}
        self.tokens: dict[str, tuple[str, bool]] = {}
        """Bearer token -> (client id, expired)."""
        self.token_requests = 0
        self.mailboxes: dict[str, GraphMailbox] = {}
        self.requests: list[tuple[str, str]] = []
        self.own_draft_requests: set[tuple[str, str]] = set()
        """PATCH and DELETE requests on drafts the app created (not writes to a person's mail)."""
        self.prefer_headers: list[str] = []
        """The ``Prefer`` header of every request to a mailbox (ids, page sizes)."""
        self.throttles: list[list[Any]] = []
        """[remaining, retry_after, path fragment or None]."""
        self.uploads: dict[str, UploadSession] = {}
        self.upload_chunks: list[int] = []
        self.tokens_expire_at_once = False
        """Issue tokens the API then rejects as expired (a clock skew or revoked app)."""
        self.oof_time_zone = "UTC"
        """The time zone Graph answers schedule times in (it may be the mailbox's zone)."""
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> GraphFake:
        handler = type("Handler", (_Handler,), {"fake": self})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.tls.cert_file, self.tls.key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GraphFake:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def authority(self) -> str:
        return self.base_url

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/v1.0"

    # -- set-up -------------------------------------------------------------------------

    def add_app(
        self,
        client_id: str,
        *,
        secret: str | None = None,
        certificate: AppCertificate | None = None,
        roles: set[str] | None = None,
        allowed: set[str] | None = None,
    ) -> GraphApp:
        app = GraphApp(
            client_id,
            self.tenant,
            secret,
            certificate.certificate if certificate else None,
            roles if roles is not None else {"Mail.ReadWrite", "MailboxSettings.ReadWrite"},
            {a.lower() for a in allowed} if allowed is not None else None,
        )
        with self.lock:
            self.apps[client_id] = app
        return app

    def add_mailbox(self, address: str) -> GraphMailbox:
        with self.lock:
            box = GraphMailbox(address.lower())
            self.mailboxes[box.address] = box
            return box

    def throttle(self, times: int = 1, *, retry_after: int = 1, path: str | None = None) -> None:
        with self.lock:
            self.throttles.append([times, retry_after, path])

    def expire_tokens(self) -> None:
        """Every token issued so far is now expired (as if the clock had run past it)."""
        with self.lock:
            self.tokens = {token: (client, True) for token, (client, _) in self.tokens.items()}

    def invalidate_delta(self, address: str, code: str = "syncStateNotFound") -> None:
        """Old delta links stop working (410 Gone with ``code``)."""
        with self.lock:
            box = self.mailboxes[address.lower()]
            box.generation += 1
            box.gone_code = code

    # -- what happens in the mailbox ----------------------------------------------------

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
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        header = (parsed.get("Sensitivity") or "").strip().lower()
        from_header = {
            "personal": "personal",
            "private": "private",
            "company-confidential": "confidential",
        }.get(header, "normal")
        if received is None:
            try:
                received = parsedate_to_datetime(parsed["Date"])
            except (TypeError, ValueError):
                received = datetime.now(UTC)
        with self.lock:
            box = self.mailboxes[address.lower()]
            message = GraphMessage(
                id=self._new_id(),
                mailbox=box.address,
                folder=folder,
                received=received,
                raw=raw,
                message_id=(parsed.get("Message-ID") or "").strip() or None,
                subject=str(parsed.get("Subject", "")),
                is_read=is_read,
                sensitivity=sensitivity or from_header,
            )
            box.messages[message.id] = message
            self._log(box, "create", message)
            return message.id

    def mark_read(self, address: str, message_id: str, read: bool = True) -> None:
        with self.lock:
            box = self.mailboxes[address.lower()]
            message = box.messages[message_id]
            message.is_read = read
            message.change += 1
            self._log(box, "update", message)

    def move(self, address: str, message_id: str, folder: str) -> None:
        """The owner moves a message to ``folder``: its immutable id stays, its REST id changes."""
        with self.lock:
            box = self.mailboxes[address.lower()]
            message = box.messages[message_id]
            self._log(box, "delete", message)
            message.folder = folder
            message.rest_id = self._new_id()
            message.change += 1
            self._log(box, "create", message)

    def delete(self, address: str, message_id: str) -> None:
        with self.lock:
            box = self.mailboxes[address.lower()]
            message = box.messages.pop(message_id)
            self._log(box, "delete", message)

    def messages(self, address: str, folder: str) -> list[GraphMessage]:
        with self.lock:
            box = self.mailboxes[address.lower()]
            return sorted(
                (m for m in box.messages.values() if m.folder == folder), key=lambda m: m.received
            )

    def view(self, address: str) -> dict[str, list[tuple[str, str | None, bool, int]]]:
        """What the person sees outside Drafts: per folder, (id, Message-ID, isRead, change)."""
        with self.lock:
            box = self.mailboxes[address.lower()]
            folders = sorted({m.folder for m in box.messages.values()} - {"drafts"})
            return {
                name: [
                    (m.id, m.message_id, m.is_read, m.change) for m in self.messages(address, name)
                ]
                for name in folders
            }

    def writes(self) -> list[tuple[str, str]]:
        """Requests that would have changed a person's mail (not drafts, not settings)."""
        out = []
        with self.lock:
            for method, path in self.requests:
                if not path.startswith("/v1.0/users/"):
                    continue  # tokens, OpenID configuration, upload URLs
                if method == "GET" or "/mailboxSettings" in path:
                    continue
                if (method, path) in self.own_draft_requests:
                    continue
                if method == "POST" and (
                    path.endswith("/createReply")
                    or re.search(r"/users/[^/]+/messages$", path)
                    or "/attachments" in path
                ):
                    continue
                out.append((method, path))
        return out

    # -- internals ------------------------------------------------------------------------

    def _new_id(self) -> str:
        raw = f"msg-{next(self._ids):06d}-{uuid.uuid4().hex[:8]}".encode()
        return "AAMkAG" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _log(self, box: GraphMailbox, kind: str, message: GraphMessage) -> None:
        box.log.append((next(self._seq), kind, message.id, message.folder))

    def _seq_now(self) -> int:
        return max((e[0] for box in self.mailboxes.values() for e in box.log), default=0)


# --------------------------------------------------------------------------- HTTP


def _token_state(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _read_state(token: str) -> dict[str, Any]:
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphError(410, "syncStateNotFound", "The sync state is not valid.") from exc


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_CLAUSE = re.compile(r"^\s*(\w+)\s+(eq|ne|lt|le|gt|ge)\s+(.+?)\s*$")


def _filter(expression: str) -> list[tuple[str, str, Any]]:
    clauses = []
    for part in re.split(r"\s+and\s+", expression):
        found = _CLAUSE.match(part)
        if not found:
            raise GraphError(400, "BadRequest", f"Invalid filter clause: {part}")
        name, op, raw = found.groups()
        value: Any
        if raw.startswith("'") and raw.endswith("'"):
            value = raw[1:-1].replace("''", "'")
        elif raw in ("true", "false"):
            value = raw == "true"
        else:
            try:
                value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError as exc:
                raise GraphError(400, "BadRequest", f"Invalid filter value: {raw}") from exc
        clauses.append((name, op, value))
    return clauses


def _property(message: GraphMessage, name: str) -> Any:
    values = {
        "internetMessageId": message.message_id,
        "isRead": message.is_read,
        "receivedDateTime": message.received,
        "subject": message.subject,
        "isDraft": message.is_draft,
    }
    if name not in values:
        raise GraphError(400, "ErrorInvalidProperty", f"Could not find a property named '{name}'.")
    return values[name]


def _matches(message: GraphMessage, clauses: list[tuple[str, str, Any]]) -> bool:
    for name, op, value in clauses:
        actual = _property(message, name)
        if actual is None:
            return False
        ok = {
            "eq": actual == value,
            "ne": actual != value,
            "lt": actual < value,
            "le": actual <= value,
            "gt": actual > value,
            "ge": actual >= value,
        }[op]
        if not ok:
            return False
    return True


_PROPERTIES = {
    "id", "receivedDateTime", "internetMessageId", "subject", "isRead", "isDraft",
    "hasAttachments", "parentFolderId", "toRecipients", "body", "sentDateTime", "from",
    "ccRecipients", "bccRecipients", "replyTo", "importance", "flag", "categories",
    "conversationId", "changeKey", "createdDateTime", "lastModifiedDateTime", "bodyPreview",
}  # fmt: skip
"""The v1.0 message properties (there is no 'sensitivity': that is PidTagSensitivity, 0x0036)."""
_SENSITIVITY_TAG = {"normal": "0", "personal": "1", "private": "2", "confidential": "3"}
_EXPAND = re.compile(r"singleValueExtendedProperties\(\$filter=id eq '([^']+)'\)")
_TAG = re.compile(r"(\w+) (0x[0-9A-Fa-f]+)")
_NAMED = re.compile(r"(\w+) \{([0-9A-Fa-f-]{36})\} Name (\S+)")


def _property_id(text: str) -> tuple[str, str]:
    """(the key a property is kept under, its id as Graph writes it: GUIDs in lower case)."""
    named = _NAMED.fullmatch(text.strip())
    if named:
        kind, guid, name = named.groups()
        canonical = f"{kind} {{{guid.lower()}}} Name {name}"
        return canonical.lower(), canonical
    if not _TAG.fullmatch(text.strip()):
        raise GraphError(400, "ErrorInvalidProperty", f"The property id {text!r} is not valid.")
    return text.strip().lower(), text.strip()


def _set_extended(message: GraphMessage, fields: dict[str, Any]) -> None:
    for prop in fields.get("singleValueExtendedProperties") or []:
        key, canonical = _property_id(str(prop.get("id", "")))
        message.extended[key] = (canonical, str(prop.get("value", "")))


def _check_select(select: list[str] | None) -> None:
    for name in select or []:
        if name not in _PROPERTIES:
            raise GraphError(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named '{name}' on type 'microsoft.graph.message'.",
            )


def _expanded(message: GraphMessage, expand: str | None) -> dict[str, Any]:
    if not expand:
        return {}
    found = _EXPAND.fullmatch(expand)
    if not found:
        raise GraphError(400, "BadRequest", f"The fake does not expand {expand!r}.")
    wanted = found.group(1)
    tagged = _TAG.fullmatch(wanted)
    if tagged is None:
        key, _ = _property_id(wanted)
        have = message.extended.get(key)
        values = [{"id": have[0], "value": have[1]}] if have else []
        return {"singleValueExtendedProperties": values}
    kind, tag = tagged.groups()
    if kind.lower() != "integer" or int(tag, 16) != 0x36:
        return {"singleValueExtendedProperties": []}
    value = _SENSITIVITY_TAG.get(message.sensitivity, "0")
    return {"singleValueExtendedProperties": [{"id": "Integer 0x36", "value": value}]}


def _json_message(
    message: GraphMessage,
    select: list[str] | None,
    expand: str | None = None,
    *,
    immutable: bool = False,
) -> dict[str, Any]:
    _check_select(select)
    full: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.message",
        "@odata.etag": f'W/"CQAAABYAAAD{message.change:08d}"',
        "id": message.id if immutable else message.rest_id,
        "receivedDateTime": _when(message.received),
        "internetMessageId": message.message_id,
        "subject": message.subject,
        "isRead": message.is_read,
        "isDraft": message.is_draft,
        "hasAttachments": bool(message.attachments),
        "parentFolderId": message.folder,
        "toRecipients": [
            {"emailAddress": {"name": name or addr, "address": addr}} for name, addr in message.to
        ],
        "body": {"contentType": message.body_type, "content": message.body},
    }
    full.update(_expanded(message, expand))
    if select is None:
        return full
    return {
        k: v
        for k, v in full.items()
        if k.startswith("@") or k in ("id", "singleValueExtendedProperties") or k in select
    }


class _Handler(BaseHTTPRequestHandler):
    fake: GraphFake
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def _immutable(self) -> bool:
        """Whether the client asked for ids that survive a move (``Prefer: IdType=…``)."""
        return 'idtype="immutableid"' in self.headers.get("Prefer", "").lower()

    # -- plumbing -------------------------------------------------------------------------

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        if isinstance(body, bytes):
            data, content_type = body, "message/rfc822"
        elif body is None:
            data, content_type = b"", "application/json"
        else:
            data, content_type = (
                json.dumps(body).encode(),
                "application/json; odata.metadata=minimal",
            )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, error: GraphError) -> None:
        body = {
            "error": {
                "code": error.code,
                "message": error.message,
                "innerError": {"date": _when(datetime.now(UTC)), "request-id": str(uuid.uuid4())},
            }
        }
        self._send(error.status, body, error.headers)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _path(self) -> str:
        """The request's path as :attr:`GraphFake.requests` records it."""
        return unquote(urlsplit(self.path).path)

    def _dispatch(self, method: str) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        body = self._body()
        with fake.lock:
            fake.requests.append((method, path))
            if path.startswith("/v1.0/users/"):
                fake.prefer_headers.append(self.headers.get("Prefer", ""))
        try:
            if path.startswith(f"/{fake.tenant}/") or "/oauth2/" in path or "openid" in path:
                self._identity(method, path, body)
                return
            if path.startswith("/upload/"):
                with fake.lock:
                    self._upload(path.rsplit("/", 1)[1], body)
                return
            if not path.startswith("/v1.0/users/"):
                raise GraphError(404, "UnknownError", "Resource not found.")
            with fake.lock:
                throttle = next(
                    (t for t in fake.throttles if t[0] > 0 and (t[2] is None or t[2] in path)), None
                )
                if throttle is not None:
                    throttle[0] -= 1
                    raise GraphError(
                        429,
                        "ApplicationThrottled",
                        "Application is over its MailboxConcurrency limit.",
                        {"Retry-After": str(throttle[1])},
                    )
                app = self._app()
                rest = path[len("/v1.0/users/") :]
                user, _, tail = rest.partition("/")
                box = self._mailbox(app, user.lower())
                self._route(method, app, box, "/" + tail, query, body)
        except GraphError as error:
            self._error(error)
        except Exception as exc:  # a bug in the fake: answer, do not hang up
            self._error(GraphError(500, "FakeServerBug", f"{type(exc).__name__}: {exc}"))

    # -- identity platform ---------------------------------------------------------------

    def _identity(self, method: str, path: str, body: bytes) -> None:
        fake = self.fake
        tenant = path.strip("/").split("/", 1)[0]
        if tenant != fake.tenant:
            self._send(
                400,
                {
                    "error": "invalid_tenant",
                    "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
                },
            )
            return
        base = f"{fake.base_url}/{tenant}"
        if method == "GET" and path.endswith("/.well-known/openid-configuration"):
            self._send(
                200,
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "issuer": f"{base}/v2.0",
                    "token_endpoint_auth_methods_supported": [
                        "client_secret_post",
                        "private_key_jwt",
                    ],
                },
            )
            return
        if method == "POST" and path.endswith("/oauth2/v2.0/token"):
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            with fake.lock:
                fake.token_requests += 1
                app = fake.apps.get(form.get("client_id", ""))
            problem = self._check_client(app, form, f"{base}/oauth2/v2.0/token")
            if problem:
                self._send(401, {"error": "invalid_client", "error_description": problem})
                return
            token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + uuid.uuid4().hex
            with fake.lock:
                fake.tokens[token] = (form["client_id"], fake.tokens_expire_at_once)
            self._send(
                200,
                {
                    "token_type": "Bearer",
                    "expires_in": 3599,
                    "ext_expires_in": 3599,
                    "access_token": token,
                },
            )
            return
        self._send(404, {"error": "not_found"})

    @staticmethod
    def _check_client(app: GraphApp | None, form: dict[str, str], audience: str) -> str | None:
        if app is None:
            return "AADSTS700016: Application not found in the directory."
        if form.get("grant_type") != "client_credentials":
            return "AADSTS70003: unsupported grant type."
        if "client_secret" in form:
            if app.secret is None or form["client_secret"] != app.secret:
                return "AADSTS7000215: Invalid client secret provided."
            return None
        assertion = form.get("client_assertion")
        if assertion and app.certificate is not None:
            header = jwt.get_unverified_header(assertion)
            der = app.certificate.public_bytes(serialization.Encoding.DER)
            sha1 = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode().rstrip("=")  # noqa: S324
            sha256 = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
            # Padding or not, the identifier is the certificate's hash (RFC 7515 4.1.7).
            if (header.get("x5t") or "").rstrip("=") != sha1 and (
                header.get("x5t#S256") or ""
            ).rstrip("=") != sha256:
                return "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered."
            try:
                claims = jwt.decode(
                    assertion,
                    app.certificate.public_key(),  # type: ignore[arg-type]
                    algorithms=["RS256", "PS256"],
                    audience=audience,
                )
            except jwt.PyJWTError as exc:
                return f"AADSTS700027: Client assertion failed signature validation ({exc})."
            if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
                return "AADSTS700023: Client assertion audience or issuer is wrong."
            return None
        return "AADSTS7000216: 'client_assertion' or 'client_secret' is required."

    # -- Graph -----------------------------------------------------------------------------

    def _app(self) -> GraphApp:
        fake = self.fake
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        found = fake.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        challenge = {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'}
        if found is None:
            raise GraphError(
                401, "InvalidAuthenticationToken", "Access token is empty or invalid.", challenge
            )
        client, expired = found
        if expired:
            raise GraphError(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
                challenge,
            )
        return fake.apps[client]

    def _mailbox(self, app: GraphApp, user: str) -> GraphMailbox:
        box = self.fake.mailboxes.get(user)
        if box is None:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
        if app.allowed is not None and user not in app.allowed:
            raise GraphError(
                403,
                "ErrorAccessDenied",
                "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly "
                "AccessPolicy settings.",
            )
        return box

    @staticmethod
    def _needs(app: GraphApp, method: str, kind: str) -> None:
        read = f"{kind}.Read"
        write = f"{kind}.ReadWrite"
        ok = write in app.roles or (method == "GET" and read in app.roles)
        if not ok:
            raise GraphError(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )

    def _route(
        self,
        method: str,
        app: GraphApp,
        box: GraphMailbox,
        tail: str,
        query: dict[str, str],
        body: bytes,
    ) -> None:
        if tail.startswith("/mailboxSettings"):
            self._needs(app, method, "MailboxSettings")
            self._settings(method, box, tail, body)
            return
        self._needs(app, method, "Mail")
        found = re.fullmatch(r"/mailFolders/([^/]+)/messages/delta", tail)
        if found and method == "GET":
            self._delta(box, found.group(1), query)
            return
        found = re.fullmatch(r"/mailFolders/([^/]+)/messages", tail)
        if found and method == "GET":
            self._list(box, found.group(1), query)
            return
        found = re.fullmatch(r"/mailFolders/([^/]+)", tail)
        if found and method == "GET":
            name = found.group(1).lower()
            if name not in FOLDER_NAMES:
                raise GraphError(404, "ErrorItemNotFound", "The specified folder was not found.")
            self._send(200, {"id": f"AAMk-{name}", "displayName": FOLDER_NAMES[name]})
            return
        if tail == "/messages" and method == "GET":
            self._list(box, None, query)
            return
        if tail == "/messages" and method == "POST":
            self._new_draft(box, json.loads(body or b"{}"), None, None)
            return
        found = re.fullmatch(r"/messages/([^/]+)(/.*)?", tail)
        if not found:
            raise GraphError(400, "BadRequest", f"Unsupported segment {tail}.")
        message = box.messages.get(found.group(1)) or next(
            (m for m in box.messages.values() if m.rest_id == found.group(1)), None
        )
        if message is None:
            raise GraphError(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        action = found.group(2) or ""
        if action == "/$value" and method == "GET":
            self._send(200, message.mime())
        elif action == "" and method == "GET":
            self._send(
                200,
                _json_message(
                    message, _select(query), query.get("$expand"), immutable=self._immutable
                ),
            )
        elif action == "" and method == "PATCH":
            if message.by_app:
                self.fake.own_draft_requests.add((method, self._path()))
            changes = json.loads(body or b"{}")
            if "isRead" in changes:
                message.is_read = bool(changes["isRead"])
            _set_extended(message, changes)
            message.change += 1
            self.fake._log(box, "update", message)
            self._send(200, _json_message(message, None, immutable=self._immutable))
        elif action == "" and method == "DELETE":
            if message.by_app:
                self.fake.own_draft_requests.add((method, self._path()))
            self.fake._log(box, "delete", message)
            if message.folder == "deleteditems":
                del box.messages[message.id]
            else:  # into Deleted Items: the immutable id stays, the REST id changes
                message.folder = "deleteditems"
                message.rest_id = self.fake._new_id()
                message.change += 1
                self.fake._log(box, "create", message)
            self._send(204)
        elif action == "/createReply" and method == "POST":
            self._create_reply(box, message, json.loads(body or b"{}"))
        elif action == "/attachments" and method == "GET":
            values = [
                {
                    "@odata.type": "#microsoft.graph.fileAttachment",
                    "id": a.id,
                    "name": a.name,
                    "size": len(a.content),
                }
                for a in message.attachments
            ]
            self._send(200, {"value": values})
        elif action == "/attachments" and method == "POST":
            self._attach(message, json.loads(body or b"{}"))
        elif action == "/attachments/createUploadSession" and method == "POST":
            self._upload_session(box, message, json.loads(body or b"{}"))
        else:
            raise GraphError(405, "ErrorInvalidRequest", f"{method} {action} is not supported.")

    def _delta(self, box: GraphMailbox, folder: str, query: dict[str, str]) -> None:
        fake = self.fake
        select = _select(query) or ["receivedDateTime", "internetMessageId", "isRead", "subject"]
        _check_select(select)
        prefer = self.headers.get("Prefer", "")
        found = re.search(r"odata\.maxpagesize=(\d+)", prefer)
        size = int(found.group(1)) if found else 10
        link = f"{fake.endpoint}/users/{quote(box.address)}/mailFolders/{folder}/messages/delta"
        if "$deltatoken" in query or "$skiptoken" in query:
            state = _read_state(query.get("$deltatoken") or query["$skiptoken"])
            if state.get("g") != box.generation or state.get("f") != folder:
                raise GraphError(
                    410,
                    box.gone_code,
                    "The sync state is no longer valid; the client must sync again from the start.",
                )
        else:
            # Graph keeps the first call's $select and $expand in the tokens it hands out.
            state = {
                "g": box.generation,
                "f": folder,
                "upto": fake._seq_now(),
                "off": 0,
                "select": select,
                "expand": query.get("$expand"),
            }
        select = state.get("select") or select
        expand = state.get("expand")
        entries: list[dict[str, Any]]
        if "since" not in state and "seq" not in state:
            # The first round: every message now in the folder, newest first.
            created = {e[2]: e[0] for e in box.log if e[1] == "create" and e[3] == folder}
            snapshot = sorted(
                (
                    m
                    for m in box.messages.values()
                    if m.folder == folder and created.get(m.id, 0) <= state["upto"]
                ),
                key=lambda m: (m.received, m.id),
                reverse=True,
            )
            entries = [
                _json_message(m, select, expand, immutable=self._immutable) for m in snapshot
            ]
        else:
            since = state.get("since", state.get("seq"))
            upto = state.get("upto") if "since" in state else fake._seq_now()
            state = {
                "g": box.generation,
                "f": folder,
                "since": since,
                "upto": upto,
                "off": state.get("off", 0),
                "select": select,
                "expand": expand,
            }
            latest: dict[str, str] = {}
            for seq, kind, message_id, where in box.log:
                if since < seq <= upto and where == folder:
                    latest[message_id] = kind
            entries = []
            for message_id, kind in latest.items():
                message = box.messages.get(message_id)
                if kind == "delete" or message is None:
                    entries.append({"@removed": {"reason": "deleted"}, "id": message_id})
                else:
                    entries.append(
                        _json_message(message, select, expand, immutable=self._immutable)
                    )
        offset = int(state.get("off", 0))
        page = entries[offset : offset + size]
        result: dict[str, Any] = {
            "@odata.context": f"{fake.endpoint}/$metadata#Collection(message)",
            "value": page,
        }
        if offset + len(page) < len(entries):
            result["@odata.nextLink"] = (
                f"{link}?$skiptoken={_token_state({**state, 'off': offset + size})}"
            )
        else:
            token = _token_state(
                {
                    "g": box.generation,
                    "f": folder,
                    "seq": state["upto"],
                    "select": select,
                    "expand": expand,
                }
            )
            result["@odata.deltaLink"] = f"{link}?$deltatoken={token}"
        self._send(200, result)

    def _list(self, box: GraphMailbox, folder: str | None, query: dict[str, str]) -> None:
        clauses = _filter(query["$filter"]) if "$filter" in query else []
        found = [
            m
            for m in sorted(box.messages.values(), key=lambda m: (m.received, m.id), reverse=True)
            if (folder is None or m.folder == folder) and _matches(m, clauses)
        ]
        top = int(query.get("$top", "10"))
        skip = int(query.get("$skip", "0"))
        page = found[skip : skip + top]
        result: dict[str, Any] = {
            "value": [
                _json_message(m, _select(query), query.get("$expand"), immutable=self._immutable)
                for m in page
            ]
        }
        if query.get("$count") == "true":
            result["@odata.count"] = len(found)
        if skip + top < len(found):
            rest = {k: v for k, v in query.items() if k != "$skip"}
            params = "&".join(f"{k}={quote(v)}" for k, v in rest.items())
            where = f"mailFolders/{folder}/messages" if folder else "messages"
            result["@odata.nextLink"] = (
                f"{self.fake.endpoint}/users/{quote(box.address)}/{where}?{params}&$skip={skip + top}"
            )
        self._send(200, result)

    def _new_draft(
        self,
        box: GraphMailbox,
        fields: dict[str, Any],
        reply_to: GraphMessage | None,
        comment: str | None,
    ) -> GraphMessage:
        fake = self.fake
        mid = fields.get("internetMessageId")
        if mid is not None and not re.fullmatch(r"<[^<>\s]+@[^<>\s]+>", str(mid)):
            raise GraphError(
                400, "ErrorInvalidInternetMessageHeader", "The internetMessageId is not valid."
            )
        to = [
            (r.get("emailAddress", {}).get("name"), r.get("emailAddress", {}).get("address", ""))
            for r in fields.get("toRecipients", [])
        ]
        if reply_to is not None and not to:
            parsed = email.message_from_bytes(reply_to.mime(), policy=email.policy.default)
            to = [(n or None, a) for n, a in getaddresses([str(parsed.get("From", ""))])]
        body = fields.get("body") or {}
        content = body.get("content", "")
        body_type = str(body.get("contentType", "text")).lower()
        if reply_to is not None:
            quoted = html.escape(reply_to.subject)
            content = f"<html><body><div>{html.escape(comment or '')}</div><hr><div>{quoted}</div></body></html>"
            body_type = "html"
        message = GraphMessage(
            id=fake._new_id(),
            mailbox=box.address,
            folder="drafts",
            received=datetime.now(UTC),
            message_id=mid or f"<{uuid.uuid4().hex}@fake.outlook.com>",
            subject=fields.get("subject") or (f"SV: {reply_to.subject}" if reply_to else ""),
            is_read=True,
            is_draft=True,
            body=content,
            body_type=body_type,
            to=to,
            in_reply_to=reply_to.message_id if reply_to else None,
            by_app=True,
        )
        if reply_to is None:
            _set_extended(message, fields)
        elif "singleValueExtendedProperties" in fields:
            # Not documented for createReply's message parameter: refused, so a client that
            # relies on it is noticed here.
            raise GraphError(
                400, "ErrorInvalidRequest", "singleValueExtendedProperties is not supported here."
            )
        box.messages[message.id] = message
        fake._log(box, "create", message)
        self._send(201, _json_message(message, None, immutable=self._immutable))
        return message

    def _create_reply(
        self, box: GraphMailbox, original: GraphMessage, request: dict[str, Any]
    ) -> None:
        fields = request.get("message") or {}
        if "comment" in request and (fields.get("body") or {}).get("content"):
            raise GraphError(
                400,
                "ErrorInvalidRequest",
                "Both comment and the body property of the message parameter were specified.",
            )
        self._new_draft(box, fields, original, request.get("comment", ""))

    def _attach(self, message: GraphMessage, request: dict[str, Any]) -> None:
        if request.get("@odata.type") != "#microsoft.graph.fileAttachment":
            raise GraphError(400, "ErrorInvalidRequest", "Only file attachments.")
        content = base64.b64decode(request.get("contentBytes", ""))
        if len(content) >= SMALL_ATTACHMENT_LIMIT:
            raise GraphError(
                413,
                "ErrorRequestEntityTooLarge",
                "The request is larger than 3 MB; use an upload session.",
            )
        attachment = GraphAttachment(
            self.fake._new_id(), request.get("name", ""), request.get("contentType", ""), content
        )
        message.attachments.append(attachment)
        message.change += 1
        self._send(
            201,
            {
                "@odata.type": "#microsoft.graph.fileAttachment",
                "id": attachment.id,
                "name": attachment.name,
            },
        )

    def _upload_session(
        self, box: GraphMailbox, message: GraphMessage, request: dict[str, Any]
    ) -> None:
        item = request.get("AttachmentItem") or {}
        if item.get("attachmentType") != "file" or not item.get("name") or not item.get("size"):
            raise GraphError(
                400, "ErrorInvalidRequest", "AttachmentItem needs attachmentType, name and size."
            )
        session_id = uuid.uuid4().hex
        self.fake.uploads[session_id] = UploadSession(
            message.id,
            box.address,
            item["name"],
            item.get("contentType", "application/octet-stream"),
            int(item["size"]),
        )
        expires = datetime.now(UTC) + timedelta(minutes=15)
        self._send(
            201,
            {
                "@odata.context": f"{self.fake.endpoint}/$metadata#microsoft.graph.uploadSession",
                "uploadUrl": f"{self.fake.base_url}/upload/{session_id}?authtoken={uuid.uuid4().hex}",
                "expirationDateTime": _when(expires),
                "nextExpectedRanges": ["0-"],
            },
        )

    def _upload(self, session_id: str, body: bytes) -> None:
        fake = self.fake
        if self.headers.get("Authorization"):
            raise GraphError(
                401, "InvalidAuthenticationToken", "Do not send a token with the upload URL."
            )
        session = fake.uploads.get(session_id)
        if session is None:
            raise GraphError(404, "ErrorItemNotFound", "The upload session was not found.")
        found = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", self.headers.get("Content-Range", ""))
        if not found:
            raise GraphError(400, "InvalidRange", "Content-Range is required.")
        start, end, total = map(int, found.groups())
        if total != session.size or start != len(session.data) or end - start + 1 != len(body):
            raise GraphError(
                416, "InvalidRange", "The range does not match the next expected range."
            )
        if len(body) > UPLOAD_CHUNK_LIMIT:
            raise GraphError(413, "RequestEntityTooLarge", "A chunk may be at most 4 MB.")
        session.data.extend(body)
        fake.upload_chunks.append(len(body))
        if len(session.data) < session.size:
            self._send(
                200,
                {
                    "expirationDateTime": _when(datetime.now(UTC) + timedelta(minutes=15)),
                    "nextExpectedRanges": [f"{len(session.data)}-"],
                },
            )
            return
        box = fake.mailboxes[session.mailbox]
        message = box.messages[session.message_id]
        attachment = GraphAttachment(
            fake._new_id(), session.name, session.content_type, bytes(session.data)
        )
        message.attachments.append(attachment)
        message.change += 1
        del fake.uploads[session_id]
        location = f"{fake.endpoint}/users/{quote(box.address)}/messages/{message.id}/attachments/{attachment.id}"
        self._send(201, None, {"Location": location})

    def _settings(self, method: str, box: GraphMailbox, tail: str, body: bytes) -> None:
        zone = self.fake.oof_time_zone
        if method == "GET" and tail == "/mailboxSettings/automaticRepliesSetting":
            self._send(200, _replies_json(box.replies, zone))
            return
        if method == "PATCH" and tail == "/mailboxSettings":
            update = json.loads(body or b"{}").get("automaticRepliesSetting")
            if not isinstance(update, dict):
                raise GraphError(
                    400, "ErrorInvalidRequest", "Only automaticRepliesSetting is supported."
                )
            status = update.get("status", box.replies["status"])
            audience = update.get("externalAudience", box.replies["externalAudience"])
            if status not in ("disabled", "alwaysEnabled", "scheduled"):
                raise GraphError(400, "ErrorInvalidRequest", f"Invalid status {status!r}.")
            if audience not in ("none", "contactsOnly", "all"):
                raise GraphError(
                    400, "ErrorInvalidRequest", f"Invalid externalAudience {audience!r}."
                )
            merged = {**box.replies, **update}
            for key in ("scheduledStartDateTime", "scheduledEndDateTime"):
                if isinstance(update.get(key), dict):
                    merged[key] = _utc_time(update[key])
            if status == "scheduled" and (
                not merged.get("scheduledStartDateTime")
                or not merged.get("scheduledEndDateTime")
                or merged["scheduledEndDateTime"] <= merged["scheduledStartDateTime"]
            ):
                raise GraphError(
                    400,
                    "ErrorOofEndTimeBeforeStartTime",
                    "The end time must be after the start time.",
                )
            box.replies = merged
            self._send(200, {"automaticRepliesSetting": _replies_json(merged, zone)})
            return
        raise GraphError(400, "BadRequest", f"{method} {tail} is not supported by the fake.")


def _select(query: dict[str, str]) -> list[str] | None:
    value = query.get("$select")
    return [s.strip() for s in value.split(",")] if value else None


def _utc_time(value: dict[str, str]) -> datetime:
    naive = datetime.fromisoformat(value["dateTime"][:26].rstrip("Z"))
    zone = value.get("timeZone", "UTC")
    if zone != "UTC":
        raise GraphError(400, "ErrorInvalidTimeZone", f"The fake takes UTC only, not {zone!r}.")
    return naive.replace(tzinfo=UTC)


def _replies_json(replies: dict[str, Any], zone: str) -> dict[str, Any]:
    def stamp(value: datetime | None) -> dict[str, str] | None:
        if value is None:
            value = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        if zone == "UTC":
            local = value.astimezone(UTC)
        else:
            from zoneinfo import ZoneInfo

            local = value.astimezone(ZoneInfo("Europe/Stockholm"))
        return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone}

    start = replies.get("scheduledStartDateTime")
    end = replies.get("scheduledEndDateTime")
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('x')/mailboxSettings/automaticRepliesSetting",
        "status": replies["status"],
        "externalAudience": replies["externalAudience"],
        "scheduledStartDateTime": stamp(start),
        "scheduledEndDateTime": stamp(end or (start + timedelta(days=1) if start else None)),
        "internalReplyMessage": replies.get("internalReplyMessage") or "",
        "externalReplyMessage": replies.get("externalReplyMessage") or "",
    }


# --------------------------------------------------------------------------- for tests

CLIENT_ID = "6f1c2b1e-postvakt-test"
CLIENT_SECRET = "graph-hemlighet-1"
SECRET_ENV = "PV_TEST_GRAPH_SECRET"


def new_mailbox(fake: GraphFake, name: str = "kontakt") -> str:
    address = f"{name}-{uuid.uuid4().hex[:8]}@testby.se"
    fake.add_mailbox(address)
    return address


def settings(fake: GraphFake, **extra: Any) -> Any:
    from postvakt.config import GraphSettings

    values: dict[str, Any] = {
        "tenant_id": fake.tenant,
        "client_id": CLIENT_ID,
        "client_secret_env": SECRET_ENV,
        "authority": fake.authority,
        "endpoint": fake.endpoint,
        "ca_file": fake.tls.ca_file,
    }
    values.update(extra)
    return GraphSettings(**values)


def connector(fake: GraphFake, address: str, *, credential: str = CLIENT_SECRET, **kwargs: Any):
    """A Graph connector as Postvakt builds it, with sleeps recorded instead of slept."""
    from postvakt.mailbox.graph import GraphConnector

    extra = kwargs.pop("settings", {})
    slept: list[float] = []
    kwargs.setdefault("sleep", slept.append)
    made = GraphConnector(address, settings(fake, **extra), credential, **kwargs)
    made.slept = slept  # type: ignore[attr-defined]
    return made
