"""A citizen's message forwarded by staff: attached (message/rfc822) or written inline.

Staff often pass a citizen's mail on to the function mailbox ("Kan ni registrera det här?").
The forwarding note is a colleague's; only the forwarded text is the citizen's, and only it
decides whether there is a complaint.  :func:`forwards_citizen` finds that message.

Inline forwards come in the shapes mail programs write:

- Gmail: ``---------- Vidarebefordrat meddelande ---------`` / ``Forwarded message``;
- Thunderbird: ``-------- Vidarebefordrat meddelande --------`` then ``Ämne:``, ``Datum:``…;
- Apple Mail: ``Början på vidarebefordrat brev:`` / ``Begin forwarded message:``;
- Outlook: ``-----Ursprungligt meddelande-----`` / ``-----Original Message-----``, a line of
  underscores, or just the header block ``Från: … Skickat: … Till: … Ämne: …``
  (``From: … Sent: … To: … Subject: …``).

Outlook writes the same block when *replying*, so the ambiguous shapes count as a forward only
when the subject says so (``VB:``, ``Fwd:``, ``FW:``…) or a colleague sends a citizen's text.
"""

from __future__ import annotations

import dataclasses
import email.utils
import re
from collections.abc import Iterable, Iterator

from postvakt.mailbox.message import Address, IncomingMessage

__all__ = [
    "FORWARD_SUBJECT",
    "REPLY_SUBJECT",
    "InlineForward",
    "forwards_citizen",
    "in_domains",
    "inline_forwards",
]

FORWARD_SUBJECT = re.compile(
    r"^\s*(?:(?:vb|vs|fw|fwd|tr|wg|vl|doorst|enc|rv)\s*(?:\[\d+\])?\s*:|\[fwd?:)", re.IGNORECASE
)
REPLY_SUBJECT = re.compile(
    r"^\s*(?:sv|re|svar|aw|antw|odp|ref|ynt)\s*(?:\[\d+\])?\s*:", re.IGNORECASE
)

# Markers that always mean "forwarded".
_EXPLICIT = re.compile(
    r"^[ \t>]*(?:-{3,}\s*(?:vidarebefordrat meddelande|vidarebefordrat brev|forwarded message|"
    r"videresendt (?:melding|meddelelse)|weitergeleitete nachricht)\s*-{3,}|"
    r"(?:början på|början av|begin) (?:vidarebefordrat (?:meddelande|brev)|forwarded message)\s*:)"
    r"[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
# Markers that Outlook writes for replies too.
_AMBIGUOUS = re.compile(
    r"^[ \t>]*(?:-{3,}\s*(?:ursprungligt meddelande|originalmeddelande|original message|"
    r"oprindelig meddelelse|opprinnelig melding)\s*-{3,}|_{20,})[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_NAMES = {
    "från": "from",
    "from": "from",
    "fra": "from",
    "von": "from",
    "avsändare": "from",
    "skickat": "date",
    "sent": "date",
    "sendt": "date",
    "gesendet": "date",
    "datum": "date",
    "date": "date",
    "dato": "date",
    "till": "to",
    "to": "to",
    "til": "to",
    "an": "to",
    "kopia": "cc",
    "cc": "cc",
    "ämne": "subject",
    "subject": "subject",
    "emne": "subject",
    "betreff": "subject",
    "angående": "subject",
    "svar till": "reply-to",
    "reply-to": "reply-to",
}
_HEADER_LINE = re.compile(
    r"^[ \t>]*\**(" + "|".join(sorted(map(re.escape, _HEADER_NAMES), key=len, reverse=True)) + r")"
    r"\**[ \t]*:[ \t]*(.*)",  # the value is trimmed in code: a lazy one before [ \t]*$ backtracks
    re.IGNORECASE,
)
# An Outlook header block without a marker line: From and at least one of Sent/To/Subject.
_BLOCK_START = re.compile(r"^[ \t>]*\**(från|from|fra|von)\**[ \t]*:", re.IGNORECASE | re.MULTILINE)
_MAILTO = re.compile(r"\[mailto:([^\]\s]+)\]", re.IGNORECASE)


def in_domains(address: str, domains: Iterable[str]) -> bool:
    """Whether ``address`` is in one of ``domains`` or a subdomain of one."""
    domain = address.rpartition("@")[2].lower().strip().rstrip(".")
    return bool(domain) and any(
        domain == d or domain.endswith("." + d) for d in (x.lower().lstrip("@") for x in domains)
    )


@dataclasses.dataclass(frozen=True)
class InlineForward:
    """One forwarded message written out in a body."""

    explicit: bool
    """The marker says 'forwarded'; otherwise it is a shape Outlook writes for replies too."""
    headers: dict[str, str]
    body: str
    start: int
    """Where the marker or header block begins in the outer body."""


def _parse_block(text: str, start: int, explicit: bool) -> tuple[InlineForward, int] | None:
    """Read the header lines at ``text[start:]`` and the body after them.

    Returns the forward and the offset where its header lines end.
    """
    headers: dict[str, str] = {}
    pos = start
    last: str | None = None
    body_start = len(text)
    while pos < len(text):
        newline = text.find("\n", pos)
        end = len(text) if newline < 0 else newline
        line = text[pos:end]
        match = _HEADER_LINE.match(line)
        if match:
            key = _HEADER_NAMES[match[1].lower()]
            headers.setdefault(key, match[2].rstrip(" \t\r"))
            last = key
        elif not line.strip(" \t>"):
            if headers:
                body_start = end
                break
        elif last in ("to", "cc") and line.startswith((" ", "\t")):
            pass  # a folded recipient list
        else:
            body_start = pos
            break
        pos = end + 1
    if "from" not in headers or len(headers) < 2:
        return None
    body_lines = text[body_start:].split("\n")
    quoted = [line for line in body_lines if line.strip()]
    if quoted and all(line.lstrip().startswith(">") for line in quoted):
        body_lines = [re.sub(r"^\s*>\s?", "", line) for line in body_lines]
    body = "\n".join(body_lines).strip()
    return InlineForward(explicit, headers, body, start), min(body_start, len(text))


_ANY_MARKER = re.compile(
    "|".join(f"(?:{p.pattern})" for p in (_EXPLICIT, _AMBIGUOUS, _BLOCK_START)),
    re.IGNORECASE | re.MULTILINE,
)


def inline_forwards(body: str) -> list[InlineForward]:
    """Every forwarded message written out in ``body``, outermost first.

    Each one's body runs to the next forward in the text (a forward of a forward).
    """
    if not _ANY_MARKER.search(body):
        return []
    markers = sorted(
        [(m.start(), m.end(), True) for m in _EXPLICIT.finditer(body)]
        + [(m.start(), m.end(), False) for m in _AMBIGUOUS.finditer(body)]
    )
    # The header block after each marker, so that its own "Från:" line is not read as a
    # block of its own.
    spans: list[tuple[int, int, int, bool]] = []  # (start, header start, header end, explicit)
    for n, (start, header_start, explicit) in enumerate(markers):
        end = markers[n + 1][0] if n + 1 < len(markers) else len(body)
        parsed = _parse_block(body[:end], header_start, explicit)
        spans.append((start, header_start, parsed[1] if parsed else header_start, explicit))
    for match in _BLOCK_START.finditer(body):
        if not any(s <= match.start() <= e for s, _h, e, _x in spans):
            spans.append((match.start(), match.start(), match.start(), False))
    spans.sort()
    result: list[InlineForward] = []
    for n, (start, header_start, _end, explicit) in enumerate(spans):
        end = spans[n + 1][0] if n + 1 < len(spans) else len(body)
        parsed = _parse_block(body[:end], header_start, explicit)
        if parsed is not None:
            result.append(dataclasses.replace(parsed[0], start=start))
    return result


def _address(value: str) -> Address | None:
    mailto = _MAILTO.search(value)
    if mailto:
        name = _MAILTO.sub("", value).strip().strip('"')
        return Address(name, mailto[1].lower())
    name, addr = email.utils.parseaddr(value)
    if addr and "@" in addr:
        return Address(name.strip().strip('"'), addr.lower())
    return None


def _as_message(outer: IncomingMessage, block: InlineForward) -> IncomingMessage:
    sender = _address(block.headers.get("from", ""))
    reply = _address(block.headers.get("reply-to", ""))
    subject = re.sub(r"\s+", " ", block.headers.get("subject", "")).strip()
    headers = tuple(
        (name.title(), value) for name, value in block.headers.items() if name != "date"
    )
    return dataclasses.replace(
        outer,
        sender=sender,
        reply_to=(reply,) if reply else (),
        to=(),
        cc=(),
        subject=subject,
        date=None,
        body_text=block.body,
        body_from_html=False,
        attachments=(),
        in_reply_to=(),
        references=(),
        content_type="text/plain",
        auto_submitted=None,
        precedence=None,
        list_id=None,
        list_unsubscribe=None,
        x_auto_response_suppress=None,
        is_report=False,
        headers=headers,
        defects=(),
        forwarded=(),
    )


def _attached(msg: IncomingMessage) -> Iterator[IncomingMessage]:
    for inner in msg.forwarded:
        yield inner
        yield from _attached(inner)


def _is_citizen(candidate: IncomingMessage, own_domains: Iterable[str]) -> bool:
    # Imported here: screening imports this module for the internal-mail rule.
    from postvakt.classifier.screening import screen

    if not (candidate.body_text.strip() or candidate.subject.strip()):
        return False
    if candidate.sender is not None and in_domains(candidate.sender.address, own_domains):
        return False
    return screen(candidate) is None  # a forwarded newsletter or bounce is no citizen's


def forwards_citizen(
    msg: IncomingMessage, own_domains: Iterable[str] = ()
) -> IncomingMessage | None:
    """The citizen's message that ``msg`` forwards, or None.

    Attached messages (``msg.forwarded``) come first, then forwards written in the body.  A
    forwarded message from one of ``own_domains`` (a colleague's) is passed over for one
    further down the chain; one with no address at all (Outlook writes only the name for
    people it knows) counts as a citizen's.  The result is an :class:`IncomingMessage` whose
    sender, subject and text are the forwarded message's; for an inline forward the other
    fields are the outer message's, and ``message_id`` stays the outer one.
    """
    domains = tuple(own_domains)
    for inner in _attached(msg):
        if _is_citizen(inner, domains):
            return inner
    blocks = inline_forwards(msg.body_text)
    if not blocks:
        return None
    forward_subject = bool(FORWARD_SUBJECT.match(msg.subject))
    reply_subject = bool(REPLY_SUBJECT.match(msg.subject))
    from_colleague = msg.sender is not None and in_domains(msg.sender.address, domains)
    for block in blocks:
        if not (block.explicit or forward_subject or (from_colleague and not reply_subject)):
            continue
        candidate = _as_message(msg, block)
        if _is_citizen(candidate, domains):
            return candidate
    return None
