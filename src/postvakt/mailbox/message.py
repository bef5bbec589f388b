"""Raw RFC 5322 bytes -> a frozen :class:`IncomingMessage`.

The contract: :func:`parse_message` never raises for any input.  Whatever is wrong with a
message (broken MIME, an unknown or lying charset, an unparsable date, a missing
Message-ID, NUL bytes, over-long lines) is recorded in ``IncomingMessage.defects`` and the
rest is still read.

Swedish mailboxes see UTF-8, ISO-8859-1, ISO-8859-15 and Windows-1252, often mislabelled:
UTF-8 declared as Latin-1, Latin-1 declared as US-ASCII, or 8-bit bytes in headers with no
RFC 2047 encoding at all.  :func:`decode_text` decides per piece of text; see its docstring.
Encoded words are decoded here rather than by ``email.header``, which raises on 8-bit bytes
inside a word and decodes a character split across two words into mojibake.
"""

from __future__ import annotations

import binascii
import codecs
import email
import email.utils
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from zoneinfo import ZoneInfo

from inscriptis import get_text as _html_to_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

from postvakt.mailbox.addresses import one_line
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

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MAX_FORWARD_DEPTH = 3
NAME_LIMIT = 500
"""Characters of a display name kept (the database's column for names)."""
HTML_LIMIT = 1_000_000
"""Characters of HTML turned into text: some 2 s of work for 8 MB; a million characters give
far more text than anyone reads to decide what a message is (the classifier reads 200,000)."""
HTML_CUT = "HTML cut:"
"""How the defect of a message whose HTML was cut begins."""

# Single-byte Western charsets (and claims of plain ASCII).  Text declared as one of these
# that is valid UTF-8 with non-ASCII bytes was mislabelled: real Latin-1 Swedish text
# ("ö" = 0xF6 followed by a consonant) is almost never valid UTF-8.
_LATIN9 = {"iso-8859-15", "iso8859-15", "latin-9", "latin9", "l9"}
_WESTERN = {
    "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1",
    "windows-1252", "cp1252", "x-user-defined", "unknown-8bit", "unknown", "x-unknown", "",
} | _LATIN9  # fmt: skip
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
        """Message-IDs this message answers (In-Reply-To first, then References)."""
        seen: dict[str, None] = dict.fromkeys(self.in_reply_to)
        seen.update(dict.fromkeys(self.references))
        return tuple(seen)


# --------------------------------------------------------------------------- decoding


def _normalise_charset(charset: str | None) -> str:
    return (charset or "").strip().strip("\"'").lower()


def _text_codec(charset: str) -> str | None:
    """The Python codec for ``charset`` if it is a real text encoding, else None.

    Names like 'idna', 'punycode', 'undefined', 'base64' or ones with NUL bytes are codecs
    (or errors) that must never be used to read mail.
    """
    if not charset or "\x00" in charset or len(charset) > 40:
        return None
    try:
        info = codecs.lookup(charset)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in (
        "idna", "punycode", "undefined", "raw-unicode-escape", "unicode-escape",
    ):  # fmt: skip
        return None
    return info.name


def decode_text(data: bytes, declared: str | None = None) -> tuple[str, str | None]:
    """Decode ``data`` to text; return ``(text, defect)`` where defect says what was off.

    Rules, in order:
    1. Pure ASCII is ASCII, whatever was declared.
    2. A declared Western or missing charset with bytes that are valid UTF-8 is UTF-8
       (mislabelled).  Declared UTF-8 that is valid UTF-8 is UTF-8.
    3. Otherwise ISO-8859-15 when that was declared (€ at 0xA4), else Windows-1252, which
       covers ISO-8859-1 and the "smart quotes" Outlook adds; the five bytes 1252 leaves
       undefined are read as Latin-1.  Never raises.
    4. Any other declared text charset Python knows is used, with replacement characters for
       bad bytes; an unknown or unusable one falls back to rules 2–3 and is reported.
    """
    charset = _normalise_charset(declared)
    if not any(b > 0x7F for b in data):
        return data.decode("ascii"), None
    defect: str | None = None
    if charset and charset not in _WESTERN and charset not in _UTF8:
        codec = _text_codec(charset)
        if codec is None:
            defect = f"unknown charset {declared!r}"
        else:
            try:
                return data.decode(codec), None
            except UnicodeError:
                try:
                    text = data.decode(codec, "replace")
                except UnicodeError:  # some codecs ignore the error handler
                    defect = f"bytes not valid in declared charset {declared!r}"
                else:
                    return text, f"bytes not valid in declared charset {declared!r}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if defect is None and charset in _UTF8:
            defect = f"declared {declared!r} but the bytes are not UTF-8; read as Windows-1252"
        elif defect is None and charset in ("us-ascii", "ascii"):
            defect = f"declared {declared!r} but has 8-bit bytes; read as Windows-1252"
        if charset in _LATIN9:
            return data.decode("iso-8859-15"), defect
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


# --------------------------------------------------------------------------- headers

_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def _word_bytes(encoding: bytes, text: bytes) -> bytes:
    """The bytes an encoded word carries (RFC 2047 section 4)."""
    if encoding.upper() == b"B":
        cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", text)
        return binascii.a2b_base64(cleaned + b"=" * (-len(cleaned) % 4))
    # Q: "_" is a space, "=XX" a byte; anything else (even 8-bit bytes) is taken as is.
    return re.sub(
        rb"=([0-9A-Fa-f]{2})", lambda m: bytes((int(m[1], 16),)), text.replace(b"_", b" ")
    )


def _decode_header_value(raw: str, defects: list[str], name: str) -> str:
    """Decode one header value as received (compat32 string, surrogate-escaped 8-bit bytes).

    Adjacent encoded words with the same charset are joined as bytes before decoding, so a
    character split across two words survives.  Whitespace between two encoded words is
    dropped (RFC 2047 section 6.2).  Text outside encoded words goes through
    :func:`decode_text`.
    """
    data = re.sub(rb"\r?\n[ \t]", b" ", raw.encode("utf-8", "surrogateescape")).strip()
    if b"\x00" in data:
        defects.append(f"header {name}: NUL bytes removed")
        data = data.replace(b"\x00", b"")
    out: list[str] = []
    pending: tuple[str, bytearray] | None = None  # (charset, bytes) of adjacent words
    pos = 0

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            text, defect = decode_text(bytes(pending[1]), pending[0].split("*")[0])
            if defect:
                defects.append(f"header {name}: {defect}")
            out.append(text)
            pending = None

    for match in _ENCODED_WORD.finditer(data):
        between = data[pos : match.start()]
        adjacent = pending is not None and not between.strip(b" \t")
        charset = match[1].decode("ascii", "replace").lower()
        try:
            chunk = _word_bytes(match[2], match[3])
        except (binascii.Error, ValueError) as exc:
            defects.append(f"header {name}: broken encoded word ({exc})")
            chunk = match[3]
        if any(b > 0x7F for b in match[3]):
            defects.append(f"header {name}: 8-bit bytes inside an encoded word")
        if adjacent and pending is not None and pending[0] == charset:
            pending[1].extend(chunk)
        else:
            if not adjacent:
                flush()
                out.append(_decode_plain_header(between, defects, name))
            else:
                flush()
            pending = (charset, bytearray(chunk))
        pos = match.end()
    flush()
    out.append(_decode_plain_header(data[pos:], defects, name))
    text = "".join(out)
    if "\x00" in text:  # an encoded word can carry one; PostgreSQL's text columns cannot
        defects.append(f"header {name}: NUL characters removed")
        text = text.replace("\x00", "")
    return text


def _decode_plain_header(data: bytes, defects: list[str], name: str) -> str:
    text, _defect = decode_text(data)
    if any(b > 0x7F for b in data):
        defects.append(f"header {name}: 8-bit bytes without RFC 2047 encoding")
    return text


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
        addr = _decode_plain_header(addr.encode("utf-8", "surrogateescape"), [], name)
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
                name=one_line(_decode_header_value(display, defects, name))
                .strip('"')
                .strip()[:NAME_LIMIT],
                address=f"{local}@{domain}".lower(),
            )
        )
    if not result and raw.strip():
        defects.append(f"header {name}: no address in {raw.strip()[:80]!r}")
    return tuple(result)


# A bare ID starts only after a separator (or at the start): without that look-behind every
# position of a long run was tried, quadratic in a 200,000-character References header.
_MSGID = re.compile(r"<([^<>\s]+)>|(?<![^\s<>,;])([^\s<>,;]+@[^\s<>,;]+)")


MESSAGE_ID_LIMIT = 250
"""Characters of the longest Message-ID read as one (real ones are under 100; the database
keeps 998); a longer one is left out, and a message whose own is longer gets one derived."""
THREAD_LIMIT = 100
"""Message-IDs of a References header read: the first (the thread's start) and the last
ones (the nearest); a lookup with a hundred thousand of them stopped the pass."""


def _message_ids(
    value: str | None, defects: list[str] | None = None, name: str = ""
) -> tuple[str, ...]:
    """Message-IDs in a header, with or without the angle brackets some clients omit."""
    if not value:
        return ()
    found = [bracketed or bare for bracketed, bare in _MSGID.findall(value)]
    ids = [i for i in dict.fromkeys(found) if len(i) <= MESSAGE_ID_LIMIT]
    if defects is not None and len(ids) < len(set(found)):
        defects.append(f"header {name}: Message-IDs over {MESSAGE_ID_LIMIT} characters left out")
    if len(ids) > THREAD_LIMIT:
        if defects is not None:
            defects.append(f"header {name}: {len(ids)} Message-IDs; {THREAD_LIMIT} read")
        ids = ids[:1] + ids[-(THREAD_LIMIT - 1) :]
    return tuple(ids)


# Named zones Swedish and European mail carries; RFC 5322 only knows the American ones and
# reads the rest as UTC, one or two hours off.
_ZONES = {"CET": "+0100", "CEST": "+0200", "MET": "+0100", "MEST": "+0200", "WET": "+0000",
          "WEST": "+0100", "EET": "+0200", "EEST": "+0300", "BST": "+0100"}  # fmt: skip
_NAMED_ZONE = re.compile(r"\b(" + "|".join(_ZONES) + r")\b\s*$")


def _parse_date(value: str | None, defects: list[str]) -> datetime | None:
    if not value:
        defects.append("no Date header")
        return None
    # A real Date is some 40 characters; reading more only gives a backtracking zone match
    # (the pattern ends in \s*$) something to chew on.
    value = _NAMED_ZONE.sub(lambda m: _ZONES[m[1]], value.strip()[:200])
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append(f"unparsable Date header: {value[:60]!r}")
        return None
    if parsed.tzinfo is None:
        # RFC 5322 "-0000" means "no zone information": read as UTC, as the RFC suggests.
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(STOCKHOLM)
    except (OverflowError, ValueError):
        defects.append(f"Date header out of range: {value[:60]!r}")
        return None


def _long_lines(raw: bytes) -> bool:
    """Whether any header line is longer than RFC 5322's limit of 998 characters."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    head = raw if end < 0 else raw[:end]
    return any(len(line.rstrip(b"\r")) > 998 for line in head.split(b"\n"))


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
        return _decode_header_value(name, defects, "filename")
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
            subject="", date=None, body_text=_decode_cp1252(raw.replace(b"\x00", b""))[:100_000],
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
    if _long_lines(raw):
        defects.append("header line longer than 998 characters (RFC 5322)")

    raw_headers = [(name, str(value)) for name, value in msg.raw_items()]
    headers = [(name, _decode_header_value(value, defects, name)) for name, value in raw_headers]

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

    message_ids = _message_ids(first("Message-ID"), defects, "Message-ID")
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
        date=_parse_date(first("Date"), defects),
        body_text=body,
        body_from_html=from_html,
        attachments=tuple(attachments),
        in_reply_to=_message_ids(first("In-Reply-To"), defects, "In-Reply-To"),
        references=_message_ids(first("References"), defects, "References"),
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
