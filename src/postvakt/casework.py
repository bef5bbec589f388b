"""Case work by hand: registering an oral complaint, answering, closing, handing over,
reviewing anew, waiting — each a transition (``registry.lifecycle``), the letter that is due
(``templates.casework``) and its draft in the mailbox the case came in through.

A case that came by e-mail is answered from that mailbox: the letter is drafted there, as a
reply, so the person answers from their normal mailbox.  A case registered by hand gets its
letters drafted in the unit's function mailbox when the citizen left an e-mail address, and
saved in the letters folder otherwise (to print and post).  The notice of a new review is
the exception: it is drafted in the reviewer's mailbox and signed by them
(:mod:`postvakt.reviewer`).  Hand-overs and their feedback are in
:mod:`postvakt.casework_forward`.  Also the registrar's notice of each new case (the
yearly compilation is :mod:`postvakt.compilation`'s).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import docx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from postvakt.areas import find_area
from postvakt.care import flag
from postvakt.casework_forward import ForwardingMixin
from postvakt.clock import STOCKHOLM, Clock
from postvakt.config import Config
from postvakt.diary.base import Attachment, DocumentKind
from postvakt.diary.outbox import LETTER_KINDS, outbox_of
from postvakt.errors import InvalidInputError, NotFoundError, PostvaktError, TemplateError
from postvakt.mailbox.base import reply_subject
from postvakt.registry import lifecycle
from postvakt.registry.cases import NewCase, add_event, find_case, make_heading, register_case
from postvakt.registry.db import database_errors
from postvakt.registry.drafts import add_draft
from postvakt.registry.models import Case, CaseKind, EventKind, Mailbox, Unit
from postvakt.registry.numbering import Numbering
from postvakt.reviewer import Reviewer, chosen_reviewer, nearest_manager, reviewer_mailbox
from postvakt.rules.calendar import WorkingCalendar
from postvakt.rules.notify import Mailer, Notifier, Planned
from postvakt.rules.policy import Policy
from postvakt.templates.casework import CaseLetters, RenderedLetter, care_subject, swedish_date

__all__ = ["CHANNELS", "Casework", "Done"]

log = logging.getLogger("postvakt.casework")

CHANNELS = ("phone", "visit", "letter", "sms", "web", "email")
CHANNEL_SV = {
    "phone": "telefon",
    "visit": "besök",
    "letter": "brev",
    "sms": "sms",
    "web": "webb",
    "email": "e-post",
}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Done:
    """What an action did, for the command line."""

    case: str
    status: str
    letter: str | None = None
    where: str | None = None
    """'utkast i <mailbox>' or the path of a saved letter."""
    told: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    """Anything else done or left to do, one line each (the cover letter of a hand-over)."""


class Casework(ForwardingMixin):
    """Case work by hand; hand-overs and their feedback in :class:`ForwardingMixin`."""

    def __init__(
        self,
        config: Config,
        sessions: sessionmaker[Session],
        *,
        clock: Clock,
        letters: CaseLetters,
        calendar: WorkingCalendar,
        policy: Policy,
        notifier: Notifier | None = None,
        mailer: Mailer | None = None,
    ):
        self.config = config
        self.sessions = sessions
        self.clock = clock
        self.letters = letters
        self.calendar = calendar
        self.policy = policy
        self.notifier = notifier
        self.mailer = mailer

    # -- helpers ------------------------------------------------------------------------

    def _unit(self, session: Session, name: str) -> Unit:
        unit = session.scalars(select(Unit).where(Unit.name == name)).one_or_none()
        if unit is None:
            known = ", ".join(u.name for u in self.config.units)
            raise NotFoundError(
                f"Det finns ingen enhet som heter {name!r}. Kända enheter: {known}."
            )
        return unit

    def _reply_mailbox(self, session: Session, case: Case) -> Mailbox | None:
        if case.mailbox is not None:
            return case.mailbox
        return session.scalars(
            select(Mailbox).where(
                Mailbox.unit_id == case.unit_id, Mailbox.kind == "function", Mailbox.active
            )
        ).first()

    def _deliver_letter(
        self,
        session: Session,
        case: Case,
        letter: RenderedLetter,
        *,
        kind: str,
        actor: str,
        now: datetime,
        mailbox: Mailbox | None = None,
    ) -> str:
        """Draft the letter to the citizen (in ``mailbox``, by default the one the case came
        in through), or save it when there is no way to draft it."""
        mailbox = mailbox or self._reply_mailbox(session, case)
        if mailbox is not None and case.sender_address and not case.anonymous:
            add_draft(
                session,
                case,
                kind=kind,
                title=letter.title,
                mailbox_id=mailbox.id,
                mailbox_address=mailbox.address,
                to_address=case.sender_address,
                to_name=case.sender_name,
                subject=care_subject(case)
                if case.individual_care  # none of the citizen's words (OSL 26 kap.)
                else reply_subject(case.subject or case.heading),
                in_reply_to=case.message_id,
                references=[case.message_id] if case.message_id else [],
                body_text=letter.text,
                filename=letter.filename,
                data=letter.data,
                actor=actor,
                now=now,
            )
            return f"utkast i {mailbox.address}"
        folder = self.config.path(self.config.templates.letters_folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / letter.filename
        path.write_bytes(letter.data)
        outbox = outbox_of(session)
        if outbox is not None:  # saved to print and post: this is the letter that goes
            outbox.letter_sent(
                session,
                case,
                kind=LETTER_KINDS.get(kind, DocumentKind.ANSWER),
                at=now,
                identity=f"{letter.filename} {now.isoformat()}",
                by=actor,
                attachments=[Attachment(letter.filename, DOCX, letter.data)],
            )
        add_event(
            session,
            case,
            EventKind.DRAFTED,
            actor=actor,
            at=now,
            detail=f"{letter.title} sparad för utskrift: {path}",
            document=letter.filename,
        )
        return str(path)

    def _tell(self, planned: list[Planned], now: datetime) -> tuple[str, ...]:
        if not planned or self.notifier is None:
            return ()
        try:
            report = self.notifier.send(planned, now)
        except PostvaktError as exc:
            log.warning("could not tell %s: %s", [p.recipient for p in planned], exc)
            return ()
        return tuple(report.sent)

    # -- actions --------------------------------------------------------------------------

    def add(
        self,
        *,
        kind: str,
        channel: str,
        summary: str,
        unit: str,
        actor: str,
        contact: str | None = None,
        name: str | None = None,
        email: str | None = None,
        handler: str | None = None,
        care: bool = False,
        received_at: datetime | None = None,
    ) -> Done:
        """Register a complaint or opinion given by phone, at a visit, by letter or SMS."""
        now = self.clock()
        received = received_at or now
        anonymous = not (contact or email)
        with self.sessions() as session, database_errors(), session.begin():
            target = self._unit(session, unit)
            day = received.astimezone(STOCKHOLM).date()
            heading = make_heading("", summary)
            case = register_case(
                session,
                NewCase(
                    kind=CaseKind(kind),
                    summary=heading.removeprefix("Synpunkter och klagomål – "),
                    heading=heading,
                    received_at=received,
                    registered_at=now,
                    anonymous=anonymous,
                    channel=channel,
                    unit_id=target.id,
                    handler=handler or actor,
                    sender_name=name,
                    sender_address=email.lower() if email else None,
                    contact=contact,
                    reply_due=None if anonymous else self.policy.reply.due(day, self.calendar),
                    ack_due=None
                    if anonymous
                    else self.policy.complaint_ack.due(day, self.calendar),
                    answer_due=None
                    if anonymous
                    else self.policy.complaint_answer.due(day, self.calendar),
                ),
                numbering=Numbering.of(self.config),
                actor=actor,
                detail=f"Registrerat för hand ({CHANNEL_SV.get(channel, channel)}) av {actor}",
            )
            # Its service area for the compilation: the summary's words, else the unit's
            # only area; the person chose the unit, so nothing is sent on (postvakt.areas).
            area = find_area(self.config, form_text="", text=summary, own_unit=target.name)
            case.service_area = area.area if area is not None else None
            if care:  # sent to the deviation function after commit (postvakt.care)
                flag(
                    session,
                    case,
                    actor=actor,
                    now=now,
                    detail=f"Registrerat av {actor} som ett ärende som rör enskilds vård och "
                    "omsorg; registreras i verksamhetssystemets avvikelsemodul.",
                )
            case.registrar_status = "pending" if self.config.organisation.registrar else "none"
            where = None
            if not anonymous:
                due = self.policy.promised_date(kind, day, self.calendar) or case.answer_due
                letter = self.letters.render(
                    "acknowledgment_care" if care else "acknowledgment",
                    case,
                    now,
                    **self.letters.citizen(case),
                    answer_due=swedish_date(due) if due else "",
                    summary=case.summary,
                )
                where = self._deliver_letter(
                    session, case, letter, kind="ack", actor=actor, now=now
                )
            session.flush()
            return Done(
                case.reference,
                case.status.value,
                "Mottagningsbekräftelse" if where else None,
                where,
            )

    def answer(
        self, reference: str, *, actor: str, text: str | None = None, file: Path | None = None
    ) -> Done:
        now = self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            case = find_case(session, reference)
            lifecycle.check_transition(case, "answer")
            if file is not None:
                data = _read_docx(file)
                letter = RenderedLetter(
                    "answer",
                    "Svar",
                    file.name,
                    data,
                    self.letters.draft_text("answer", case, now),
                )
                answer_text = text or _docx_text(data)[:4000]
            else:
                if not text:
                    raise NotFoundError("Ange svaret med --text eller ett Word-brev med --file.")
                letter = self.letters.render(
                    "answer",
                    case,
                    now,
                    **self.letters.citizen(case),
                    answer_text=text,
                    actions=case.actions or "",
                )
                answer_text = text
            lifecycle.record_answer(
                session, case, actor=actor, at=now, text=answer_text, document=letter.filename
            )
            where = (
                None
                if case.anonymous
                else self._deliver_letter(
                    session, case, letter, kind="answer", actor=actor, now=now
                )
            )
            done = Done(case.label, case.status.value, letter.title if where else None, where)
        # Whoever handed the case over is told (queued by casework_forward's listener).
        return replace(done, told=self._flush(now))

    def close(self, reference: str, *, actor: str, action: str) -> Done:
        now = self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            case = find_case(session, reference)
            lifecycle.close(session, case, actor=actor, at=now, actions=action)
            done = Done(case.label, case.status.value)
        return replace(done, told=self._flush(now))  # forwarders told, as for an answer

    def callback(self, reference: str, *, actor: str, note: str) -> Done:
        """A note that the handler called the citizen back (återkoppling): on the case, and
        to the diary."""
        now = self.clock()
        if not note.strip():
            raise InvalidInputError("Skriv vad samtalet gällde med --note.")
        with self.sessions() as session, database_errors(), session.begin():
            case = find_case(session, reference)
            self.record_callback(session, case, actor=actor, note=note, now=now)
            return Done(case.label, case.status.value)

    def record_callback(
        self, session: Session, case: Case, *, actor: str, note: str, now: datetime
    ) -> None:
        """The callback note on ``case`` in the caller's transaction (it goes to the diary
        with its commit); also used when a callback request tied to the case is done."""
        add_event(session, case, EventKind.CALLBACK, actor=actor, at=now, detail=note.strip())

    def wait(self, reference: str, *, actor: str, note: str = "") -> Done:
        now = self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            case = find_case(session, reference)
            lifecycle.wait_for_citizen(session, case, actor=actor, at=now, detail=note)
            return Done(case.label, case.status.value)

    def reopen(
        self, reference: str, *, actor: str, reason: str = "", reviewer: str | None = None
    ) -> Done:
        """Not satisfied: the nearest manager reviews anew (or ``reviewer``, when named)."""
        now = self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            case = find_case(session, reference)
            where, planned = self.review_anew(
                session, case, actor=actor, now=now, reason=reason, reviewer=reviewer
            )
            reference, status = case.label, case.status.value
        told = self._tell([planned], now)
        return Done(reference, status, "Ny prövning" if where else None, where, told)

    def review_anew(
        self,
        session: Session,
        case: Case,
        *,
        actor: str,
        now: datetime,
        reason: str = "",
        reviewer: str | None = None,
    ) -> tuple[str | None, Planned]:
        """Reopen ``case`` in ``session`` for a new review by the nearest manager (the head
        of the handler's own unit, or of the unit above when the handler is that head;
        :mod:`postvakt.reviewer`) or by ``reviewer`` when a person named one, and draft the
        notice of new review to the citizen in the reviewer's mailbox, signed by them.

        Returns where the letter went and the line to tell the reviewer; the caller sends it
        after commit (``cases reopen``) or queues it (a not-satisfied reply in the intake).
        """
        lifecycle.check_transition(case, "reopen")
        chosen = (
            chosen_reviewer(session, self.config, case, reviewer, actor)
            if reviewer
            else nearest_manager(session, self.config, case)
            # No unit anywhere: whoever reopens the case reviews it.
            or Reviewer(actor, None, f"ärendet har ingen enhet; {actor} öppnade det")
        )
        due = self.policy.complaint_answer.due(now.astimezone(STOCKHOLM).date(), self.calendar)
        lifecycle.reopen(
            session,
            case,
            actor=actor,
            at=now,
            reviewer=chosen.address,
            answer_due=due,
            reason=reason,
            why=chosen.why,
        )
        where = None
        if not case.anonymous:
            mailbox = reviewer_mailbox(session, chosen) or self._reply_mailbox(session, case)
            person = self.config.person(chosen.address)
            name = person.name if person else chosen.address
            title = (person.title if person else None) or ""
            letter = self.letters.render(
                "new_review",
                case,
                now,
                **self.letters.citizen(case),
                reviewer_name=name,
                reviewer_title=title,
                answer_due=swedish_date(due),
                # Signed by the reviewer, from the mailbox the letter is drafted in.
                handler_name=name,
                handler_title=title,
                handler_email=mailbox.address if mailbox else chosen.address,
                handler_phone=(person.phone if person else None)
                or self.config.organisation.phone
                or "",
                unit=chosen.unit.name if chosen.unit else (case.unit.name if case.unit else ""),
            )
            where = self._deliver_letter(
                session, case, letter, kind="review", actor=actor, now=now, mailbox=mailbox
            )
        line = f"{case.label} {case.heading}: du gör en ny prövning; nytt svar senast {swedish_date(due)}"
        return where, Planned(
            chosen.address, "assigned", case.reference, due, line, page=f"/arenden/{case.id}"
        )

    def not_satisfied(self, session: Session, case: Case, *, now: datetime, reason: str) -> None:
        """The citizen answered in the case's thread that they are not satisfied (the intake):
        a new review, in the message's own transaction; the reviewer is told after commit."""
        _where, planned = self.review_anew(session, case, actor="postvakt", now=now, reason=reason)
        if self.notifier is not None:
            self.notifier.queue(session, [planned], now)

    # -- the registrar ------------------------------------------------------------------------

    def case_card(self, case: Case, now: datetime) -> RenderedLetter:
        received = case.received_at.astimezone(STOCKHOLM)
        sender = " ".join(
            p
            for p in (case.sender_name, f"<{case.sender_address}>" if case.sender_address else "")
            if p
        )
        return self.letters.render(
            "case_card",
            case,
            now,
            heading=case.heading,
            kind_text="Klagomål" if case.kind is CaseKind.COMPLAINT else "Synpunkt",
            received_at=f"{received:%Y-%m-%d %H:%M}",
            registered_at=f"{case.registered_at.astimezone(STOCKHOLM):%Y-%m-%d %H:%M}",
            channel=CHANNEL_SV.get(case.channel, case.channel),
            sender=sender or "Anonym (samlingsdiarienummer)",
            contact=case.contact or "",
            subject=case.subject or "",
            mailbox=case.mailbox.address if case.mailbox else "",
            answer_due=swedish_date(case.answer_due) if case.answer_due else "",
            individual_care="Ja – registreras i verksamhetssystemets avvikelsemodul"
            if case.individual_care
            else "Nej",
            message_id=case.message_id or "",
            summary=case.summary,
        )


def _read_docx(path: Path) -> bytes:
    try:
        data = path.read_bytes()
        docx.Document(io.BytesIO(data))
    except OSError as exc:
        raise NotFoundError(f"Kan inte läsa {path}: {exc.strerror}") from None
    except Exception as exc:  # python-docx raises several types for a file that is not a .docx
        raise TemplateError(f"{path} är inget Word-dokument (.docx): {exc}") from exc
    return data


def _docx_text(data: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs if p.text.strip())
