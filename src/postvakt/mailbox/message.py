"""Raw RFC 5322 bytes -> a frozen :class:`IncomingMessage`.

The contract: :func:`parse_message` never raises for any input.  Whatever is wrong with a
message (broken MIME, an unknown or lying charset, an unparsable date, a missing
Message-ID, NUL bytes, over-long lines) is recorded in ``IncomingMessage.defects`` and the
rest is still read.

The pieces: charsets and RFC 2047 encoded words are read in :mod:`postvakt.mailbox.charsets`
(Swedish mail is often mislabelled; see :func:`decode_text`), Message-IDs and the Date in
:mod:`postvakt.mailbox.headers`, the budget against deep MIME nesting in
:mod:`postvakt.mailbox.nesting`.  Addresses, bodies, attachments and forwarded messages are
read here.
"""

from __future__ import annotations

import email
import email.utils
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import Message

from inscriptis import get_text as _html_to_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

from postvakt.mailbox.addresses import one_line
from postvakt.mailbox.charsets import (
    decode_cp1252,
    decode_header_value,
    decode_plain_header,
    decode_text,
)
from postvakt.mailbox.headers import long_header_lines, parse_date, parse_message_ids
from postvakt.mailbox.identity import content_hash
from postvakt.mailbox.nesting import nesting_cut

__all__ = [
    "Address",
    "Attachment",
    "IncomingMessage",
    "decode_text",
    "html_to_text",
    "parse_message",
]

MAX_FORWARD_DEPTH = 3
NAME_LIMIT = 500
"""Characters of a display name kept (the database's column for names)."""
HTML_LIMIT = 1_000_000
"""Characters of HTML turned into text: some 2 s of work for 8 MB; a million characters give
far more text than anyone reads to decide what a message is (the classifier reads 200,000)."""
HTML_CUT = "HTML cut:"
"""How the defect of a message whose HTML was cut begins."""


@dataclass(frozen=True)
class Address:
    """A display name and an address (lower-cased domain and local part)."""

    name: str
    address: str

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True)
class Attachment:
    """An attached file as the message names it; the bytes stay in the raw message."""

    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class IncomingMessage:
    """One message as Postvakt understands it.  Built only by :func:`parse_message`."""

    message_id: str
    """Message-ID without angle brackets; synthesized from the bytes when the header is missing."""
    sender: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    date: datetime | None
    """The Date header, timezone-aware (Europe/Stockholm), or None when missing or unparsable."""
    body_text: str
    """text/plain preferred; HTML turned into readable text when that is all there is."""
    body_from_html: bool
    attachments: tuple[Attachment, ...]
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    content_type: str
    auto_submitted: str | None
    precedence: str | None
    list_id: str | None
    list_unsubscribe: str | None
    x_auto_response_suppress: str | None
    is_report: bool
    """multipart/report (delivery and read reports)."""
    headers: tuple[tuple[str, str], ...]
    """Every top-level header, decoded, in order (names as written)."""
    size: int
    defects: tuple[str, ...] = field(default=())
    forwarded: tuple[IncomingMessage, ...] = field(default=())
    """Messages attached as message/rfc822 (forwarded mail), parsed the same way."""

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    @property
    def reply_address(self) -> Address | None:
        """Where an answer goes: the first Reply-To, else the sender."""
        return self.reply_to[0] if self.reply_to else self.sender

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs this message answers, nearest first: In-Reply-To, then References
        from the newest (the last) back to the thread's first message."""
        seen: dict[str, None] = dict.fromkeys(self.in_reply_to)
        seen.update(dict.fromkeys(reversed(self.references)))
        return tuple(seen)


# --------------------------------------------------------------------------- addresses

ADDRESS_LIMIT = 320
"""The longest address there can be (RFC 5321: 64 characters, @, 255); the database's column."""


def _parse_addresses(raw: str | None, defects: list[str], name: str) -> tuple[Address, ...]:
    """Split the raw header into addresses first, then decode each display name.

    Decoding first would split ``=?utf-8?q?Berg=2C_Anna?= <a@b.se>`` at the comma.
    """
    if not raw:
        return ()
    # Unfold first: a line break inside a quoted name ('"Kalle\r\n Anka"') makes the
    # stdlib's parser give up on the whole header.
    raw = re.sub(r"\r?\n(?=[ \t])", "", raw)
    result: list[Address] = []
    for display, addr in email.utils.getaddresses([raw]):
        addr = decode_plain_header(addr.encode("utf-8", "surrogateescape"), [], name)
        addr = addr.strip().strip("<>").replace("\x00", "")
        if not addr or "@" not in addr:
            continue
        if len(addr) > ADDRESS_LIMIT:
            defects.append(f"header {name}: an address of {len(addr)} characters left out")
            continue
        local, _, domain = addr.rpartition("@")
        result.append(
            Address(
                # One line: an encoded word can decode to CR/LF, which would break the
                # header of every letter written to this name.  No name is longer than
                # NAME_LIMIT; the database keeps no more.
                name=one_line(decode_header_value(display, defects, name))
                .strip('"')
                .strip()[:NAME_LIMIT],
                address=f"{local}@{domain}".lower(),
            )
        )
    if not result and raw.strip():
        defects.append(f"header {name}: no address in {raw.strip()[:80]!r}")
    return tuple(result)


# --------------------------------------------------------------------------- bodies

_HTML_CONFIG = ParserConfig(css=CSS_PROFILES["strict"])


def html_to_text(html: str) -> str:
    """Readable plain text from HTML: blocks on their own lines, lists bulleted, no scripts."""
    try:
        # The "strict" profile: the default indents every nested <div>, and Outlook and
        # Gmail nest everything in divs.
        text = _html_to_text(html, _HTML_CONFIG)
    except Exception:  # inscriptis/lxml can fail on pathological markup; never raise
        text = re.sub(r"<[^<>]*>", " ", html)  # [^<>]: linear even in a run of '<'
    return _tidy(text)


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _part_payload(part: Message, defects: list[str]) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception as exc:  # broken base64/quoted-printable
        defects.append(f"undecodable {part.get_content_type()} part: {exc}")
        raw = part.get_payload()
        return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return payload if isinstance(payload, bytes) else b""


def _part_text(part: Message, defects: list[str]) -> str:
    payload = _part_payload(part, defects)
    text, defect = decode_text(payload, _content_charset(part))
    if defect:
        defects.append(f"{part.get_content_type()} part: {defect}")
    return text


def _content_charset(part: Message) -> str | None:
    try:
        return part.get_content_charset(None)
    except Exception:  # RFC 2231 parameters can be broken in ways the stdlib raises on
        return None


def _filename(part: Message, defects: list[str]) -> str | None:
    try:
        name = part.get_filename()
    except Exception as exc:
        defects.append(f"unreadable attachment name: {exc}")
        return "(namnlös bilaga)"
    if name is None:
        return None
    name = str(name)
    if any("\udc80" <= ch <= "\udcff" for ch in name) or "=?" in name:
        # Raw 8-bit bytes or RFC 2047 words in the name: decode them like a header.
        return decode_header_value(name, defects, "filename")
    return name  # RFC 2231 names arrive already decoded


def _parts(msg: Message, defects: list[str]) -> Iterator[Message]:
    """Leaf parts and message/rfc822 parts, without descending into forwarded messages.

    A multipart whose boundary parameter is missing is re-read with the boundary its body
    uses, so its text is not lost.
    """
    if msg.get_content_type() == "message/rfc822":
        yield msg
        return
    if msg.is_multipart():
        payload = msg.get_payload()
        for sub in payload if isinstance(payload, list) else []:
            yield from _parts(sub, defects)
        return
    if msg.get_content_maintype() == "multipart":
        recovered = _recover_multipart(msg, defects)
        if recovered is not None:
            yield from _parts(recovered, defects)
            return
    yield msg


def _recover_multipart(msg: Message, defects: list[str]) -> Message | None:
    # get_payload() without decode would turn 8-bit bytes into U+FFFD; decode=True keeps them.
    payload = msg.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return None
    # Greedy to the line's end, trimmed below: a lazy run before \s*$ backtracks over blanks.
    match = re.search(rb"^--([^\s-][^\r\n]*)", payload, re.MULTILINE)
    if not match:
        return None
    boundary = match[1].rstrip().decode("ascii", "replace")
    head = f'Content-Type: {msg.get_content_type()}; boundary="{boundary}"\r\n\r\n'
    rebuilt = email.message_from_bytes(head.encode() + payload, policy=policy.compat32)
    if not rebuilt.is_multipart():
        return None
    defects.append(f"{msg.get_content_type()}: boundary parameter missing; recovered {boundary!r}")
    return rebuilt


def _forwarded(part: Message, depth: int, defects: list[str]) -> IncomingMessage | None:
    inner = part.get_payload()
    if isinstance(inner, list) and inner and isinstance(inner[0], Message):
        raw = inner[0].as_bytes(policy=policy.compat32) if depth < MAX_FORWARD_DEPTH else b""
    elif isinstance(inner, str):
        raw = inner.encode("utf-8", "surrogateescape")
    else:
        return None
    if not raw:
        defects.append("forwarded messages nested too deep; inner ones not read")
        return None
    try:
        return _parse(raw, depth + 1)
    except Exception as exc:  # as_bytes can fail on a broken inner tree
        defects.append(f"forwarded message unreadable: {exc}")
        return None


def _walk(
    msg: Message, defects: list[str], depth: int
) -> tuple[list[str], list[str], list[Attachment], list[IncomingMessage]]:
    plains: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    forwarded: list[IncomingMessage] = []
    for part in _parts(msg, defects):
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = _filename(part, defects)
        if ctype == "message/rfc822":
            inner = _forwarded(part, depth, defects)
            if inner is not None:
                forwarded.append(inner)
            name = filename or f"{(inner.subject if inner else '') or 'vidarebefordrat'}.eml"
            size = inner.size if inner else len(str(part.get_payload()))
            attachments.append(Attachment(filename=name, content_type=ctype, size=size))
            continue
        if (filename and disposition != "inline") or disposition == "attachment":
            payload = _part_payload(part, defects)
            attachments.append(
                Attachment(
                    filename=filename or "(namnlös bilaga)", content_type=ctype, size=len(payload)
                )
            )
            continue
        if ctype == "text/plain" or (ctype.startswith("multipart/") and not part.is_multipart()):
            plains.append(_part_text(part, defects))
        elif ctype == "text/html":
            htmls.append(_part_text(part, defects))
        elif filename:
            payload = _part_payload(part, defects)
            attachments.append(Attachment(filename=filename, content_type=ctype, size=len(payload)))
    return plains, htmls, attachments, forwarded


# --------------------------------------------------------------------------- entry point


def parse_message(raw: bytes) -> IncomingMessage:
    """Parse raw message bytes.  Never raises; problems end up in ``defects``."""
    try:
        return _parse(raw, 0)
    except Exception as exc:  # a last guard: the contract is that parsing never raises
        digest = content_hash(raw)[:32]
        return IncomingMessage(
            message_id=f"{digest}@postvakt.invalid", sender=None, reply_to=(), to=(), cc=(),
            subject="", date=None, body_text=decode_cp1252(raw.replace(b"\x00", b""))[:100_000],
            body_from_html=False, attachments=(), in_reply_to=(), references=(),
            content_type="text/plain", auto_submitted=None, precedence=None, list_id=None,
            list_unsubscribe=None, x_auto_response_suppress=None, is_report=False, headers=(),
            size=len(raw), defects=(f"unparsable message ({type(exc).__name__}: {exc}); read as text",),
        )  # fmt: skip


def _parse(raw: bytes, depth: int) -> IncomingMessage:
    defects: list[str] = []
    cut = nesting_cut(raw)
    if cut is not None:
        defects.append(
            f"multiparts nested too deep for the message's size; the MIME structure was read "
            f"for the first {cut} of {len(raw)} bytes"
        )
    msg = email.message_from_bytes(raw if cut is None else raw[:cut], policy=policy.compat32)
    if long_header_lines(raw):
        defects.append("header line longer than 998 characters (RFC 5322)")

    raw_headers = [(name, str(value)) for name, value in msg.raw_items()]
    headers = [(name, decode_header_value(value, defects, name)) for name, value in raw_headers]

    def first(name: str) -> str | None:
        lname = name.lower()
        return next((value for key, value in headers if key.lower() == lname), None)

    def raw_all(name: str) -> str | None:
        lname = name.lower()
        values = [value for key, value in raw_headers if key.lower() == lname]
        return ", ".join(values) if values else None

    senders = _parse_addresses(raw_all("From"), defects, "From")
    if not senders:
        senders = _parse_addresses(raw_all("Sender"), defects, "Sender") or _parse_addresses(
            raw_all("Return-Path"), defects, "Return-Path"
        )
    if not senders:
        defects.append("no sender address")

    message_ids = parse_message_ids(first("Message-ID"), defects, "Message-ID")
    if message_ids:
        message_id = message_ids[0]
    else:
        # From the content, not the bytes: two deliveries of one message (different Received
        # lines) get the same ID, and so are recognised as the same message.
        message_id = f"{content_hash(raw)[:32]}@postvakt.invalid"
        defects.append("no Message-ID; one was derived from the message's content")

    try:
        plains, htmls, attachments, forwarded = _walk(msg, defects, depth)
    except Exception as exc:  # MIME trees can be arbitrarily broken
        defects.append(f"unreadable MIME structure: {exc}")
        payload = msg.get_payload()
        plains, htmls, attachments, forwarded = (
            [payload if isinstance(payload, str) else ""],
            [],
            [],
            [],
        )
    # Decoding a part adds its defects (bad base64 …) only now: collect them after the walk.
    for part in msg.walk():
        for defect in part.defects:
            defects.append(f"{part.get_content_type()}: {type(defect).__name__}")

    plain = _tidy("\n\n".join(p for p in plains if p.strip()))
    from_html = not plain and bool(htmls)
    html = "\n".join(htmls) if from_html else ""
    if len(html) > HTML_LIMIT:
        defects.append(f"{HTML_CUT} {len(html)} characters, the first {HTML_LIMIT} made text")
        html = html[:HTML_LIMIT]
    body = html_to_text(html) if from_html else plain
    if "\x00" in body:
        defects.append("NUL bytes removed from the text")
        body = body.replace("\x00", "")

    content_type = msg.get_content_type()
    auto_submitted = first("Auto-Submitted")
    return IncomingMessage(
        message_id=message_id,
        sender=senders[0] if senders else None,
        reply_to=_parse_addresses(raw_all("Reply-To"), defects, "Reply-To"),
        to=_parse_addresses(raw_all("To"), defects, "To"),
        cc=_parse_addresses(raw_all("Cc"), defects, "Cc"),
        subject=re.sub(r"\s+", " ", first("Subject") or "").strip(),
        date=parse_date(first("Date"), defects),
        body_text=body,
        body_from_html=from_html,
        attachments=tuple(attachments),
        in_reply_to=parse_message_ids(first("In-Reply-To"), defects, "In-Reply-To"),
        references=parse_message_ids(first("References"), defects, "References"),
        content_type=content_type,
        auto_submitted=auto_submitted.strip() if auto_submitted else None,
        precedence=(first("Precedence") or "").strip().lower() or None,
        list_id=first("List-Id"),
        list_unsubscribe=first("List-Unsubscribe"),
        x_auto_response_suppress=first("X-Auto-Response-Suppress"),
        is_report=content_type == "multipart/report",
        headers=tuple(headers),
        size=len(raw),
        defects=tuple(dict.fromkeys(defects)),
        forwarded=tuple(forwarded),
    )


def addresses(values: Iterable[Address]) -> tuple[str, ...]:
    """Just the addresses, in order."""
    return tuple(a.address for a in values)
