"""What makes two fetched messages the *same* message, whatever their place.

A message is identified by where it is (see :class:`~postvakt.mailbox.base.FetchedMessage`'s
``key``).  Seen again elsewhere — a copy in a second watched mailbox, the same folder after a
UIDVALIDITY reset, a move between watched folders — it is recognised by its Message-ID *and*
the hash of its content, never by the Message-ID alone: senders reuse Message-IDs, and two
different messages that share one are two messages.

The hash covers what the sender wrote, not what servers added on the way: the body, and the
header fields the author's program set (From, To, Cc, Subject, Date, Message-ID, the MIME
fields …).  Trace fields (Received, Delivered-To, Return-Path, DKIM and ARC signatures,
X-headers) differ between two deliveries of one message and are left out.

Linear in the size of the message; never raises.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["CONTENT_FIELDS", "HASHED", "KEY_LIMIT", "content_hash", "is_hashed", "location_key"]

CONTENT_FIELDS = frozenset(
    {
        b"from",
        b"sender",
        b"reply-to",
        b"to",
        b"cc",
        b"subject",
        b"date",
        b"message-id",
        b"in-reply-to",
        b"references",
        b"mime-version",
        b"content-type",
        b"content-transfer-encoding",
        b"content-disposition",
    }
)
"""Header fields the author's program writes; every other field is left out of the hash."""

KEY_LIMIT = 300
"""Longest key stored as it is; a longer store id is kept as its SHA-256."""
HASHED = "sha256:"
"""The start of a key kept as a hash (see :func:`location_key`)."""

_VERSION = b"postvakt-content-v1\0"
_SPACE = re.compile(rb"[ \t\r\n]+")
_HEAD_END = re.compile(rb"\r?\n\r?\n")


def content_hash(raw: bytes) -> str:
    """SHA-256 (hex) of ``raw``'s content fields and body, with line ends and folding made equal."""
    found = _HEAD_END.search(raw)
    head, body = (raw[: found.start()], raw[found.end() :]) if found else (raw, b"")
    digest = hashlib.sha256(_VERSION)
    for name, value in _fields(head):
        if name in CONTENT_FIELDS:
            digest.update(name + b":" + _SPACE.sub(b" ", value).strip() + b"\n")
    digest.update(b"\0")
    digest.update(body.replace(b"\r\n", b"\n").rstrip(b"\r\n\t "))
    return digest.hexdigest()


def _fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """(lower-cased name, unfolded value) for each header field, in order.

    Continuation lines are gathered in a list and joined once: a field folded over very many
    lines costs linear time, not quadratic."""
    fields: list[tuple[bytes, list[bytes]]] = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1].append(line)
            continue
        name, colon, value = line.partition(b":")
        if colon:
            fields.append((name.strip().lower(), [value]))
    return [(name, b" ".join(parts)) for name, parts in fields]


def location_key(*parts: object) -> str:
    """A message's key from where it is: ``location_key(uidvalidity, uid)`` is ``'1714:52'``.

    Store ids longer than :data:`KEY_LIMIT` (Exchange item ids can be) are hashed to fit
    the database column; ids are case-sensitive and kept so.
    """
    key = ":".join(str(part) for part in parts)
    if len(key) <= KEY_LIMIT:
        return key
    return HASHED + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def is_hashed(key: str) -> bool:
    """Whether ``key`` is a store id kept as its hash: the message cannot be found by it."""
    return key.startswith(HASHED) and len(key) == len(HASHED) + 64
