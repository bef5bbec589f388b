"""Structured header fields of a received message: Message-IDs, the Date, over-long lines.

The field readers take the decoded value and the caller's list of defects, append what was
wrong with the field, and never raise.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

__all__ = [
    "MESSAGE_ID_LIMIT",
    "THREAD_LIMIT",
    "long_header_lines",
    "parse_date",
    "parse_message_ids",
]

STOCKHOLM = ZoneInfo("Europe/Stockholm")

# A bare ID starts only after a separator (or at the start): without that look-behind every
# position of a long run was tried, quadratic in a 200,000-character References header.
_MSGID = re.compile(r"<([^<>\s]+)>|(?<![^\s<>,;])([^\s<>,;]+@[^\s<>,;]+)")


MESSAGE_ID_LIMIT = 250
"""Characters of the longest Message-ID read as one (real ones are under 100; the database
keeps 998); a longer one is left out, and a message whose own is longer gets one derived."""
THREAD_LIMIT = 100
"""Message-IDs of a References header read: the first (the thread's start) and the last
ones (the nearest); a lookup with a hundred thousand of them stopped the pass."""


def parse_message_ids(
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


def parse_date(value: str | None, defects: list[str]) -> datetime | None:
    """The Date header as an aware time in Europe/Stockholm; None when missing or unparsable."""
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


def long_header_lines(raw: bytes) -> bool:
    """Whether any header line is longer than RFC 5322's limit of 998 characters."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    head = raw if end < 0 else raw[:end]
    return any(len(line.rstrip(b"\r")) > 998 for line in head.split(b"\n"))
