"""The Maildir connector: the embedded default, a local Maildir and no server.

Reads ``new/`` and ``cur/`` in place.  It never renames a file (moving ``new/`` to ``cur/``
or changing flags is what a mail client does when a person reads), never deletes, never
writes outside the Drafts folder.  A message's key is its Maildir unique name: the file name
before ``:2,``, which stays the same when a client changes the flags.  The arrival time is the
file's modification time, which delivery agents (and Dovecot) set to the delivery time.

Subfolders follow Maildir++ (``.Drafts``, ``.Sent``), as Dovecot and Courier lay them out.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from postvakt.clock import Clock, system_clock
from postvakt.errors import MailboxNotFoundError, UnavailableError
from postvakt.mailbox.base import (
    Checkpoint,
    DraftReply,
    FetchedMessage,
    FolderRole,
    IsKnown,
    OpenedEvidence,
    build_draft_mime,
)

__all__ = ["INBOX", "MaildirConnector", "deliver"]

INBOX = "INBOX"
SENT_FALLBACKS = (".Sent", ".Skickat", ".Sent Items", ".Skickade objekt")


def _unique_name(filename: str) -> str:
    return filename.split(":2,", 1)[0].split("!2,", 1)[0]


class MaildirConnector:
    """A Maildir watched in place.  ``path`` holds cur/, new/ and tmp/."""

    def __init__(
        self,
        address: str,
        path: Path,
        *,
        drafts_folder: str = ".Drafts",
        sent_folder: str | None = None,
        clock: Clock | None = None,
    ):
        self.address = address
        self.path = Path(path)
        self.clock = clock or system_clock()
        self.drafts_folder = drafts_folder
        self.sent_folder = sent_folder

    def __repr__(self) -> str:
        return f"MaildirConnector({self.address!r}, {str(self.path)!r})"

    # -- folders -----------------------------------------------------------------

    def _folder_path(self, folder: str) -> Path:
        return self.path if folder == INBOX else self.path / folder

    def _check(self, folder: str) -> Path:
        where = self._folder_path(folder)
        missing = [sub for sub in ("cur", "new") if not (where / sub).is_dir()]
        if missing:
            raise MailboxNotFoundError(
                f"{where} är ingen Maildir (saknar {', '.join(missing)}/). Kontrollera "
                "mailboxes.maildir.path i konfigurationen.",
                mailbox=self.address,
            )
        return where

    def folders(self, role: FolderRole) -> list[str]:
        if role == "inbox":
            return [INBOX]
        if self.sent_folder:
            return [self.sent_folder]
        return [name for name in SENT_FALLBACKS if (self.path / name / "cur").is_dir()][:1]

    # -- reading -----------------------------------------------------------------

    def fetch_new(
        self, folder: str, state: Mapping[str, Any] | None, is_known: IsKnown
    ) -> Iterator[FetchedMessage | Checkpoint]:
        where = self._check(folder)
        # A mail client may rename files while we look (new/ -> cur/, flag changes in cur/):
        # list both folders first, keyed by unique name, and look a file up again when its
        # name has changed by the time we stat or read it.
        found: dict[str, Path] = {}
        for sub in ("new", "cur"):
            try:
                scan = list(os.scandir(where / sub))
            except OSError as exc:
                raise UnavailableError(
                    f"kan inte läsa {where / sub}: {exc.strerror}", mailbox=self.address
                ) from exc
            for entry in scan:
                if not entry.name.startswith("."):
                    found.setdefault(_unique_name(entry.name), Path(entry.path))
        entries: list[tuple[float, str, Path]] = []
        for key, path in found.items():
            if is_known(key):
                continue
            located = self._stat(path, where, key)
            if located is not None:
                entries.append((located[0], key, located[1]))
        entries.sort()
        for mtime, key, path in entries:
            raw = self._read(path, where, key)
            if raw is None:
                continue
            yield FetchedMessage(
                folder=folder, key=key, raw=raw, received_at=datetime.fromtimestamp(mtime, UTC)
            )

    @staticmethod
    def _locate(where: Path, key: str) -> Path | None:
        """Where the message called ``key`` is now (its flags, or new/ vs cur/, may differ)."""
        for sub in ("cur", "new"):
            for candidate in (where / sub).glob(f"{key}*"):
                if _unique_name(candidate.name) == key:
                    return candidate
        return None

    def _stat(self, path: Path, where: Path, key: str) -> tuple[float, Path] | None:
        for _attempt in range(3):
            try:
                info = path.stat()
            except FileNotFoundError:
                located = self._locate(where, key)
                if located is None:
                    return None  # deleted by its owner: nothing to process
                path = located
                continue
            return (info.st_mtime, path) if path.is_file() else None
        return None

    def _read(self, path: Path, where: Path, key: str) -> bytes | None:
        for _attempt in range(3):
            try:
                return path.read_bytes()
            except FileNotFoundError:
                located = self._locate(where, key)
                if located is None:
                    return None
                path = located
        return None

    # -- opened-today evidence -------------------------------------------------------

    def opened_evidence(self, folder: str, state: Mapping[str, Any] | None) -> OpenedEvidence:
        """A mail client marks a message read by renaming it with the ``S`` flag, which sets
        the file's change time: such a change today is evidence the mailbox was opened.

        Only changes within the clock's day count: a change time after it (the clock set to
        an earlier day, as in a re-run of a missed check) is no evidence for that day."""
        where = self._check(folder)
        now = self.clock()
        day_start = datetime.combine(now.date(), datetime.min.time(), now.tzinfo).timestamp()
        day_end = datetime.combine(
            now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo
        ).timestamp()
        changed = unread = 0
        for sub in ("new", "cur"):
            for entry in os.scandir(where / sub):
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                flags = entry.name.partition(":2,")[2] if sub == "cur" else ""
                info = entry.stat()
                if "S" in flags and day_start <= info.st_ctime < day_end:
                    changed += 1
                elif "S" not in flags and info.st_mtime < day_start:
                    unread += 1
        return OpenedEvidence(changed_today=changed, last_login=None, unread_from_before=unread)

    # -- drafts ------------------------------------------------------------------

    def save_draft(self, draft: DraftReply) -> str:
        folder = self.path / self.drafts_folder
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        # Deterministic unique name from the draft's Message-ID: a second save finds the first.
        unique = "postvakt-" + hashlib.sha256(draft.message_id.encode()).hexdigest()[:24]
        for sub in ("cur", "new"):
            for existing in (folder / sub).glob(unique + "*"):
                return str(existing)
        data = build_draft_mime(draft)
        tmp = folder / "tmp" / f"{unique}.{os.getpid()}.{socket.gethostname()}"
        tmp.write_bytes(data)
        os.utime(tmp, (time.time(), time.time()))
        final = folder / "cur" / f"{unique}:2,DS"  # D = draft, S = seen (it is our own)
        tmp.replace(final)
        return str(final)

    def save_drafts(self, drafts: Sequence[DraftReply]) -> list[str]:
        return [self.save_draft(draft) for draft in drafts]

    def close(self) -> None:
        """Nothing to release: every call opens and closes its files."""


def deliver(
    maildir: Path, raw: bytes, *, when: float | None = None, name: str | None = None
) -> Path:
    """Deliver ``raw`` into ``maildir/new`` the way a delivery agent does (tmp/, then rename).

    Used by the demo and by tests to put real bytes into a Maildir.
    """
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    name = name or f"{time.time_ns()}.P{os.getpid()}.{socket.gethostname()}"
    tmp = maildir / "tmp" / name
    tmp.write_bytes(raw)
    if when is not None:
        os.utime(tmp, (when, when))
    final = maildir / "new" / name
    tmp.replace(final)
    return final
