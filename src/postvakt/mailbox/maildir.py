"""The Maildir connector: the embedded default, a local Maildir and no server.

Reads ``new/`` and ``cur/`` in place.  It never renames a file (moving ``new/`` to ``cur/``
or changing flags is what a mail client does when a person reads), never writes outside the
Drafts folder, and deletes nothing but its own drafts of a withdrawn case
(:meth:`MaildirConnector.remove_drafts`); the one exception is moving mail marked private
out of a delegate's sight and back, when ``[delegation] move_private`` asks
(:mod:`postvakt.mailbox.maildir_private`).  A message's key is its Maildir unique name: the file name
before ``:2,``, which stays the same when a client changes the flags.  The arrival time is the
file's modification time, which delivery agents (and Dovecot) set to the delivery time.

Subfolders follow Maildir++ (``.Drafts``, ``.Sent``), as Dovecot and Courier lay them out.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
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
    own_draft_id,
)
from postvakt.mailbox.identity import is_hashed
from postvakt.mailbox.maildir_private import MaildirPrivateMoves

__all__ = ["INBOX", "MaildirConnector", "deliver"]

INBOX = "INBOX"
SENT_FALLBACKS = (".Sent", ".Skickat", ".Sent Items", ".Skickade objekt")


_TRUSTED_AFTER_NS = 2_000_000_000
"""A folder's modification time is trusted to show every change once it is this old (ns):
file systems stamp with a coarse clock, so a file added in the same tick as a look leaves
the time as it was."""


@dataclass(frozen=True)
class _Listing:
    times: tuple[int, int] | None
    """new/'s and cur/'s modification times before the listing; None: too recent to trust."""
    fingerprint: bytes
    """A digest of the unique names found."""


def _fingerprint(found: Mapping[str, Path]) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(found):
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0")
    return digest.digest()


def _unique_name(filename: str) -> str:
    return filename.split(":2,", 1)[0].split("!2,", 1)[0]


class MaildirConnector(MaildirPrivateMoves):
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
        self._seen: dict[str, _Listing] = {}
        """Each folder as the last whole ``fetch_new`` found it (for :meth:`probe`)."""

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
        before = self._times(where)  # taken before the listing: a change after it shows
        found = self._list(where)
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
        # Only a listing read to its end is remembered: a pass stopped half-way reads again.
        self._seen[folder] = _Listing(before, _fingerprint(found))

    def _list(self, where: Path) -> dict[str, Path]:
        """new/ and cur/ keyed by unique name.

        A mail client may rename files while we look (new/ -> cur/, flag changes in cur/):
        both folders are listed first, and a file is looked up again when its name has
        changed by the time it is read."""
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
        return found

    def _times(self, where: Path) -> tuple[int, int] | None:
        """new/'s and cur/'s modification times (ns), or None when they are too recent to
        trust: a file added in the same clock tick as the look leaves the time unchanged."""
        try:
            times = ((where / "new").stat().st_mtime_ns, (where / "cur").stat().st_mtime_ns)
        except OSError as exc:
            raise UnavailableError(
                f"kan inte läsa {where}: {exc.strerror}", mailbox=self.address
            ) from exc
        if time.time_ns() - max(times) < _TRUSTED_AFTER_NS:
            return None
        return times

    def probe(self, folder: str, state: Mapping[str, Any] | None) -> bool:
        """Whether :meth:`fetch_new` may find anything that the last whole one did not.

        First the modification times of new/ and cur/ (two stats); when they moved (mail
        came, was deleted, or a client renamed a file for its flags), the unique names
        listed and compared with the last pass's.  A first look in this process is True.
        """
        seen = self._seen.get(folder)
        if seen is None:
            return True
        where = self._check(folder)
        before = self._times(where)
        if before is not None and before == seen.times:
            return False
        if _fingerprint(self._list(where)) != seen.fingerprint:
            return True
        self._seen[folder] = _Listing(before, seen.fingerprint)  # only flags changed
        return False

    @staticmethod
    def _locate(where: Path, key: str) -> Path | None:
        """Where the message called ``key`` is now (its flags, or new/ vs cur/, may differ)."""
        for sub in ("cur", "new"):
            try:
                entries = list(os.scandir(where / sub))
            except FileNotFoundError:
                continue
            for entry in entries:
                # Compared, not globbed: a name may hold [, * or ? (a key read from the database)
                if entry.name.startswith(key) and _unique_name(entry.name) == key:
                    return Path(entry.path)
        return None

    def fetch_one(self, folder: str, key: str) -> FetchedMessage | None:
        """The message whose unique file name is ``key``, wherever its flags have put it.

        None when the file is gone (deleted by its owner), or ``key`` or ``folder`` cannot be
        a name in this Maildir.  Only reads: the file is not renamed, so no flag changes."""
        if not key or "/" in key or key.startswith(".") or "\0" in key or is_hashed(key):
            return None
        if "/" in folder or folder in ("", ".", ".."):
            return None
        where = self._folder_path(folder)
        if not (where / "cur").is_dir() and not (where / "new").is_dir():
            return None
        path = self._locate(where, key)
        if path is None:
            return None
        located = self._stat(path, where, key)
        if located is None:
            return None
        raw = self._read(located[1], where, key)
        if raw is None:
            return None
        return FetchedMessage(folder, key, raw, datetime.fromtimestamp(located[0], UTC))

    def count_before(self, folder: str, moment: datetime) -> int:
        """Messages in new/ and cur/ whose file time (the arrival stamp) is before ``moment``."""
        where, limit, count = self._check(folder), moment.timestamp(), 0
        for sub in ("new", "cur"):
            try:
                entries = list(os.scandir(where / sub))
            except OSError as exc:
                raise UnavailableError(
                    f"kan inte läsa {where / sub}: {exc.strerror}", mailbox=self.address
                ) from exc
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):  # read and renamed meanwhile
                    if not entry.name.startswith(".") and entry.stat().st_mtime < limit:
                        count += 1
        return count

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

    def remove_drafts(self, message_ids: Sequence[str]) -> list[str]:
        """Delete the files in the Drafts folder (``new/`` and ``cur/``) that are Postvakt's own
        drafts with these Message-IDs (:func:`~postvakt.mailbox.base.own_draft_id`: the
        Message-ID exactly and the marker header).  Every file's header is read, not only the
        names Postvakt gives, so a draft is found whatever name it has; a file renamed by a
        mail client meanwhile is looked up again by its unique name."""
        wanted = set(message_ids)
        folder = self.path / self.drafts_folder
        removed: list[str] = []
        if not wanted:
            return removed
        for sub in ("new", "cur"):
            try:
                entries = [e for e in os.scandir(folder / sub) if not e.name.startswith(".")]
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise UnavailableError(
                    f"kan inte läsa {folder / sub}: {exc.strerror}", mailbox=self.address
                ) from exc
            for entry in entries:
                key = _unique_name(entry.name)
                path: Path | None = Path(entry.path)
                for _attempt in range(3):
                    if path is None:
                        break
                    try:
                        found = own_draft_id(_head(path), wanted)
                        if found is not None:
                            path.unlink()
                            removed.append(found)
                        break
                    except FileNotFoundError:
                        path = self._locate(folder, key)  # renamed by a client: flags changed
                    except OSError as exc:
                        raise UnavailableError(
                            f"kan inte ta bort utkastet {path}: {exc.strerror}",
                            mailbox=self.address,
                        ) from exc
        return removed

    def close(self) -> None:
        """Nothing to release: every call opens and closes its files."""


def _head(path: Path, limit: int = 256 * 1024) -> bytes:
    """The header of the message in ``path`` (up to the first empty line; at most ``limit``)."""
    with path.open("rb") as file:
        data = file.read(limit)
    ends = [found for found in (data.find(b"\n\n"), data.find(b"\n\r\n")) if found >= 0]
    return data[: min(ends) + 1] if ends else data


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
