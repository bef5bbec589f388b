"""People steer the machine: confirm, change the kind, withdraw, register, assign, merge,
and change the service area (:mod:`postvakt.corrections.areas`).

Every decision Postvakt takes — complaint, opinion or neither; the handler — can be
corrected here by someone with the right (the mailbox's owners, the handler, the unit's
head, the registrar, admins; :func:`postvakt.web.roles.can_correct_case`).  Each correction
is written to the case's events (who, when, why) and kept as a labelled example
(``corrections``) that the next model learns from.

Withdrawn is *makulerat*: the case stays with its number (never reused, nothing renumbered),
leaves the deadlines, reminders, counts and the yearly compilation, and Postvakt takes back
its own drafts for it (placed ones are removed from Drafts by their Message-ID after commit,
under the mailbox's lease; see :mod:`postvakt.intake.drafts`).  The registrar is told.

The same actions serve the command line (``postvakt cases confirm …``) and the web (Granska).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.clock import STOCKHOLM
from postvakt.corrections.areas import AreaCorrections
from postvakt.corrections.common import (
    KIND_ARGS,
    KIND_SV,
    NOT_A_CASE,
    Corrected,
    label_of,
)
from postvakt.corrections.messages import (
    AFTER_THE_ANSWER,
    BEFORE_THE_WAIT,
    OTHER_SENDER,
    MessageCorrections,
    _before_the_wait,
    _tell_handler,
)
from postvakt.corrections.queue import QueueItem, ReviewQueue
from postvakt.errors import (
    InvalidInputError,
)
from postvakt.registry.cases import add_event, mark_for_review
from postvakt.registry.db import database_errors
from postvakt.registry.drafts import add_draft, unsent_acknowledgements
from postvakt.registry.lifecycle import attach_followup
from postvakt.registry.models import (
    Case,
    CaseKind,
    CaseStatus,
    Disposition,
    EventKind,
    MessageRecord,
)
from postvakt.rules.notify import Planned
from postvakt.wording import listed

__all__ = ["KIND_ARGS", "Corrected", "Corrections", "QueueItem"]

_A_KIND = {"complaint": "ett klagomål", "opinion": "en synpunkt"}
"""The kinds with their article, as a sentence names one."""
_STOPPED = (CaseStatus.ANSWERED, CaseStatus.CLOSED, CaseStatus.FORWARDED)
"""A case in these states has no running answer clock."""


class Corrections(ReviewQueue, MessageCorrections, AreaCorrections):
    """Every correction, with the rights checked against the config."""

    # -- the actions -----------------------------------------------------------------------

    def confirm(self, reference: str, *, by: str) -> Corrected:
        """The machine's decision stands; the case leaves the review queue.  Once: a case a
        person already decided, with nothing new to look at since, is left as it is and the
        sentence says so (no second event, no second example for the model)."""
        user, now = self.person(by), self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            case = self._case(session, reference)
            self._may_correct(user, case, "bekräfta")
            self._open(case)
            already = _decided_already(case)
            if already:  # a second run, a double click, a colleague after: nothing to do
                return Corrected(case.reference, case.status.value, already)
            decided = self._decided(case, by=by, now=now)
            kind = case.kind.value
            add_event(
                session,
                case,
                EventKind.CONFIRMED,
                actor=by,
                at=now,
                detail=f"{by} bekräftade bedömningen: {KIND_SV[kind]}.{decided}",
            )
            self._example(
                session,
                action="confirm",
                by=by,
                now=now,
                label=kind,
                case=case,
                predicted=case.classifier_label,
            )
            return Corrected(
                case.reference,
                case.status.value,
                f"{case.label}: bekräftat som {KIND_SV[kind]}.",
            )

    def reclassify(self, reference: str, *, kind: str, by: str) -> Corrected:
        """Change the kind, acting at once: deadlines follow the new kind; 'other' withdraws."""
        label = label_of(kind)
        user, now = self.person(by), self.clock()
        planned: list[Planned] = []
        with self.sessions() as session, database_errors(), session.begin():
            case = self._case(session, reference)
            self._may_correct(user, case, "ändra typ på")
            self._open(case)
            before = case.kind.value
            self._example(
                session,
                action="reclassify",
                by=by,
                now=now,
                label=label,
                case=case,
                predicted=case.classifier_label,
            )
            if label == "other":
                add_event(
                    session,
                    case,
                    EventKind.RECLASSIFIED,
                    actor=by,
                    at=now,
                    detail=f"{by} ändrade typ från {KIND_SV[before]} till annat.",
                )
                planned = self._withdraw(session, case, by=by, reason=NOT_A_CASE, now=now)
                text = (
                    f"{case.label}: inte klagomål eller synpunkt — makulerat; meddelandet "
                    "bevakas som vanligt med svarstiden för alla meddelanden."
                )
            else:
                if label == before:
                    raise InvalidInputError(
                        f"Ärendet {case.label} är redan {KIND_SV[label]}. Använd 'postvakt "
                        "cases confirm' för att bekräfta bedömningen.",
                        argument="--kind",
                    )
                case.kind = CaseKind(label)
                decided = self._decided(case, by=by, now=now)
                due = self._deadlines_of_the_kind(case, before)
                # Drafted first: the change of kind is the case's last event, saying it all.
                swapped = self._acknowledge_anew(session, case, before=before, by=by, now=now)
                add_event(
                    session,
                    case,
                    EventKind.RECLASSIFIED,
                    actor=by,
                    at=now,
                    detail=f"{by} ändrade typ från {KIND_SV[before]} till {KIND_SV[label]}{due}."
                    + swapped
                    + decided,
                )
                text = f"{case.label}: nu {KIND_SV[label]}{due}.{swapped}"
            result = Corrected(case.reference, case.status.value, text)
        self._tell(planned, now)
        return result

    def _deadlines_of_the_kind(self, case: Case, before: str) -> str:
        """Set the deadlines of a case whose kind just changed from ``before``; the words
        that say what they are ("; svar senast …", or "").

        Only a case whose first answer is still to come (registered or acknowledged) gets
        the new kind's deadlines, counted from the arrival, and keeps the working days a
        wait for the citizen added (it resumed with the days that were left); an
        acknowledgement that counts as the answer keeps the date it promised.  A case tried
        anew keeps the deadline its 'Ny prövning' letter promised, and no acknowledgement
        clock; a waiting case keeps the answer deadline it resumes from (its
        acknowledgement clock, which does not pause, is the new kind's); an answered,
        closed or forwarded case has no clock to change.  An anonymous case has none."""
        due = case.answer_due
        if case.anonymous:
            return f"; svar senast {due.isoformat()}" if due else ""
        intake = self.intake
        calendar = intake.calendar  # type: ignore[attr-defined]
        policy = intake.policy  # type: ignore[attr-defined]
        received = case.received_at.astimezone(STOCKHOLM).date()
        ack_due, answer_due = policy.case_deadlines(case.kind.value, received, calendar)
        if case.status is CaseStatus.REOPENED:
            return (
                f"; svarstiden för den nya prövningen står kvar, svar senast {due.isoformat()}"
                if due
                else ""
            )
        if case.status is CaseStatus.WAITING:
            case.ack_due = ack_due
            return "; svarstiden är pausad medan ärendet väntar på medborgaren och ändras inte"
        if case.status not in (CaseStatus.REGISTERED, CaseStatus.ACKNOWLEDGED):
            return f"; svar senast {due.isoformat()}" if due else ""
        was = policy.case_deadlines(before, received, calendar)[1]
        if answer_due is not None and was is not None and due is not None and due > was:
            # The days the case was given beyond its old kind's deadline stay with it.
            answer_due = calendar.add_working_days(
                answer_due, calendar.working_days_between(was, due)
            )
        if case.status is CaseStatus.ACKNOWLEDGED and policy.ack_counts_as_answer:
            # The sent acknowledgement promised a date: the promise stands.
            answer_due = due or answer_due
        case.ack_due, case.answer_due = ack_due, answer_due
        return f"; svar senast {answer_due.isoformat()}" if answer_due else ""

    def _acknowledge_anew(
        self, session: Session, case: Case, *, before: str, by: str, now: datetime
    ) -> str:
        """The kind changed while Postvakt's acknowledgement for the old kind waits in Drafts
        unsent: it is taken back (out of Drafts after commit, as a withdrawal's drafts are)
        and the one for the new kind drafted in its place, to the same address in the same
        thread.  The words that say so (or "").  Once the case is acknowledged, what was
        sent is sent (cf. :meth:`postvakt.care.CareRouting._neutral_acknowledgment`)."""
        if case.status is not CaseStatus.REGISTERED:
            return ""
        waiting = unsent_acknowledgements(session, case)
        if not waiting:
            return ""
        old = waiting[-1]
        mailbox_id, mailbox_address = old.mailbox_id, old.mailbox.address
        to_address, to_name, subject = old.to_address, old.to_name, old.subject
        in_reply_to, references = old.in_reply_to, list(old.references or [])
        # A REGISTERED case has no other letter of Postvakt's than its acknowledgement.
        self._take_back_drafts(session, case)
        intake = self.intake
        letters = intake.letters  # type: ignore[attr-defined]
        policy = intake.policy  # type: ignore[attr-defined]
        calendar = intake.calendar  # type: ignore[attr-defined]
        received = case.received_at.astimezone(STOCKHOLM).date()
        due = policy.promised_date(case.kind.value, received, calendar)
        values = letters.citizen(case)
        if to_name:  # the name the first letter was addressed to (from the signature)
            values["recipient_name"] = to_name
        letter = letters.render(
            "acknowledgment_care" if case.individual_care else "acknowledgment",
            case,
            now,
            **values,
            answer_due=due or case.answer_due or case.reply_due,
            summary=case.summary,
        )
        add_draft(
            session,
            case,
            kind="ack",
            title=letter.title,
            mailbox_id=mailbox_id,
            mailbox_address=mailbox_address,
            to_address=to_address,
            to_name=to_name,
            subject=subject,
            in_reply_to=in_reply_to,
            references=references,
            body_text=letter.text,
            filename=letter.filename,
            data=letter.data,
            actor=by,
            now=now,
        )
        return (
            f" Mottagningsbekräftelsen som väntade som utkast var skriven för {_A_KIND[before]}; "
            f"Postvakt tar bort den ur Utkast-mappen och lägger dit en ny för "
            f"{_A_KIND[case.kind.value]}."
        )

    def withdraw(self, reference: str, *, reason: str, by: str) -> Corrected:
        """Makulera: the case stays with its number; Postvakt takes back its own drafts."""
        if not reason.strip():
            raise InvalidInputError("ange varför ärendet makuleras", argument="--reason")
        user, now = self.person(by), self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            case = self._case(session, reference)
            self._may_correct(user, case, "makulera")
            self._open(case)
            # No labelled example: a case withdrawn as a duplicate or by mistake is still a
            # complaint or an opinion; 'reclassify --kind annat' is what teaches "not a case".
            planned = self._withdraw(session, case, by=by, reason=reason.strip(), now=now)
            result = Corrected(
                case.reference,
                case.status.value,
                f"{case.label}: makulerat ({reason.strip()}).",
            )
        self._tell(planned, now)
        return result

    def assign(self, reference: str, *, to: str, by: str) -> Corrected:
        """Give the case to another handler, who is told."""
        user, now = self.person(by), self.clock()
        to = to.strip().lower()
        if self.config.person(to) is None and to not in {u.head for u in self.config.units}:
            raise InvalidInputError(
                f"{to} finns inte bland personerna i konfigurationen; ange en handläggares adress.",
                argument="--to",
            )
        with self.sessions() as session, database_errors(), session.begin():
            case = self._case(session, reference)
            self._may_correct(user, case, "tilldela")
            self._open(case)
            before, regular = case.handler, case.regular_handler
            if before == to and regular in (None, to):
                raise InvalidInputError(
                    f"{to} är redan handläggare för {case.label}.", argument="--to"
                )
            case.handler = to
            case.regular_handler = None
            if before == to:
                # Covering for the regular handler, who is away: the handler for good now, so
                # the absence handling does not give the case back at their return.
                detail = (
                    f"{by} bestämde att {to} är handläggare för gott: ärendet går inte "
                    f"tillbaka till {regular} (ordinarie handläggare) när hen är tillbaka."
                )
                notice = (
                    f"du är handläggare för gott (beslut av {by}); ärendet går inte tillbaka "
                    f"till {regular}."
                )
                text = f"{case.label}: handläggare {to}, också när {regular} är tillbaka."
            else:
                detail = f"{by} gav ärendet till {to}" + (
                    f" (tidigare {before})." if before else "."
                )
                notice = f"du är ny handläggare (tilldelat av {by})."
                text = f"{case.label}: handläggare {to}."
            add_event(session, case, EventKind.ASSIGNED, actor=by, at=now, detail=detail)
            today = now.astimezone(STOCKHOLM).date()
            planned = [
                Planned(
                    to,
                    "assigned",
                    case.reference,
                    today,
                    f"{case.label} {case.heading}: {notice}",
                    page=f"/arenden/{case.id}",
                )
            ]
            result = Corrected(case.reference, case.status.value, text)
        self._tell(planned, now)
        return result

    def merge(self, reference: str, *, into: str, by: str) -> Corrected:
        """Two messages about one matter: ``reference`` is withdrawn, pointing to ``into``."""
        user, now = self.person(by), self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            case, target = self._cases(session, reference, into)
            if case.id == target.id:
                raise InvalidInputError(
                    "ett ärende kan inte sammanföras med sig självt", argument="--into"
                )
            self._may_correct(user, case, "sammanföra")
            self._may_change(user, target, "sammanföra ett ärende med")
            self._open(case)
            self._open(target)
            case.merged_into_id = target.id
            self._example(
                session,
                action="merge",
                by=by,
                now=now,
                label=case.kind.value,
                case=case,
                predicted=case.classifier_label,
            )
            planned = self._withdraw(
                session,
                case,
                by=by,
                reason=f"sammanfört med {target.label}",
                now=now,
                watch_messages=False,
            )
            records = list(
                session.scalars(
                    select(MessageRecord)
                    .where(MessageRecord.case_id == case.id)
                    .order_by(MessageRecord.id)
                )
            )
            own = next((r for r in records if r.disposition is Disposition.CASE), None)
            reasons = self._joining(session, case, own, target)
            # The merged case's messages now belong to the one that goes on, as its later
            # messages: the citizen's next reply in either thread joins it, and a message
            # merged by mistake is taken out again as any ('cases detach').
            for record in records:
                record.case_id = target.id
                if record.disposition is Disposition.CASE:
                    record.disposition = Disposition.FOLLOWUP
            moved = f"; dess meddelande nr {own.id} hör nu hit" if own is not None else ""
            # and what else was in it (copies read elsewhere, the citizen's later messages):
            # the event names every message that moved, so a person can take any off again
            others = [r.id for r in records if r is not own]
            if others:
                also = "även " if own is not None else ""
                moved += f"; {also}{_numbers_said(others)} hör nu hit"
            add_event(
                session,
                target,
                EventKind.MERGED,
                actor=by,
                at=now,
                detail=f"{case.label} sammanfördes med det här ärendet av {by}{moved}"
                + "".join(f"; {r}" for r in reasons)
                + ".",
            )
            for reason in reasons:
                mark_for_review(target, reason)
            planned += _tell_handler(
                target,
                user,
                f"{target.reference}#{case.reference}",  # one notice per merged case
                now,
                f"{by} sammanförde {case.label} med ärendet"
                + (f"; meddelande nr {own.id} hör nu hit." if own is not None else "."),
            )
            result = Corrected(
                case.reference,
                case.status.value,
                f"{case.label}: makulerat och sammanfört med {target.label}.",
            )
        self._tell(planned, now)
        return result

    def _joining(
        self, session: Session, case: Case, own: MessageRecord | None, target: Case
    ) -> list[str]:
        """Why ``target`` must be seen to now that ``case`` (its message ``own``) joins it
        — the rules of :meth:`attach`: the message is not from a party to ``target``; the
        target waits for its citizen and the message came before; the target is answered,
        closed or forwarded (the message, from its citizen after the answer, also waits for
        a reply of its own: :func:`postvakt.registry.case_query.awaiting_reply`).  A
        citizen's message in a case that is open for an answer joins it as a follow-up
        does, and a waiting case resumes."""
        intake = self.intake
        arrived = (own.received_at if own is not None else None) or case.received_at
        sender = case.sender_address or (own.sender_address if own is not None else None)
        reasons: list[str] = []
        party = intake.is_party(target, sender or "")  # type: ignore[attr-defined]
        if sender and not party:
            reasons.append(OTHER_SENDER)
        elif target.status is CaseStatus.WAITING and _before_the_wait(target, arrived):
            reasons.append(BEFORE_THE_WAIT)
        elif target.status in _STOPPED:
            reasons.append(AFTER_THE_ANSWER)
        if party and not reasons:
            attach_followup(
                session,
                target,
                at=arrived,
                calendar=intake.calendar,  # type: ignore[attr-defined]
                subject=case.subject or case.heading,
            )
        return reasons


def _decided_already(case: Case) -> str | None:
    """Why ``case`` needs no confirmation, when a person already decided its kind
    (confirmed it, changed its kind, registered it by hand) and nothing new came to be
    looked at since — it is not in the review queue: "KS 2026/1 är redan bekräftat som
    klagomål av … 2026-11-18 10:05; inget ändrat."  None when it is still to be decided (a
    case the machine registered that nobody has looked at may be confirmed, once)."""
    if case.needs_review or case.corrected_by is None:
        return None
    decisions = (EventKind.CONFIRMED, EventKind.RECLASSIFIED)
    last = next((e.kind for e in reversed(case.events) if e.kind in decisions), None)
    how = "bekräftat" if last is EventKind.CONFIRMED else "bedömt"
    at = case.corrected_at
    when = f" {at.astimezone(STOCKHOLM):%Y-%m-%d %H:%M}" if at is not None else ""
    return (
        f"{case.label} är redan {how} som {KIND_SV[case.kind.value]} av {case.corrected_by}"
        f"{when}; inget ändrat."
    )


def _numbers_said(numbers: Sequence[int]) -> str:
    """ "meddelande nr 7" or "meddelandena nr 7, 8 och 9"."""
    if len(numbers) == 1:
        return f"meddelande nr {numbers[0]}"
    return "meddelandena nr " + listed([str(n) for n in numbers])
