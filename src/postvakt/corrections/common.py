"""What every correction shares: the person and their rights, the example kept for the
model, the event log, telling the registrar, and withdrawing (makulera)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from postvakt import care
from postvakt.classifier.forwarded import forwards_citizen
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
from postvakt.mailbox.base import Connector
from postvakt.mailbox.message import parse_message
from postvakt.registry.cases import add_event, find_case
from postvakt.registry.models import (
    Case,
    CaseStatus,
    Correction,
    Disposition,
    Draft,
    DraftStatus,
    EventKind,
    MessageRecord,
)
from postvakt.roles import (
    CORRECTORS_SV,
    User,
    can_correct_case,
    can_correct_message,
    user_for,
)
from postvakt.rules.notify import Notifier, Planned

log = logging.getLogger("postvakt.corrections")

KIND_ARGS = {"klagomal": "complaint", "synpunkt": "opinion", "annat": "other"}
"""The kinds as typed on the command line (and in forms), to the stored labels."""
KIND_SV = {"complaint": "klagomål", "opinion": "synpunkt", "other": "annat"}
NOT_A_CASE = "inte klagomål eller synpunkt"
"""The reason a case changed to 'annat' is withdrawn with (the routine's words)."""
REVIEWABLE_NON_CASES = (Disposition.NOT_CASE,)
"""Messages that were not made cases but may be shown in the review queue."""

__all__ = [
    "KIND_ARGS",
    "KIND_SV",
    "NOT_A_CASE",
    "REVIEWABLE_NON_CASES",
    "Corrected",
    "CorrectionsBase",
    "label_of",
    "may_see_message",
]


@dataclass(frozen=True)
class Corrected:
    """What an action did, for the command line and the web's message."""

    case: str
    status: str
    text: str
    """One Swedish sentence: what happened."""


class CorrectionsBase:
    """The config, the database, the clock and the pieces the corrections act through."""

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
                f"{user.address} får inte {what} ärende {case.label}: det får bara {CORRECTORS_SV}."
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
        if not may_see_message(user, record):
            # told as a message that is not there: the refusal says nothing of it
            raise NotFoundError(f"Det finns inget meddelande nr {record.id} att granska.")

    # -- helpers ---------------------------------------------------------------------------

    def _case(self, session: Session, reference: str) -> Case:
        """The case called ``reference``, read again under a row lock held to the end of the
        transaction.  Two people correcting one case at once take turns, and the second
        reads what the first wrote: a confirmation waiting for a withdrawal then finds the
        case withdrawn (every action checks :meth:`_open` on what is read here), never the
        state from before it.  (SQLite: the transaction's write lock already does it.)"""
        case = find_case(session, reference)
        session.refresh(case, with_for_update=True)
        return case

    def _cases(self, session: Session, *references: str) -> list[Case]:
        """The cases called ``references``, each read again under a row lock, taken in the
        order of their ids: two corrections taking the same two cases in opposite orders (a
        merge of A into B and one of B into A) would each hold one and wait for the other,
        and the database would end one of them with an error."""
        found = [find_case(session, reference) for reference in references]
        for case in sorted({case.id: case for case in found}.values(), key=lambda c: c.id):
            session.refresh(case, with_for_update=True)
        return found

    @staticmethod
    def _open(case: Case) -> None:
        if case.status is CaseStatus.WITHDRAWN:
            target = f" (sammanfört med {case.merged_into.label})" if case.merged_into else ""
            raise InvalidTransitionError(
                f"Ärendet {case.label} är makulerat{target} och kan inte ändras. Ett "
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
            # Staff forwarding a citizen's message: the classifier reads the citizen's, so the
            # example is the citizen's text, not the colleague's note around it.
            domains = {d.lower() for d in self.config.organisation.domains}
            sender = msg.sender.address.lower().rpartition("@")[2] if msg.sender else ""
            if sender in domains:
                msg = forwards_citizen(msg, domains) or msg
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
        """The registrar's notice of a withdrawal: none when the registrar keeps the diary
        by mail, for the diary outbox mails them the withdrawal itself ("Ärendet makulerat",
        to enter); two mails about one thing would be one too many."""
        org = self.config.organisation
        registrar = org.registrar
        if not registrar:
            return []
        if self.config.registry.system == "registrar" and org.registrar_notice != "none":
            return []
        today = now.astimezone(STOCKHOLM).date()
        return [
            Planned(registrar, "withdrawn", case.reference, today, text, page=f"/arenden/{case.id}")
        ]

    @staticmethod
    def _decided(case: Case, *, by: str, now: datetime) -> str:
        """A person decided the case: it leaves the review queue and what it was to be
        looked at for is taken care of (its review reasons go; a later one comes alone).
        Returns the words the decision's event ends with, naming those reasons (or "") —
        the case's events keep who decided on what."""
        reasons = [r.strip().rstrip(".") for r in case.review_reasons or [] if r.strip()]
        case.needs_review = False
        case.review_reasons = []  # a new list: the JSON column sees assignment only
        case.corrected_by, case.corrected_at = by, now
        return f" Att granska var: {'; '.join(reasons)}." if reasons else ""

    @staticmethod
    def _take_back_drafts(session: Session, case: Case) -> int:
        """Postvakt's own drafts for the case: placed ones are removed after commit, and so
        are pending ones (they may be in Drafts already); one that could not be built is
        never placed.  Returns how many were placed (to be removed)."""
        placed = 0
        # Locked and read fresh: a draft being placed meanwhile (PENDING -> SAVED in another
        # transaction) is seen as it ends, not as it was, so a placed draft is never marked
        # as one that was never placed (it would stay in Drafts for good).
        found = select(Draft).where(Draft.case_id == case.id).with_for_update()
        for draft in session.scalars(found.execution_options(populate_existing=True)):
            if draft.status is DraftStatus.SAVED:
                draft.status = DraftStatus.REMOVE
                placed += 1
            elif draft.status is DraftStatus.PENDING:
                # Appended perhaps, not yet noted: a pass's placer notes its drafts at the
                # pass's end, and a crash or a failed commit in between leaves them pending
                # while they are in Drafts.  Looked for there, then, and taken out if found.
                draft.status = DraftStatus.REMOVE
            elif draft.status is DraftStatus.FAILED:
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
        decided = self._decided(case, by=by, now=now)
        placed = self._take_back_drafts(session, case)
        removal = f" Postvakts {placed} utkast tas bort ur Utkast-mappen." if placed else ""
        if case.individual_care:
            # The deviation function may hold the card: it hears that the case is withdrawn
            # (a card not yet sent is never sent).
            care.clear(
                session,
                case,
                actor=by,
                now=now,
                detail="Makulerat: markeringen för enskilds vård och omsorg togs bort; "
                "avvikelsefunktionen får besked om den fått ärendekortet.",
            )
        add_event(
            session,
            case,
            EventKind.WITHDRAWN,
            actor=by,
            at=now,
            detail=f"Makulerat av {by}: {reason}.{removal}{decided}",
        )
        # The message, and the citizen's follow-ups in the case, stay watched under the
        # ordinary reply rule, as any citizen's message (a merged case's messages go on in
        # the case they were merged into instead).
        for record in (
            []
            if not watch_messages
            else session.scalars(
                select(MessageRecord).where(
                    MessageRecord.case_id == case.id,
                    MessageRecord.disposition.in_((Disposition.CASE, Disposition.FOLLOWUP)),
                )
            )
        ):
            record.disposition = Disposition.NOT_CASE
            # A person has just decided about it: it does not come back to the review queue.
            record.reviewed_by, record.reviewed_at = by, now
        return self._registrar(
            case,
            f"{case.label} {case.heading}: makulerat av {by} ({reason}). Numret används inte igen.",
            now,
        )


def may_see_message(user: User, record: MessageRecord) -> bool:
    """Whether ``user`` may see ``record`` among the messages of its mailbox.  A message
    marked private is kept from the mailbox's other owners (a delegate) and from colleagues,
    as a private case is (:func:`postvakt.roles.can_view_case`): only the one its case would
    be handled by (the person whose mailbox it is; a function mailbox's first owner), the
    head of its unit, the registrar and admins see it.  ``record``'s mailbox is read."""
    if not record.private or user.sees_every_case:
        return True
    mailbox = record.mailbox
    if mailbox.unit is not None and mailbox.unit.name in user.heads:
        return True
    if mailbox.kind == "personal":
        return mailbox.address == user.address
    return bool(mailbox.owners) and mailbox.owners[0].address == user.address


def label_of(kind: str) -> str:
    value = KIND_ARGS.get(kind.strip().lower(), kind.strip().lower())
    if value not in ("complaint", "opinion", "other"):
        raise InvalidInputError(
            f"{kind!r} är ingen typ; ange klagomal, synpunkt eller annat", argument="--kind"
        )
    return value
