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

from sqlalchemy import select

from postvakt.clock import STOCKHOLM
from postvakt.corrections.areas import AreaCorrections
from postvakt.corrections.common import (
    KIND_ARGS,
    KIND_SV,
    NOT_A_CASE,
    Corrected,
    label_of,
)
from postvakt.corrections.messages import MessageCorrections
from postvakt.corrections.queue import QueueItem, ReviewQueue
from postvakt.errors import (
    InvalidInputError,
)
from postvakt.registry.cases import add_event
from postvakt.registry.db import database_errors
from postvakt.registry.models import (
    CaseKind,
    CaseStatus,
    EventKind,
    MessageRecord,
)
from postvakt.rules.notify import Planned

__all__ = ["KIND_ARGS", "Corrected", "Corrections", "QueueItem"]


class Corrections(ReviewQueue, MessageCorrections, AreaCorrections):
    """Every correction, with the rights checked against the config."""

    # -- the actions -----------------------------------------------------------------------

    def confirm(self, reference: str, *, by: str) -> Corrected:
        """The machine's decision stands; the case leaves the review queue."""
        user, now = self.person(by), self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            case = self._case(session, reference)
            self._may_correct(user, case, "bekräfta")
            self._open(case)
            case.needs_review = False
            case.corrected_by, case.corrected_at = by, now
            kind = case.kind.value
            add_event(
                session,
                case,
                EventKind.CONFIRMED,
                actor=by,
                at=now,
                detail=f"{by} bekräftade bedömningen: {KIND_SV[kind]}.",
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
                case.needs_review = False
                case.corrected_by, case.corrected_at = by, now
                if not case.anonymous and case.status not in (
                    CaseStatus.ANSWERED,
                    CaseStatus.CLOSED,
                    CaseStatus.FORWARDED,
                ):
                    received = case.received_at.astimezone(STOCKHOLM).date()
                    calendar = self.intake.calendar  # type: ignore[attr-defined]
                    policy = self.intake.policy  # type: ignore[attr-defined]
                    ack_due, answer_due = policy.case_deadlines(label, received, calendar)
                    if case.status is CaseStatus.ACKNOWLEDGED and policy.ack_counts_as_answer:
                        # The sent acknowledgement promised a date: the promise stands.
                        answer_due = case.answer_due or answer_due
                    case.ack_due, case.answer_due = ack_due, answer_due
                due = f"; svar senast {case.answer_due.isoformat()}" if case.answer_due else ""
                add_event(
                    session,
                    case,
                    EventKind.RECLASSIFIED,
                    actor=by,
                    at=now,
                    detail=f"{by} ändrade typ från {KIND_SV[before]} till {KIND_SV[label]}{due}.",
                )
                text = f"{case.label}: nu {KIND_SV[label]}{due}."
            result = Corrected(case.reference, case.status.value, text)
        self._tell(planned, now)
        return result

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
            before = case.handler
            if before == to:
                raise InvalidInputError(
                    f"{to} är redan handläggare för {case.label}.", argument="--to"
                )
            case.handler = to
            case.regular_handler = None
            add_event(
                session,
                case,
                EventKind.ASSIGNED,
                actor=by,
                at=now,
                detail=f"{by} gav ärendet till {to}"
                + (f" (tidigare {before})." if before else "."),
            )
            today = now.astimezone(STOCKHOLM).date()
            planned = [
                Planned(
                    to,
                    "assigned",
                    case.reference,
                    today,
                    f"{case.label} {case.heading}: du är ny handläggare (tilldelat av {by}).",
                    page=f"/arenden/{case.id}",
                )
            ]
            result = Corrected(
                case.reference, case.status.value, f"{case.label}: handläggare {to}."
            )
        self._tell(planned, now)
        return result

    def merge(self, reference: str, *, into: str, by: str) -> Corrected:
        """Two messages about one matter: ``reference`` is withdrawn, pointing to ``into``."""
        user, now = self.person(by), self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            case = self._case(session, reference)
            target = self._case(session, into)
            if case.id == target.id:
                raise InvalidInputError(
                    "ett ärende kan inte sammanföras med sig självt", argument="--into"
                )
            self._may_correct(user, case, "sammanföra")
            self._may_correct(user, target, "sammanföra ett ärende med")
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
            add_event(
                session,
                target,
                EventKind.MERGED,
                actor=by,
                at=now,
                detail=f"{case.label} sammanfördes med det här ärendet av {by}.",
            )
            # The merged case's messages now belong to the one that goes on: the citizen's
            # next reply in either thread joins it.
            for record in session.scalars(
                select(MessageRecord).where(MessageRecord.case_id == case.id)
            ):
                record.case_id = target.id
            result = Corrected(
                case.reference,
                case.status.value,
                f"{case.label}: makulerat och sammanfört med {target.label}.",
            )
        self._tell(planned, now)
        return result
