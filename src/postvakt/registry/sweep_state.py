"""What a sweep over every mailbox needs from the database, read in one statement.

:func:`sweep_states` gives each mailbox's id, its folders' sync states, whether it has
drafts to place or take away, and who holds its lease: one SELECT (mailboxes outer-joined
to their sync states, their lease and the set of mailboxes with pending drafts), so a pass
over 1,000 mailboxes costs one query instead of several per mailbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.registry.models import Draft, DraftStatus, Mailbox, MailboxLease, SyncState

__all__ = ["MailboxSweepState", "sweep_states"]

WAITING_DRAFTS = (DraftStatus.PENDING, DraftStatus.REMOVE)
"""Draft statuses a pass acts on: to be placed in Drafts, or taken out of it."""


@dataclass
class MailboxSweepState:
    """One mailbox as the database knows it at the start of a sweep."""

    mailbox_id: int
    address: str
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Folder -> the connector's stored sync state (folders never read are absent)."""
    drafts_waiting: bool = False
    """Drafts to place in Drafts or to take out of it (``pending`` or ``remove``)."""
    lease_holder: str | None = None
    lease_expires_at: datetime | None = None


def sweep_states(session: Session, address: str | None = None) -> dict[str, MailboxSweepState]:
    """Every mailbox's sweep state (or only ``address``'s), by address, from one statement."""
    waiting = (
        select(Draft.mailbox_id)
        .where(Draft.status.in_(WAITING_DRAFTS))
        .group_by(Draft.mailbox_id)
        .subquery()
    )
    query = (
        select(
            Mailbox.id,
            Mailbox.address,
            SyncState.folder,
            SyncState.state,
            MailboxLease.holder,
            MailboxLease.expires_at,
            waiting.c.mailbox_id,
        )
        .outerjoin(SyncState, SyncState.mailbox_id == Mailbox.id)
        .outerjoin(MailboxLease, MailboxLease.mailbox_id == Mailbox.id)
        .outerjoin(waiting, waiting.c.mailbox_id == Mailbox.id)
    )
    if address is not None:
        query = query.where(Mailbox.address == address)
    rows = session.execute(query)
    found: dict[str, MailboxSweepState] = {}
    for mailbox_id, mailbox_address, folder, state, holder, expires, drafts in rows:
        entry = found.get(mailbox_address)
        if entry is None:
            entry = found[mailbox_address] = MailboxSweepState(
                mailbox_id,
                mailbox_address,
                drafts_waiting=drafts is not None,
                lease_holder=holder,
                lease_expires_at=expires,
            )
        if folder is not None:
            entry.states[folder] = dict(state or {})
    return found
