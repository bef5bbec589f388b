"""The letters of a pass's new drafts, kept in memory from their batch's commit until placed.

A batch of the intake renders each new case's letter (a .docx of about 10 KB) and writes it
with the draft; after the commit the draft placer (:mod:`postvakt.intake.placer`), or the
pass at its end, reads the pending drafts back to append them.  Reading the letters back
cost the database more than anything else it does for those drafts (on PostgreSQL each is
stored out of line, in pieces).  So the pass keeps the letters it wrote: the draft is still
read from the database (which drafts are pending, to whom, where), only its letter's bytes
come from here, and a draft whose letter is not here (written by another pass, or its batch
rolled back) has it read from the database as before.

A letter counts only once the transaction that wrote it has committed: until then it is
*pending* here, and a rollback drops every pending one.  A letter never changes after its
draft is written, so a committed one is the database's.  Each is handed out once, and at most
:data:`MAX_BYTES` are kept (a placer stopped by a refusing server hands nothing over; its
pass's letters then stay in the database only).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session

__all__ = ["MAX_BYTES", "FreshLetters", "fresh_letters", "remembering"]

_KEY = "postvakt.fresh_letters"

MAX_BYTES = 16 * 1024 * 1024
"""At most this many bytes of letters kept (about 1,600 letters of 10 KB): a placer keeps
up within a batch or two, so only a pass whose placer stopped reaches it."""


class FreshLetters:
    """Letters by their draft's Message-ID: pending (their transaction open) or committed."""

    def __init__(self) -> None:
        self._pending: dict[str, bytes] = {}
        self._committed: dict[str, bytes] = {}
        self._size = 0

    def keep(self, letters: Iterable[tuple[str, bytes | None]]) -> None:
        """Keep the letters of drafts just written in the open transaction."""
        for message_id, data in letters:
            if data is None or self._size + len(data) > MAX_BYTES:
                continue
            if message_id in self._pending or message_id in self._committed:
                continue  # a draft's letter never changes; counted once
            self._pending[message_id] = data
            self._size += len(data)

    def take(self, message_id: str) -> bytes | None:
        """The committed letter of the draft ``message_id``, handed out once; None if not
        kept."""
        data = self._committed.pop(message_id, None)
        if data is not None:
            self._size -= len(data)
        return data

    def committed(self) -> None:
        self._committed.update(self._pending)
        self._pending.clear()

    def rolled_back(self) -> None:
        self._size -= sum(map(len, self._pending.values()))
        self._pending.clear()

    def __len__(self) -> int:
        return len(self._pending) + len(self._committed)


def fresh_letters(session: Session) -> FreshLetters | None:
    """The letters ``session``'s pass keeps, if it keeps them."""
    found = session.info.get(_KEY)
    return found if isinstance(found, FreshLetters) else None


@contextmanager
def remembering(session: Session) -> Iterator[FreshLetters]:
    """Keep the letters of the drafts written on ``session`` while the block runs."""
    letters = session.info[_KEY] = FreshLetters()
    try:
        yield letters
    finally:
        session.info.pop(_KEY, None)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    letters = fresh_letters(session)
    # A savepoint's release fires this too; only the transaction's own commit counts.
    if letters is not None and not session.in_nested_transaction():
        letters.committed()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    letters = fresh_letters(session)
    if letters is not None:  # a savepoint's too: which pending letter was its is not known
        letters.rolled_back()
