"""Moving mail marked private to a folder of its own in a Maildir, and back (``move_private``).

A move is a rename within the same file system: the file keeps its unique name, its flags,
its ``new/`` or ``cur/`` place and its modification time (the arrival stamp), so the intake
knows it again when it comes back.  What Postvakt moved is listed, with the folder it came
from, in ``postvakt-privat.json`` in the private folder — written *before* the files move,
so a crash in between leaves nothing unaccounted for.  Maildir++ names the folder
``.Privat``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from postvakt.errors import UnavailableError
from postvakt.mailbox.base import IsKnown
from postvakt.mailbox.private import marked_private

if TYPE_CHECKING:
    from postvakt.mailbox.maildir import MaildirConnector

    _Base = MaildirConnector
else:
    _Base = object

__all__ = ["MANIFEST", "MaildirPrivateMoves"]

MANIFEST = "postvakt-privat.json"
_SUBS = ("new", "cur")


class MaildirPrivateMoves(_Base):
    """:class:`~postvakt.mailbox.private.SupportsPrivateMove` for the Maildir connector."""

    def _private_path(self, folder: str) -> Path:
        return self.path / (folder if folder.startswith(".") else "." + folder)

    def _manifest(self, where: Path) -> dict[str, str]:
        try:
            value = json.loads((where / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise UnavailableError(
                f"kan inte läsa {where / MANIFEST} ({exc}): listan över privat post som "
                "Postvakt har flyttat. Kontrollera filen; ta inte bort den.",
                mailbox=self.address,
            ) from exc
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    def _write_manifest(self, where: Path, moved: dict[str, str]) -> None:
        temporary = where / (MANIFEST + ".tmp")
        temporary.write_text(json.dumps(moved, ensure_ascii=False, sort_keys=True), "utf-8")
        temporary.replace(where / MANIFEST)

    def _files(self, where: Path) -> list[tuple[str, Path]]:
        """(sub-folder, path) of every message file in ``where``."""
        from postvakt.mailbox.maildir import _unique_name

        found = []
        for sub in _SUBS:
            for entry in os.scandir(where / sub):
                if not entry.name.startswith("."):
                    found.append((sub, Path(entry.path)))
        found.sort(key=lambda item: _unique_name(item[1].name))
        return found

    def move_private(self, source: str, to: str, marker: str | None, is_known: IsKnown) -> int:
        from postvakt.mailbox.maildir import _head, _unique_name

        where = self._check(source)
        dest = self._private_path(to)
        try:
            for sub in ("cur", "new", "tmp"):
                (dest / sub).mkdir(parents=True, exist_ok=True)
            (dest / "maildirfolder").touch()  # Maildir++: a folder, not a mailbox of its own
            chosen = [
                (sub, path)
                for sub, path in self._files(where)
                if is_known(_unique_name(path.name)) and marked_private(_head(path), marker)
            ]
            if not chosen:
                return 0
            moved = self._manifest(dest)
            moved.update({_unique_name(path.name): source for _sub, path in chosen})
            self._write_manifest(dest, moved)
            done = 0
            for sub, path in chosen:
                try:
                    path.rename(dest / sub / path.name)
                except FileNotFoundError:
                    continue  # renamed by a mail client meanwhile: the next pass takes it
                done += 1
            return done
        except OSError as exc:
            raise UnavailableError(
                f"kan inte flytta privat post från {where} till {dest}: {exc.strerror}",
                mailbox=self.address,
            ) from exc

    def move_back(self, source: str, to: str, marker: str | None, since: datetime | None) -> int:
        from postvakt.mailbox.maildir import _head, _unique_name

        dest = self._private_path(to)
        if not (dest / "cur").is_dir():
            return 0
        where = self._check(source)
        try:
            moved = self._manifest(dest)
            back = 0
            for sub, path in self._files(dest):
                key = _unique_name(path.name)
                ours = moved.get(key) == source
                arrived = (
                    since is not None
                    and path.stat().st_mtime >= since.timestamp()
                    and marked_private(_head(path), marker)
                )
                if ours or arrived:
                    path.rename(where / sub / path.name)
                    back += 1
                    moved.pop(key, None)
            self._write_manifest(dest, {k: v for k, v in moved.items() if v != source})
            return back
        except OSError as exc:
            raise UnavailableError(
                f"kan inte flytta tillbaka privat post från {dest} till {where}: {exc.strerror}",
                mailbox=self.address,
            ) from exc
