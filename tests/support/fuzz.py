"""A seeded mutation fuzzer for raw mail: the project's own messages, made hostile.

The seeds are the project's own mail: every record of the classifier's corpus (as the mail
program in :mod:`postvakt.classifier.corpus` writes it), the test messages in
``tests/data/eml`` and the demo's messages.  :data:`MUTATIONS` is the table of what is done
to them, one small function each, ``(rng, raw) -> raw``: cut headers, CR/LF and NUL injected
into names, subjects and addresses, charsets that lie, broken base64 and quoted-printable,
50-deep multipart nesting, 0 bytes, 20 MB, 10,000 recipients, huge header lines, encoded
words that decode to control characters, IDN and UTF-8 addresses, bogus boundaries,
duplicated headers, and plain byte damage.

:class:`Mutator` is deterministic: the same seed and count give the same bytes, so a failure
is reproduced by its seed and index alone.  Its first ``len(MUTATIONS)`` mutants apply each
mutation once on its own, so even a short run has every shape; after that each mutant gets
one to three mutations drawn by weight (the heavy ones — 20 MB, 10,000 recipients — rarely).

Used by ``tests/test_fuzz.py`` and ``benchmarks/fuzz_intake.py``.
"""

from __future__ import annotations

import base64
import json
import quopri
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from postvakt.classifier.corpus import _raw as corpus_raw
from postvakt.mailbox.message import parse_message

__all__ = ["MUTATIONS", "Mutant", "Mutator", "seed_messages"]

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "src" / "postvakt" / "classifier" / "corpus"
TEST_EML = ROOT / "tests" / "data" / "eml"
DEMO_EML = ROOT / "src" / "postvakt" / "demo_messages"

BIG = 20 * 1024 * 1024
"""The size of a "20 MB" message."""
RECIPIENTS = 10_000
DEPTH = 50

Mutation = Callable[[random.Random, bytes], bytes]


@cache
def seed_messages() -> tuple[bytes, ...]:
    """Every seed message's bytes, in a fixed order."""
    seeds: list[bytes] = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                seeds.append(corpus_raw(json.loads(line)))
    seeds += [p.read_bytes() for p in sorted(TEST_EML.glob("*.eml"))]
    seeds += [p.read_bytes() for p in sorted(DEMO_EML.glob("*.eml"))]
    return tuple(seeds)


@dataclass(frozen=True)
class Mutant:
    index: int
    raw: bytes
    mutations: tuple[str, ...]
    seed_index: int

    @property
    def name(self) -> str:
        """A Maildir-safe file name that says what was done."""
        return f"fuzz-{self.index:06d}-" + "+".join(self.mutations)


# --------------------------------------------------------------------------- byte helpers

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_MIME_FIELDS = (b"content-type", b"content-transfer-encoding", b"mime-version")


def _split(raw: bytes) -> tuple[list[bytes], bytes, bytes]:
    """(header fields with their folded lines, line end, body)."""
    found = _HEAD_END.search(raw)
    head, body = (raw[: found.start()], raw[found.end() :]) if found else (raw, b"")
    nl = b"\r\n" if b"\r\n" in head or not head else b"\n"
    fields: list[bytes] = []
    for line in head.split(b"\n"):
        line = line.rstrip(b"\r")
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += nl + line
        else:
            fields.append(line)
    return [f for f in fields if f], nl, body


def _join(fields: Sequence[bytes], nl: bytes, body: bytes) -> bytes:
    return nl.join(fields) + nl + nl + body


def _name(field: bytes) -> bytes:
    return field.partition(b":")[0].strip().lower()


def _set(fields: list[bytes], name: bytes, value: bytes) -> list[bytes]:
    """Replace the first field called ``name`` (or add it) with ``name: value``."""
    new = name + b": " + value
    for i, field in enumerate(fields):
        if _name(field) == name.lower():
            return [*fields[:i], new, *fields[i + 1 :]]
    return [*fields, new]


def _value(fields: Sequence[bytes], name: bytes, default: bytes = b"") -> bytes:
    for field in fields:
        if _name(field) == name.lower():
            return field.partition(b":")[2].strip()
    return default


def _text(raw: bytes) -> str:
    """The seed's readable text (the project's own parser never raises)."""
    text = parse_message(raw).body_text or "Hej! Jag vill klaga på snöröjningen på Björkvägen."
    return text + "\n\nMed vänliga hälsningar\nÅsa Öberg\n070-123 45 67\n"


def _with_body(raw: bytes, content: Sequence[bytes], body: bytes) -> bytes:
    """The seed's headers without its MIME fields, then ``content`` fields and ``body``."""
    fields, nl, _old = _split(raw)
    kept = [f for f in fields if _name(f) not in _MIME_FIELDS]
    return _join([*kept, b"MIME-Version: 1.0", *content], nl, body)


def _encoded_word(rng: random.Random, text: str, charset: str = "utf-8") -> bytes:
    data = text.encode(charset, "replace")
    if rng.random() < 0.5:
        return b"=?" + charset.encode() + b"?B?" + base64.b64encode(data) + b"?="
    quoted = b"".join(
        bytes((b,)) if b < 0x80 and chr(b).isalnum() else b"=%02X" % b for b in data
    )  # every control byte written as =XX
    return b"=?" + charset.encode() + b"?Q?" + quoted + b"?="


def _sender(fields: Sequence[bytes]) -> tuple[bytes, bytes]:
    """(display name, address) of the seed's From, with plain fallbacks."""
    value = _value(fields, b"from", b"Karin Ek <karin.ek@example.net>")
    match = re.search(rb"<([^<>]*)>", value)
    address = match[1] if match else value.strip()
    if b"@" not in address:
        address = b"karin.ek@example.net"
    name = value[: match.start()].strip().strip(b'"') if match else b""
    return name or b"Karin Ek", address


# --------------------------------------------------------------------------- the mutations


def cut_headers(rng: random.Random, raw: bytes) -> bytes:
    """Header fields dropped, the header block cut mid-line, or the blank line lost."""
    fields, nl, body = _split(raw)
    how = rng.randrange(4)
    if how == 0 and fields:  # drop some fields, From and Date among the likely ones
        keep = [f for f in fields if rng.random() < 0.5]
        return _join(keep, nl, body)
    if how == 1:  # the message ends inside the header block
        head = nl.join(fields)
        return head[: rng.randrange(len(head) + 1)]
    if how == 2:  # no blank line: the body reads as more header lines
        return nl.join(fields) + nl + body
    # cut anywhere at all
    return raw[: rng.randrange(len(raw) + 1)]


_INJECTIONS = (b"\r\n", b"\r", b"\n", b"\x00", b"\r\n ", b"\r\n\t", b"\x00\r\n", b"\n\n")


def crlf_nul_injection(rng: random.Random, raw: bytes) -> bytes:
    """CR, LF and NUL bytes inside a display name, a subject or an address (raw, not encoded)."""
    fields, nl, body = _split(raw)
    name, address = _sender(fields)
    bad = rng.choice(_INJECTIONS)
    where = rng.randrange(5)
    if where == 0:
        cut = rng.randrange(len(name) + 1)
        fields = _set(
            fields, b"From", b'"' + name[:cut] + bad + name[cut:] + b'" <' + address + b">"
        )
    elif where == 1:
        cut = rng.randrange(len(address) + 1)
        fields = _set(fields, b"From", name + b" <" + address[:cut] + bad + address[cut:] + b">")
    elif where == 2:
        subject = _value(fields, b"subject", b"Klagomal")
        cut = rng.randrange(len(subject) + 1)
        fields = _set(fields, b"Subject", subject[:cut] + bad + subject[cut:])
    elif where == 3:
        fields = _set(fields, b"Reply-To", name + bad + b" <" + address + bad + b">")
    else:  # the Unix mbox case: "Kalle\r\n Anka" unfolds to a name with a line break in it
        fields = _set(fields, b"From", b'"Kalle' + nl + b' Anka" <k@example.org>')
    return _join(fields, nl, body)


_LIES = (
    ("utf-8", "latin-1"),  # declared UTF-8, the bytes are Latin-1
    ("iso-8859-1", "utf-8"),
    ("us-ascii", "latin-1"),
    ("x-klingon", "utf-8"),
    ("utf-8\x00", "latin-1"),
    ("rot13", "utf-8"),
    ("idna", "latin-1"),
    ("base64", "utf-8"),
    ("utf-16", "latin-1"),
    ("utf-7", "utf-8"),
    ("unicode-escape", "latin-1"),
    ("", "latin-1"),
    ("x" * 200, "utf-8"),
    ("windows-1252", "utf-16-le"),
)


def charset_lie(rng: random.Random, raw: bytes) -> bytes:
    """A text part whose declared charset is not what its bytes are, or not a charset at all."""
    declared, actual = rng.choice(_LIES)
    text = _text(raw)
    body = text.encode(actual, "replace")
    if rng.random() < 0.3:  # the subject lies too
        fields, nl, _body = _split(raw)
        subject = "Klagomål på snöröjningen".encode(actual, "replace")
        word = (
            b"=?"
            + declared.encode("latin-1", "replace")
            + b"?Q?"
            + quopri.encodestring(subject, header=True)
            + b"?="
        )
        raw = _join(_set(fields, b"Subject", word), nl, b"")
    cte = rng.choice((b"8bit", b"7bit", b"quoted-printable", b"binary"))
    if cte == b"quoted-printable":
        body = quopri.encodestring(body)
    params = b'; charset="' + declared.encode("latin-1", "replace") + b'"'
    return _with_body(
        raw, [b"Content-Type: text/plain" + params, b"Content-Transfer-Encoding: " + cte], body
    )


def broken_base64(rng: random.Random, raw: bytes) -> bytes:
    """Base64 with junk characters, lost padding, a cut quad, or one endless line."""
    data = base64.encodebytes(_text(raw).encode("utf-8"))
    how = rng.randrange(5)
    if how == 0:
        chars = bytearray(data)
        for _ in range(rng.randrange(1, 20)):
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(b"!#$%&*=?-_.\xe5\x00"))
        data = bytes(chars)
    elif how == 1:
        data = data.replace(b"=", b"")[:-3]
    elif how == 2:
        data = data[: rng.randrange(len(data) + 1)] + b"===="
    elif how == 3:
        data = data.replace(b"\n", b"")
    else:
        data = data[:40] + b"=\n" + data[40:] + b"Det h\xe4r \xe4r inte base64\n"
    return _with_body(
        raw,
        [b'Content-Type: text/plain; charset="utf-8"', b"Content-Transfer-Encoding: base64"],
        data,
    )


def broken_quoted_printable(rng: random.Random, raw: bytes) -> bytes:
    """=ZZ, a lone = at the end, soft breaks inside a UTF-8 character, 8-bit bytes in QP."""
    data = quopri.encodestring(_text(raw).encode("utf-8"))
    junk = (b"=ZZ", b"=", b"=\r", b"=\n=\n=", b"=C3=\n=A5", b"\xe5\xe4\xf6", b"=0", b"=\x00")
    chars = bytearray(data)
    for _ in range(rng.randrange(1, 15)):
        chars[rng.randrange(len(chars) + 1) : 0] = rng.choice(junk)
    if rng.random() < 0.3:
        chars += b"=" * rng.randrange(1, 4)
    return _with_body(
        raw,
        [
            b'Content-Type: text/plain; charset="utf-8"',
            b"Content-Transfer-Encoding: quoted-printable",
        ],
        bytes(chars),
    )


def deep_nesting(rng: random.Random, raw: bytes) -> bytes:
    """The text 50 multiparts deep (or 50 forwarded messages deep), closed or not."""
    text = _text(raw).encode("utf-8")
    how = rng.randrange(4)
    if how == 3:  # forwarded of forwarded of … (message/rfc822)
        inner = b'Content-Type: text/plain; charset="utf-8"\r\n\r\n' + text
        for level in range(DEPTH):
            inner = (
                b"From: lager%d@example.net\r\nSubject: VB: niv\xc3\xa5 %d\r\n" % (level, level)
                + b"Content-Type: message/rfc822\r\n\r\n"
                + inner
            )
        return _with_body(raw, [b"Content-Type: message/rfc822"], inner)
    body = b'Content-Type: text/plain; charset="utf-8"\r\n\r\n' + text
    for level in range(DEPTH):
        boundary = b"same" if how == 1 else b"niva-%d-%d" % (level, rng.randrange(10**6))
        kind = rng.choice((b"mixed", b"alternative", b"related", b"x-okand"))
        close = b"" if how == 2 else b"\r\n--" + boundary + b"--\r\n"
        body = (
            b"Content-Type: multipart/" + kind + b'; boundary="' + boundary + b'"\r\n\r\n'
            b"--" + boundary + b"\r\n" + body + close
        )
    head, _, rest = body.partition(b"\r\n\r\n")
    return _with_body(raw, [head], rest)


def empty(rng: random.Random, raw: bytes) -> bytes:
    """Zero bytes (or next to nothing)."""
    return rng.choice((b"", b"", b"\r\n", b"\n\n", b" ", b"\x00", b":"))


def huge_attachment(rng: random.Random, raw: bytes) -> bytes:
    """20 MB: the text and a base64 attachment of random bytes."""
    text = _text(raw).encode("utf-8")
    blob = base64.encodebytes(rng.randbytes(BIG * 3 // 4))
    body = (
        b'--stor\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\n' + text
        + b"\r\n--stor\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="foto.jpg"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + blob + b"--stor--\r\n"
    )  # fmt: skip
    return _with_body(raw, [b'Content-Type: multipart/mixed; boundary="stor"'], body)


def huge_text(rng: random.Random, raw: bytes) -> bytes:
    """20 MB of text: the seed's lines over and over."""
    lines = _text(raw).encode("utf-8").split(b"\n")
    out = bytearray()
    while len(out) < BIG:
        out += rng.choice(lines) + b"\n"
    return _with_body(raw, _PLAIN_8BIT, bytes(out))


def huge_line(rng: random.Random, raw: bytes) -> bytes:
    """20 MB on one line without spaces, of what text scanners look for (@, digits, dots)."""
    unit = rng.choice((b"a", b"x@", b"07", b"\xc3\xa5", b"ab.cd-", b"@a.", b"a-"))
    return _with_body(raw, _PLAIN_8BIT, _text(raw).encode("utf-8") + unit * (BIG // len(unit)))


_PLAIN_8BIT = (b'Content-Type: text/plain; charset="utf-8"', b"Content-Transfer-Encoding: 8bit")


def many_recipients(rng: random.Random, raw: bytes) -> bytes:
    """10,000 recipients in To (or Cc, or both), folded or on one line."""
    fields, nl, body = _split(raw)
    fold = nl + b" " if rng.random() < 0.7 else b" "
    names = rng.random() < 0.5
    people = [
        (b'"Mottagare %d" <m%d@example.org>' % (i, i)) if names else b"m%d@example.org" % i
        for i in range(RECIPIENTS)
    ]
    value = (b"," + fold).join(people)
    for header in rng.choice(((b"To",), (b"Cc",), (b"To", b"Cc"))):
        fields = _set(fields, header, value)
    return _join(fields, nl, body)


def huge_header_line(rng: random.Random, raw: bytes) -> bytes:
    """One header line of 100 kB to 2 MB: subject, name, address, references, Message-ID or an
    X-field."""
    fields, nl, body = _split(raw)
    size = rng.choice((100_000, 300_000, 2_000_000))
    which = rng.randrange(6)
    if which == 5:
        fields = _set(fields, b"From", b"<" + b"a" * size + b"@example.net>")
    elif which == 0:
        fields = _set(fields, b"Subject", (b"Klagom\xc3\xa5l " * (size // 10))[:size])
    elif which == 1:
        fields = _set(fields, b"From", b"A" * size + b" <lang@example.net>")
    elif which == 2:
        ids = b" ".join(b"<%d@example.net>" % i for i in range(size // 16))
        fields = _set(fields, b"References", ids)
    elif which == 3:
        fields = _set(fields, b"Message-ID", b"<" + b"m" * size + b"@example.net>")
    else:
        fields = [*fields, b"X-Skr\xc3\xa4p: " + b"x" * size]
    return _join(fields, nl, body)


_CONTROLS = (
    "\r\n", "\x00", "\x1b[2J", "\x7f", "\x85", "\u2028", "\u202e", "\x08", "\t", "\x0c",
    "\r\nBcc: alla@example.org", "\ufeff", "\udcff",
)  # fmt: skip


def encoded_word_controls(rng: random.Random, raw: bytes) -> bytes:
    """RFC 2047 words in the name, subject or file name that decode to control characters."""
    fields, nl, body = _split(raw)
    _display, address = _sender(fields)
    evil = rng.choice(_CONTROLS)
    plain = "Kalle" + evil + "Anka"
    word = _encoded_word(rng, plain, rng.choice(("utf-8", "utf-8", "iso-8859-1")))
    where = rng.randrange(4)
    if where == 0:
        fields = _set(fields, b"From", word + b" <" + address + b">")
    elif where == 1:
        fields = _set(fields, b"Subject", b"Klagom=?utf-8?q?=C3=A5l?= " + word)
    elif where == 2:
        fields = _set(fields, b"Reply-To", word + b" <" + address + b">")
    else:
        text = _text(raw).encode("utf-8")
        return _with_body(
            raw,
            [b'Content-Type: multipart/mixed; boundary="b"'],
            b'--b\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\n' + text
            + b'\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment;'
            b' filename="' + word + b'"\r\n\r\n%PDF-1.4\r\n--b--\r\n',
        )  # fmt: skip
    return _join(fields, nl, body)


_ADDRESSES = (
    "Kalle <kalle@räksmörgås.se>",
    "Åsa Öberg <åsa.öberg@exempel.se>",
    "=?utf-8?q?=C3=85sa?= <åsa@exempel.se>",
    "kalle@xn--rksmrgs-5wao1o.se",
    "info@exempel.中国",
    '"kalle anka"@example.org',
    "kalle@example.org (Kalle Anka)",
    "Ola <ola@" + "a" * 300 + ".se>",
    "<@relay.example:kalle@example.org>",
    "kalle@[192.0.2.1]",
    "undisclosed-recipients:;",
    "Kalle <kalle@example..org>",
    '"Berg, Anna" <anna@bücher.example>',
    "ÖVERFÖRMYNDAREN <överförmyndaren@kommun.example>",
)


def idn_address(rng: random.Random, raw: bytes) -> bytes:
    """Internationalised domains, UTF-8 local parts, raw Latin-1, odd but legal forms."""
    fields, nl, body = _split(raw)
    value = rng.choice(_ADDRESSES)
    data = value.encode("latin-1", "replace") if rng.random() < 0.15 else value.encode("utf-8")
    for header in rng.choice(((b"From",), (b"Reply-To",), (b"From", b"Reply-To"), (b"To",))):
        fields = _set(fields, header, data)
    return _join(fields, nl, body)


def bogus_boundary(rng: random.Random, raw: bytes) -> bytes:
    """A multipart whose boundary is absent, empty, endless, never closed or never opened."""
    text = _text(raw).encode("utf-8")
    part = b'Content-Type: text/plain; charset="utf-8"\r\n\r\n' + text
    how = rng.randrange(7)
    declared, used, closed = b"grans", b"grans", True
    if how == 0:
        used = b"annan"
    elif how == 1:
        declared = used = b""
    elif how == 2:
        declared = used = b"g" * 5000
    elif how == 3:
        closed = False
    elif how == 4:
        declared = used = b"Med v\xc3\xa4nliga h\xc3\xa4lsningar"  # a line of the text itself
    elif how == 5:
        declared = used = b'"; boundary="x'
    else:  # five thousand empty parts
        body = b"".join(b"--grans\r\n\r\n" for _ in range(5000)) + b"--grans\r\n" + part
        return _with_body(raw, [b'Content-Type: multipart/mixed; boundary="grans"'], body)
    body = b"--" + used + b"\r\n" + part + (b"\r\n--" + used + b"--\r\n" if closed else b"")
    return _with_body(raw, [b'Content-Type: multipart/mixed; boundary="' + declared + b'"'], body)


def duplicated_headers(rng: random.Random, raw: bytes) -> bytes:
    """The same field two or many times, with different values."""
    fields, nl, body = _split(raw)
    extra = {
        b"From": b"Annan Person <annan@example.com>",
        b"Subject": b"Ett helt annat \xc3\xa4mne",
        b"Message-ID": b"<dubblett@example.com>",
        b"Date": b"Thu, 01 Jan 1970 00:00:00 +0000",
        b"Content-Type": b"text/html; charset=iso-8859-1",
        b"Content-Transfer-Encoding": b"base64",
        b"MIME-Version": b"2.0",
        b"To": b"kontakt@testby.se",
        b"Reply-To": b"noreply@example.com",
        b"Auto-Submitted": b"no",
    }
    for name in rng.sample(list(extra), rng.randrange(1, 5)):
        copies = rng.choice((1, 1, 2, 500))
        fields = [*fields, *(name + b": " + extra[name] for _ in range(copies))]
    if rng.random() < 0.3:
        rng.shuffle(fields)
    return _join(fields, nl, body)


def byte_damage(rng: random.Random, raw: bytes) -> bytes:
    """Random bytes changed, inserted or removed (up to 1 % of the message)."""
    data = bytearray(raw)
    for _ in range(rng.randrange(1, len(data) // 100 + 2)):
        pos = rng.randrange(len(data) + 1)
        how = rng.randrange(3)
        if how == 0 and pos < len(data):
            data[pos] = rng.randrange(256)
        elif how == 1:
            data[pos:pos] = rng.randbytes(rng.randrange(1, 8))
        else:
            del data[pos : pos + rng.randrange(1, 8)]
    return bytes(data)


def line_endings(rng: random.Random, raw: bytes) -> bytes:
    """CRLF, LF, bare CR or a mix of them."""
    lf = raw.replace(b"\r\n", b"\n")
    how = rng.randrange(3)
    if how == 0:
        return lf.replace(b"\n", b"\r")
    if how == 1:
        return lf.replace(b"\n", b"\r\n")
    return b"".join(
        line + rng.choice((b"\n", b"\r\n", b"\r", b"\r\r\n")) for line in lf.split(b"\n")
    )


def reused_message_id(rng: random.Random, raw: bytes) -> bytes:
    """A Message-ID that other, different messages carry too."""
    fields, nl, body = _split(raw)
    shared = b"<%d@aterbrukat.example>" % rng.randrange(3)
    return _join(_set(fields, b"Message-ID", shared), nl, body)


def quotes_a_case(rng: random.Random, raw: bytes) -> bytes:
    """A subject that quotes a diary number (an earlier case's, or one that does not exist)."""
    fields, nl, body = _split(raw)
    subject = _value(fields, b"subject", b"Klagomal")
    number = b"KS 2026/%d" % rng.randrange(1, 40)
    return _join(_set(fields, b"Subject", b"SV: " + subject + b" [" + number + b"]"), nl, body)


MUTATIONS: dict[str, tuple[Mutation, float]] = {
    # name: (mutation, weight when drawn at random)
    "cut_headers": (cut_headers, 10),
    "crlf_nul": (crlf_nul_injection, 10),
    "charset_lie": (charset_lie, 8),
    "broken_base64": (broken_base64, 6),
    "broken_qp": (broken_quoted_printable, 6),
    "deep_nesting": (deep_nesting, 3),
    "empty": (empty, 1),
    "huge_attachment": (huge_attachment, 0.02),
    "huge_text": (huge_text, 0.02),
    "huge_line": (huge_line, 0.02),
    "many_recipients": (many_recipients, 0.3),
    "huge_header": (huge_header_line, 0.5),
    "encoded_controls": (encoded_word_controls, 8),
    "idn_address": (idn_address, 8),
    "bogus_boundary": (bogus_boundary, 6),
    "duplicated_headers": (duplicated_headers, 6),
    "byte_damage": (byte_damage, 8),
    "line_endings": (line_endings, 4),
    "reused_message_id": (reused_message_id, 3),
    "quotes_a_case": (quotes_a_case, 3),
}
"""Every mutation, with how often it is drawn; the heavy ones are rare."""


class Mutator:
    """Mutants of the seed messages, the same for the same ``seed``."""

    def __init__(self, seed: int, *, seeds: Sequence[bytes] | None = None):
        self.seed = seed
        self.seeds = tuple(seeds) if seeds is not None else seed_messages()
        self._names = list(MUTATIONS)
        self._weights = [weight for _fn, weight in MUTATIONS.values()]

    def mutant(self, index: int) -> Mutant:
        """The ``index``-th mutant, independent of the others (reproducible on its own)."""
        rng = random.Random(f"{self.seed}:{index}")
        seed_index = rng.randrange(len(self.seeds))
        if index < len(self._names):
            names = [self._names[index]]  # first, every mutation once on its own
        else:
            names = rng.choices(self._names, self._weights, k=rng.choice((1, 1, 2, 3)))
        raw = self.seeds[seed_index]
        for name in names:
            raw = MUTATIONS[name][0](rng, raw)
        return Mutant(index=index, raw=raw, mutations=tuple(names), seed_index=seed_index)

    def mutants(self, count: int, start: int = 0) -> Iterator[Mutant]:
        for index in range(start, start + count):
            yield self.mutant(index)
