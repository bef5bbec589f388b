"""Handing a case over, and the feedback loop Timrå's policy asks for.

A complaint that belongs elsewhere is handed over (``cases forward``): to a unit of the
organisation, where it goes on in Postvakt with a new handler, or to another administration
or authority, which gets a cover letter — the Följebrev, the case card and the citizen's own
message, the deadline that is running and whom to give feedback to, the forwarder, who is
also the message's Reply-To.  The citizen gets the hand-over letter naming the new handler.

The forwarder hears back: when the receiving unit answers or closes the case in Postvakt,
when an outside receiver's feedback is recorded (``cases feedback``, a ``feedback`` event
that also goes to the diary as a note), or when the case is handed on again — whichever path
wrote the event (the command line, the web, a reply seen in Sent).  A listener on the
session factory (:func:`install`) queues the line to each forwarder in the transaction that
wrote the event; the notifier sends it.  Without feedback the reminder job reminds them
(:mod:`postvakt.rules.forwards`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from postvakt.clock import STOCKHOLM, Clock
from postvakt.config import Config
from postvakt.diary.base import Attachment, DocumentKind
from postvakt.diary.outbox import outbox_of
from postvakt.errors import InvalidInputError, PostvaktError
from postvakt.registry import lifecycle
from postvakt.registry.cases import add_event, find_case
from postvakt.registry.db import database_errors
from postvakt.registry.models import Case, CaseEvent, CaseKind, EventKind, Unit
from postvakt.registry.original import original_view
from postvakt.rules.forwards import forwarders_before
from postvakt.rules.notify import Mailer, Notifier, Planned
from postvakt.templates.casework import CaseLetters, RenderedLetter, swedish_date

if TYPE_CHECKING:
    from postvakt.casework import Done

__all__ = ["ForwardingMixin", "install"]

log = logging.getLogger("postvakt.casework")

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_KEY = "postvakt.forwards"


class ForwardingMixin:
    """``Casework.forward`` and ``Casework.feedback``."""

    config: Config
    sessions: sessionmaker[Session]
    clock: Clock
    letters: CaseLetters
    mailer: Mailer | None
    notifier: Notifier | None

    if TYPE_CHECKING:  # provided by Casework

        def _deliver_letter(
            self,
            session: Session,
            case: Case,
            letter: RenderedLetter,
            *,
            kind: str,
            actor: str,
            now: datetime,
        ) -> str: ...

        def _tell(self, planned: list[Planned], now: datetime) -> tuple[str, ...]: ...

        def case_card(self, case: Case, now: datetime) -> RenderedLetter: ...

    def forward(self, reference: str, *, actor: str, to: str, contact: str | None = None) -> Done:
        """Hand the case over to the unit named ``to`` or, if there is none by that name, to
        another administration or authority; ``contact`` is the receiver's e-mail or phone
        (within the organisation: an e-mail names the new handler)."""
        from postvakt.casework import Done  # casework imports this module

        now = self.clock()
        planned: list[Planned] = []
        cover: _Cover | None = None
        with self.sessions() as session, database_errors(), session.begin():
            case = find_case(session, reference)
            lifecycle.check_transition(case, "forward")
            unit = session.scalars(select(Unit).where(Unit.name == to)).one_or_none()
            previous = case.handler
            contact = (contact or "").strip() or None
            receiver = lifecycle.forward(
                session,
                case,
                actor=actor,
                at=now,
                to_unit=unit,
                to_external=None if unit else to,
                new_handler=self._named_handler(contact) if unit else None,
                contact=contact,
            )
            where = None
            if not case.anonymous:
                letter = self.letters.render(
                    "handover",
                    case,
                    now,
                    handler=previous or actor,
                    **self.letters.citizen(case),
                    to_unit=unit.name if unit else to,
                    **self._new_handler(case, unit, contact),
                )
                where = self._deliver_letter(
                    session, case, letter, kind="handover", actor=actor, now=now
                )
            today = now.astimezone(STOCKHOLM).date()
            due = case.answer_due or case.reply_due
            if unit is not None and case.handler:
                planned.append(
                    Planned(
                        case.handler,
                        "forwarded",
                        case.reference,
                        today,
                        f"{case.label} {case.heading}: har lämnats över till {unit.name} av "
                        f"{actor}; du är ny handläggare"
                        + (f"; svar till avsändaren senast {swedish_date(due)}" if due else "")
                        + f"; återkoppla till {actor} när du har svarat eller avslutat ärendet",
                        private=case.private,
                        page=f"/arenden/{case.id}",
                    )
                )
            if previous and previous != case.handler and previous != actor:
                planned.append(
                    Planned(
                        previous,
                        "feedback",
                        case.reference,
                        today,
                        f"{case.label} {case.heading}: har lämnats över till {receiver}",
                        private=case.private,
                        page=f"/arenden/{case.id}",
                    )
                )
            if unit is None:
                cover = self._cover(session, case, now, to=to, contact=contact, forwarder=actor)
            done_ref, status = case.label, case.status.value
        notes = self._send_cover(cover, now) if cover is not None else ()
        told = self._tell(planned, now)
        return Done(done_ref, status, "Överlämning" if where else None, where, told, notes)

    def feedback(self, reference: str, *, actor: str, text: str) -> Done:
        """Record feedback from the receiver of a hand-over (one who does not work in
        Postvakt): a ``feedback`` event, a note to the diary; the forwarders are told."""
        from postvakt.casework import Done  # casework imports this module

        now = self.clock()
        text = text.strip()
        if not text:
            raise InvalidInputError("Skriv vad mottagaren återkopplade med --text.")
        with self.sessions() as session, database_errors(), session.begin():
            case = find_case(session, reference)
            forwards = [e for e in case.events if e.kind is EventKind.FORWARDED]
            if not forwards:
                raise InvalidInputError(
                    f"Ärendet {case.label} har inte lämnats över; återkoppling antecknas på "
                    "ärenden som har lämnats över med 'postvakt cases forward'."
                )
            receiver = case.forwarded_to or (case.unit.name if case.unit else "mottagaren")
            add_event(
                session,
                case,
                EventKind.FEEDBACK,
                actor=actor,
                at=now,
                detail=f"Från {receiver}: {text}",
            )
            done_ref, status = case.label, case.status.value
        return Done(done_ref, status, told=self._flush(now))

    # -- helpers ------------------------------------------------------------------------------

    def _flush(self, now: datetime) -> tuple[str, ...]:
        """Send what the listener queued (and whatever else waited), now if in working time."""
        if self.notifier is None:
            return ()
        try:
            report = self.notifier.flush(now)
        except PostvaktError as exc:
            # The error names the recipient: only its kind above DEBUG.
            log.warning("could not send queued notices (%s)", type(exc).__name__)
            log.debug("queued notices not sent: %s", exc)
            return ()
        return tuple(report.sent)

    def _named_handler(self, contact: str | None) -> str | None:
        """Within the organisation, a contact who is a person in the config is the new
        handler; anything else (a phone number, an unknown address) leaves the unit head."""
        if not contact or "@" not in contact:
            return None
        address = contact.lower()
        known = {p.address for p in self.config.people} | {u.head for u in self.config.units}
        return address if address in known else None

    def _new_handler(self, case: Case, unit: Unit | None, contact: str | None) -> dict[str, str]:
        """The hand-over letter's ``new_handler`` and ``to_contact``: within the
        organisation the new handler by name and title, reached at their address and phone;
        outside it, the contact given."""
        if unit is None or not case.handler:
            return {"new_handler": "", "to_contact": contact or ""}
        person = self.config.person(case.handler)
        if person is None:
            return {"new_handler": case.handler, "to_contact": contact or case.handler}
        name = ", ".join(p for p in (person.name, person.title) if p)
        reach = ", telefon ".join(p for p in (person.address, person.phone) if p)
        return {"new_handler": name, "to_contact": reach}

    def _cover(
        self,
        session: Session,
        case: Case,
        now: datetime,
        *,
        to: str,
        contact: str | None,
        forwarder: str,
    ) -> _Cover:
        """The cover letter to another administration, with the case card and the original,
        and the hand-over's note for the diary (queued in this transaction)."""
        person = self.config.person(forwarder) if "@" in forwarder else None
        reply_to = forwarder if "@" in forwarder else (case.mailbox.address if case.mailbox else "")
        reply_name = person.name if person else reply_to
        due = case.answer_due or case.reply_due
        sender = _sender(case)
        card = self.case_card(case, now)
        attached = (
            "ärendekortet och avsändarens ursprungliga meddelande (.eml)"
            if case.original
            else "ärendekortet"
        )
        values: dict[str, Any] = {
            "recipient_name": to,
            "heading": case.heading,
            "kind_text": "Klagomål" if case.kind is CaseKind.COMPLAINT else "Synpunkt",
            "received_date": swedish_date(case.received_at.astimezone(STOCKHOLM).date()),
            "answer_due": swedish_date(due) if due else "",
            "sender": sender,
            "message": _citizen_text(case),
            "reply_to": reply_to,
            "reply_name": reply_name,
            "attached": attached,
            "handler_email": reply_to,
        }
        letter = self.letters.render("cover", case, now, handler=forwarder, **values)
        context = {**self.letters.common(case, now, handler=forwarder), **values}
        files = [
            Attachment(letter.filename, DOCX, letter.data),
            Attachment(card.filename, DOCX, card.data),
        ]
        if case.original:
            files.append(
                Attachment(
                    f"Originalmeddelande {case.label.replace('/', '-')}.eml",
                    "message/rfc822",
                    case.original,
                )
            )
        outbox = outbox_of(session)
        if outbox is not None:  # the cover letter is an outgoing document of the case
            outbox.queue(
                session,
                case,
                DocumentKind.HANDOVER,
                key=f"case-{case.id}/cover/{now.isoformat()}",
                at=now,
                text=f"Följebrev: ärendet överlämnat till {to}"
                + (f" ({contact})" if contact else "")
                + f" av {forwarder}.",
                attachments=files,
                title=f"Följebrev – överlämnat till {to}",
            )
        return _Cover(
            case_id=case.id,
            label=case.label,
            to=contact.lower() if contact and "@" in contact else None,
            receiver=to,
            subject=f"Överlämnat ärende – {case.label}",
            body=_cover_text(context, due),
            reply_to=reply_to or None,
            files=files,
            letter=letter,
        )

    def _send_cover(self, cover: _Cover, now: datetime) -> tuple[str, ...]:
        """Mail the cover letter to the receiver; if it cannot go by e-mail, save it to be
        sent by hand.  Either way the case's events say what happened."""
        sent_to = None
        problem = ""
        if cover.to is None:
            problem = "mottagaren har ingen e-postadress"
        elif self.mailer is None:
            problem = "[smtp] saknas i konfigurationen"
        else:
            try:
                self.mailer.send(
                    cover.to,
                    cover.subject,
                    cover.body,
                    [(f.filename, f.content_type, f.data) for f in cover.files],
                    reply_to=cover.reply_to,
                )
                sent_to = cover.to
            except PostvaktError as exc:
                problem = str(exc)
                log.warning(
                    "cover letter of case %s not sent (%s)", cover.case_id, type(exc).__name__
                )
        if sent_to:
            detail = f"Följebrev med ärendekort och originalmeddelande skickat till {sent_to}."
            note = f"Följebrev: skickat till {sent_to}"
        else:
            folder = self.config.path(self.config.templates.letters_folder)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / cover.letter.filename
            path.write_bytes(cover.letter.data)
            detail = f"Följebrevet kunde inte skickas ({problem}); sparat för att skickas för hand: {path}"
            note = f"Följebrev: inte skickat ({problem}); skicka det själv till {cover.receiver}: {path}"
        with self.sessions() as session, database_errors(), session.begin():
            case = session.get(Case, cover.case_id)
            assert case is not None
            add_event(
                session,
                case,
                EventKind.DRAFTED if not sent_to else EventKind.NOTE,
                actor="postvakt",
                at=now,
                detail=detail,
                document=cover.letter.filename,
            )
        return (note,)


@dataclass(frozen=True)
class _Cover:
    """A cover letter ready to go, built in the hand-over's transaction, sent after it."""

    case_id: int
    label: str
    to: str | None
    """The receiver's e-mail address (None: a phone number or nothing was given)."""
    receiver: str
    subject: str
    body: str
    reply_to: str | None
    files: list[Attachment]
    letter: RenderedLetter


def _sender(case: Case) -> str:
    if case.anonymous:
        return "Anonym"
    parts = [case.sender_name or "", f"<{case.sender_address}>" if case.sender_address else ""]
    return " ".join(p for p in parts if p) or (case.contact or "")


def _citizen_text(case: Case) -> str:
    """What the citizen wrote (the original's text), or the note of an oral complaint."""
    view = original_view(case.original)
    text = view.text.strip()
    if not text:
        return case.summary
    return text + ("\n[…] Hela meddelandet finns i den bifogade .eml-filen." if view.cut else "")


def _cover_text(context: dict[str, Any], due: date | None) -> str:
    """The e-mail that carries the cover letter: everything the receiver needs, in the body."""
    lines = [
        f"Till {context['recipient_name']}",
        "",
        f"{context['organisation']} lämnar över ett ärende till er för handläggning. "
        "Avsändaren har fått besked om att ärendet nu handläggs hos er.",
        "",
        f"Ärende: {context['heading']}",
        f"Vårt diarienummer: {context['number']}",
        f"Typ: {context['kind_text']}",
        f"Inkom till oss: {context['received_date']}",
        f"Avsändare: {context['sender']}",
    ]
    if due:
        lines.append(f"Svar till avsändaren senast: {context['answer_due']} (enligt våra rutiner)")
    lines += [
        "",
        f"Återkoppla till {context['reply_name']} ({context['reply_to']}) när ni har svarat "
        f"avsändaren eller avslutat ärendet, och ange diarienummer {context['number']}. "
        f"Ett svar på det här meddelandet går direkt till {context['reply_name']}.",
        "",
        "Avsändarens meddelande:",
        context["message"],
        "",
        f"Bifogat: följebrevet, {context['attached']}.",
        "",
        "Med vänlig hälsning",
        context["handler_name"],
    ]
    if context.get("handler_title"):
        lines.append(context["handler_title"])
    unit = context.get("unit")
    lines.append(f"{unit + ', ' if unit else ''}{context['organisation']}")
    phone = context.get("handler_phone")
    lines.append(context["reply_to"] + (f", telefon {phone}" if phone else ""))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ telling the forwarders

_TOLD = {
    EventKind.ANSWERED: "{who} har svarat avsändaren",
    EventKind.CLOSED: "{who} har avslutat ärendet",
    EventKind.FEEDBACK: "återkoppling antecknad av {who}",
    EventKind.FORWARDED: "{who} har lämnat ärendet vidare",
    EventKind.WITHDRAWN: "{who} har makulerat ärendet",
}


def install(sessions: sessionmaker[Session], notifier: Notifier) -> None:
    """Tell forwarders of what happens to what they handed over, from every session
    ``sessions`` makes."""
    info = dict(sessions.kw.get("info") or {})
    info[_KEY] = notifier
    sessions.configure(info=info)


@event.listens_for(Session, "before_flush")
def _tell_forwarders(session: Session, _context: Any, _instances: Any) -> None:
    notifier = session.info.get(_KEY)
    if not isinstance(notifier, Notifier):
        return
    for item in [o for o in session.new if isinstance(o, CaseEvent) and o.kind in _TOLD]:
        case = item.case
        if case is None:
            continue
        recipients = forwarders_before(case, item)
        if not recipients:
            continue
        what = _TOLD[item.kind].format(who=item.actor)
        detail = f": {item.detail[:300]}" if item.detail else ""
        line = f"{case.label} {case.heading} (som du lämnade över): {what}{detail}"
        day = item.at.astimezone(STOCKHOLM).date()
        notifier.queue(
            session,
            [
                Planned(
                    r,
                    "forward_feedback",
                    f"{case.reference}:{item.kind.value}",
                    day,
                    line,
                    private=case.private,
                    page=f"/arenden/{case.id}",
                )
                for r in recipients
            ],
            item.at,
        )
        log.debug("forwarders of case %s told of %s", case.id, item.kind.value)
