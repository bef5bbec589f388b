"""When each mailbox last had a whole pass without an error, kept in the database.

A pass that read every watched folder and placed its drafts without a server error notes
its end here, in the transaction that gives the mailbox's lease back (so it costs no commit
of its own).  ``/readyz`` and ``/metrics`` read it: a web process on another machine knows
whether the mail servers answer without logging in to one itself.

The note is a row in ``sync_states`` under a folder name no mail server accepts for a real
folder (``*`` is IMAP LIST's wildcard; Maildir folders start with a dot), so it needs no
table of its own; its ``updated_at`` is the moment, its state says which process.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postvakt.registry.messages import save_state
from postvakt.registry.models import SyncState

__all__ = ["MARKER_FOLDER", "last_pass", "last_passes", "note_pass"]

MARKER_FOLDER = "*pass*"
"""The pseudo-folder whose sync state row holds a mailbox's last good pass."""


def note_pass(session: Session, mailbox_id: int, holder: str, now: datetime) -> None:
    """Note that ``holder`` ended a good pass over the mailbox at ``now`` (in the caller's
    transaction)."""
    save_state(session, mailbox_id, MARKER_FOLDER, {"holder": holder}, now)


def last_passes(session: Session) -> dict[int, datetime]:
    """Each mailbox's last good pass (mailbox id -> when); a mailbox never passed is absent."""
    rows = session.execute(
        select(SyncState.mailbox_id, SyncState.updated_at).where(SyncState.folder == MARKER_FOLDER)
    )
    return {mailbox_id: at for mailbox_id, at in rows}


def last_pass(session: Session) -> datetime | None:
    """The latest good pass over any mailbox, or None if there was none."""
    return session.scalar(
        select(func.max(SyncState.updated_at)).where(SyncState.folder == MARKER_FOLDER)
    )
