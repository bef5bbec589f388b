"""People steer the machine: confirm, change the kind, withdraw, register, assign, merge.

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

import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from postvakt.classifier import Label
from postvakt.classifier.limits import TEXT_LIMIT
from postvakt.clock import STOCKHOLM, Clock
from postvakt.config import Config
from postvakt.errors import (
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    PostvaktError,
)
from postvakt.mailbox.base import Connector, FetchedMessage
from postvakt.mailbox.message import parse_message
from postvakt.registry.cases import add_event, find_case
from postvakt.registry.db import database_errors
from postvakt.registry.models import (
    Case,
    CaseKind,
    CaseStatus,
    Correction,
    Disposition,
    Draft,
    DraftStatus,
    EventKind,
    Mailbox,
    MessageRecord,
)
from postvakt.roles import (
    CORRECTORS_SV,
    User,
    can_correct_case,
    can_correct_message,
    can_view_case,
    user_for,
)
from postvakt.rules.notify import Notifier, Planned

__all__ = ["KIND_ARGS", "Corrected", "Corrections", "QueueItem"]

log = logging.getLogger("postvakt.corrections")

KIND_ARGS = {"klagomal": "complaint", "synpunkt": "opinion", "annat": "other"}
"""The kinds as typed on the command line (and in forms), to the stored labels."""
KIND_SV = {"complaint": "klagomål", "opinion": "synpunkt", "other": "annat"}
NOT_A_CASE = "inte klagomål eller synpunkt"
"""The reason a case changed to 'annat' is withdrawn with (the routine's words)."""
REVIEWABLE_NON_CASES = (Disposition.NOT_CASE,)
"""Messages that were not made cases but may be shown in the review queue."""


@dataclass(frozen=True)
class Corrected:
    """What an action did, for the command line and the web's message."""

    case: str
    status: str
    text: str
    """One Swedish sentence: what happened."""


@dataclass(frozen=True)
class QueueItem:
    """One row of the review queue: a case to confirm, or a message a person may register."""

    kind: str
    """'case' or 'message'."""
    id: int
    """The case's id, or the message record's id."""
    reference: str | None
    label: str | None
    """complaint | opinion | other: what the machine (or a person) decided."""
    probability: float | None
    """How sure the classifier was of a case label (the case probability for a message)."""
    reasons: tuple[str, ...]
    received_at: datetime | None
    due: date | None
    """The deadline that is running."""
    mailbox: str | None
    sender: str | None
    subject: str
    excerpt: str
    message_id: str | None
    flagged_by: str | None


class Corrections:
    """The corrections, with the rights checked against the config."""

    def __init__(
        self,
        config: Config,
        sessions: sessionmaker[Session],
        *,
        clock: Clock,
        intake: object,
        connectors: dict[str, Connector],
        notifier: Notifier | None = None,
    ):
        self.config = config
        self.sessions = sessions
        self.clock = clock
        self.intake = intake  # postvakt.intake.Intake (typed loosely to keep imports light)
        self.connectors = connectors
        self.notifier = notifier

    # -- who may ---------------------------------------------------------------------------

    def person(self, address: str) -> User:
        """The person ``address`` is by the config; refused when they have no role at all."""
        user = user_for(self.config, address)
        if user is None:
            raise PermissionDeniedError(
                f"{address} finns inte i konfigurationen som person, ägare, chef, registrator "
                "eller administratör och får inte rätta ärenden. Ange din egen adress med --by."
            )
        return user

    def _may_correct(self, user: User, case: Case, what: str) -> None:
        if not can_correct_case(user, case):
            raise PermissionDeniedError(
                f"{user.address} får inte {what} ärende {case.reference}: det får bara "
                f"{CORRECTORS_SV}."
            )

    def _may_register(self, user: User, record: MessageRecord) -> None:
        mailbox = record.mailbox
        unit = mailbox.unit.name if mailbox.unit else None
        if not can_correct_message(user, mailbox.address, unit):
            raise PermissionDeniedError(
                f"{user.address} får inte registrera meddelanden i {mailbox.address}: det får "
                "bara brevlådans ansvariga, den vars brevlåda det är, enhetens chef, "
                "registratorn och administratörer."
            )

    # -- helpers ---------------------------------------------------------------------------

    def _case(self, session: Session, reference: str) -> Case:
        return find_case(session, reference)

    @staticmethod
    def _open(case: Case) -> None:
        if case.status is CaseStatus.WITHDRAWN:
            target = f" (sammanfört med {case.merged_into.reference})" if case.merged_into else ""
            raise InvalidTransitionError(
                f"Ärendet {case.reference} är makulerat{target} och kan inte ändras. Ett "
                "meddelande som ändå ska bli ett ärende registreras på nytt med 'postvakt "
                "cases register --message-id …'."
            )

    def _example(
        self,
        session: Session,
        *,
        action: str,
        by: str,
        now: datetime,
        label: str,
        case: Case | None = None,
        record: MessageRecord | None = None,
        predicted: str | None = None,
        raw: bytes | None = None,
    ) -> None:
        """Keep the correction as a labelled example: the text the classifier read."""
        subject, text, digest = "", "", None
        source = raw if raw is not None else (case.original if case is not None else None)
        if source:
            msg = parse_message(source)
            subject, text = msg.subject[:2000], msg.body_text[:TEXT_LIMIT]
            from postvakt.mailbox.identity import content_hash

            digest = content_hash(source)
        elif record is not None:
            subject, text = record.subject or "", record.excerpt or ""
            digest = record.content_hash
        session.add(
            Correction(
                at=now,
                by=by,
                action=action,
                case_id=case.id if case is not None else None,
                message_record_id=record.id if record is not None else None,
                predicted=predicted,
                label=label,
                subject=subject,
                text=text,
                content_hash=digest,
            )
        )

    def _tell(self, planned: list[Planned], now: datetime) -> None:
        if not planned or self.notifier is None or self.notifier.mailer is None:
            return  # no [smtp]: nobody is told by mail; the case's events say it all
        try:
            self.notifier.send(planned, now)
        except PostvaktError as exc:  # telling must not undo the correction
            log.warning("could not tell of a correction: %s", type(exc).__name__)

    def _registrar(self, case: Case, text: str, now: datetime) -> list[Planned]:
        registrar = self.config.organisation.registrar
        if not registrar:
            return []
        today = now.astimezone(STOCKHOLM).date()
        return [Planned(registrar, "withdrawn", case.reference, today, text)]

    @staticmethod
    def _take_back_drafts(session: Session, case: Case) -> int:
        """Postvakt's own drafts for the case: placed ones are removed after commit, the
        others are never placed.  Returns how many were placed (to be removed)."""
        placed = 0
        for draft in session.scalars(select(Draft).where(Draft.case_id == case.id)):
            if draft.status is DraftStatus.SAVED:
                draft.status = DraftStatus.REMOVE
                placed += 1
            elif draft.status in (DraftStatus.PENDING, DraftStatus.FAILED):
                draft.status = DraftStatus.REMOVED
        return placed

    def _withdraw(
        self,
        session: Session,
        case: Case,
        *,
        by: str,
        reason: str,
        now: datetime,
        watch_messages: bool = True,
    ) -> list[Planned]:
        case.status = CaseStatus.WITHDRAWN
        case.withdrawn_at, case.withdrawn_reason = now, reason
        case.needs_review = False
        case.corrected_by, case.corrected_at = by, now
        placed = self._take_back_drafts(session, case)
        removal = f" Postvakts {placed} utkast tas bort ur Utkast-mappen." if placed else ""
        add_event(
            session,
            case,
            EventKind.WITHDRAWN,
            actor=by,
            at=now,
            detail=f"Makulerat av {by}: {reason}.{removal}",
        )
        # The message stays watched under the ordinary reply rule, as any citizen's message
        # (a merged case's messages go on in the case they were merged into instead).
        for record in (
            []
            if not watch_messages
            else session.scalars(
                select(MessageRecord).where(
                    MessageRecord.case_id == case.id, MessageRecord.disposition == Disposition.CASE
                )
            )
        ):
            record.disposition = Disposition.NOT_CASE
        return self._registrar(
            case,
            f"{case.reference} {case.heading}: makulerat av {by} ({reason}). Numret används "
            "inte igen.",
            now,
        )

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
                f"{case.reference}: bekräftat som {KIND_SV[kind]}.",
            )

    def reclassify(self, reference: str, *, kind: str, by: str) -> Corrected:
        """Change the kind, acting at once: deadlines follow the new kind; 'other' withdraws."""
        label = _label(kind)
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
                    f"{case.reference}: inte klagomål eller synpunkt — makulerat; meddelandet "
                    "bevakas som vanligt med svarstiden för alla meddelanden."
                )
            else:
                if label == before:
                    raise InvalidInputError(
                        f"Ärendet {case.reference} är redan {KIND_SV[label]}. Använd 'postvakt "
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
                    case.ack_due, case.answer_due = policy.case_deadlines(label, received, calendar)
                due = f"; svar senast {case.answer_due.isoformat()}" if case.answer_due else ""
                add_event(
                    session,
                    case,
                    EventKind.RECLASSIFIED,
                    actor=by,
                    at=now,
                    detail=f"{by} ändrade typ från {KIND_SV[before]} till {KIND_SV[label]}{due}.",
                )
                text = f"{case.reference}: nu {KIND_SV[label]}{due}."
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
            self._example(
                session,
                action="withdraw",
                by=by,
                now=now,
                label="other",
                case=case,
                predicted=case.classifier_label,
            )
            planned = self._withdraw(session, case, by=by, reason=reason.strip(), now=now)
            result = Corrected(
                case.reference,
                case.status.value,
                f"{case.reference}: makulerat ({reason.strip()}).",
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
                    f"{to} är redan handläggare för {case.reference}.", argument="--to"
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
                    f"{case.reference} {case.heading}: du är ny handläggare (tilldelat av {by}).",
                )
            ]
            result = Corrected(
                case.reference, case.status.value, f"{case.reference}: handläggare {to}."
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
                reason=f"sammanfört med {target.reference}",
                now=now,
                watch_messages=False,
            )
            add_event(
                session,
                target,
                EventKind.MERGED,
                actor=by,
                at=now,
                detail=f"{case.reference} sammanfördes med det här ärendet av {by}.",
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
                f"{case.reference}: makulerat och sammanfört med {target.reference}.",
            )
        self._tell(planned, now)
        return result

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
            if case is not None and case.original:
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
        label = _label(kind)
        if label == "other":
            raise InvalidInputError("ange klagomal eller synpunkt", argument="--kind")
        user, now = self.person(by), self.clock()
        intake = self.intake
        with self.sessions() as session, database_errors(), session.begin():
            record = self.find_record(session, message_id, record_id)
            self._may_register(user, record)
            if record.disposition in (Disposition.CASE, Disposition.FOLLOWUP) and record.case_id:
                existing = session.get_one(Case, record.case_id)
                if existing.status is not CaseStatus.WITHDRAWN:
                    raise InvalidTransitionError(
                        f"Meddelandet är redan ärende {existing.reference}. Ändra typ med "
                        "'postvakt cases reclassify'."
                    )
            fetched = self._bytes(session, record)
            predicted = record.label
            case = intake.register_by_hand(  # type: ignore[attr-defined]
                session, record, fetched, label=Label(label), actor=by
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
                f"{case.reference}: registrerat som {KIND_SV[label]}{due}.",
            )

    def flag(self, record_id: int, *, by: str) -> None:
        """Ask for a person to look at a message that was not made a case."""
        user, now = self.person(by), self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            record = self._record(session, record_id)
            self._may_register(user, record)
            record.flagged_by, record.flagged_at = by, now
            record.reviewed_by = record.reviewed_at = None

    def dismiss(self, record_id: int, *, by: str) -> None:
        """The message is indeed neither complaint nor opinion: off the review queue."""
        user, now = self.person(by), self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            record = self._record(session, record_id)
            self._may_register(user, record)
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

    @staticmethod
    def _record(session: Session, record_id: int) -> MessageRecord:
        record = session.get(MessageRecord, record_id)
        if record is None or record.disposition not in REVIEWABLE_NON_CASES:
            raise NotFoundError(f"Det finns inget meddelande nr {record_id} att granska.")
        return record

    # -- the review queue ------------------------------------------------------------------

    def queue(self, by: str, *, limit: int | None = None) -> list[QueueItem]:
        """What ``by`` may review: cases to confirm, and messages not made cases whose case
        probability lay in the review band or that someone flagged.  Oldest first."""
        user = self.person(by)
        threshold = self.config.classifier.review_non_cases_from
        items: list[QueueItem] = []
        with self.sessions() as session, database_errors():
            cases = session.scalars(
                select(Case)
                .options(selectinload(Case.mailbox), selectinload(Case.unit))
                .where(Case.needs_review.is_(True), Case.status != CaseStatus.WITHDRAWN)
            )
            for case in cases:
                if not (can_view_case(user, case) and can_correct_case(user, case)):
                    continue
                items.append(
                    QueueItem(
                        kind="case",
                        id=case.id,
                        reference=case.reference,
                        label=case.kind.value,
                        probability=case.classifier_confidence,
                        reasons=tuple(
                            [*(case.review_reasons or []), *(case.classifier_reasons or [])]
                        ),
                        received_at=case.received_at,
                        due=_running(case),
                        mailbox=case.mailbox.address if case.mailbox else None,
                        sender=case.sender_address,
                        subject=case.subject or case.heading,
                        excerpt=case.summary,
                        message_id=case.message_id,
                        flagged_by=None,
                    )
                )
            records = session.scalars(
                select(MessageRecord)
                .options(selectinload(MessageRecord.mailbox).selectinload(Mailbox.unit))
                .where(
                    MessageRecord.disposition.in_(REVIEWABLE_NON_CASES),
                    MessageRecord.reviewed_at.is_(None),
                    or_(
                        MessageRecord.flagged_by.is_not(None),
                        MessageRecord.case_probability >= threshold,
                    ),
                )
            )
            for record in records:
                mailbox = record.mailbox
                unit = mailbox.unit.name if mailbox.unit else None
                if not can_correct_message(user, mailbox.address, unit):
                    continue
                items.append(
                    QueueItem(
                        kind="message",
                        id=record.id,
                        reference=None,
                        label=record.label,
                        probability=record.case_probability,
                        reasons=tuple(record.reasons or []),
                        received_at=record.received_at,
                        due=record.reply_due if record.answered_at is None else None,
                        mailbox=mailbox.address,
                        sender=record.sender_address,
                        subject=record.subject or "",
                        excerpt=record.excerpt or "",
                        message_id=record.message_id,
                        flagged_by=record.flagged_by,
                    )
                )
        items.sort(
            key=lambda i: (
                i.received_at is None,
                i.received_at.timestamp() if i.received_at else 0,
                i.id,
            )
        )
        return items[:limit] if limit else items


def _label(kind: str) -> str:
    value = KIND_ARGS.get(kind.strip().lower(), kind.strip().lower())
    if value not in ("complaint", "opinion", "other"):
        raise InvalidInputError(
            f"{kind!r} är ingen typ; ange klagomal, synpunkt eller annat", argument="--kind"
        )
    return value


def _running(case: Case) -> date | None:
    """The deadline that runs now: the acknowledgement for a registered complaint, else the
    answer."""
    if case.kind is CaseKind.COMPLAINT and case.status is CaseStatus.REGISTERED and case.ack_due:
        return min(d for d in (case.ack_due, case.answer_due) if d)
    return case.answer_due or case.reply_due
