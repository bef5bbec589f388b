"""The IMAP connector: watches folders in place, the way a careful colleague would.

In place: watched folders are opened with EXAMINE (read-only), bodies are fetched with
``BODY.PEEK[]``, so ``\\Seen`` is never set and ``\\Recent`` never cleared; nothing is moved.
The only writes are APPENDs of reply drafts to the Drafts folder, the removal of Postvakt's
own drafts of a withdrawn case (:meth:`ImapConnector.remove_drafts`: those UIDs only, with
UID EXPUNGE), and — for the delegation hooks — ACL and Sieve changes asked for explicitly,
and the moves of mail marked private that ``[delegation] move_private`` asks for
(:mod:`postvakt.mailbox.imap_private`).

Incremental sync per folder: the state keeps UIDVALIDITY, the last UID processed,
HIGHESTMODSEQ (with CONDSTORE), and the day's baseline MODSEQ for the opened-today check.
A pass over a folder with nothing new costs one STATUS command.  A message's key is where it
is: UIDVALIDITY and UID (``'1714:52'``), so two messages are never taken for one, whatever
their Message-IDs.  When UIDVALIDITY changes (the mailbox was rebuilt or migrated), every
message in the folder is read again under its new key; the intake recognises those it has
seen by Message-ID *and* content hash and records them as duplicates, so nothing is
registered twice and nothing new is skipped.

Connecting, reconnecting and the mapping of errors are in
:mod:`postvakt.mailbox.imap_connection` (:class:`ImapConnection`, which this connector
extends).  No ``imapclient``, ``imaplib``, ``socket`` or ``ssl`` exception leaves this module.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from postvakt.errors import ConnectorError, MailboxNotFoundError, ProtocolError
from postvakt.mailbox.base import (
    Checkpoint,
    DraftReply,
    FetchedMessage,
    FolderRole,
    IsKnown,
    OpenedEvidence,
    OutOfOffice,
    build_draft_mime,
    own_draft_id,
)
from postvakt.mailbox.identity import is_hashed, location_key
from postvakt.mailbox.imap_connection import (
    ImapConnection,
    as_text,
)
from postvakt.mailbox.imap_counting import ImapCounting
from postvakt.mailbox.imap_idle import ImapIdle
from postvakt.mailbox.imap_private import ImapPrivateMoves
from postvakt.mailbox.sieve import SieveVacation

__all__ = ["ImapConnector", "read_last_login"]

log = logging.getLogger("postvakt.mailbox.imap")

SENT_NAMES = ("Sent", "Skickat", "Sent Items", "Skickade objekt", "Sent Messages", "INBOX.Sent")
DRAFTS_NAMES = ("Drafts", "Utkast", "INBOX.Drafts")
BODY_CHUNK = 100  # messages per FETCH of whole bodies: bounds memory
DRAFT_SEARCH_GROUP = 40  # Message-IDs per SEARCH for drafts already in Drafts
_MID_FIELD = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
_OWN_FIELDS = b"BODY[HEADER.FIELDS (MESSAGE-ID X-POSTVAKT-DRAFT)]"
DELETED = b"\\Deleted"
_KEY = re.compile(r"(\d{1,10}):(\d{1,10})")
_MID = re.compile(rb"<([^<>\s]+)>")


class ImapConnector(ImapIdle, ImapPrivateMoves, ImapCounting, ImapConnection):
    """One IMAP mailbox, read in place.  Not thread-safe: one pass at a time per connector."""

    clearing_restores_own_reply = True
    """Postvakt's Sieve script wraps the person's own: clearing it brings theirs back."""

    def __repr__(self) -> str:
        return f"ImapConnector({self.address!r}, {self.settings.host}:{self.port})"

    # -- folders ------------------------------------------------------------------

    def folders(self, role: FolderRole) -> list[str]:
        if role == "inbox":
            return list(self.settings.folders)
        sent = self._special_folder(b"\\Sent", self.settings.sent_folder, SENT_NAMES)
        return [sent] if sent else []

    def _special_folder(
        self, flag: bytes, configured: str | None, names: Sequence[str]
    ) -> str | None:
        if configured:
            return configured
        if flag not in self._special:
            client = self._connection()
            with self._errors("lista mappar"):
                found = client.find_special_folder(flag)
                self.commands += 1
                if found is None:
                    existing = {name for _flags, _sep, name in client.list_folders()}
                    self.commands += 1
                    lowered = {n.lower(): n for n in existing}
                    found = next((lowered[n.lower()] for n in names if n.lower() in lowered), None)
            self._special[flag] = found
        return self._special[flag]

    # -- reading --------------------------------------------------------------------

    def _status(self, client: IMAPClient, folder: str) -> dict[bytes, int]:
        what = [b"UIDVALIDITY", b"UIDNEXT", b"MESSAGES"] + (
            [b"HIGHESTMODSEQ"] if self._condstore else []
        )
        with self._errors(f"läsa status för {folder}"):
            if self._selected is not None:
                # STATUS on the selected folder may answer from its old view (RFC 3501 6.3.10;
                # Dovecot does): close it first.  Only after a pass that opened a folder.
                self.commands += 1
                if b"UNSELECT" in client.capabilities():
                    client.unselect_folder()
                else:
                    client.close_folder()  # read-only: expunges nothing
                self._selected = None
            self.commands += 1
            return {k: int(v) for k, v in client.folder_status(folder, what).items()}

    def probe(self, folder: str, state: Mapping[str, Any] | None) -> bool:
        """Whether :meth:`fetch_new` from ``state`` may find anything in ``folder``: one STATUS
        (on the connection kept open between passes) compared with the stored state.

        True when there is no state yet, UIDVALIDITY changed, UIDNEXT moved past the last UID
        processed while the folder holds messages, or (with CONDSTORE) the day changed, whose
        first pass keeps the day's baseline for the opened-today check.  A changed
        HIGHESTMODSEQ alone (someone read or flagged mail) is not news: nothing reads that
        value back but the day's baseline.
        """
        if not state:
            return True
        status = self._status(self._connection(), folder)
        if state.get("uidvalidity") != status[b"UIDVALIDITY"]:
            return True
        if status.get(b"MESSAGES", 1) != 0 and state.get("last_uid", 0) < status[b"UIDNEXT"] - 1:
            return True
        today = self.clock().date().isoformat()
        return b"HIGHESTMODSEQ" in status and state.get("day") != today

    def _examine(self, client: IMAPClient, folder: str) -> dict[bytes, Any]:
        with self._errors(f"öppna {folder} för läsning"):
            self.commands += 1
            selected = client.select_folder(folder, readonly=True)
            self._selected = folder
            return selected

    def fetch_new(
        self, folder: str, state: Mapping[str, Any] | None, is_known: IsKnown
    ) -> Iterator[FetchedMessage | Checkpoint]:
        client = self._connection()
        status = self._status(client, folder)
        old = dict(state or {})
        uidvalidity, uidnext = status[b"UIDVALIDITY"], status[b"UIDNEXT"]
        modseq = status.get(b"HIGHESTMODSEQ")
        today = self.clock().date().isoformat()
        new_state: dict[str, Any] = {
            **old,
            "uidvalidity": uidvalidity,
            "last_uid": old.get("last_uid", 0) if old.get("uidvalidity") == uidvalidity else 0,
        }
        if modseq is not None:
            new_state["highestmodseq"] = modseq
            if old.get("day") != today:
                # The first pass of a day remembers where flags stood when the day began.
                new_state["day"], new_state["day_modseq"] = today, modseq
        resync = old.get("uidvalidity") not in (None, uidvalidity)
        if resync:
            log.warning(
                "UIDVALIDITY of a folder of mailbox %s changed; reading it again, recognising "
                "messages already seen by Message-ID and content",
                self.address,
            )
        if new_state["last_uid"] >= uidnext - 1 or status.get(b"MESSAGES", 1) == 0:
            if new_state != old:
                yield Checkpoint(folder, new_state)
            return
        self._examine(client, folder)
        with self._errors(f"söka i {folder}"):
            self.commands += 1
            last = new_state["last_uid"]
            uids = sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)
        if not uids:
            # What lay past the last UID was expunged or moved before it was read: nothing
            # below UIDNEXT is left to read (a later message gets a UID from UIDNEXT on), so
            # the state moves up to it and the next pass's STATUS finds nothing new.
            yield Checkpoint(folder, {**new_state, "last_uid": max(last, uidnext - 1)})
            return
        # Without a sync state (lost, or first sync after an upgrade) the records say which
        # UIDs were processed already; their bodies are not fetched again.
        wanted = [u for u in uids if not is_known(location_key(uidvalidity, u))]
        for start in range(0, len(wanted), BODY_CHUNK):
            chunk = wanted[start : start + BODY_CHUNK]
            with self._errors(f"hämta meddelanden i {folder}"):
                self.commands += 1
                data = client.fetch(chunk, [b"BODY.PEEK[]", b"INTERNALDATE", b"RFC822.SIZE"])
            for uid in chunk:
                item = data.get(uid)
                if item is None:  # expunged by its owner meanwhile
                    continue
                raw = item.get(b"BODY[]")
                if raw is None:  # the server sent no body (a broken message file): read alone
                    raw = self._body(client, folder, uid)
                received = _aware(item.get(b"INTERNALDATE"))
                new_state = {**new_state, "last_uid": uid}
                yield FetchedMessage(
                    folder, location_key(uidvalidity, uid), raw or b"", received, new_state
                )
        if new_state["last_uid"] != uids[-1]:
            yield Checkpoint(folder, {**new_state, "last_uid": uids[-1]})

    def _body(self, client: IMAPClient, folder: str, uid: int) -> bytes | None:
        """One message's bytes when a batch FETCH left them out; None when the server has none."""
        with self._errors(f"hämta ett meddelande i {folder}"):
            self.commands += 1
            data = client.fetch([uid], [b"BODY.PEEK[]"])
        body = data.get(uid, {}).get(b"BODY[]")
        if body is None:
            log.warning("mailbox %s: the server sent no body for UID %d", self.address, uid)
        return body

    def fetch_one(self, folder: str, key: str) -> FetchedMessage | None:
        """The message at ``UIDVALIDITY:UID`` in ``folder``: EXAMINE and ``BODY.PEEK[]``, so no
        flag changes.  None when the UID is gone, UIDVALIDITY has changed since the key was
        taken (the UID may now name another message), the folder is gone, or the key was
        stored hashed."""
        found = _KEY.fullmatch(key)
        if found is None or is_hashed(key):
            return None
        uidvalidity, uid = int(found.group(1)), int(found.group(2))
        client = self._connection()
        try:
            selected = self._examine(client, folder)
        except MailboxNotFoundError:
            return None
        if int(selected.get(b"UIDVALIDITY", -1)) != uidvalidity:
            return None
        with self._errors(f"hämta ett meddelande i {folder}"):
            self.commands += 1
            data = client.fetch([uid], [b"BODY.PEEK[]", b"INTERNALDATE"])
        item = data.get(uid)
        if item is None or item.get(b"BODY[]") is None:
            return None
        return FetchedMessage(folder, key, item[b"BODY[]"], _aware(item.get(b"INTERNALDATE")))

    # -- drafts ----------------------------------------------------------------------

    def drafts_folder(self) -> str:
        """The Drafts folder's name on the server (delegates need rights there too)."""
        return self._drafts_folder()

    def _drafts_folder(self) -> str:
        folder = self._special_folder(b"\\Drafts", self.settings.drafts_folder, DRAFTS_NAMES)
        if folder is None:
            raise MailboxNotFoundError(
                "hittar ingen Utkast-mapp (SPECIAL-USE \\Drafts, Drafts eller Utkast). "
                "Ange drafts_folder i konfigurationen.",
                mailbox=self.address,
            )
        return folder

    def save_draft(self, draft: DraftReply) -> str:
        return self.save_drafts([draft])[0]

    def save_drafts(self, drafts: Sequence[DraftReply]) -> list[str]:
        """One EXAMINE of Drafts, one SEARCH per group of Message-IDs for drafts already
        there (a retry after a crash), one MULTIAPPEND (or APPENDs) for the rest."""
        if not drafts:
            return []
        folder = self._drafts_folder()
        client = self._connection()
        self._examine(client, folder)
        where: dict[str, str] = {}
        for start in range(0, len(drafts), DRAFT_SEARCH_GROUP):
            group = drafts[start : start + DRAFT_SEARCH_GROUP]
            criteria: list[Any] = []
            for draft in group[:-1]:
                criteria += ["OR", "HEADER", "Message-ID", f"<{draft.message_id}>"]
            criteria += ["HEADER", "Message-ID", f"<{group[-1].message_id}>"]
            with self._errors(f"leta efter utkast i {folder}"):
                self.commands += 1
                found = client.search(criteria)
                if found:
                    self.commands += 1
                    heads = client.fetch(found, [b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
            for uid in found:
                mid = _MID.search(heads.get(uid, {}).get(_MID_FIELD, b""))
                if mid:
                    where[mid.group(1).decode("ascii", "replace")] = f"{folder}/{uid}"
        missing = [d for d in drafts if d.message_id not in where]
        if missing:
            items = [
                {
                    "msg": build_draft_mime(d),
                    "flags": (b"\\Draft", b"\\Seen"),
                    **({"date": d.date} if d.date else {}),
                }
                for d in missing
            ]
            with self._errors(f"spara utkast i {folder}"):
                self.commands += 1
                if b"MULTIAPPEND" in client.capabilities():
                    response = client.multiappend(folder, items)
                    uids = _appended_uids(response)
                else:
                    uids = []
                    for item in items:
                        answer = client.append(
                            folder, item["msg"], flags=item["flags"], msg_time=item.get("date")
                        )
                        uids += _appended_uids(answer)
            for index, draft in enumerate(missing):
                where[draft.message_id] = f"{folder}/{uids[index]}" if index < len(uids) else folder
        return [where[d.message_id] for d in drafts]

    def remove_drafts(self, message_ids: Sequence[str]) -> list[str]:
        """Postvakt's own drafts with these Message-IDs taken out of Drafts, and nothing else.

        SELECT Drafts (read-write), UID SEARCH by Message-ID, a FETCH of the Message-ID and
        marker fields of what was found (:func:`~postvakt.mailbox.base.own_draft_id` decides),
        ``UID STORE +FLAGS.SILENT (\\Deleted)`` and ``UID EXPUNGE`` of exactly those UIDs
        (RFC 4315), then back to read-only.  A plain EXPUNGE (or CLOSE) would also remove
        messages the person has marked deleted, so a server without UIDPLUS is refused with
        a :class:`~postvakt.errors.ProtocolError` before anything is changed.
        """
        wanted = list(dict.fromkeys(message_ids))
        if not wanted:
            return []
        folder = self._drafts_folder()
        client = self._connection()
        with self._errors("läsa serverns funktioner"):
            capabilities = client.capabilities()
        if b"UIDPLUS" not in capabilities:
            raise ProtocolError(
                f"{self.settings.host} saknar UIDPLUS (RFC 4315), så Postvakt kan inte ta bort "
                f"sina egna utkast ur {folder} utan att också radera meddelanden som någon annan "
                "har markerat som borttagna. Ta bort utkasten för hand, eller slå på UIDPLUS "
                "på servern.",
                mailbox=self.address,
            )
        try:
            with self._errors(f"öppna {folder} för att ta bort utkast"):
                self.commands += 1
                client.select_folder(folder, readonly=False)
                self._selected = folder
            own: dict[int, str] = {}
            for start in range(0, len(wanted), DRAFT_SEARCH_GROUP):
                group = wanted[start : start + DRAFT_SEARCH_GROUP]
                criteria: list[Any] = []
                for mid in group[:-1]:
                    criteria += ["OR", "HEADER", "Message-ID", f"<{mid}>"]
                criteria += ["HEADER", "Message-ID", f"<{group[-1]}>"]
                with self._errors(f"leta efter utkast i {folder}"):
                    self.commands += 1
                    found = client.search(criteria)
                    heads = {}
                    if found:
                        self.commands += 1
                        heads = client.fetch(found, [_OWN_FIELDS.replace(b"BODY", b"BODY.PEEK")])
                for uid, item in heads.items():
                    mid = own_draft_id(item.get(_OWN_FIELDS, b""), group)
                    if mid is not None:
                        own[uid] = mid
            if not own:
                return []
            uids = sorted(own)
            with self._errors(f"ta bort Postvakts utkast i {folder}"):
                self.commands += 1
                client.add_flags(uids, [DELETED], silent=True)
                try:
                    self.commands += 1
                    client.uid_expunge(uids)
                except IMAPClientError:
                    # Refused: no \\Deleted mark of ours is left behind for a client's expunge.
                    with suppress(IMAPClientError):
                        client.remove_flags(uids, [DELETED], silent=True)
                    raise
                self.commands += 1
                left = set(client.search(["UID", ",".join(map(str, uids))]))
            if left:  # the server kept some: take the mark off those again
                with self._errors(f"ta bort Postvakts utkast i {folder}"):
                    self.commands += 1
                    client.remove_flags(sorted(left), [DELETED], silent=True)
            return [mid for uid, mid in sorted(own.items()) if uid not in left]
        finally:
            self._leave_writable(client)

    def _leave_writable(self, client: IMAPClient) -> None:
        """Leave a folder selected read-write without expunging anything (UNSELECT, or
        EXAMINE of the same folder, which RFC 3501 says closes it without an expunge).
        A closing ``_status`` would otherwise send CLOSE, which expunges."""
        if self._selected is None or self._client is not client:
            return  # the connection was dropped: nothing is selected any more
        folder = self._selected
        with suppress(ConnectorError), self._errors(f"stänga {folder}"):
            self.commands += 1
            if b"UNSELECT" in client.capabilities():
                client.unselect_folder()
                self._selected = None
            else:
                client.select_folder(folder, readonly=True)

    # -- opened-today evidence --------------------------------------------------------

    def opened_evidence(self, folder: str, state: Mapping[str, Any] | None) -> OpenedEvidence:
        """Flags changed since the day's baseline MODSEQ, the owner's last login, old unread mail.

        In Dovecot shared mailboxes \\Seen is private per user (INDEXPVT): a colleague's
        reading shows only when Postvakt logs in as that colleague, so shared function
        mailboxes are judged by the last login and the unread count as well.
        """
        client = self._connection()
        self._examine(client, folder)
        state = state or {}
        today = self.clock().date()
        changed = 0
        if self._condstore and state.get("day") == today.isoformat() and state.get("day_modseq"):
            with self._errors(f"läsa ändrade flaggor i {folder}"):
                self.commands += 1
                touched = client.search(["MODSEQ", int(state["day_modseq"]) + 1])
                if touched:
                    self.commands += 1
                    flags = client.fetch(touched, [b"FLAGS"])
                    marks = {b"\\Seen", b"\\Answered", b"\\Flagged", b"\\Deleted"}
                    changed = sum(
                        1 for item in flags.values() if marks & set(item.get(b"FLAGS", ()))
                    )
        with self._errors(f"söka olästa meddelanden i {folder}"):
            self.commands += 1
            unread = len(client.search(["UNSEEN", "BEFORE", today]))
        return OpenedEvidence(
            changed_today=changed, last_login=self._last_login(), unread_from_before=unread
        )

    def _last_login(self) -> datetime | None:
        path: Path | None = self.settings.last_login_dict
        if path is None:
            return None
        return read_last_login(path, self.settings.username)

    # -- delegation hooks: ACL (RFC 4314) ------------------------------------------------

    def grant_access(self, folder: str, who: str, rights: str = "lrswi") -> None:
        client = self._connection()
        with self._errors(f"ge {who} behörighet till {folder}"):
            self.commands += 1
            client.setacl(folder, who, rights)

    def remove_access(self, folder: str, who: str) -> None:
        client = self._connection()
        with self._errors(f"ta bort behörigheten för {who} till {folder}"):
            self.commands += 1
            # setacl(folder, who, "") sends a malformed command in imapclient 4; imaplib's own
            # DELETEACL is reached through imapclient's command helper.
            client._command_and_check(
                "deleteacl", client._normalise_folder(folder), who, unpack=True
            )

    def access(self, folder: str) -> dict[str, str]:
        """Who has which rights on ``folder``; rights as sorted RFC 4314 letters ("ilrsw")."""
        client = self._connection()
        with self._errors(f"läsa behörigheter för {folder}"):
            self.commands += 1
            entries = client.getacl(folder)
        return {as_text(who): "".join(sorted(as_text(rights))) for who, rights in entries}

    # -- delegation hooks: out-of-office as a Sieve vacation ----------------------------

    def _sieve(self) -> SieveVacation:
        master = self.settings.master_user
        security = self.settings.sieve_security or (
            "none" if self.settings.security == "none" else "starttls"
        )
        return SieveVacation(
            self.settings.host,
            self.settings.sieve_port,
            master or self.settings.username,
            self._password,
            authz_id=self.settings.username if master else "",
            starttls=security == "starttls",
            mailbox=self.address,
            addresses=[self.address],
        )

    def set_out_of_office(self, reply: OutOfOffice) -> None:
        self._sieve().set_out_of_office(reply)

    def clear_out_of_office(self) -> None:
        self._sieve().clear_out_of_office()

    def out_of_office(self) -> OutOfOffice | None:
        return self._sieve().out_of_office()


def _appended_uids(response: Any) -> list[int]:
    """UIDs from an APPENDUID response code: '<uidvalidity> 12' or '<uidvalidity> 12:14,16'.

    ``append`` answers with bytes, ``multiappend`` with ``('OK', [bytes, ...])``.
    """
    if isinstance(response, tuple | list):
        response = b" ".join(r for r in response[-1] if isinstance(r, bytes)) if response else b""
    found = re.search(rb"APPENDUID \d+ ([\d:,]+)", response if isinstance(response, bytes) else b"")
    if not found:
        return []
    uids: list[int] = []
    for piece in found.group(1).split(b","):
        first, _, last = piece.partition(b":")
        uids += range(int(first), int(last or first) + 1)
    return uids


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def read_last_login(path: Path, user: str) -> datetime | None:
    """The user's own last login from Dovecot's last_login dict stored with the file: driver.

    The file holds keys and values on alternating lines; the key ends in ``last-login/<user>``
    (logins through the master user are kept under another key and do not count).
    """
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    wanted = f"last-login/{user}"
    for key, value in zip(lines[::2], lines[1::2], strict=False):
        if key.endswith(wanted) and key[: -len(wanted)] in ("", "shared/", "priv/"):
            try:
                return datetime.fromtimestamp(int(value.strip()), UTC)
            except (ValueError, OverflowError):
                return None
    return None
