"""What the citizen wrote, read from a case's stored original: the text and the attachments.

Shown on the case page and by ``postvakt cases show``: the plain-text part, or the HTML part
rendered as text (never raw HTML), the attached files by name with their bytes on demand.
The same walk lists and fetches the attachments, so an index names one file for both.
Never raises on a broken original: what cannot be read is left out and said so.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import Message

from postvakt.mailbox.charsets import decode_header_value
from postvakt.mailbox.message import parse_message

__all__ = ["AttachedFile", "OriginalView", "attachment", "attachment_bytes", "original_view"]

TEXT_SHOWN = 100_000
"""Characters of the citizen's text shown; the whole original stays downloadable."""
MAX_PARTS = 500
"""Parts walked for attachments (a hostile message may have thousands)."""


@dataclass(frozen=True)
class AttachedFile:
    index: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class OriginalView:
    text: str
    """The citizen's text as text (HTML rendered), at most :data:`TEXT_SHOWN` characters."""
    from_html: bool
    cut: bool
    """The text was longer than what is shown."""
    attachments: tuple[AttachedFile, ...]
    defects: tuple[str, ...]


def original_view(raw: bytes | None) -> OriginalView:
    """The text and attachments of ``raw`` (an empty view when there is no original)."""
    if not raw:
        return OriginalView("", False, False, (), ())
    msg = parse_message(raw)
    text = msg.body_text
    files = tuple(
        AttachedFile(i, name, kind, len(data)) for i, (name, kind, data) in enumerate(_files(raw))
    )
    return OriginalView(
        text=text[:TEXT_SHOWN],
        from_html=msg.body_from_html,
        cut=len(text) > TEXT_SHOWN,
        attachments=files,
        defects=tuple(msg.defects),
    )


def attachment(raw: bytes | None, index: int) -> AttachedFile | None:
    """The attached file number ``index`` with its bytes (see :func:`attachment_bytes`)."""
    for i, (name, kind, data) in enumerate(_files(raw or b"")):
        if i == index:
            return AttachedFile(i, name, kind, len(data))
    return None


def attachment_bytes(raw: bytes | None, index: int) -> tuple[str, str, bytes] | None:
    """(file name, content type, bytes) of attachment ``index``, or None."""
    for i, found in enumerate(_files(raw or b"")):
        if i == index:
            return found
    return None


def _files(raw: bytes) -> list[tuple[str, str, bytes]]:
    if not raw:
        return []
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception:  # the stdlib parser raises on very little; a broken original has none
        return []
    found: list[tuple[str, str, bytes]] = []
    for count, part in enumerate(_walk(message)):
        if count >= MAX_PARTS:
            break
        if part.is_multipart():
            continue
        name = _filename(part)
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        if not name and disposition != "attachment":
            continue
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:
            data = b""
        kind = part.get_content_type()
        found.append((name or f"bilaga-{len(found) + 1}", kind, bytes(data)))
    return found


def _walk(message: Message) -> list[Message]:
    """Every part, without recursion (depth cannot blow the stack)."""
    out: list[Message] = []
    stack = [message]
    while stack and len(out) < MAX_PARTS:
        part = stack.pop()
        out.append(part)
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend(reversed(payload))
    return out


def _filename(part: Message) -> str:
    try:
        name = decode_header_value(str(part.get_filename() or ""), [], "filename")
    except Exception:
        return ""
    name = str(name).replace("\r", " ").replace("\n", " ").replace("/", "_").replace("\\", "_")
    return "".join(ch for ch in name if ch.isprintable()).strip()[:200]
