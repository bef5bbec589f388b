"""A message's copies go where the message goes.

A copy is the same e-mail (Message-ID *and* content) read at another place — a Bcc to a
second watched mailbox, another watched folder, the file delivered again — which the intake
records as a duplicate (:data:`~postvakt.registry.models.Disposition.DUPLICATE`) of what the
message became then, with its case if any (``postvakt.intake.seen.seen_before``,
``already_registered``).  Nothing else links it to the message: no column names its
original.  So whenever a person moves a message to another case, or out of its case, the
copies that were where the message was move with it (a merge moves all the merged case's
records at once): a case never claims a copy of an e-mail it does not hold, and the copies
of one it does hold are listed with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.registry.messages import same_mail
from postvakt.registry.models import Disposition, MessageRecord
from postvakt.wording import listed

__all__ = ["copies_said", "move_copies"]


def move_copies(
    session: Session, record: MessageRecord, *, was: int | None, to: int | None
) -> list[int]:
    """Move the copies of ``record``'s e-mail that are in case ``was`` (None: in no case),
    where ``record`` was, to case ``to`` (None: in no case).  Their numbers, in order.

    The same e-mail is the same Message-ID and content; a record written before content
    hashes were kept (none stored) matches by Message-ID, as the intake matches it."""
    if not record.message_id:
        return []
    same = (
        same_mail(record.message_id, record.content_hash)
        if record.content_hash
        else MessageRecord.message_id == record.message_id
    )
    where = [
        same,
        MessageRecord.id != record.id,
        MessageRecord.disposition == Disposition.DUPLICATE,
        MessageRecord.case_id.is_(None) if was is None else MessageRecord.case_id == was,
    ]
    copies = list(session.scalars(select(MessageRecord).where(*where).order_by(MessageRecord.id)))
    for copy in copies:
        copy.case_id = to
    return [copy.id for copy in copies]


def copies_said(numbers: Sequence[int]) -> str:
    """The sentence that says which copies went with a message (or "" for none), to end
    an event or a reply with: " Kopian nr 7 (samma e-post, läst på ett annat ställe)
    följde med." """
    if not numbers:
        return ""
    if len(numbers) == 1:
        return f" Kopian nr {numbers[0]} (samma e-post, läst på ett annat ställe) följde med."
    numbered = listed([str(n) for n in numbers])
    return f" De {len(numbers)} kopiorna nr {numbered} (samma e-post, läst på andra ställen) följde med."
