"""Steps that know a message seen before: the same e-mail (Message-ID *and* content) read
again at another place is recorded as a duplicate of what it became the first time, with
its case if any, so that nobody is asked to answer it twice.

- In the same mailbox (:func:`seen_before`): a copy in another watched folder, a move
  between them, the folder read again after its UIDVALIDITY changed.
- In another mailbox (:func:`already_registered`): sent to two watched mailboxes, a reply
  to all, a Cc to a function mailbox.  Whether it was registered as a case or joined a
  case as the citizen's later message, it is in that case once.
- At the same moment in another process (:func:`joined_meanwhile`, PostgreSQL): two
  transactions joining the same e-mail to a case go one after the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from postvakt.intake.lookahead import KNOWN_CASES, KNOWN_RECORDS, may_be_known
from postvakt.registry.messages import case_of_message, earlier_record
from postvakt.registry.models import Case, Disposition

if TYPE_CHECKING:
    from postvakt.intake import Intake
    from postvakt.intake.steps import Work

__all__ = ["already_registered", "joined_meanwhile", "seen_before"]

IN_THE_CASE = "samma meddelande finns redan i ärendet (läst på ett annat ställe)"
"""Why a copy of a citizen's later message in a case is a duplicate."""


def seen_before(intake: Intake, work: Work) -> Disposition | None:
    """The same message was read before in this mailbox, at another place: a copy in another
    watched folder, a move between them, the folder read again after its UIDVALIDITY changed.

    The same is Message-ID *and* content; it is recorded as a duplicate of what it became
    then (with that case, if any), so nobody is asked to answer it twice.
    """
    if not may_be_known(work, KNOWN_RECORDS):
        return None
    earlier = earlier_record(
        work.session,
        work.mailbox.id,
        work.msg.message_id,
        work.content_hash,
        sent=work.role == "sent",
    )
    if earlier is None:
        return None
    work.case = earlier.case
    work.reason = f"samma meddelande har redan lästs (i {earlier.folder})"
    return Disposition.DUPLICATE


def already_registered(intake: Intake, work: Work) -> Disposition | None:
    """The same e-mail is in a case already, read in another mailbox (sent to two watched
    mailboxes, a reply to all, re-synced): registered as the case, or joined to it as the
    citizen's later message.  It is a duplicate with that case: the case hears of it once.

    The same is Message-ID *and* content: a reused Message-ID on a new message is not enough.
    """
    if not may_be_known(work, KNOWN_CASES):
        return None
    existing = case_of_message(work.session, work.msg.message_id, work.content_hash)
    if existing is None:
        return None
    return _duplicate_in(work, existing)


def _duplicate_in(work: Work, case: Case) -> Disposition:
    work.case = case
    own = case.message_id == work.msg.message_id
    work.reason = "samma meddelande är redan registrerat" if own else IN_THE_CASE
    return Disposition.DUPLICATE


def joined_meanwhile(work: Work, case: Case) -> Disposition | None:
    """Just before the message joins ``case`` (:func:`~postvakt.intake.steps.follow_up`):
    whether its copy joined a case since :func:`already_registered` looked, in another
    process's transaction (another mailbox read at the same moment).

    On PostgreSQL the case's row is locked to the commit (``FOR NO KEY UPDATE``: rows that
    merely refer to the case are not held up), so two transactions joining the same e-mail
    to it go one after the other, and the second looks again once the first committed: it
    records a duplicate.  On SQLite one transaction writes at a time (``BEGIN IMMEDIATE``)
    and nothing can come between the look and the join.
    """
    session = work.session
    if session.get_bind().dialect.name != "postgresql":
        return None
    session.execute(select(Case.id).where(Case.id == case.id).with_for_update(key_share=True))
    existing = case_of_message(session, work.msg.message_id, work.content_hash)
    if existing is None:
        return None
    work.reply_due = None  # a copy has no reply clock of its own: its message has
    return _duplicate_in(work, existing)
