"""Bytes in a declared, missing or lying charset -> text; RFC 2047 encoded words -> text.

Swedish mailboxes see UTF-8, ISO-8859-1, ISO-8859-15 and Windows-1252, often mislabelled:
UTF-8 declared as Latin-1, Latin-1 declared as US-ASCII, or 8-bit bytes in headers with no
RFC 2047 encoding at all.  :func:`decode_text` decides per piece of text; see its docstring.
Encoded words are decoded here rather than by ``email.header``, which raises on 8-bit bytes
inside a word and decodes a character split across two words into mojibake.

Nothing here raises on bad input: what was off is returned (or appended to the caller's list
of defects) as text for :class:`~postvakt.mailbox.message.IncomingMessage`'s ``defects``.
"""

from __future__ import annotations

import binascii
import codecs
import re

__all__ = ["decode_cp1252", "decode_header_value", "decode_plain_header", "decode_text"]

# Single-byte Western charsets (and claims of plain ASCII).  Text declared as one of these
# that is valid UTF-8 with non-ASCII bytes was mislabelled: real Latin-1 Swedish text
# ("ö" = 0xF6 followed by a consonant) is almost never valid UTF-8.
_LATIN9 = {"iso-8859-15", "iso8859-15", "latin-9", "latin9", "l9"}
_WESTERN = {
    "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1",
    "windows-1252", "cp1252", "x-user-defined", "unknown-8bit", "unknown", "x-unknown", "",
} | _LATIN9  # fmt: skip
_UTF8 = {"utf-8", "utf8", "unicode-1-1-utf-8"}


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
        return decode_cp1252(data), defect
    if charset and charset not in _UTF8 and defect is None:
        defect = f"declared {declared!r} but the bytes are UTF-8"
    return text, defect


_CP1252_HOLES = frozenset((0x81, 0x8D, 0x8F, 0x90, 0x9D))


def decode_cp1252(data: bytes) -> str:
    """Windows-1252, with the five bytes it leaves unassigned read as Latin-1 (lossless)."""
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return "".join(chr(b) if b in _CP1252_HOLES else bytes((b,)).decode("cp1252") for b in data)


# --------------------------------------------------------------------------- encoded words

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


def decode_header_value(raw: str, defects: list[str], name: str) -> str:
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
                out.append(decode_plain_header(between, defects, name))
            else:
                flush()
            pending = (charset, bytearray(chunk))
        pos = match.end()
    flush()
    out.append(decode_plain_header(data[pos:], defects, name))
    text = "".join(out)
    if "\x00" in text:  # an encoded word can carry one; PostgreSQL's text columns cannot
        defects.append(f"header {name}: NUL characters removed")
        text = text.replace("\x00", "")
    return text


def decode_plain_header(data: bytes, defects: list[str], name: str) -> str:
    text, _defect = decode_text(data)
    if any(b > 0x7F for b in data):
        defects.append(f"header {name}: 8-bit bytes without RFC 2047 encoding")
    return text
