"""Raw RFC 5322 bytes -> a frozen :class:`IncomingMessage`.

The contract: :func:`parse_message` never raises for any input.  Whatever is wrong with a
message (broken MIME, an unknown or lying charset, an unparsable date, a missing
Message-ID) is recorded in ``IncomingMessage.defects`` and the rest is still read.

Swedish mailboxes see UTF-8, ISO-8859-1, ISO-8859-15 and Windows-1252, often mislabelled:
UTF-8 declared as Latin-1, Latin-1 declared as US-ASCII, or 8-bit bytes in headers with no
RFC 2047 encoding at all.  :func:`decode_text` decides per piece of text; see its docstring.
"""

from __future__ import annotations

import email
import email.header
import email.utils
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from zoneinfo import ZoneInfo

from inscriptis import get_text as _html_to_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

__all__ = [
    "Address",
    "Attachment",
    "IncomingMessage",
    "decode_text",
    "html_to_text",
    "parse_message",
]

STOCKHOLM = ZoneInfo("Europe/Stockholm")

# Charsets that are single-byte Western encodings (or claims of plain ASCII).  Text declared
# as one of these that is valid UTF-8 with non-ASCII bytes was mislabelled: real Latin-1
# Swedish text ("ö" = 0xF6 followed by a consonant) is almost never valid UTF-8.
_WESTERN = {
    "us-ascii",
    "ascii",
    "iso-8859-1",
    "iso8859-1",
    "latin-1",
    "latin1",
    "l1",
    "iso-8859-15",
    "iso8859-15",
    "latin-9",
    "windows-1252",
    "cp1252",
    "x-user-defined",
    "unknown-8bit",
    "unknown",
    "x-unknown",
    "",
}
_UTF8 = {"utf-8", "utf8", "unicode-1-1-utf-8"}


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
        """Message-IDs this message answers (In-Reply-To first, then References)."""
        seen: dict[str, None] = dict.fromkeys(self.in_reply_to)
        seen.update(dict.fromkeys(self.references))
        return tuple(seen)


# --------------------------------------------------------------------------- decoding


def _normalise_charset(charset: str | None) -> str:
    return (charset or "").strip().strip('"').lower()


def decode_text(data: bytes, declared: str | None = None) -> tuple[str, str | None]:
    """Decode ``data`` to text; return ``(text, defect)`` where defect says what was off.

    Rules, in order:
    1. Pure ASCII is ASCII, whatever was declared.
    2. A declared Western or missing charset with bytes that are valid UTF-8 is UTF-8
       (mislabelled).  Declared UTF-8 that is valid UTF-8 is UTF-8.
    3. Western, missing, or UTF-8 that is *not* valid UTF-8 -> Windows-1252, which covers
       ISO-8859-1 text and the "smart quotes" Outlook adds; the five bytes 1252 leaves
       undefined are read as Latin-1.
    4. Any other declared charset Python knows is used with replacement characters for
       bad bytes; an unknown one falls back to rule 2/3 and is reported.
    """
    charset = _normalise_charset(declared)
    if not any(b > 0x7F for b in data):
        return data.decode("ascii", "replace"), None
    defect: str | None = None
    if charset and charset not in _WESTERN and charset not in _UTF8:
        try:
            return data.decode(charset), None
        except LookupError:
            defect = f"unknown charset {declared!r}"
        except UnicodeDecodeError:
            return data.decode(
                charset, "replace"
            ), f"bytes not valid in declared charset {declared!r}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if charset in _UTF8:
            defect = f"declared {declared!r} but the bytes are not UTF-8; read as Windows-1252"
        elif charset in ("us-ascii", "ascii"):
            defect = f"declared {declared!r} but has 8-bit bytes; read as Windows-1252"
        return _decode_cp1252(data), defect
    if charset and charset not in _UTF8 and defect is None:
        defect = f"declared {declared!r} but the bytes are UTF-8"
    return text, defect


_CP1252_HOLES = frozenset((0x81, 0x8D, 0x8F, 0x90, 0x9D))


def _decode_cp1252(data: bytes) -> str:
    """Windows-1252, with the five bytes it leaves unassigned read as Latin-1 (lossless)."""
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return "".join(chr(b) if b in _CP1252_HOLES else bytes((b,)).decode("cp1252") for b in data)


_ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def _decode_header_value(raw: str, defects: list[str], name: str) -> str:
    """Decode one header value as received (compat32 string, surrogate-escaped 8-bit bytes).

    RFC 2047 encoded words are decoded one by one with their own charset; text between them
    (which may hold raw 8-bit bytes from a careless client) goes through :func:`decode_text`.
    Whitespace between two adjacent encoded words is dropped, as RFC 2047 section 6.2 says.
    """
    data = re.sub(rb"\r?\n[ \t]", b" ", raw.encode("utf-8", "surrogateescape")).strip()
    out: list[str] = []
    pos = 0
    previous_was_word = False
    for match in _ENCODED_WORD.finditer(data):
        between = data[pos : match.start()]
        if not (previous_was_word and not between.strip(b" \t")):
            out.append(_decode_plain_header(between, defects, name))
        out.append(_decode_encoded_word(match.group().decode("ascii"), defects, name))
        previous_was_word = True
        pos = match.end()
    out.append(_decode_plain_header(data[pos:], defects, name))
    return "".join(out)


def _decode_plain_header(data: bytes, defects: list[str], name: str) -> str:
    text, defect = decode_text(data)
    if any(b > 0x7F for b in data):
        defects.append(f"header {name}: 8-bit bytes without RFC 2047 encoding")
    elif defect:  # pragma: no cover - ASCII never has a defect
        defects.append(f"header {name}: {defect}")
    return text


def _decode_encoded_word(word: str, defects: list[str], name: str) -> str:
    try:
        ((chunk, charset),) = email.header.decode_header(word)
    except Exception as exc:  # the stdlib raises several types on broken encoded words
        defects.append(f"header {name}: broken encoded word {word[:40]!r} ({exc})")
        return word
    if isinstance(chunk, str):  # pragma: no cover - decode_header gives bytes for words
        chunk = chunk.encode("utf-8", "surrogateescape")
    text, defect = decode_text(chunk, charset)
    if defect:
        defects.append(f"header {name}: {defect}")
    return text


def _parse_addresses(raw: str | None, defects: list[str], name: str) -> tuple[Address, ...]:
    """Split the raw header into addresses first, then decode each display name.

    Decoding first would split ``=?utf-8?q?Berg=2C_Anna?= <a@b.se>`` at the comma.
    """
    if not raw:
        return ()
    result: list[Address] = []
    for display, addr in email.utils.getaddresses([raw]):
        addr = _decode_plain_header(addr.encode("utf-8", "surrogateescape"), [], name)
        addr = addr.strip().strip("<>")
        if not addr or "@" not in addr:
            if addr or display:
                defects.append(f"header {name}: not an address: {raw[:80]!r}")
            continue
        local, _, domain = addr.rpartition("@")
        result.append(
            Address(
                name=_decode_header_value(display, defects, name).strip().strip('"'),
                address=f"{local}@{domain}".lower(),
            )
        )
    return tuple(result)


_MSGID = re.compile(r"<([^<>\s]+)>")


def _message_ids(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    found = _MSGID.findall(value)
    if not found:  # some clients omit the brackets
        found = [v for v in value.split() if "@" in v]
    return tuple(dict.fromkeys(found))


def _parse_date(value: str | None, defects: list[str]) -> datetime | None:
    if not value:
        defects.append("no Date header")
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append(f"unparsable Date header: {value[:60]!r}")
        return None
    if parsed is None:  # pragma: no cover - older Pythons returned None
        defects.append(f"unparsable Date header: {value[:60]!r}")
        return None
    if parsed.tzinfo is None:
        # RFC 5322 "-0000" means "no zone information": treat as UTC, as the RFC suggests.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(STOCKHOLM)


# --------------------------------------------------------------------------- bodies


_HTML_CONFIG = ParserConfig(css=CSS_PROFILES["strict"])


def html_to_text(html: str) -> str:
    """Readable plain text from HTML: blocks on their own lines, lists bulleted, no scripts."""
    try:
        # The "strict" profile: the default indents every nested <div>, and Outlook and
        # Gmail nest everything in divs.
        text = _html_to_text(html, _HTML_CONFIG)
    except Exception:  # inscriptis/lxml can fail on pathological markup; never raise
        text = re.sub(r"<[^>]+>", " ", html)
    return _tidy(text)


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _part_payload(part: Message, defects: list[str]) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception as exc:  # broken base64/quoted-printable
        defects.append(f"undecodable {part.get_content_type()} part: {exc}")
        raw = part.get_payload()
        return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    if payload is None:
        return b""
    return payload


def _part_text(part: Message, defects: list[str]) -> str:
    payload = _part_payload(part, defects)
    text, defect = decode_text(payload, part.get_content_charset())
    if defect:
        defects.append(f"{part.get_content_type()} part: {defect}")
    return text


def _filename(part: Message, defects: list[str]) -> str | None:
    try:
        name = part.get_filename()
    except Exception as exc:
        defects.append(f"unreadable attachment name: {exc}")
        return "(namnlös bilaga)"
    if name is None:
        return None
    return _decode_header_value(str(name), defects, "filename")


def _walk(msg: Message, defects: list[str]) -> tuple[list[str], list[str], list[Attachment]]:
    plains: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = _filename(part, defects)
        if (
            ctype == "message/rfc822"
            or (filename and disposition != "inline")
            or (disposition == "attachment")
        ):
            payload = _part_payload(part, defects)
            attachments.append(
                Attachment(
                    filename=filename or "(namnlös bilaga)", content_type=ctype, size=len(payload)
                )
            )
            continue
        if ctype == "text/plain":
            plains.append(_part_text(part, defects))
        elif ctype == "text/html":
            htmls.append(_part_text(part, defects))
        elif filename:
            payload = _part_payload(part, defects)
            attachments.append(Attachment(filename=filename, content_type=ctype, size=len(payload)))
    return plains, htmls, attachments


# --------------------------------------------------------------------------- entry point


def parse_message(raw: bytes) -> IncomingMessage:
    """Parse raw message bytes.  Never raises; problems end up in ``defects``."""
    defects: list[str] = []
    try:
        msg = email.message_from_bytes(raw, policy=policy.compat32)
    except Exception as exc:  # pragma: no cover - the compat32 parser is very forgiving
        defects.append(f"unparsable message: {exc}")
        msg = email.message_from_bytes(b"\r\n\r\n" + raw, policy=policy.compat32)
    for part in msg.walk():
        for defect in part.defects:
            defects.append(f"{part.get_content_type()}: {type(defect).__name__}")

    raw_headers = [(name, str(value)) for name, value in msg.raw_items()]
    headers = [(name, _decode_header_value(value, defects, name)) for name, value in raw_headers]

    def raw_all(name: str) -> str | None:
        lname = name.lower()
        values = [value for key, value in raw_headers if key.lower() == lname]
        return ", ".join(values) if values else None

    def first(name: str) -> str | None:
        lname = name.lower()
        for key, value in headers:
            if key.lower() == lname:
                return value
        return None

    senders = _parse_addresses(raw_all("From"), defects, "From")
    if not senders:
        senders = _parse_addresses(raw_all("Sender"), defects, "Sender") or _parse_addresses(
            raw_all("Return-Path"), defects, "Return-Path"
        )
    if not senders:
        defects.append("no sender address")

    message_ids = _message_ids(first("Message-ID"))
    if message_ids:
        message_id = message_ids[0]
    else:
        digest = hashlib.sha256(raw).hexdigest()[:32]
        message_id = f"{digest}@postvakt.invalid"
        defects.append("no Message-ID; one was derived from the message bytes")

    try:
        plains, htmls, attachments = _walk(msg, defects)
    except Exception as exc:  # a last guard: MIME trees can be arbitrarily broken
        defects.append(f"unreadable MIME structure: {exc}")
        plains, htmls, attachments = (
            [msg.get_payload() if isinstance(msg.get_payload(), str) else ""],
            [],
            [],
        )

    plain = _tidy("\n\n".join(p for p in plains if p.strip()))
    from_html = False
    if plain:
        body = plain
    elif htmls:
        body = html_to_text("\n".join(htmls))
        from_html = True
    else:
        body = ""

    content_type = msg.get_content_type()
    auto_submitted = first("Auto-Submitted")
    return IncomingMessage(
        message_id=message_id,
        sender=senders[0] if senders else None,
        reply_to=_parse_addresses(raw_all("Reply-To"), defects, "Reply-To"),
        to=_parse_addresses(raw_all("To"), defects, "To"),
        cc=_parse_addresses(raw_all("Cc"), defects, "Cc"),
        subject=re.sub(r"\s+", " ", first("Subject") or "").strip(),
        date=_parse_date(first("Date"), defects),
        body_text=body,
        body_from_html=from_html,
        attachments=tuple(attachments),
        in_reply_to=_message_ids(first("In-Reply-To")),
        references=_message_ids(first("References")),
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
    )


def addresses(values: Iterable[Address]) -> tuple[str, ...]:
    """Just the addresses, in order."""
    return tuple(a.address for a in values)
