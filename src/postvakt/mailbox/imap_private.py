"""Moving mail marked private to a folder of its own on IMAP, and back (``move_private``).

What Postvakt moved carries a keyword of its own (``$PostvaktPrivat`` and a short hash of
the folder it came from), so moving back takes exactly those messages to where they were,
whatever their UIDs have become, and never the person's own mail in the same folder.  The
keyword is removed on the way back.  Moves use ``UID MOVE`` (RFC 6851); without it, ``UID
COPY``, ``\\Deleted`` and ``UID EXPUNGE`` of exactly those UIDs (UIDPLUS, RFC 4315) — a
server with neither is refused before anything changes.  Flags and the arrival date
(INTERNALDATE) go with the message.
"""

from __future__ import annotations

import hashlib
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any

from imapclient.exceptions import IMAPClientError

from postvakt.errors import ProtocolError
from postvakt.mailbox.base import IsKnown
from postvakt.mailbox.identity import location_key
from postvakt.mailbox.private import marked_private

if TYPE_CHECKING:
    from imapclient import IMAPClient

    from postvakt.mailbox.imap_connection import ImapConnection

    _Base = ImapConnection
else:
    _Base = object

__all__ = ["ImapPrivateMoves", "moved_keyword"]

_FIELDS = b"BODY[HEADER.FIELDS (SUBJECT SENSITIVITY)]"
_DELETED = b"\\Deleted"
_CHUNK = 200  # UIDs per command: Dovecot's command line is limited to 64 KB


def moved_keyword(source: str) -> str:
    """The keyword on messages Postvakt moved out of ``source`` (an IMAP atom)."""
    return "$PostvaktPrivat" + hashlib.sha256(source.encode("utf-8")).hexdigest()[:8]


class ImapPrivateMoves(_Base):
    """:class:`~postvakt.mailbox.private.SupportsPrivateMove` for the IMAP connector."""

    def move_private(self, source: str, to: str, marker: str | None, is_known: IsKnown) -> int:
        client = self._connection()
        self._can_move(client, source, to)
        self._make_folder(client, to)
        try:
            selected = self._open_writable(client, source)
            uidvalidity = int(selected[b"UIDVALIDITY"])
            found = [
                uid
                for uid in self._marked(client, source, marker, [])
                if is_known(location_key(uidvalidity, uid))
            ]
            if found:
                with self._errors(f"flytta privat post från {source} till {to}"):
                    self.commands += 1
                    client.add_flags(found, [moved_keyword(source)], silent=True)
                    self._move(client, found, to)
            return len(found)
        finally:
            self._leave_writable(client)  # type: ignore[attr-defined]

    def move_back(self, source: str, to: str, marker: str | None, since: datetime | None) -> int:
        client = self._connection()
        with self._errors(f"leta efter mappen {to}"):
            self.commands += 1
            if not client.folder_exists(to):
                return 0
        self._can_move(client, to, source)
        keyword = moved_keyword(source)
        try:
            self._open_writable(client, to)
            with self._errors(f"leta efter flyttad privat post i {to}"):
                self.commands += 1
                found = set(client.search(["KEYWORD", keyword]))
            if since is not None:
                found |= set(self._marked(client, to, marker, ["SINCE", since.date()]))
            uids = sorted(found)
            if uids:
                with self._errors(f"flytta tillbaka privat post från {to} till {source}"):
                    self.commands += 1
                    client.remove_flags(uids, [keyword], silent=True)
                    self._move(client, uids, source)
            return len(uids)
        finally:
            self._leave_writable(client)  # type: ignore[attr-defined]

    # -- helpers ---------------------------------------------------------------------------

    def _can_move(self, client: IMAPClient, source: str, to: str) -> None:
        with self._errors("läsa serverns funktioner"):
            capabilities = client.capabilities()
        if b"MOVE" not in capabilities and b"UIDPLUS" not in capabilities:
            raise ProtocolError(
                f"{self.settings.host} saknar både MOVE (RFC 6851) och UIDPLUS (RFC 4315), så "
                f"Postvakt kan inte flytta privat post från {source} till {to} utan att riskera "
                "annan post. Slå på MOVE på servern, eller sätt [delegation] move_private = false.",
                mailbox=self.address,
            )

    def _make_folder(self, client: IMAPClient, folder: str) -> None:
        with self._errors(f"skapa mappen {folder}"):
            self.commands += 1
            if client.folder_exists(folder):
                return
            self.commands += 2
            client.create_folder(folder)
            with suppress(IMAPClientError):  # seen in the person's mail program; not vital
                client.subscribe_folder(folder)

    def _open_writable(self, client: IMAPClient, folder: str) -> dict[bytes, Any]:
        with self._errors(f"öppna {folder} för att flytta privat post"):
            self.commands += 1
            selected = client.select_folder(folder, readonly=False)
            self._selected = folder
            return selected

    def _marked(
        self, client: IMAPClient, folder: str, marker: str | None, extra: list[Any]
    ) -> list[int]:
        """UIDs in the selected ``folder`` marked private: the server's SEARCH narrows, the
        header read decides (the intake's rule, exactly)."""
        criteria: list[Any] = ["HEADER", "Sensitivity", "Private"]
        if marker:
            criteria = ["OR", *criteria, "SUBJECT", marker]
        charset = None if not marker or marker.isascii() else "UTF-8"
        with self._errors(f"söka efter privat post i {folder}"):
            self.commands += 1
            candidates = sorted(client.search([*extra, *criteria], charset=charset))
            chosen: list[int] = []
            for start in range(0, len(candidates), _CHUNK):
                chunk = candidates[start : start + _CHUNK]
                self.commands += 1
                heads = client.fetch(chunk, [_FIELDS.replace(b"BODY", b"BODY.PEEK")])
                chosen += [
                    uid
                    for uid, item in heads.items()
                    if marked_private(item.get(_FIELDS, b""), marker)
                ]
        return sorted(chosen)

    def _move(self, client: IMAPClient, uids: list[int], to: str) -> None:
        """``uids`` of the selected folder into ``to``; inside the caller's ``_errors``."""
        for start in range(0, len(uids), _CHUNK):
            chunk = uids[start : start + _CHUNK]
            self.commands += 1
            if b"MOVE" in client.capabilities():
                client.move(chunk, to)
                continue
            client.copy(chunk, to)
            self.commands += 2
            client.add_flags(chunk, [_DELETED], silent=True)
            try:
                client.uid_expunge(chunk)
            except IMAPClientError:
                with suppress(IMAPClientError):  # no \Deleted mark of ours left behind
                    client.remove_flags(chunk, [_DELETED], silent=True)
                raise
