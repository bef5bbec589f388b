"""What a batch looks up once for all its messages (:mod:`postvakt.intake.batch`), and how
a step knows it may skip its own lookup.

The look-ahead is kept in ``Work.shared`` under the keys below.  A step may skip a query only
when the look-ahead found nothing and no earlier message of the same batch can have written
what it looks for; a message run alone (no batch) has no look-ahead and always queries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from postvakt.intake.steps import Work

__all__ = [
    "BATCH_DRAFTS",
    "IN_BATCH",
    "KNOWN_CASES",
    "KNOWN_RECORDS",
    "KNOWN_THREAD",
    "LOCKED_SEQUENCES",
    "may_be_known",
    "thread_may_be_known",
]

KNOWN_RECORDS = "message ids with records"
KNOWN_CASES = "message ids with cases"
"""``Work.shared`` keys: of the batch's Message-IDs, those the mailbox's records held, and
those in a case (a case registered from it, or a follow-up's record in any mailbox), when
the batch began (:mod:`postvakt.intake.batch` looks them up at once)."""
IN_BATCH = "message ids in batch"
"""``Work.shared`` key: the Message-IDs of the batch's messages run so far (they may have
written records and cases the look-ahead could not see)."""
KNOWN_THREAD = "thread ids with cases"
"""``Work.shared`` key: of the Message-IDs the batch's messages refer to (In-Reply-To,
References), those a case, a case's message record or a case's draft held when the batch
began."""
BATCH_DRAFTS = "draft ids in batch"
"""``Work.shared`` key: the Message-IDs of the drafts the batch's messages run so far made."""
LOCKED_SEQUENCES = "locked diary sequences"
"""``Work.shared`` key: the diary sequence rows the transaction holds locked
(:func:`~postvakt.registry.numbering.allocate_number`); emptied by the batch whenever a
message's savepoint rolls back."""


def may_be_known(work: Work, known: str) -> bool:
    """Whether a record (``KNOWN_RECORDS``) or a case (``KNOWN_CASES``: as its own message or
    a follow-up) may have the message's Message-ID: False only when the batch's look-ahead
    found none with it and no message of the batch before this one had it, so the lookup
    can be skipped."""
    ahead = work.shared.get(known)
    if ahead is None:
        return True
    message_id = work.msg.message_id
    return message_id in ahead or message_id in work.shared.get(IN_BATCH, ())


def thread_may_be_known(work: Work) -> bool:
    """Whether a case may be found by the message's thread ids: False only when the batch's
    look-ahead found none of them and no message or draft of the batch before this one has
    one of them, so the lookups can be skipped."""
    ahead = work.shared.get(KNOWN_THREAD)
    if ahead is None:
        return True
    in_batch = work.shared.get(IN_BATCH, ())
    drafts = work.shared.get(BATCH_DRAFTS, ())
    return any(t in ahead or t in in_batch or t in drafts for t in work.msg.thread_ids)
