"""The steps of one message's way, in order in :data:`STEPS` (those of the mailbox's own
Sent folder are in :mod:`.sent_steps`).

Each is a small function with one job that either returns None (go on) or the message's
final :class:`Disposition` (stop here).  Deciding is apart from acting: ``screen`` and
``classify`` only look; ``register`` and ``draft`` write.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from postvakt.care import flag_from_verdict
from postvakt.classifier import (
    Contact,
    Label,
    Screening,
    Verdict,
    find_contact,
    internal,
    screen,
)
from postvakt.classifier.limits import TEXT_CUT_REASON, cap_text
from postvakt.classifier.verdict import is_care_case
from postvakt.classifier.webform import form_fields
from postvakt.delegation.handover import hand_over
from postvakt.errors import InvalidInputError
from postvakt.intake.letters import acknowledgment_draft, letter_language
from postvakt.intake.lookahead import LOCKED_SEQUENCES, thread_may_be_known
from postvakt.intake.routing import service_area
from postvakt.intake.seen import already_registered, joined_meanwhile, seen_before
from postvakt.intake.start import Backfill, before_start, late_registration
from postvakt.mailbox.base import (
    FetchedMessage,
    FolderRole,
)
from postvakt.mailbox.identity import content_hash
from postvakt.mailbox.message import IncomingMessage, parse_message
from postvakt.registry.cases import (
    NewCase,
    add_event,
    case_by_number,
    case_for_thread,
    case_in_force,
    make_heading,
    mark_for_review,
    normalise_number,
    register_case,
)
from postvakt.registry.diary_numbers import set_diary_number
from postvakt.registry.lifecycle import attach_followup
from postvakt.registry.models import (
    Case,
    CaseKind,
    CaseStatus,
    Disposition,
    EventKind,
    Mailbox,
)
from postvakt.registry.numbering import format_number

if TYPE_CHECKING:
    from postvakt.intake import Intake
    from postvakt.intake.prepare import Prepared

__all__ = ["ACTOR", "BY_HAND_STEPS", "STEPS", "Step", "Work"]

log = logging.getLogger("postvakt.intake")

ACTOR = "postvakt"
Classify = Callable[[IncomingMessage], Verdict]
NotSatisfied = Callable[..., None]
"""``(session, case, *, now, reason)``: a new review of an answered case (``Casework.not_satisfied``)."""
Cover = Callable[[str, date, Session], str]
"""``(person, day, session)``: who reads the person's mail and takes their cases that day."""
REVIEWABLE = frozenset({CaseStatus.ANSWERED, CaseStatus.CLOSED})
"""A not-satisfied reply reopens a case in these states; before the answer it is a note."""


@dataclass
class Work:
    """One message on its way through the steps; each step fills in its part."""

    session: Session
    mailbox: Mailbox
    fetched: FetchedMessage
    now: datetime
    role: FolderRole = "inbox"
    message: IncomingMessage | None = None
    content_hash: str | None = None
    """Of the raw bytes' content (:func:`postvakt.mailbox.identity.content_hash`)."""
    reason: str | None = None
    """Why the message ended where it did, when no screening or verdict says it."""
    review_reasons: list[str] = field(default_factory=list)
    """What a person must look at (Swedish), put on the case or the message's record."""
    mentioned: Case | None = None
    """A case the message names but may not join (its sender is no party to it)."""
    registered_by: str | None = None
    """A person registering the message by hand (``cases register``); None for the intake."""
    decided: Label | None = None
    """The kind that person gave: it stands in for the classifier's label."""
    screening: Screening | None = None
    verdict: Verdict | None = None
    contact: Contact | None = None
    received_at: datetime | None = None
    reply_due: date | None = None
    case: Case | None = None
    draft: str | None = None
    """The Message-ID of the acknowledgment drafted for the message, if one was."""
    covered_by: str | None = None
    """Who covers the case's handler today (the handler themself when present)."""
    backfill: Backfill | None = None
    """A person asked for this older mail to be registered (``postvakt backfill``)."""
    letter: bool = True
    """Whether the case gets its acknowledgment (not when it was answered before it was
    registered)."""
    shared: dict[Any, Any] = field(default_factory=dict)
    """What the messages of one batch (one transaction) share: what is looked up once for
    all of them (who covers a person on a day, :mod:`postvakt.intake.lookahead`)."""
    prepared: Prepared | None = None
    """The message parsed and classified ahead by the intake's helper process, with the
    organisation's model in use (:mod:`postvakt.intake.prepare`); None: the steps do it."""

    @property
    def msg(self) -> IncomingMessage:
        assert self.message is not None, "the parse step runs first"
        return self.message


Step = Callable[["Intake", Work], Disposition | None]


# --------------------------------------------------------------------------- the steps


def parse(intake: Intake, work: Work) -> Disposition | None:
    """Raw bytes -> IncomingMessage; the arrival stamp is the mailbox's, else the Date header.

    The steps after this one read at most the first 200,000 characters of the text
    (:func:`~postvakt.classifier.limits.cap_text`): one huge message must not hold up the
    intake.  A cut message says so on its record (a defect) and on its case (a reason).
    """
    prepared = work.prepared
    if prepared is not None:  # parsed ahead, from the same bytes (:mod:`.prepare`)
        work.message, cut, work.content_hash = prepared.message, prepared.cut, prepared.content_hash
    else:
        work.message, cut = cap_text(parse_message(work.fetched.raw))
        work.content_hash = content_hash(work.fetched.raw)
    if cut:
        work.review_reasons.append(TEXT_CUT_REASON)
    work.received_at = (work.fetched.received_at or work.message.date or work.now).astimezone(
        intake.tz
    )
    return None


def screen_machine_mail(intake: Intake, work: Work) -> Disposition | None:
    """Automatic replies, delivery reports and bulk mail never become cases.

    A configured web-form gateway is a citizen's channel even when it marks its mail as
    machine-generated (many e-services send ``Auto-Submitted: auto-generated``).
    """
    sender = work.msg.sender
    if sender and sender.address in intake.config.organisation.web_form_senders:
        return None
    prepared = work.prepared
    if prepared is not None and prepared.message is work.message:  # screened ahead
        work.screening = prepared.screening
    else:
        work.screening = screen(work.msg)
    return Disposition.SCREENED if work.screening else None


def internal_mail(intake: Intake, work: Work) -> Disposition | None:
    """Mail from the organisation's own domains is colleagues' mail, not a citizen's.

    Unless it forwards a citizen's message (the citizen's text is then what is judged), or
    comes from a web-form gateway in the own domains (``organisation.web_form_senders``).
    """
    org = intake.config.organisation
    found = internal(work.msg, org.domains, org.web_form_senders)
    if found is None:
        return None
    work.screening = found
    return Disposition.INTERNAL


def registrar_reply(intake: Intake, work: Work) -> Disposition | None:
    """The registrar answers a notice with the diary number (numbering = diary): the case
    named by its reference gets that number.  Only the registrar's own address is believed."""
    registrar = intake.config.organisation.registrar
    msg = work.msg
    if (
        intake.config.registry.numbering != "diary"
        or not registrar
        or msg.sender is None
        or msg.sender.address.lower() != registrar
    ):
        return None
    found = diary_number_in_reply(intake, msg.subject or "", msg.body_text or "")
    if found is None:
        return None
    reference, number = found
    case = case_by_number(work.session, reference)
    if case is None:
        return None
    try:
        with work.session.begin_nested():
            set_diary_number(
                work.session, case, number, by=registrar, at=work.now, how="registratorns svar"
            )
    except InvalidInputError as exc:  # a number another case has: a person must look
        mark_for_review(case, f"registratorns svar: {exc}")
    work.case = case
    work.screening = Screening("registrar", f"registratorns svar med diarienummer för {reference}")
    return Disposition.INTERNAL


def diary_number_in_reply(intake: Intake, subject: str, body: str) -> tuple[str, str] | None:
    """(Postvakt's reference, the diary number) in a registrar's reply: the reference in the
    subject (as the notice wrote it), the number in the subject or on the first line."""
    references = [
        (m.span(), fmt, prefix, m)
        for pattern, fmt, prefix in intake.numbers.formats[1:]
        for m in pattern.finditer(subject)
    ]
    if not references:
        return None
    _span, fmt, prefix, match = references[0]
    reference = format_number(fmt, prefix, int(match["year"]), int(match["seq"]))
    diary = re.compile(intake.config.registry.number_pattern)
    first_line = next((line.strip() for line in body.splitlines() if line.strip()), "")
    for text, taken in ((first_line, ()), (subject, [r[0] for r in references])):
        for candidate in diary.finditer(text):
            if any(candidate.start() < e and s < candidate.end() for s, e in taken):
                continue  # the reference itself
            number = candidate["number"] if "number" in diary.groupindex else candidate[0]
            if number and normalise_number(number) != reference:
                return reference, normalise_number(number)
    return None


def reply_deadline(intake: Intake, work: Work) -> Disposition | None:
    """Every citizen message gets an answer deadline, case or not."""
    assert work.received_at is not None
    work.reply_due = intake.policy.reply.due(work.received_at.date(), intake.calendar)
    return None


WITHDRAWN_BY_SENDER = (
    "avsändaren skriver i ärendets tråd att klagomålet tas tillbaka: se efter om ärendet ska "
    "avslutas, och notera det i svaret"
)
"""The note and review reason of a case whose citizen withdraws the complaint in its thread."""
DISOWNED_BY_SENDER = (
    "avsändaren skriver i ärendets tråd att hen aldrig har lämnat något klagomål: se efter "
    "vem ärendets brev gick till (ett brev till fel person är en personuppgiftsincident)"
)
"""The note and review reason of a case whose letter's addressee says they never complained."""


def follow_up(intake: Intake, work: Work) -> Disposition | None:
    """The citizen wrote again in a case's thread: the message joins that case.

    When they write that the answer did not satisfy them (the classifier's
    ``followup_not_satisfied``) and the case was answered or closed, it is reopened for a new
    review by the nearest superior manager, with the notice of new review drafted.
    """
    msg = work.msg
    thread = msg.thread_ids if thread_may_be_known(work) else ()
    # a merged case's thread goes on where its message is now; a withdrawn one takes
    # nothing more: the message is judged on its own, and watched
    case = case_in_force(
        work.session, case_for_thread(work.session, thread, msg.subject, intake.numbers)
    )
    if case is None:
        return None
    if not intake.may_join(case, msg):
        # Quoting a diary number does not let anyone into a case: the message is judged on
        # its own, and a person decides whether it belongs to the case it names.
        work.review_reasons.append(
            f"nämner ärende {case.label}, men avsändaren är inte part i det ärendet"
        )
        work.mentioned = case
        return None
    if (copy := joined_meanwhile(work, case)) is not None:  # read in another process now
        return copy
    work.case = case
    work.verdict = verdict = intake.classify(msg)
    attach_followup(work.session, case, at=work.now, calendar=intake.calendar, subject=msg.subject)
    if verdict.withdraws_complaint or verdict.disowns_complaint:
        # "Jag vill ta tillbaka mitt klagomål" in the case's own thread: a person decides
        # whether the case is closed, and the case says why it waits for them.  "Jag har inte
        # skickat något klagomål": a person finds out who the case's letters went to.
        said = WITHDRAWN_BY_SENDER if verdict.withdraws_complaint else DISOWNED_BY_SENDER
        add_event(work.session, case, EventKind.NOTE, actor=ACTOR, at=work.now, detail=said)
        mark_for_review(case, said)
        return Disposition.FOLLOWUP
    if not verdict.followup_not_satisfied:
        return Disposition.FOLLOWUP
    if case.status in REVIEWABLE and intake.not_satisfied is not None:
        reason = next((r for r in verdict.reasons if r.startswith("svar i en ärendetråd")), "")
        intake.not_satisfied(work.session, case, now=work.now, reason=reason)
    else:
        add_event(
            work.session,
            case,
            EventKind.NOTE,
            actor=ACTOR,
            at=work.now,
            detail="Avsändaren skriver att hen inte är nöjd; ärendet är ännu inte besvarat.",
        )
    return Disposition.FOLLOWUP


def needs_a_person(intake: Intake, work: Work) -> Disposition | None:
    """What the steps before found that a person must look at goes on the case, visibly."""
    case = work.case
    assert case is not None
    for reason in work.review_reasons:
        mark_for_review(case, reason)
    if work.mentioned is not None:
        add_event(
            work.session,
            work.mentioned,
            EventKind.NOTE,
            actor=ACTOR,
            at=work.now,
            detail=f"Ett meddelande från en annan avsändare nämner ärendet; det registrerades "
            f"som {case.label} och behöver granskas.",
        )
    return None


def classify(intake: Intake, work: Work) -> Disposition | None:
    """Complaint, opinion or other; 'other' stops here.  An uncertain verdict (the review
    band) is a case for a person to confirm, never silently dropped."""
    prepared = work.prepared
    if prepared is not None and prepared.message is work.message:  # classified ahead
        work.verdict = prepared.verdict
    else:
        work.verdict = intake.classify(work.msg)
    return None if work.verdict.is_case else Disposition.NOT_CASE


def decided_by_a_person(intake: Intake, work: Work) -> Disposition | None:
    """A person said what the message is: the classifier still reads it for the flags
    (forwarded by staff, anonymous, personal data), but its label is the person's."""
    assert work.decided is not None and work.registered_by is not None
    verdict = intake.classify(work.msg)
    # The care detector's answer holds for the person's label too: the model gave none for
    # a message it took for "annat" (the very ones registered by hand).
    care = verdict.individual_care or is_care_case(
        work.decided, verdict.care_probability, verdict.care_threshold
    )
    work.verdict = replace(
        verdict,
        label=work.decided,
        confidence=1.0,
        reasons=(f"registrerat av {work.registered_by}", *verdict.reasons[:2]),
        needs_review=False,
        individual_care=care,
    )
    return None


def register(intake: Intake, work: Work) -> Disposition | None:
    """Give the complaint or opinion a diary number (the collective one when anonymous).

    A citizen's message forwarded by staff is registered as the citizen's: their contact
    details, their subject and text; the arrival stamp and Message-ID are the forward's.
    """
    assert work.verdict is not None and work.received_at is not None
    msg = intake.citizen_message(work.msg, work.verdict)
    prepared = work.prepared
    if prepared is not None and prepared.message is msg:  # found ahead, with the same addresses
        work.contact = contact = prepared.contact
    else:
        work.contact = contact = find_contact(msg, intake.own_addresses)
    kind = CaseKind.COMPLAINT if work.verdict.label is Label.COMPLAINT else CaseKind.OPINION
    received = work.received_at.date()
    policy = intake.policy
    form_text = form_fields(msg.body_text).get("meddelande")
    heading = make_heading("" if form_text else msg.subject, form_text or msg.body_text)
    details = [d for d in (contact.phone, contact.postal) if d]
    if contact.anonymous:
        # Nobody to answer: the routines promise feedback only to those who left contact details.
        work.reply_due = None
    sender = contact.reply_to
    ack_due, answer_due = policy.case_deadlines(kind.value, received, intake.calendar)
    work.case = register_case(
        work.session,
        NewCase(
            kind=kind,
            summary=heading.removeprefix("Synpunkter och klagomål – "),
            heading=heading,
            received_at=work.received_at,
            registered_at=work.now,
            anonymous=contact.anonymous,
            mailbox_id=work.mailbox.id,
            unit_id=work.mailbox.unit_id,
            handler=intake.handler_for(work.mailbox),
            sender_name=(contact.name or (sender.name if sender else None)) or None,
            sender_address=sender.address if sender else None,
            contact=", ".join(details) or None,
            subject=msg.subject or work.msg.subject,
            message_id=work.msg.message_id,
            content_hash=work.content_hash,
            reply_due=work.reply_due,
            ack_due=None if contact.anonymous else ack_due,
            answer_due=None if contact.anonymous else answer_due,
            needs_review=work.verdict.needs_review,
            classifier_label=work.verdict.label.value,
            classifier_confidence=work.verdict.confidence,
            classifier_reasons=work.verdict.reasons,
            classifier_flags=(
                *work.verdict.flags,
                *(("forwarded",) if work.verdict.forwarded else ()),
            ),
            original=work.fetched.raw,
        ),
        numbering=intake.numbering,
        locked=work.shared.setdefault(LOCKED_SEQUENCES, {}),
        flush=False,  # inserted with what the next steps set on it, not updated after
        actor=work.registered_by or ACTOR,
        detail=(
            f"Registrerat av {work.registered_by} från ett meddelande i {work.mailbox.address}"
            if work.registered_by
            else f"Registrerat automatiskt från {work.mailbox.address}"
        )
        + (" under samlingsnumret för anonyma ärenden" if contact.anonymous else ""),
    )
    return None


def individual_care(intake: Intake, work: Work) -> Disposition | None:
    """About a person's own care (the classifier's care detector): marked, with an event, and
    sent to the deviation function after commit (:mod:`postvakt.care`); its acknowledgment
    is the neutral one."""
    assert work.case is not None and work.verdict is not None
    if work.verdict.individual_care:
        verdict = work.verdict
        flag_from_verdict(
            work.session, work.case, verdict.care_probability, work.now, verdict.care_threshold
        )
    return None


def notify_registrar(intake: Intake, work: Work) -> Disposition | None:
    """The registrar gets the case card and the original after commit (see Casework)."""
    assert work.case is not None
    if (
        intake.config.organisation.registrar
        and intake.config.organisation.registrar_notice != "none"
    ):
        work.case.registrar_status = "pending"
    return None


def follow_the_substitute(intake: Intake, work: Work) -> Disposition | None:
    """A case for someone who is away goes to whoever covers them; private mail stays theirs."""
    case = work.case
    assert case is not None
    case.private = intake.is_private(work.msg)
    if not case.handler:
        return None
    handler = case.handler
    day = work.now.astimezone(intake.tz).date()
    key = ("cover", handler, day)
    if key not in work.shared:  # the absences do not change within the batch's transaction
        with work.session.no_autoflush:  # nor does anything pending touch them: flush later
            work.shared[key] = intake.cover(handler, day, work.session)
    work.covered_by = work.shared[key]
    if not case.private and work.covered_by != handler:
        hand_over(work.session, case, work.covered_by, regular=handler, now=work.now)
    return None


def draft_acknowledgment(intake: Intake, work: Work) -> Disposition | None:
    """Render the acknowledgment letter and put it in the outbox; anonymous cases get none.

    Private mail to someone who is away gets no draft: their delegate reads the mailbox.
    """
    case, contact = work.case, work.contact
    assert case is not None and contact is not None
    kept_from_delegate = case.private and work.covered_by not in (None, case.handler)
    if (
        work.letter
        and not case.anonymous
        and contact.reply_to is not None
        and not kept_from_delegate
    ):
        work.draft = acknowledgment_draft(
            intake,
            work.session,
            case,
            work.mailbox,
            work.msg,
            contact,
            work.now,
            previous=0,  # registered by this message's steps: it has no draft yet
        )
    return None


BY_HAND_STEPS: tuple[tuple[str, Step], ...] = (
    ("parse", parse),  # the bytes as they are in the mailbox (or the withdrawn case's original)
    ("reply_deadline", reply_deadline),  # deadlines count from the message's arrival
    ("decided", decided_by_a_person),  # the person's kind, the classifier's flags
    ("register", register),
    ("area", service_area),
    ("letters", letter_language),
    ("care", individual_care),
    ("review", needs_a_person),
    ("late", late_registration),
    ("substitute", follow_the_substitute),
    ("registrar", notify_registrar),
    ("draft", draft_acknowledgment),
)
"""A recorded message a person registers by hand (``cases register``, the review queue)."""


STEPS: tuple[tuple[str, Step], ...] = (
    ("parse", parse),  # never raises: broken MIME is carried as defects
    ("seen_before", seen_before),  # the same message read before at another place
    ("already_registered", already_registered),  # in a case once, whichever mailbox
    ("before_start", before_start),  # older than the mailbox's start: seen, not acted on
    ("screen", screen_machine_mail),  # machine mail stops before anyone counts it
    ("registrar_reply", registrar_reply),  # the registrar's reply giving a diary number
    ("internal", internal_mail),  # colleagues' mail is not a citizen's
    ("reply_deadline", reply_deadline),  # every citizen message must be answered in time
    ("follow_up", follow_up),  # a new message in a case's thread joins that case
    ("classify", classify),  # complaint / opinion go on; other stops
    ("register", register),  # the diary number
    ("area", service_area),  # the service area; from a central mailbox to the unit that has it
    ("letters", letter_language),  # English letters to English mail; praise is thanked
    ("care", individual_care),  # someone's own care: to the deviation module too
    ("review", needs_a_person),  # what a person must check is put on the case
    ("late", late_registration),  # its deadline already passed: flagged once, no reminders
    ("substitute", follow_the_substitute),  # the work of someone away goes to who covers
    ("registrar", notify_registrar),  # the registrar's notice, sent after commit
    ("draft", draft_acknowledgment),  # the acknowledgment letter, into the outbox
)
