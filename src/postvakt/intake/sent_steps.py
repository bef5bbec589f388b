"""The steps of the mailbox's own Sent folder (:data:`SENT_STEPS`): what staff sent answers
the citizens' messages it replies to, and the case events that follow; an out-of-office reply
answers nobody.  The steps of incoming mail are in :mod:`.steps`."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from postvakt.classifier import screen
from postvakt.diary.outbox import outbox_of, sent_documents, sent_letter_kind
from postvakt.intake.seen import seen_before
from postvakt.intake.steps import Step, Work, parse
from postvakt.registry.models import Case, Disposition
from postvakt.registry.replies import promised_in, record_reply
from postvakt.templates import LETTERS

if TYPE_CHECKING:
    from postvakt.intake import Intake

__all__ = ["SENT_STEPS", "answered", "automatic_reply"]


def automatic_reply(intake: Intake, work: Work) -> Disposition | None:
    """An automatic reply sent from the mailbox (out-of-office) never counts as an answer."""
    work.screening = screen(work.msg)
    return Disposition.SENT if work.screening else None


def answered(intake: Intake, work: Work) -> Disposition | None:
    """Mark the citizen messages this sent mail answers, and the case events that follow."""
    msg = work.msg
    ack_title = LETTERS["acknowledgment"].title
    acknowledgment = any(a.filename.startswith(ack_title) for a in msg.attachments)
    policy, calendar = intake.policy, intake.calendar
    # Örebro: an acknowledgement that says when the answer comes is the answer the five
    # working days ask for; the date its letter names (a person may have changed it) is the
    # new deadline, else the one Postvakt proposed.
    stated = promised_in(work.fetched.raw, msg.body_text) if acknowledgment else None

    def promise(case: Case) -> date | None:
        received = case.received_at.astimezone(intake.tz).date()
        return stated or policy.promised_date(case.kind.value, received, calendar)

    answered_records = record_reply(
        work.session,
        mailbox_id=work.mailbox.id,
        thread_ids=msg.thread_ids,
        to_addresses=[a.address for a in (*msg.to, *msg.cc)],
        subject=msg.subject,
        at=msg.date or work.received_at or work.now,  # when the person sent it
        by=msg.sender.address if msg.sender else None,
        acknowledgment=acknowledgment,
        promise=promise if policy.ack_counts_as_answer else None,
    )
    outbox = outbox_of(work.session)
    cases = {r.case.id: r.case for r in answered_records if r.case is not None}
    if outbox is not None and cases:
        kind = sent_letter_kind(a.filename for a in msg.attachments)
        files = sent_documents(work.fetched.raw, msg.subject)
        for case in cases.values():
            outbox.letter_sent(
                work.session,
                case,
                kind=kind,
                at=msg.date or work.received_at or work.now,
                identity=msg.message_id or work.content_hash or str(work.fetched.key),
                by=msg.sender.address if msg.sender else None,
                attachments=files,
            )
    return Disposition.SENT


SENT_STEPS: tuple[tuple[str, Step], ...] = (
    ("parse", parse),  # the same parser as incoming mail
    ("seen_before", seen_before),  # the same sent mail read before (a copy, a UIDVALIDITY reset)
    ("automatic_reply", automatic_reply),  # out-of-office replies answer nobody
    ("answered", answered),  # In-Reply-To/References, else same person and subject
)
"""The steps for the mailbox's own Sent folder."""
