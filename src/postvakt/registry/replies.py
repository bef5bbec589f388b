"""Answers seen in a mailbox's Sent folder: which citizen messages they answer.

A sent message answers the messages it names in In-Reply-To/References (answered before
or not: a case's real answer often follows its acknowledgment); failing that (no thread, or
only messages answered before), the latest unanswered message from the same person about
the same subject received before it.
The acknowledgment letter counts as an answer for the reply clock (the routines say an
answer may be "we are working on it"); on a case it records ``acknowledged``, any other
reply ``answered``.  Where acknowledgements count as the answer (Örebro's
``ack_counts_as_answer``) the case's answer deadline becomes the date the acknowledgement
promises (:func:`promised_in` reads it from the sent letter): reminders and breaches then
follow that date, not the five working days.

A case that was sent on to another unit at intake (its service area) is answered from that
unit's mailbox: a reply there counts for the messages of the case wherever they came in.
"""

from __future__ import annotations

import email
import email.policy
import io
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from postvakt.registry.cases import add_event
from postvakt.registry.models import Case, CaseStatus, Disposition, EventKind, MessageRecord

__all__ = ["CITIZEN", "normalise_subject", "promised_in", "record_reply"]

Promise = Callable[[Case], "date | None"]
"""What a sent acknowledgement promised for a case: the date of the final answer."""

CITIZEN = (
    Disposition.CASE,
    Disposition.NOT_CASE,
    Disposition.DUPLICATE,
    Disposition.FOLLOWUP,
    Disposition.BEFORE_START,
)
"""Dispositions of citizens' messages: those a person must answer, and those from before the
mailbox's start (no deadline; a reply seen to one is kept for ``postvakt backfill``)."""

_PREFIXES = re.compile(
    r"^\s*((sv|re|svar|aw|vs|fw|fwd|vb|ang|angående)\s*(\[\d+\])?\s*[:.]\s*)+", re.IGNORECASE
)


def normalise_subject(subject: str | None) -> str:
    """'SV: Re: Snöröjning  på gatan' -> 'snöröjning på gatan'."""
    return re.sub(r"\s+", " ", _PREFIXES.sub("", subject or "")).strip().lower()


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("januari", "january", "jan"), ("februari", "february", "feb"),
            ("mars", "march", "mar"), ("april", "apr"), ("maj", "may"), ("juni", "june", "jun"),
            ("juli", "july", "jul"), ("augusti", "august", "aug"),
            ("september", "sep", "sept"), ("oktober", "october", "okt", "oct"),
            ("november", "nov"), ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_PROMISE = re.compile(
    r"(?:senast|by|no later than|not later than)(?:\s+(?:den|the))?\s+"
    r"(?:(?P<iso>\d{4}-\d{2}-\d{2})"
    rf"|(?P<day>\d{{1,2}})\.?\s+(?P<month>{_MONTH})\.?\s+(?P<year>\d{{4}})"
    rf"|(?P<month2>{_MONTH})\.?\s+(?P<day2>\d{{1,2}}),?\s+(?P<year2>\d{{4}}))",
    re.IGNORECASE,
)


def _dates(text: str) -> list[date]:
    found = []
    for match in _PROMISE.finditer(text):
        try:
            if match["iso"]:
                found.append(date.fromisoformat(match["iso"]))
            elif match["day"]:
                month = _MONTHS[match["month"].lower()]
                found.append(date(int(match["year"]), month, int(match["day"])))
            else:
                month = _MONTHS[match["month2"].lower()]
                found.append(date(int(match["year2"]), month, int(match["day2"])))
        except ValueError:  # "senast den 31 november": no date
            continue
    return found


def _letter_texts(raw: bytes) -> list[str]:
    """The text of each Word letter attached to a sent mail (what the citizen got)."""
    import docx  # imported here: only sent acknowledgements are read

    texts = []
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        for part in message.walk():
            if not (part.get_filename() or "").lower().endswith(".docx"):
                continue
            data = part.get_payload(decode=True)
            if isinstance(data, bytes) and data:
                document = docx.Document(io.BytesIO(data))
                texts.append("\n".join(p.text for p in document.paragraphs))
    except Exception:  # a letter that cannot be read (bad zip, bad XML): the text decides
        return texts
    return texts


def promised_in(raw: bytes, body: str) -> date | None:
    """The date a sent acknowledgement promises the answer by: 'senast den 7 december 2026'
    (or 'by 7 December 2026', 'senast 2026-12-07') in its Word letter, else in the mail's
    text; the latest such date when there are several.  None when it names none."""
    for text in (*_letter_texts(raw), body):
        found = _dates(text)
        if found:
            return max(found)
    return None


def record_reply(
    session: Session,
    *,
    mailbox_id: int,
    thread_ids: Sequence[str],
    to_addresses: Sequence[str],
    subject: str,
    at: datetime,
    by: str | None,
    acknowledgment: bool,
    promise: Promise | None = None,
) -> list[MessageRecord]:
    """Mark what the reply answers; write the case events.  Returns the answered records.

    ``promise`` is given where a sent acknowledgement counts as the answer: it gives the
    date the acknowledgement promised for a case, which becomes the case's answer deadline.
    """
    answered: list[MessageRecord] = []
    routed_here = select(Case.id).where(Case.mailbox_id == mailbox_id)
    if thread_ids:
        answered = list(
            session.scalars(
                select(MessageRecord).where(
                    or_(
                        MessageRecord.mailbox_id == mailbox_id,
                        MessageRecord.case_id.in_(routed_here),
                    ),
                    MessageRecord.message_id.in_(list(thread_ids)),
                    MessageRecord.disposition.in_(CITIZEN),
                )
            )
        )
    if (
        all(r.answered_at is not None for r in answered)
        and to_addresses
        and normalise_subject(subject)
    ):
        # No thread, or a thread whose messages were all answered before (a reply to the
        # case's first message, written to answer what the citizen asked after the answer):
        # the latest unanswered message from them about the same subject.
        wanted = normalise_subject(subject)
        candidates = session.scalars(
            select(MessageRecord)
            .where(
                # this mailbox's, or in a case routed here (what came to the central mailbox)
                or_(
                    MessageRecord.mailbox_id == mailbox_id,
                    MessageRecord.case_id.in_(routed_here),
                ),
                MessageRecord.sender_address.in_([a.lower() for a in to_addresses]),
                MessageRecord.disposition.in_(CITIZEN),
                MessageRecord.answered_at.is_(None),
                MessageRecord.received_at <= at,
            )
            .order_by(MessageRecord.received_at.desc())
        )
        # after a thread, only a message of the same case: a reply in one case's thread
        # answers neither another case with the same subject nor a message in no case
        cases = {r.case_id for r in answered if r.case_id is not None}
        match = next(
            (
                r
                for r in candidates
                if normalise_subject(r.subject) == wanted and (not answered or r.case_id in cases)
            ),
            None,
        )
        if match is not None and match not in answered:
            answered.append(match)
    answered += _same_mail(session, answered)
    for record in answered:
        if record.answered_at is None:  # the first answer stops the reply clock
            record.answered_at, record.answered_by = at, by
        case = record.case
        if case is None:
            continue
        if acknowledgment and case.status is CaseStatus.REGISTERED:
            case.status = CaseStatus.ACKNOWLEDGED
            detail = "Mottagningsbekräftelsen skickades till avsändaren"
            if promise is not None:
                detail += _counts_as_answer(case, promise(case), at)
            add_event(
                session, case, EventKind.ACKNOWLEDGED, actor=by or "okänd", at=at, detail=detail
            )
        elif not acknowledgment and case.status in (
            CaseStatus.REGISTERED,
            CaseStatus.ACKNOWLEDGED,
            CaseStatus.REOPENED,
        ):
            case.status = CaseStatus.ANSWERED
            add_event(
                session,
                case,
                EventKind.ANSWERED,
                actor=by or "okänd",
                at=at,
                detail=f"Svar skickat: {subject[:120]}",
            )
    return answered


def _same_mail(session: Session, answered: Sequence[MessageRecord]) -> list[MessageRecord]:
    """The other records, in the same case, of the e-mails ``answered`` (Message-ID and
    content): a copy read in another watched mailbox (a reply to all, a Cc), or the message
    such a copy was read of.  One answer answers the e-mail wherever it was read: no
    sighting of it waits for a reply of its own.  Queried only when one is in a case.

    Records written before content hashes were kept (none stored) match by Message-ID, as
    the intake matches them."""
    held: dict[tuple[str | None, int], set[str | None]] = {}
    for record in answered:
        if record.case_id is not None and record.message_id:
            held.setdefault((record.message_id, record.case_id), set()).add(record.content_hash)
    if not held:
        return []
    found = session.scalars(
        select(MessageRecord)
        .where(
            MessageRecord.message_id.in_({m for m, _ in held}),
            MessageRecord.case_id.in_({c for _, c in held}),
            MessageRecord.disposition.in_(CITIZEN),
            MessageRecord.id.not_in([r.id for r in answered]),
        )
        .order_by(MessageRecord.id)
    )
    same = []
    for record in found:
        hashes = held.get((record.message_id, record.case_id or 0))
        if hashes is not None and (
            record.content_hash is None or None in hashes or record.content_hash in hashes
        ):
            same.append(record)
    return same


def _counts_as_answer(case: Case, promised: date | None, sent: datetime) -> str:
    """The acknowledgement is the answer the reply rule asks for: the case's answer clock
    now runs to the date it promised.  Returns the words for the event."""
    text = "; den räknas som svar enligt rutinen"
    # A date before the letter was sent is no promise (a slip, or a backdated letter).
    if promised is not None and promised >= sent.date():
        case.answer_due = promised
    if case.answer_due is not None:
        text += f", och svaret är utlovat senast {case.answer_due.isoformat()}"
    return text
