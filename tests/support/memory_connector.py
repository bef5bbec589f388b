"""A stateful in-memory mailbox behind the connector protocol, numbered like IMAP UIDs.

Its sync state is ``{"last_uid": n}``; it returns only messages above it, like an IMAP
connector would.  Drafts are kept by Message-ID, so saving twice keeps one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from postvakt.mailbox.base import (
    Checkpoint,
    DraftReply,
    FetchedMessage,
    FolderRole,
    IsKnown,
    build_draft_mime,
)


@dataclass
class MemoryConnector:
    address: str
    messages: list[tuple[bytes, datetime | None]] = field(default_factory=list)
    drafts: dict[str, bytes] = field(default_factory=dict)
    fail_drafts: Callable[[DraftReply], None] | None = None
    """Called before a draft is stored; raise from it to simulate a server that fails."""
    fetch_calls: int = 0

    def add(self, raw: bytes, received_at: datetime | None = None) -> int:
        self.messages.append((raw, received_at))
        return len(self.messages)

    def folders(self, role: FolderRole) -> list[str]:
        return ["INBOX"] if role == "inbox" else []

    def fetch_new(
        self, folder: str, state: Mapping[str, Any] | None, is_known: IsKnown
    ) -> Iterator[FetchedMessage | Checkpoint]:
        self.fetch_calls += 1
        last = int((state or {}).get("last_uid", 0))
        for uid in range(last + 1, len(self.messages) + 1):
            raw, received = self.messages[uid - 1]
            yield FetchedMessage(folder, f"1:{uid}", raw, received, {"last_uid": uid})

    def fetch_one(self, folder: str, key: str) -> FetchedMessage | None:
        validity, _, uid = key.partition(":")
        if folder != "INBOX" or validity != "1" or not uid.isdigit():
            return None
        if not 1 <= int(uid) <= len(self.messages):
            return None
        raw, received = self.messages[int(uid) - 1]
        return FetchedMessage(folder, key, raw, received)

    def remove_drafts(self, message_ids: Sequence[str]) -> list[str]:
        """Removes only drafts Postvakt saved here (every one carries its marker)."""
        return [mid for mid in dict.fromkeys(message_ids) if self.drafts.pop(mid, None) is not None]

    def save_draft(self, draft: DraftReply) -> str:
        if self.fail_drafts is not None:
            self.fail_drafts(draft)
        self.drafts.setdefault(draft.message_id, build_draft_mime(draft))
        return f"Drafts/{draft.message_id}"

    def save_drafts(self, drafts: Sequence[DraftReply]) -> list[str]:
        return [self.save_draft(draft) for draft in drafts]

    def close(self) -> None:
        pass
