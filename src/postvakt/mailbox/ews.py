"""The EWS connector: Exchange Server on premises, through exchangelib, watched in place.

In place: items are only read (``SyncFolderItems`` with ``IdOnly`` and a few properties,
``GetItem`` for the MIME content), which never changes ``IsRead``; nothing is moved.  The
writes are ``CreateItem`` of reply drafts into the mailbox's Drafts, ``DeleteItem`` of
Postvakt's own drafts of a withdrawn case (moved to Deleted Items, see
:meth:`EwsConnector.remove_drafts`), and ``SetUserOofSettings`` when asked to set an
automatic reply.

Incremental sync per folder (``inbox``, ``sentitems``): the state keeps the EWS sync state
and the day's count of flag changes (the opened-today evidence).  A message's key is where
it is (the store's item id), so a lost or invalid sync state (``ErrorInvalidSyncStateData``
after a mailbox move) re-syncs the folder and registers nothing twice: only the items not
yet known are read, and the intake recognises a message seen before by Message-ID and
content.  Microsoft does not promise an order within a sync, so the changes of a pass are
collected first and the new messages yielded oldest first; the new sync state goes with the
last of them.

Private items: the MIME content Exchange produces carries the ``Sensitivity`` header of
RFC 2156 (``Sensitivity: Private``), which the intake reads.  Where an item is marked
private but its MIME has no such header, the connector adds one, so the mark is never lost.

The pieces: the service account, the exchangelib ``Account`` and its connection pool, the
mapping of errors and the throttling (``FailFast``; ``ErrorServerBusy`` through a
:class:`~postvakt.mailbox.exchange.ThrottlePolicy`) are in :mod:`postvakt.mailbox.ews_client`;
automatic replies, delegates and folder permissions in :mod:`postvakt.mailbox.ews_delegation`.

No ``exchangelib``, ``requests`` or ``oauthlib`` exception leaves these modules.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from datetime import datetime
from datetime import time as clock_time
from typing import Any

from exchangelib import Account, ExtendedProperty, FileAttachment, Mailbox, Message
from exchangelib import errors as ews_errors
from exchangelib.folders import Folder
from exchangelib.items import MOVE_TO_DELETED_ITEMS, SAVE_ONLY

from postvakt.errors import ProtocolError
from postvakt.mailbox.addresses import draft_recipient, one_line
from postvakt.mailbox.base import (
    Checkpoint,
    DraftReply,
    FetchedMessage,
    FolderRole,
    IsKnown,
    OpenedEvidence,
)
from postvakt.mailbox.ews_client import DRAFTS, INBOX, SENT, EwsClient, plain_datetime
from postvakt.mailbox.ews_delegation import Delegate, EwsDelegation, FolderPermission
from postvakt.mailbox.exchange import mark_sensitivity, oldest_first, permission_level
from postvakt.mailbox.identity import is_hashed, location_key

__all__ = [
    "DRAFTS",
    "INBOX",
    "SENT",
    "Delegate",
    "EwsConnector",
    "FolderPermission",
    "permission_level",
]

log = logging.getLogger("postvakt.mailbox.ews")

SYNC_PAGE = 200  # changes per SyncFolderItems call (EWS allows up to 512)
MIME_CHUNK = 25  # items per GetItem with MIME content: bounds memory
DRAFT_GROUP = 25  # draft ids per FindItem restriction
SYNC_FIELDS = ("message_id", "datetime_received", "is_read", "sensitivity", "size")


class _DraftKey(ExtendedProperty):
    """Postvakt's id of a draft (the draft's deterministic Message-ID), as a named property.

    Saving a draft twice must save it once; Exchange assigns drafts a Message-ID of its
    own, so the id travels in a property of ours and is searched for before saving.
    """

    distinguished_property_set_id = "PublicStrings"
    property_name = "PostvaktDraftId"
    property_type = "String"


if "postvakt_draft_id" not in {f.name for f in Message.FIELDS}:
    # exchangelib's documented way to add a custom property: registered once per process.
    Message.register("postvakt_draft_id", _DraftKey)


class EwsConnector(EwsDelegation, EwsClient):
    """One Exchange mailbox over EWS, read in place.  One pass at a time per connector."""

    def __repr__(self) -> str:
        return f"EwsConnector({self.address!r}, {self.endpoint or 'autodiscover'})"

    # -- folders ---------------------------------------------------------------------------

    def folders(self, role: FolderRole) -> list[str]:
        return [INBOX] if role == "inbox" else [SENT]

    def drafts_folder(self) -> str:
        """The Drafts folder (a delegate needs rights there to answer with Postvakt's drafts)."""
        return DRAFTS

    # -- reading ---------------------------------------------------------------------------

    def _sync(self, folder: Folder, sync_state: str | None) -> tuple[list[tuple[str, Any]], str]:
        """Every change since ``sync_state`` (all items when None) and the new sync state."""

        def run() -> tuple[list[tuple[str, Any]], str]:
            # exchangelib falls back to the state it last saw when given None: clear it.
            folder.item_sync_state = sync_state
            changes = list(
                folder.sync_items(
                    sync_state=sync_state,
                    only_fields=SYNC_FIELDS,
                    max_changes_returned=SYNC_PAGE,
                )
            )
            return changes, folder.item_sync_state

        return self._call(f"synkronisera {folder.name}", run)

    def fetch_new(
        self, folder: str, state: Mapping[str, Any] | None, is_known: IsKnown
    ) -> Iterator[FetchedMessage | Checkpoint]:
        target = self._folder(folder)
        old = dict(state or {})
        today = self.clock().date().isoformat()
        sync_state = old.get("sync_state")
        try:
            changes, new_sync = self._sync(target, sync_state)
        except ProtocolError as exc:
            if exc.code != "ErrorInvalidSyncStateData":
                raise
            log.warning(
                "Exchange no longer knows the sync state of a folder of %s; reading it again",
                self.address,
            )
            sync_state = None
            changes, new_sync = self._sync(target, None)
        changed = 0
        candidates: dict[str, tuple[datetime | None, str, Any]] = {}
        for kind, item in changes:
            if kind in ("read_flag_change", "update"):
                changed += 1 if sync_state else 0
            if kind not in ("create", "update"):
                continue
            if kind == "create" and sync_state and getattr(item, "is_read", False):
                changed += 1  # read before Postvakt saw it: someone opened the mailbox
            received = plain_datetime(getattr(item, "datetime_received", None))
            # Where it is: the store's item id (it changes only when the item is moved, and a
            # moved item seen again is recognised by the intake by Message-ID and content).
            key = location_key(item.id)
            if not is_known(key):
                candidates[item.id] = (received, key, item)
        counted = int(old.get("changed_today", 0)) if old.get("day") == today else 0
        new_state = {"sync_state": new_sync, "day": today, "changed_today": counted + changed}
        ordered = sorted(candidates.values(), key=oldest_first)
        yielded_last = False
        for start in range(0, len(ordered), MIME_CHUNK):
            chunk = ordered[start : start + MIME_CHUNK]
            account = self._connection()
            fetched = self._call(
                f"hämta meddelanden i {folder}",
                lambda chunk=chunk, account=account: list(
                    account.fetch([entry[2] for entry in chunk], only_fields=["mime_content"])
                ),
            )
            for index, ((received, key, item), full) in enumerate(zip(chunk, fetched, strict=True)):
                last = start + index == len(ordered) - 1
                if isinstance(full, Exception) or not getattr(full, "mime_content", None):
                    continue  # deleted by its owner meanwhile, or not a mail item
                raw = mark_sensitivity(bytes(full.mime_content), getattr(item, "sensitivity", None))
                yield FetchedMessage(folder, key, raw, received, new_state if last else None)
                yielded_last = last
        if not yielded_last and new_state != old:
            yield Checkpoint(folder, new_state)

    def fetch_one(self, folder: str, key: str) -> FetchedMessage | None:
        """The item whose id is ``key`` (``GetItem`` with the MIME content, which leaves
        ``IsRead`` as it is).  None when Exchange no longer has it (deleted, or moved: a moved
        item gets a new id) or the key was stored hashed (ids over 300 characters)."""
        if not key or is_hashed(key):
            return None
        account = self._connection()
        (item,) = self._call(
            f"hämta ett meddelande i {folder}",
            lambda: list(
                account.fetch(
                    [(key, None)], only_fields=["mime_content", "datetime_received", "sensitivity"]
                )
            ),
        )
        if isinstance(item, ews_errors.ErrorItemNotFound | ews_errors.ErrorInvalidIdMalformed):
            return None
        if isinstance(item, Exception):
            with self._errors(f"hämta ett meddelande i {folder}"):
                raise item
        if not getattr(item, "mime_content", None):
            return None  # not a mail item
        raw = mark_sensitivity(bytes(item.mime_content), getattr(item, "sensitivity", None))
        received = plain_datetime(getattr(item, "datetime_received", None))
        return FetchedMessage(folder, key, raw, received)

    # -- drafts ------------------------------------------------------------------------------

    def save_draft(self, draft: DraftReply) -> str:
        return self.save_drafts([draft])[0]

    def save_drafts(self, drafts: Sequence[DraftReply]) -> list[str]:
        """One FindItem per group of drafts for those already saved (a retry after a crash),
        one CreateItem for the rest, each with its attachments."""
        if not drafts:
            return []
        folder = self._folder(DRAFTS)
        account = self._connection()
        where: dict[str, str] = {}
        ids = [d.message_id for d in drafts]
        for start in range(0, len(ids), DRAFT_GROUP):
            group = ids[start : start + DRAFT_GROUP]
            found = self._call(
                "leta efter utkast",
                lambda group=group: list(
                    folder.filter(postvakt_draft_id__in=group).only("postvakt_draft_id")
                ),
            )
            for item in found:
                where[item.postvakt_draft_id] = f"{DRAFTS}/{item.id}"
        missing = [d for d in drafts if d.message_id not in where]
        if missing:
            items = [self._draft_item(account, folder, d) for d in missing]
            results = self._call(
                "spara utkast",
                lambda: account.bulk_create(
                    folder=folder, items=items, message_disposition=SAVE_ONLY
                ),
            )
            for draft, result in zip(missing, results, strict=True):
                if isinstance(result, Exception):
                    with self._errors("spara utkast"):
                        raise result
                where[draft.message_id] = f"{DRAFTS}/{result.id}"
        return [where[d.message_id] for d in drafts]

    def remove_drafts(self, message_ids: Sequence[str]) -> list[str]:
        """Postvakt's own drafts with these ids moved out of Drafts into Deleted Items.

        Exchange gives a draft a Message-ID of its own, so Postvakt's id travels in its named
        property (``PostvaktDraftId``, which only Postvakt sets): one ``FindItem`` in Drafts
        per group of ids, the property compared exactly, then one ``DeleteItem`` with
        ``MoveToDeletedItems`` — as Outlook deletes a draft, so the person (or a delegate)
        can still see and restore it, and the mailbox's own retention empties it.  A person's
        draft with the same Message-ID has no such property and is never found.
        """
        wanted = list(dict.fromkeys(message_ids))
        if not wanted:
            return []
        folder = self._folder(DRAFTS)
        account = self._connection()
        own: dict[str, str] = {}
        for start in range(0, len(wanted), DRAFT_GROUP):
            group = wanted[start : start + DRAFT_GROUP]
            found = self._call(
                "leta efter utkast",
                lambda group=group: list(
                    folder.filter(postvakt_draft_id__in=group).only("postvakt_draft_id")
                ),
            )
            for item in found:
                # Compared here too: Exchange's string restrictions ignore case.
                if isinstance(item, Message) and item.postvakt_draft_id in group:
                    own[item.id] = item.postvakt_draft_id
        if not own:
            return []
        results = self._call(
            "ta bort Postvakts utkast",
            lambda: account.bulk_delete(
                [(item_id, None) for item_id in own], delete_type=MOVE_TO_DELETED_ITEMS
            ),
        )
        removed: list[str] = []
        for message_id, result in zip(own.values(), results, strict=True):
            if result is True:
                removed.append(message_id)
            elif not isinstance(result, ews_errors.ErrorItemNotFound):  # gone meanwhile: fine
                with self._errors("ta bort Postvakts utkast"):
                    raise result
        return removed

    def _draft_item(self, account: Account, folder: Folder, draft: DraftReply) -> Message:
        references = [*draft.references]
        if draft.in_reply_to and draft.in_reply_to not in references:
            references.append(draft.in_reply_to)
        message = Message(
            account=account,
            folder=folder,
            subject=draft.subject,
            body=draft.text,
            # None when the citizen's address needs a person's check: a draft without To.
            to_recipients=[Mailbox(name=one_line(draft.to_name) or None, email_address=to)]
            if (to := draft_recipient(draft.to_address))
            else None,
            in_reply_to=f"<{draft.in_reply_to}>" if draft.in_reply_to else None,
            references=" ".join(f"<{r}>" for r in references) or None,
            is_read=True,  # our own draft: it should not show as unread mail
            postvakt_draft_id=draft.message_id,
        )
        for attachment in draft.attachments:
            message.attach(
                FileAttachment(
                    name=attachment.filename,
                    content=attachment.data,
                    content_type=attachment.content_type,
                )
            )
        return message

    # -- opened-today evidence -----------------------------------------------------------------

    def opened_evidence(self, folder: str, state: Mapping[str, Any] | None) -> OpenedEvidence:
        """Flag changes (read, flagged) that sync has seen since the day began, and the unread
        messages that arrived before it.

        The count in ``state`` covers the passes of the day; changes since the last pass are
        read from the server without moving the saved sync state.  Exchange keeps one read
        state for the owner and every delegate, so a delegate's reading counts too.  EWS
        does not publish the owner's last logon: ``last_login`` is None.
        """
        state = state or {}
        now = self.clock()
        today = now.date()
        changed = int(state.get("changed_today", 0)) if state.get("day") == today.isoformat() else 0
        target = self._folder(folder)
        if state.get("sync_state"):
            with suppress(ProtocolError):  # an invalid state: the next pass re-syncs
                changes, _new = self._sync(target, state["sync_state"])
                changed += sum(
                    1
                    for kind, item in changes
                    if kind in ("read_flag_change", "update")
                    or (kind == "create" and getattr(item, "is_read", False))
                )
        start_of_day = datetime.combine(today, clock_time(0), tzinfo=now.tzinfo)
        unread = self._call(
            f"räkna olästa i {folder}",
            lambda: target.filter(is_read=False, datetime_received__lt=start_of_day).count(),
        )
        return OpenedEvidence(changed_today=changed, last_login=None, unread_from_before=unread)

    def count_before(self, folder: str, moment: datetime) -> int:
        """Items in ``folder`` that Exchange received before ``moment`` (one FindItem)."""
        target = self._folder(folder)
        return self._call(
            f"räkna meddelanden i {folder}",
            lambda: target.filter(datetime_received__lt=moment).count(),
        )
