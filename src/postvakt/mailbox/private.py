"""Mail marked private moved out of a delegate's sight for an absence, and back afterwards.

A connector that can move mail between folders implements :class:`SupportsPrivateMove`
(IMAP: :class:`postvakt.mailbox.imap_private.ImapPrivateMoves`; Maildir:
:class:`postvakt.mailbox.maildir_private.MaildirPrivateMoves`).  These are the only moves of a
person's own mail Postvakt ever makes, and only when ``[delegation] move_private`` asks.
Exchange's connectors move nothing but their own drafts, so they do not implement it.

Marked private is what the intake reads as private: ``Sensitivity: Private`` (RFC 2156), or
the organisation's marker (``[organisation] private_marker``) in the subject.
"""

from __future__ import annotations

import email.policy
from datetime import datetime
from email.parser import BytesHeaderParser
from typing import Protocol, runtime_checkable

from postvakt.mailbox.base import IsKnown

__all__ = ["SupportsPrivateMove", "marked_private"]

_PARSER = BytesHeaderParser(policy=email.policy.default)


def marked_private(head: bytes, marker: str | None) -> bool:
    """Whether a message's header (bytes) marks it private, by the intake's rule."""
    try:
        fields = _PARSER.parsebytes(head)
        sensitivity = str(fields.get("Sensitivity") or "")
        subject = str(fields.get("Subject") or "")
    except (ValueError, TypeError, IndexError):  # a header too broken to read is not marked
        return False
    if sensitivity.strip().lower() == "private":
        return True
    return bool(marker) and marker.lower() in subject.lower()  # type: ignore[union-attr]


@runtime_checkable
class SupportsPrivateMove(Protocol):
    def move_private(self, source: str, to: str, marker: str | None, is_known: IsKnown) -> int:
        """Move the messages in ``source`` that are marked private, and that the intake has
        read already (``is_known`` of their key), into folder ``to`` (made if missing);
        return how many moved.  What moved is remembered in the mailbox itself (an IMAP
        keyword, a Maildir list), so :meth:`move_back` finds exactly those."""
        ...

    def move_back(self, source: str, to: str, marker: str | None, since: datetime | None) -> int:
        """Move back to ``source`` what :meth:`move_private` moved from it into ``to``; with
        ``since``, also the messages marked private that arrived in ``to`` since then (filed
        there by the Sieve script during the absence).  Returns how many moved; nothing to
        move (or no folder ``to``) is 0, not an error."""
        ...
