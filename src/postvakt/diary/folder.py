"""``system = "file"``: a folder per case, for diary systems that import files.

Layout under ``[registry] folder``::

    KS 2026-17/                              the case's reference, made safe for file names
        ärende.json                          the case card, rewritten when the case changes
        2026-11-16 01 Inkommande synpunkt-klagomål/
            dokument.json                    key, kind, title, date, text, attachment names
            Originalmeddelande.eml           the attachments
        2026-11-17 02 Mottagningsbekräftelse/
            dokument.json
            Mottagningsbekräftelse KS 2026-17.docx

The case folder is named by the reference, which never changes: when the diary number
becomes known later the documents stay together, and the card carries the number.

Every file is written to a temporary file in the same folder, flushed to disk and moved
into place (``os.replace``); a document's folder is filled under a hidden temporary name and
renamed whole, so an importer never sees half a document.  Delivering the same idempotency
key again finds the document by its ``dokument.json`` and writes nothing.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import unicodedata
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any

from postvakt.clock import STOCKHOLM
from postvakt.diary.base import (
    DOCUMENT_TITLES,
    CaseFacts,
    Delivered,
    DiaryDocument,
    DiaryUnavailable,
)

__all__ = ["CARD", "DOCUMENT", "FolderDiary", "safe_name"]

CARD = "ärende.json"
DOCUMENT = "dokument.json"
_TEMP = ".ny-"
"""Prefix of a document folder being written (hidden; skipped when reading)."""
_MAX_BYTES = 120
"""A name's length in UTF-8 bytes: well inside the 255 of every file system, leaving room for
the path of a Windows share."""
_UNSAFE = re.compile(r'[/\\<>:"|?*]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DOTS = re.compile(r"\.{2,}")
_NUMBERED = re.compile(r"\d{4}-\d{2}-\d{2} (\d+) ")
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10))} | {
    f"LPT{i}" for i in range(10)
}


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, on a character boundary."""
    return text.encode()[:limit].decode(errors="ignore")


def safe_name(name: str, fallback: str = "namnlös", limit: int = _MAX_BYTES) -> str:
    """``name`` as one file name: no path separators, no '..', no control characters.

    'KS 2026/17' → 'KS 2026-17'; '../../etc' → 'etc'.  Characters Windows refuses (``:*?"<>|``)
    become '-', so that the folder can be shared with a diary system on Windows.  The suffix
    (``.docx``) is kept when the name is cut to ``limit`` bytes.
    """
    text = unicodedata.normalize("NFC", name)
    text = _CONTROL.sub("", text)
    text = _UNSAFE.sub("-", text)
    text = _DOTS.sub(".", text)
    text = " ".join(text.split()).strip(" .-")
    if not text:
        return fallback
    if text.partition(".")[0].upper() in _RESERVED:
        text = f"_{text}"
    if len(text.encode()) > limit:
        suffix = PurePath(text).suffix
        if len(suffix.encode()) > 16:
            suffix = ""
        stem = text[: len(text) - len(suffix)] if suffix else text
        text = _cut(stem, limit - len(suffix.encode())).rstrip(" .-") + suffix
    return text


def _iso(moment: datetime) -> str:
    return moment.astimezone(STOCKHOLM).isoformat(timespec="seconds")


def card(case: CaseFacts) -> dict[str, Any]:
    """The case card as ``ärende.json`` holds it (the sender only when not anonymous)."""
    out: dict[str, Any] = {
        "reference": case.reference,
        "diary_number": case.diary_number,
        "kind": case.kind,
        "heading": case.heading,
        "summary": case.summary,
        "anonymous": case.anonymous,
        "individual_care": case.individual_care,
        "received_at": _iso(case.received_at),
        "registered_at": _iso(case.registered_at),
        "status": case.status,
        "unit": case.unit,
        "handler": case.handler,
        "channel": case.channel,
    }
    if not case.anonymous:
        out["sender_name"] = case.sender_name
        out["sender_address"] = case.sender_address
    return out


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it, fsync, rename."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temp.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _why(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "kontrollera behörigheten på mappen (registry.folder)"
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return "disken är full — frigör utrymme"
    if exc.errno == errno.EROFS:
        return "filsystemet är skrivskyddat — montera det skrivbart"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "mappen finns inte — skapa den eller rätta registry.folder"
    return "kontrollera mappen (registry.folder) och att den är monterad"


class FolderDiary:
    """Writes each document into ``folder`` (``[registry] folder``), a folder per case.

    ``folder`` itself is created if its parent exists; a missing parent (an unmounted
    share, a typo) is an error rather than a new folder in the wrong place.
    """

    name = "file"

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def case_folder(self, case: CaseFacts) -> Path:
        return self.folder / safe_name(case.reference, fallback=f"ärende {case.case_id}")

    def deliver(self, document: DiaryDocument, progress: dict[str, Any]) -> Delivered:
        """Write ``document`` (and the case card); the relative path is the external id."""
        target = self.folder
        try:
            if not self.folder.is_dir():
                self.folder.mkdir(exist_ok=True)
            target = self.case_folder(document.case)
            target.mkdir(exist_ok=True)
            data = _json(card(document.case))
            path = target / CARD
            if not path.is_file() or path.read_bytes() != data:
                _write(path, data)
            found = self._find(target, document.key)
            if found is None:
                found = self._add(target, document)
        except OSError as exc:
            # Name the folder that could not be written in: the one holding the path that
            # failed (a case folder, a temporary file), or registry.folder itself.
            where = Path(exc.filename) if exc.filename else target
            if where != self.folder and where.is_relative_to(self.folder):
                where = where.parent
            raise DiaryUnavailable(
                f"Kan inte skriva i {where}: {exc.strerror or exc} — {_why(exc)}."
            ) from exc
        return Delivered(external_id=found.relative_to(self.folder).as_posix())

    @staticmethod
    def _documents(target: Path) -> list[Path]:
        return sorted(p for p in target.iterdir() if p.is_dir() and not p.name.startswith("."))

    def _find(self, target: Path, key: str) -> Path | None:
        for folder in self._documents(target):
            try:
                written = json.loads((folder / DOCUMENT).read_text(encoding="utf-8"))
            except (FileNotFoundError, ValueError):
                continue  # not one of ours (or a person's folder): never overwritten
            if isinstance(written, dict) and written.get("key") == key:
                return folder
        return None

    def _add(self, target: Path, document: DiaryDocument) -> Path:
        # The number after the highest so far (not the count: a folder a person removed
        # leaves a gap rather than a number used twice).
        numbers = [int(m[1]) for p in self._documents(target) if (m := _NUMBERED.match(p.name))]
        number = max(numbers, default=0) + 1
        day = document.date.astimezone(STOCKHOLM)
        final = target / safe_name(f"{day:%Y-%m-%d} {number:02d} {DOCUMENT_TITLES[document.kind]}")
        temp = target / f"{_TEMP}{os.getpid()}-{number:02d}"
        shutil.rmtree(temp, ignore_errors=True)  # left by a crash of this process id
        temp.mkdir()
        try:
            names: list[str] = []
            taken = {DOCUMENT.casefold()}
            for attachment in document.attachments:
                filename = safe_name(attachment.filename, fallback="bilaga")
                stem, suffix = PurePath(filename).stem, PurePath(filename).suffix
                n = 1
                while filename.casefold() in taken:
                    n += 1
                    filename = f"{stem} ({n}){suffix}"
                taken.add(filename.casefold())
                _write(temp / filename, attachment.data)
                names.append(filename)
            _write(
                temp / DOCUMENT,
                _json(
                    {
                        "key": document.key,
                        "kind": document.kind.value,
                        "title": document.title,
                        "date": _iso(document.date),
                        "text": document.text,
                        "attachments": names,
                        "reference": document.case.reference,
                        "diary_number": document.case.diary_number,
                    }
                ),
            )
            if final.exists():  # rename() would replace an empty folder a person made
                raise FileExistsError(errno.EEXIST, "finns redan", str(final))
            temp.rename(final)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        _fsync_dir(target)
        return final
