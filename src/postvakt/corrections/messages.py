"""Messages that were not made cases: registered by hand, flagged for review, set aside."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from postvakt.classifier import Label
from postvakt.corrections.common import (
    KIND_SV,
    REVIEWABLE_NON_CASES,
    Corrected,
    CorrectionsBase,
    label_of,
)
from postvakt.errors import (
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
)
from postvakt.mailbox.base import FetchedMessage
from postvakt.registry.db import database_errors
from postvakt.registry.models import (
    Case,
    CaseStatus,
    Disposition,
    Mailbox,
    MessageRecord,
)

__all__ = ["MessageCorrections"]


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
        label = label_of(kind)
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
            if record.case_id is not None:
                # A withdrawn case of this very message gives up its identity to the new one
                # (cases are unique on Message-ID and content); it keeps its number and events.
                earlier = session.get_one(Case, record.case_id)
                if earlier.status is CaseStatus.WITHDRAWN:
                    earlier.content_hash = None
                    session.flush()
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
                f"{case.label}: registrerat som {KIND_SV[label]}{due}.",
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
