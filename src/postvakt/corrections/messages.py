"""Messages that were not made cases: registered by hand, attached to the case they belong
to (and taken off it again), flagged for review, set aside."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from postvakt.classifier import Label
from postvakt.classifier.model import DISOWNED_REASON, WITHDRAWAL_REASON
from postvakt.clock import STOCKHOLM
from postvakt.corrections.common import (
    KIND_SV,
    REVIEWABLE_NON_CASES,
    Corrected,
    CorrectionsBase,
    label_of,
    may_see_message,
)
from postvakt.corrections.copies import copies_said, move_copies
from postvakt.errors import (
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    PostvaktError,
)
from postvakt.mailbox.base import FetchedMessage
from postvakt.registry.case_query import answered_in, awaiting_reply
from postvakt.registry.cases import add_event, mark_for_review
from postvakt.registry.db import database_errors
from postvakt.registry.lifecycle import attach_followup
from postvakt.registry.models import (
    Case,
    CaseStatus,
    Disposition,
    EventKind,
    Mailbox,
    MessageRecord,
)
from postvakt.roles import User, can_act_on_case, can_correct_message, can_view_case
from postvakt.rules.notify import Planned

__all__ = [
    "AFTER_THE_ANSWER",
    "BEFORE_THE_WAIT",
    "DETACHED",
    "DISOWNED_IN_MESSAGE",
    "OTHER_SENDER",
    "WITHDRAWN_IN_MESSAGE",
    "Flagged",
    "MessageCorrections",
    "may_answer_otherwise",
]

WITHDRAWN_IN_MESSAGE = (
    "avsändaren skriver att klagomålet tas tillbaka: se efter om ärendet ska avslutas, och "
    "notera det i svaret"
)
"""The note and review reason of a case a withdrawal was attached to by hand."""
DISOWNED_IN_MESSAGE = (
    "avsändaren skriver att hen aldrig har lämnat något klagomål: se efter vem ärendets brev "
    "gick till (ett brev till fel person är en personuppgiftsincident)"
)
"""The note and review reason of a case a message disowning its complaint was attached to."""
DETACHED = (
    "meddelande nr {number} togs bort från ärendet: se efter om väntan, omprövningen och "
    "granskningsskälen fortfarande gäller"
)
OTHER_SENDER = (
    "meddelandet är inte från ärendets avsändare eller någon annan part i det: se efter vem "
    "som skrev och om det behöver ett eget svar"
)
BEFORE_THE_WAIT = (
    "meddelandet skrevs innan ärendet började vänta på avsändaren, så väntan fortsätter: se "
    "efter om det ändå är svaret"
)
AFTER_THE_ANSWER = (
    "nytt meddelande i ett ärende som redan är besvarat: se efter om det behöver svar"
)
REGISTERED_MEANWHILE = (
    "Någon annan registrerade samma meddelande samtidigt, så det blev inget nytt ärende av "
    "det här. Ladda om sidan och se efter vilket ärende det blev."
)
"""Told when a case of the same message was written first by another transaction."""
_NOTHING_TO_REVIEW = "Det finns inget meddelande nr {number} att granska."


def _own_message(case: Case, record: MessageRecord) -> bool:
    """Whether ``record`` is the message the case was made of (not a follow-up)."""
    return record.disposition is not Disposition.FOLLOWUP and (
        not record.message_id or record.message_id == case.message_id
    )


def _before_the_wait(case: Case, arrived: datetime) -> bool:
    """Whether a message that ``arrived`` was written before the case last began to wait
    for its citizen: by the latest such event, else by the day the wait began."""
    times = [e.at for e in case.events if e.kind is EventKind.WAITING]
    if times:
        return arrived < max(times)
    since = case.waiting_since
    return since is not None and arrived.astimezone(STOCKHOLM).date() < since


@dataclass(frozen=True)
class Flagged:
    """What a flag did, in one Swedish sentence; ``already`` when someone had flagged the
    message before and nothing was changed."""

    text: str
    already: bool = False


class MessageCorrections(CorrectionsBase):
    # -- messages that are not cases -------------------------------------------------------

    def find_record(
        self, session: Session, message_id: str, record_id: int | None = None
    ) -> MessageRecord:
        """The recorded citizen message with ``message_id`` (``<…>`` or bare)."""
        mid = message_id.strip().removeprefix("<").removesuffix(">")
        query = (
            select(MessageRecord)
            .options(selectinload(MessageRecord.mailbox).selectinload(Mailbox.unit))
            .where(MessageRecord.message_id == mid)
            .order_by(MessageRecord.id)
        )
        if record_id is not None:
            query = query.where(MessageRecord.id == record_id)
        rows = [
            r
            for r in session.scalars(query)
            if r.disposition not in (Disposition.SENT, Disposition.DUPLICATE, Disposition.FAILED)
        ]
        if not rows:
            raise NotFoundError(
                f"Inget mottaget meddelande med Message-ID {mid!r} finns registrerat. Se "
                "'postvakt messages list' eller 'postvakt cases review'."
            )
        if len(rows) > 1:
            listing = "; ".join(
                f"nr {r.id} i {r.mailbox.address} ({r.received_at:%Y-%m-%d %H:%M})"
                if r.received_at
                else f"nr {r.id} i {r.mailbox.address}"
                for r in rows
            )
            raise InvalidInputError(
                f"{len(rows)} olika meddelanden har Message-ID {mid!r}: {listing}. Välj ett "
                "med --record NR.",
                argument="--message-id",
            )
        return rows[0]

    def _bytes(self, session: Session, record: MessageRecord) -> FetchedMessage:
        """The message's bytes: from a withdrawn case's original, else read again where it is."""
        if record.case_id is not None:
            case = session.get(Case, record.case_id)
            # a withdrawn case's original is this message's only when it is the case's own
            # (not a follow-up attached to it)
            if case is not None and case.original and _own_message(case, record):
                return FetchedMessage(
                    record.folder, record.message_key, case.original, record.received_at
                )
        connector = self.connectors.get(record.mailbox.address)
        fetch_one = getattr(connector, "fetch_one", None)
        fetched = fetch_one(record.folder, record.message_key) if fetch_one else None
        if fetched is None:
            raise NotFoundError(
                f"Meddelandet nr {record.id} finns inte längre på sin plats i "
                f"{record.mailbox.address} ({record.folder}) och Postvakt sparade inte en kopia. "
                "Registrera det för hand med 'postvakt cases add'."
            )
        return fetched

    def register(
        self,
        message_id: str,
        *,
        kind: str,
        by: str,
        record_id: int | None = None,
    ) -> Corrected:
        """Make a recorded message a case, with deadlines from its arrival and its letters."""
        label = label_of(kind)
        if label == "other":
            raise InvalidInputError("ange klagomal eller synpunkt", argument="--kind")
        user, now = self.person(by), self.clock()
        intake = self.intake
        with (
            self.sessions() as session,
            database_errors(same_time=REGISTERED_MEANWHILE),
            session.begin(),
        ):
            record = self.find_record(session, message_id, record_id)
            # Locked and read again: two people registering it at once (or a double click)
            # take turns, and the second finds it a case already.
            session.refresh(record, with_for_update=True)
            self._may_register(user, record)
            if record.disposition in (Disposition.CASE, Disposition.FOLLOWUP) and record.case_id:
                existing = session.get_one(Case, record.case_id)
                if existing.status is not CaseStatus.WITHDRAWN:
                    if record.disposition is Disposition.FOLLOWUP:
                        raise InvalidTransitionError(
                            f"Meddelandet hör redan till ärende {existing.label} som ett senare "
                            "meddelande. Ta först bort det därifrån ('Hör inte till ärendet' på "
                            f"ärendets sida, eller 'postvakt cases detach --record {record.id}')."
                        )
                    raise InvalidTransitionError(
                        f"Meddelandet är redan ärende {existing.reference}. Ändra typ med "
                        "'postvakt cases reclassify'."
                    )
            held = record.case_id  # where its copies are: they go to the new case with it
            if record.case_id is None and record.message_id and record.content_hash:
                # Merged into another case and taken out of it again ('cases detach'): the
                # withdrawn case made of these very bytes is its own again, for its history
                # and its copy of them.
                record.case_id = session.scalars(
                    select(Case.id)
                    .where(
                        Case.message_id == record.message_id,
                        Case.content_hash == record.content_hash,
                        Case.status == CaseStatus.WITHDRAWN,
                    )
                    .order_by(Case.id.desc())
                    .limit(1)
                ).first()
            fetched = self._bytes(session, record)
            predicted = record.label
            earlier = session.get(Case, record.case_id) if record.case_id is not None else None
            if earlier is not None and earlier.status is not CaseStatus.WITHDRAWN:
                earlier = None
            own = earlier is not None and _own_message(earlier, record)
            if earlier is not None and own:
                # A withdrawn case of this very message gives up its identity to the new one
                # (cases are unique on Message-ID and content); it keeps its number and events.
                earlier.content_hash = None
                session.flush()
            case = intake.register_by_hand(  # type: ignore[attr-defined]
                session, record, fetched, label=Label(label), actor=by
            )
            copies = copies_said(move_copies(session, record, was=held, to=case.id))
            if earlier is not None:
                # The second decision undoes the first: each case names the other.
                kind_sv = KIND_SV[label]
                was = (
                    f"ärendets meddelande på nytt som {kind_sv}"
                    if own
                    else f"meddelande nr {record.id} i ärendet som ett eget ärende ({kind_sv})"
                )
                add_event(
                    session,
                    earlier,
                    EventKind.NOTE,
                    actor=by,
                    at=now,
                    detail=f"{by} registrerade {was}: {case.label}.{copies}",
                )
                why = f" ({earlier.withdrawn_reason})" if earlier.withdrawn_reason else ""
                where = (
                    f"var tidigare ärende {earlier.label}"
                    if own
                    else f"låg tidigare i ärende {earlier.label}"
                )
                add_event(
                    session,
                    case,
                    EventKind.NOTE,
                    actor=by,
                    at=now,
                    detail=f"Meddelandet {where}, som är makulerat{why}; {by} registrerade det "
                    + ("på nytt." if own else "som ett eget ärende.")
                    + copies,
                )
            self._example(
                session,
                action="register",
                by=by,
                now=now,
                label=label,
                case=case,
                record=record,
                predicted=predicted,
                raw=fetched.raw,
            )
            due = f"; svar senast {case.answer_due.isoformat()}" if case.answer_due else ""
            return Corrected(
                case.reference,
                case.status.value,
                f"{case.label}: registrerat som {KIND_SV[label]}{due}.{copies}",
            )

    def attach(self, record_id: int, *, to: str, by: str) -> Corrected:
        """The message belongs to an existing case (a citizen writing again outside its
        thread, or withdrawing the complaint): it joins that case as a follow-up.

        No new case and no number; the message leaves the review queue and is answered
        within the case.  A case waiting for its citizen resumes when the citizen wrote
        after the wait began.  The case is marked for review, with the reason, when the
        classifier read a withdrawal in the message (whoever handles the case decides
        whether it is closed, never the machine), when the message is not from the case's
        citizen or another party to it, and when the case is not open for an answer
        (answered, closed, handed over, or waiting and the message came before): nothing
        new in a case goes unseen.  The handler is told when someone else attached it.  No
        labelled example is kept: belonging to a case says nothing of whether a message
        complains.
        """
        user, now = self.person(by), self.clock()
        if not to.strip():
            raise InvalidInputError("ange ärendets nummer, t.ex. KS 2026/17", argument="--to")
        with self.sessions() as session, database_errors(), session.begin():
            record = self._locked(session, record_id, REVIEWABLE_NON_CASES, _NOTHING_TO_REVIEW)
            self._may_register(user, record)
            case = self._case(session, to)
            self._may_change(user, case, "knyta meddelanden till")
            subject = (record.subject or "(utan ämne)")[:120]
            intake = self.intake
            party = intake.is_party(case, record.sender_address or "")  # type: ignore[attr-defined]
            arrived = record.received_at or now
            reasons: list[str] = []
            if not party:
                reasons.append(OTHER_SENDER)
            elif case.status is CaseStatus.WAITING and _before_the_wait(case, arrived):
                reasons.append(BEFORE_THE_WAIT)
            elif case.status in (CaseStatus.ANSWERED, CaseStatus.CLOSED, CaseStatus.FORWARDED):
                reasons.append(AFTER_THE_ANSWER)
            if party and not reasons:
                attach_followup(
                    session,
                    case,
                    at=arrived,
                    calendar=intake.calendar,  # type: ignore[attr-defined]
                    subject=subject,
                )
            said = record.reasons or []
            # its copies were where it was (in no case, or in a withdrawn one): they come along
            copies = copies_said(move_copies(session, record, was=record.case_id, to=case.id))
            tail = "."
            if any(r.startswith(WITHDRAWAL_REASON) for r in said):
                reasons.insert(0, WITHDRAWN_IN_MESSAGE)
                tail = "; avsändaren tar tillbaka klagomålet."
            elif any(r.startswith(DISOWNED_REASON) for r in said):
                reasons.insert(0, DISOWNED_IN_MESSAGE)
                tail = "; avsändaren skriver att hen aldrig har lämnat något klagomål."
            add_event(
                session,
                case,
                EventKind.NOTE,
                actor=by,
                at=now,
                detail=f"Meddelande nr {record.id} ({subject}) knöts till ärendet av {by}"
                + "".join(f"; {r}" for r in reasons)
                + "."
                + copies,
            )
            for reason in reasons:
                mark_for_review(case, reason)
            record.case_id, record.disposition = case.id, Disposition.FOLLOWUP
            record.reviewed_by, record.reviewed_at = by, now
            planned = _tell_handler(
                case,
                user,
                f"{case.reference}#{record.id}",  # one notice per message
                now,
                f"{by} knöt ett nytt meddelande till ärendet{tail}",
            )
            text = (
                f"Meddelande nr {record.id} hör nu till {case.label}."
                + copies
                + (" Ärendet står i granskningskön: " + "; ".join(reasons) + "." if reasons else "")
            )
            result = Corrected(case.reference, case.status.value, text)
        self._tell(planned, now)
        return result

    def detach(self, record_id: int, *, by: str) -> Corrected:
        """The message does not belong to the case it joined (attached by mistake, or a
        reply in the thread that is about something else): it leaves the case and goes to
        the review queue, to be registered, attached elsewhere or set aside.  Its copies
        (the same e-mail read at other places: :mod:`postvakt.corrections.copies`) leave the
        case with it.  The case's events keep what happened, with a note of this."""
        user, now = self.person(by), self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            record = self._locked(
                session,
                record_id,
                (Disposition.FOLLOWUP,),
                "Meddelande nr {number} är inget senare meddelande i ett ärende. "
                "Ärendets eget meddelande tas bort genom att ärendet makuleras.",
            )
            self._may_register(user, record)
            case = session.get_one(Case, record.case_id)
            self._may_change(user, case, "ta bort meddelanden från")
            subject = (record.subject or "(utan ämne)")[:120]
            # the same e-mail read at other places leaves the case with it, to no case
            copies = copies_said(move_copies(session, record, was=case.id, to=None))
            add_event(
                session,
                case,
                EventKind.NOTE,
                actor=by,
                at=now,
                detail=f"Meddelande nr {record.id} ({subject}) hör inte till ärendet; {by} tog "
                "bort det härifrån och det står i granskningskön." + copies,
            )
            # what joining it did (a wait ended, a new review, reasons) is a person's to undo
            reason = DETACHED.format(number=record.id)
            mark_for_review(case, reason)
            record.case_id, record.disposition = None, Disposition.NOT_CASE
            record.flagged_by, record.flagged_at = by, now
            record.reviewed_by = record.reviewed_at = None
            planned = _tell_handler(
                case,
                user,
                f"{case.reference}#{record.id}:bort",
                now,
                f"{by} tog bort meddelande nr {record.id} från ärendet; se efter om ärendet "
                "ändå behöver något.",
            )
            result = Corrected(
                case.reference,
                case.status.value,
                f"Meddelande nr {record.id} hör inte längre till {case.label} och står i "
                "granskningskön." + copies,
            )
        self._tell(planned, now)
        return result

    def answered_otherwise(self, record_id: int, *, by: str, how: str) -> str:
        """A person says a citizen's message was answered although no reply was seen in Sent
        (by telephone, at the desk), or that it needs none (a thank-you after the answer):
        its reply clock stops, with who said so and how.  In a case, the case's events say it.
        Only a message that waits for its own reply (:func:`awaiting_reply`).  Returns what
        was done, for the person."""
        how = " ".join(how.split())[:ANSWERED_NOTE_LIMIT]
        if not how:
            raise InvalidInputError(
                "Skriv hur meddelandet besvarades, eller varför det inte behöver svar "
                "(t.ex. 'besvarat per telefon' eller 'ett tack, behöver inget svar').",
                argument="--how",
            )
        user, now = self.person(by), self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            record = session.get(MessageRecord, record_id, with_for_update=True)
            if record is None:
                raise NotFoundError(f"Det finns inget meddelande nr {record_id}.")
            case = answered_in(record)
            # who may ask first: nothing of a message is told to whoever may not answer it
            if not may_answer_otherwise(user, record, case):
                raise PermissionDeniedError(
                    f"{user.address} får inte svara på meddelande nr {record_id}: det får den "
                    "som får svara i ärendet, eller registrera brevlådans meddelanden."
                )
            waiting = session.scalar(
                select(MessageRecord.id).where(MessageRecord.id == record_id, *awaiting_reply())
            )
            if waiting is None:
                raise self._not_awaiting(record)
            record.answered_at, record.answered_by, record.answered_note = now, by, how
            if case is not None:
                subject = (record.subject or "(utan ämne)")[:120]
                add_event(
                    session,
                    case,
                    EventKind.NOTE,
                    actor=by,
                    at=now,
                    detail=f"Meddelande nr {record.id} ({subject}) räknas som besvarat: {how}",
                )
            where = f" i {case.label}" if case is not None else ""
        return f"Meddelande nr {record_id}{where} räknas som besvarat: {how}"

    @staticmethod
    def _not_awaiting(record: MessageRecord) -> PostvaktError:
        if record.answered_at is not None:
            return InvalidTransitionError(
                f"Meddelande nr {record.id} är redan besvarat "
                f"({record.answered_at.astimezone(STOCKHOLM):%Y-%m-%d %H:%M}, "
                f"{record.answered_by or 'okänd'})."
            )
        return InvalidTransitionError(
            f"Meddelande nr {record.id} väntar inte på något eget svar: det besvaras i sitt "
            "ärende, eller har ingen svarstid (automatisk post, anonymt). 'postvakt messages "
            "list --open' visar de meddelanden som väntar på svar."
        )

    @staticmethod
    def _locked(
        session: Session, record_id: int, states: tuple[Disposition, ...], missing: str
    ) -> MessageRecord:
        """The record, locked for the transaction and read again (two people acting on one
        message at once take turns: the second sees what the first did), when it is in one
        of ``states``; else ``missing`` (``{number}``: the record's number)."""
        record = session.get(MessageRecord, record_id, with_for_update=True, populate_existing=True)
        if record is None or record.disposition not in states:
            raise NotFoundError(missing.format(number=record_id))
        return record

    def _may_change(self, user: User, case: Case, what: str) -> None:
        """``user`` may correct and open ``case`` (a private case its mailbox's owners may
        not open), and it is not withdrawn."""
        self._may_correct(user, case, what)
        if not can_view_case(user, case):
            raise PermissionDeniedError(f"{user.address} får inte {what} det ärendet.")
        self._open(case)

    def flag(self, record_id: int, *, by: str) -> Flagged:
        """Ask for a person to look at a message that was not made a case (not a private
        one its mailbox's other owners may not see: :func:`may_see_message`).  Once: a message
        someone flagged that is still in the queue keeps who flagged it and when (a second
        run, a double click, a colleague after change nothing).  One set aside since may be
        flagged again."""
        user, now = self.person(by), self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            record = self._locked(session, record_id, REVIEWABLE_NON_CASES, _NOTHING_TO_REVIEW)
            self._may_register(user, record)
            if record.flagged_by is not None and record.reviewed_at is None:
                at = record.flagged_at
                when = f" {at.astimezone(STOCKHOLM):%Y-%m-%d %H:%M}" if at is not None else ""
                return Flagged(
                    f"Meddelande nr {record_id} är redan flaggat för granskning av "
                    f"{record.flagged_by}{when} och står i granskningskön; inget ändrat.",
                    already=True,
                )
            record.flagged_by, record.flagged_at = by, now
            record.reviewed_by = record.reviewed_at = None
        return Flagged(f"Meddelande nr {record_id} står nu i granskningskön.")

    def dismiss(self, record_id: int, *, by: str) -> str:
        """The message is indeed neither complaint nor opinion: off the review queue.  Once:
        a message a person already took off the queue (set it aside, or withdrew its case)
        is left as it is (no second example for the model).  Returns what was done."""
        user, now = self.person(by), self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            record = self._locked(session, record_id, REVIEWABLE_NON_CASES, _NOTHING_TO_REVIEW)
            self._may_register(user, record)
            if record.reviewed_at is not None:  # a second run, a double click: nothing to do
                when = record.reviewed_at.astimezone(STOCKHOLM)
                return (
                    f"Meddelande nr {record.id} är redan granskat av "
                    f"{record.reviewed_by or 'okänd'} {when:%Y-%m-%d %H:%M} och står inte i "
                    "granskningskön; inget ändrat."
                )
            record.reviewed_by, record.reviewed_at = by, now
            self._example(
                session,
                action="confirm",
                by=by,
                now=now,
                label="other",
                record=record,
                predicted=record.label,
            )
        return (
            f"Meddelande nr {record_id}: inte klagomål eller synpunkt; borta ur kön. Det bevakas "
            "som vanligt med svarstiden för alla meddelanden."
        )


ANSWERED_NOTE_LIMIT = 500
"""The longest note of how a message was answered otherwise, in characters."""


def may_answer_otherwise(user: User, record: MessageRecord, case: Case | None) -> bool:
    """Whether ``user`` may say ``record`` was answered otherwise: in a case, whoever may
    answer the case (its handler, its unit's head, its mailbox's owners; a private case's
    handler and head only); else whoever may register the mailbox's messages."""
    if case is not None:
        return can_act_on_case(user, case)
    mailbox = record.mailbox
    unit = mailbox.unit.name if mailbox.unit else None
    return can_correct_message(user, mailbox.address, unit) and may_see_message(user, record)


def _tell_handler(case: Case, user: User, ref: str, now: datetime, what: str) -> list[Planned]:
    """The notice to the case's handler of what someone else did to it (none to oneself;
    a private case's to no stand-in)."""
    if not case.handler or case.handler.lower() == user.address.lower():
        return []
    return [
        Planned(
            case.handler,
            "followup",
            ref,
            now.astimezone(STOCKHOLM).date(),
            f"{case.label} {case.heading}: {what}",
            private=case.private,
            page=f"/arenden/{case.id}",
        )
    ]
