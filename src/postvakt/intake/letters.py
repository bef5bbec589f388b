"""The intake step that records what a citizen's letters should be like: the language they
wrote in and whether their opinion is praise (:mod:`postvakt.classifier.letter_hints`); and
the acknowledgment letter the draft step queues (:func:`acknowledgment_draft`).

The case's ``language`` chooses the letters' templates (``templates/files/en/``); the flag
``praise`` in ``classifier_flags`` chooses the thanks instead of the promise to put things
right (:func:`postvakt.templates.language.letter_kind`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from postvakt.classifier import Contact
from postvakt.classifier.letter_hints import letter_hints
from postvakt.classifier.text import citizen_text
from postvakt.intake.routing import ACTOR
from postvakt.mailbox.base import reply_subject
from postvakt.mailbox.message import IncomingMessage
from postvakt.registry.drafts import add_draft
from postvakt.registry.models import Case, CaseKind, Disposition, Mailbox
from postvakt.templates.casework import care_subject

if TYPE_CHECKING:
    from postvakt.intake import Intake
    from postvakt.intake.steps import Work

__all__ = ["acknowledgment_draft", "letter_language"]


def letter_language(intake: Intake, work: Work) -> Disposition | None:
    """Record the language of the citizen's letters (None: Swedish) and whether an opinion
    is praise; before the acknowledgment is drafted."""
    case = work.case
    assert case is not None and work.verdict is not None
    msg = intake.citizen_message(work.msg, work.verdict)
    domains = tuple(intake.config.organisation.domains)
    read = work.verdict.letter
    if read is not None and msg is work.msg and read[2] == domains:
        # The classifier read these very words (this message, the organisation's domains):
        # its hints, not a second reading.
        hints = read[1]
    else:  # a forward: the citizen's own message, read again (the same words, the same hints)
        citizen = citizen_text(msg, domains)
        hints = read[1] if read is not None and read[0] == citizen else letter_hints(citizen)
    case.language = "en" if hints.language == "en" else None
    flags = list(case.classifier_flags or [])
    if case.kind is CaseKind.OPINION and hints.praise and "praise" not in flags:
        case.classifier_flags = [*flags, "praise"]
    return None


def acknowledgment_draft(
    intake: Intake,
    session: Session,
    case: Case,
    mailbox: Mailbox,
    msg: IncomingMessage,
    contact: Contact,
    now: datetime,
    *,
    previous: int | None = None,
) -> str:
    """The case's acknowledgment letter, rendered and queued as a draft (the outbox); the
    draft's Message-ID.
    ``previous``: acknowledgments the case had before (counted when not given)."""
    assert contact.reply_to is not None
    received = case.received_at.astimezone(intake.tz).date()
    # Where the acknowledgement counts as the answer (Örebro) it says when the final
    # answer comes: the promised date, not the five working days it itself fulfils.
    promised = intake.policy.promised_date(case.kind.value, received, intake.calendar)
    due = promised or case.answer_due or case.reply_due
    recipient = contact.name or contact.reply_to.name or contact.reply_to.address
    values = {
        **intake.letters.citizen(case),
        "recipient_name": recipient,
        "answer_due": due,  # never a date already passed: see CaseLetters.render
        "summary": case.summary,
    }
    subject = reply_subject(case.subject or msg.subject)
    name = "acknowledgment"
    if case.individual_care:
        # Someone's own care: a neutral letter and subject that repeat nothing of what
        # the citizen wrote (OSL 26 kap.); a person reads and sends it.
        name, subject = "acknowledgment_care", care_subject(case)
    letter = intake.letters.render(name, case, now, **values)
    return add_draft(
        session,
        case,
        kind="ack",
        title=letter.title,
        mailbox_id=mailbox.id,
        mailbox_address=mailbox.address,
        to_address=contact.reply_to.address,
        to_name=recipient if recipient != contact.reply_to.address else None,
        subject=subject,
        in_reply_to=msg.message_id,
        references=[*msg.references, msg.message_id],
        body_text=letter.text,
        filename=letter.filename,
        data=letter.data,
        actor=ACTOR,
        now=now,
        previous=previous,
    )
