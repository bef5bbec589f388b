"""Delivering the diary outbox: each due document to the configured diary, retried with
back-off, never twice.

A run claims the due rows (``pending`` whose time has come) by marking them ``sending`` in a
short transaction of its own, then hands each to the backend outside any transaction, then
records the outcome: ``sent`` (with what the diary said: a document number, a case number),
``pending`` again with the next try doubled (from one minute up to
``[registry] retry_max_minutes``) when the diary or SMTP was down, or ``failed`` when the
diary refused the document as it is.  A row left ``sending`` by a crash is shown as uncertain
in ``postvakt diary status`` and resent only when a person says so (``postvakt diary retry``):
it may have reached the diary, so its progress is marked ``unsure`` and the backend looks for
what the stopped process may have made before making it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session, aliased, selectinload, sessionmaker

from postvakt.clock import Clock
from postvakt.diary.base import (
    Attachment,
    CaseFacts,
    DiaryBackend,
    DiaryDocument,
    DiaryError,
    DiaryRejected,
    DocumentKind,
)
from postvakt.errors import PostvaktError
from postvakt.registry.db import database_errors
from postvakt.registry.diary_numbers import set_diary_number
from postvakt.registry.documents import DeliveryStatus, DiaryEntry
from postvakt.registry.models import Case

__all__ = ["Deliverer", "DeliveryReport", "case_facts", "document_of"]

log = logging.getLogger("postvakt.diary")

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BATCH = 50
"""Rows a run claims at most: a long queue drains over several runs, never blocking one."""
STUCK_AFTER = timedelta(minutes=15)
"""A row ``sending`` for longer than this was left by a stopped process: uncertain."""


def case_facts(case: Case) -> CaseFacts:
    return CaseFacts(
        case_id=case.id,
        reference=case.reference,
        # What the diary calls the case: Postvakt's own number (an anonymous case's entry
        # under the collective number included), or the diary system's once known.
        diary_number=case.label if case.diary_number else None,
        kind=case.kind.value,
        heading=case.heading,
        summary=case.summary,
        anonymous=case.anonymous,
        individual_care=case.individual_care,
        received_at=case.received_at,
        registered_at=case.registered_at,
        status=case.status.value,
        sender_name=None if case.anonymous else case.sender_name,
        sender_address=None if case.anonymous else case.sender_address,
        unit=case.unit.name if case.unit else None,
        handler=case.handler,
        channel=case.channel,
    )


def document_of(entry: DiaryEntry, extra: Sequence[Attachment] = ()) -> DiaryDocument:
    facts = case_facts(entry.case)
    kind = DocumentKind(entry.kind)
    return DiaryDocument(
        key=entry.key,
        kind=kind,
        title=f"{entry.title} – {facts.label}",
        date=entry.made_at,
        text=entry.text,
        case=facts,
        attachments=(
            *extra,
            *(Attachment(a.filename, a.content_type, a.data) for a in entry.attachments),
        ),
    )


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    """'label: title' of each document delivered."""
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    incoming_sent: list[str] = field(default_factory=list)
    """Labels of cases whose incoming document was delivered (the registrar's notice)."""


class Deliverer:
    def __init__(
        self,
        config: Any,
        sessions: sessionmaker[Session],
        *,
        clock: Clock,
        environ: Mapping[str, str],
        mailer: Any = None,
        card: Callable[[Case, datetime], Any] | None = None,
        backend: DiaryBackend | None = None,
    ):
        self.config = config
        self.sessions = sessions
        self.clock = clock
        self.environ = environ
        self.mailer = mailer
        self.card = card
        self._backend = backend

    @property
    def system(self) -> str:
        return str(self.config.registry.system)

    @property
    def digest(self) -> bool:
        """The registrar hears once a day (``registrar_notice = "daily"``)."""
        return self.system == "registrar" and self.config.organisation.registrar_notice == "daily"

    def backend(self) -> DiaryBackend | None:
        if self._backend is not None:
            return self._backend
        registry = self.config.registry
        if self.system == "file":
            from postvakt.diary.folder import FolderDiary

            self._backend = FolderDiary(self.config.path(registry.folder))
        elif self.system == "public360":
            from postvakt.diary.public360 import Public360Diary

            self._backend = Public360Diary(
                registry.public360, self.environ, collective_number=registry.collective_number
            )
        else:
            registrar = self.config.organisation.registrar
            if not registrar or self.mailer is None:
                return None
            from postvakt.diary.registrar import RegistrarDiary

            self._backend = RegistrarDiary(
                self.mailer,
                registrar,
                reply_to=registry.reply_to or None,
                base_url=self.config.web.base_url,
            )
        return self._backend

    # -- a run ------------------------------------------------------------------------------

    def run(self, *, daily: bool = False) -> DeliveryReport:
        """Deliver what is due.  With the registrar's daily digest, only ``daily`` runs send."""
        report = DeliveryReport()
        backend = self.backend()
        if backend is None or (self.digest and not daily):
            return report
        now = self.clock()
        if self.digest:
            # Every document due, in digests of at most BATCH: a day of more than BATCH must
            # not leave the rest for the next day, and so on for ever.  One mail holds them
            # all, so they are claimed together.
            while ids := self._claim(now):
                self._deliver_digest(backend, ids, now, report)
        else:
            # Every document due, each claimed as its turn comes (claimed in a batch, those
            # behind one that failed would stay "sending", read as "may have reached the
            # diary"); a case's next document once the one before it is delivered; each at
            # most once a run (after it, it is sent, refused or due later).
            seen: set[int] = set()
            while ids := self._due(now, seen):
                seen.update(ids)
                for entry_id in ids:
                    if self._take(entry_id, now):
                        self._deliver_one(backend, entry_id, now, report)
        if not (report.sent or report.retrying or report.failed):
            return report
        log.info(
            "diary (%s): %d delivered, %d to retry, %d refused",
            self.system,
            len(report.sent),
            len(report.retrying),
            len(report.failed),
        )
        return report

    def _ready(self, now: datetime, *, in_order: bool = True) -> ColumnElement[bool]:
        """Pending and due; ``in_order``, and every earlier document of its case delivered (or
        refused, for a person to see to).  A case's first document creates it in the diary system: a later
        one sent while that is on its way, or waiting to be tried again, would create the
        case a second time (two processes; a first document that failed after the case was
        made), and the documents would come out of order."""
        earlier = aliased(DiaryEntry)
        waits = (
            select(earlier.id)
            .where(
                earlier.case_id == DiaryEntry.case_id,
                earlier.system == DiaryEntry.system,
                earlier.id < DiaryEntry.id,
                earlier.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)),
            )
            .exists()
        )
        due = and_(
            DiaryEntry.status == DeliveryStatus.PENDING,
            DiaryEntry.system == self.system,
            DiaryEntry.next_attempt_at.is_(None) | (DiaryEntry.next_attempt_at <= now),
        )
        return and_(due, ~waits) if in_order else due

    def _due(self, now: datetime, seen: set[int]) -> list[int]:
        """Up to BATCH documents ready to go (:meth:`_ready`), oldest first, not ``seen``."""
        query = select(DiaryEntry.id).where(self._ready(now)).order_by(DiaryEntry.id)
        if seen:
            query = query.where(DiaryEntry.id.not_in(sorted(seen)))
        with self.sessions() as session, database_errors():
            return list(session.scalars(query.limit(BATCH)))

    def _take(self, entry_id: int, now: datetime) -> bool:
        """Claim one document right before it is delivered, if it is still ready: another
        process, or an earlier document of its case, may have come first.  Its claim time is
        its own (a document "sending" for longer than STUCK_AFTER is one a stopped process
        left, which "försök igen" sends again)."""
        with self.sessions() as session, database_errors(), session.begin():
            taken = session.execute(
                update(DiaryEntry)
                .where(DiaryEntry.id == entry_id, self._ready(now))
                .values(status=DeliveryStatus.SENDING, claimed_at=self.clock())
                .execution_options(synchronize_session=False)
            )
            return taken.rowcount == 1

    def _claim(self, now: datetime) -> list[int]:
        """Up to BATCH documents due (for one digest: none waits for another), claimed."""
        with self.sessions() as session, database_errors(), session.begin():
            rows = list(
                session.scalars(
                    select(DiaryEntry)
                    .where(self._ready(now, in_order=False))
                    .order_by(DiaryEntry.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            for row in rows:
                row.status, row.claimed_at = DeliveryStatus.SENDING, now
            return [r.id for r in rows]

    def _case_made(self, session: Session, entry: DiaryEntry) -> str | None:
        """The number of the case an earlier document of ``entry``'s case made in the diary
        system and never got noted on the case: it was refused after the case was made
        (CreateCase went through, the document did not), and a person sees to it.  The
        case's later documents go in that case rather than make it again."""
        for other in session.scalars(
            select(DiaryEntry)
            .where(
                DiaryEntry.case_id == entry.case_id,
                DiaryEntry.system == entry.system,
                DiaryEntry.id < entry.id,
            )
            .order_by(DiaryEntry.id)
        ):
            made = (other.progress or {}).get("case_number")
            if made:
                return str(made)
        return None

    def _load(self, session: Session, entry_id: int) -> DiaryEntry:
        return session.scalars(
            select(DiaryEntry)
            .options(selectinload(DiaryEntry.attachments), selectinload(DiaryEntry.case))
            .where(DiaryEntry.id == entry_id)
        ).one()

    def _extra(self, entry: DiaryEntry, now: datetime) -> list[Attachment]:
        """The case card goes with the incoming document (the registrar's and the folder's)."""
        if entry.kind != DocumentKind.INCOMING.value or self.card is None:
            return []
        if self.system == "public360":
            return []
        card = self.card(entry.case, now)
        return [Attachment(card.filename, DOCX, card.data)]

    def _deliver_one(
        self, backend: DiaryBackend, entry_id: int, now: datetime, report: DeliveryReport
    ) -> None:
        with self.sessions() as session, database_errors():
            entry = self._load(session, entry_id)
            document = document_of(entry, self._extra(entry, now))
            progress = dict(entry.progress or {})
            if not entry.case.diary_number and "case_number" not in progress:
                made = self._case_made(session, entry)
                if made is not None:
                    progress["case_number"] = made
        try:
            delivered = backend.deliver(document, progress)
        except DiaryError as exc:
            self._failed(entry_id, now, exc, progress, report, document)
            return
        except PostvaktError as exc:  # a backend's own error: treated as "down for now"
            self._failed(entry_id, now, exc, progress, report, document)
            return
        with self.sessions() as session, database_errors(), session.begin():
            entry = self._load(session, entry_id)
            entry.status, entry.sent_at = DeliveryStatus.SENT, now
            entry.external_id = (delivered.external_id or "")[:300] or None
            progress.pop("unsure", None)  # delivered: nothing left in doubt
            entry.progress, entry.last_error = progress, None
            entry.attempts += 1
            case = entry.case
            if delivered.diary_number and not case.anonymous:
                # read again under a row lock: a number the registrar entered by hand while
                # this document was on its way (committed after the load above) is seen and
                # kept, and one being entered now waits for this transaction
                session.refresh(case, with_for_update=True)
            if (
                delivered.diary_number
                and not case.anonymous
                and case.diary_number
                in (
                    None,
                    case.number if self.config.registry.numbering == "diary" else None,
                )
            ):
                try:
                    set_diary_number(
                        session,
                        case,
                        delivered.diary_number,
                        by="postvakt",
                        at=now,
                        how=backend.name,
                    )
                except PostvaktError as exc:
                    log.warning(
                        "diary number from %s not set on case %s: %s", backend.name, case.id, exc
                    )
            if entry.kind == DocumentKind.INCOMING.value:
                case.registrar_status, case.registrar_sent_at = "sent", now
                report.incoming_sent.append(case.label)
            report.sent.append(f"{case.label}: {entry.title}")
        log.debug("diary document %s delivered (%s)", entry_id, backend.name)

    def _deliver_digest(
        self, backend: Any, ids: list[int], now: datetime, report: DeliveryReport
    ) -> None:
        with self.sessions() as session, database_errors():
            documents = []
            for entry_id in ids:
                entry = self._load(session, entry_id)
                documents.append(document_of(entry, self._extra(entry, now)))
        try:
            delivered = backend.deliver_digest(documents, now.date())
        except PostvaktError as exc:
            for entry_id, document in zip(ids, documents, strict=True):
                self._failed(entry_id, now, exc, {}, report, document)
            return
        with self.sessions() as session, database_errors(), session.begin():
            for entry_id in ids:
                entry = self._load(session, entry_id)
                entry.status, entry.sent_at = DeliveryStatus.SENT, now
                entry.external_id, entry.attempts = delivered.external_id, entry.attempts + 1
                case = entry.case
                if entry.kind == DocumentKind.INCOMING.value:
                    case.registrar_status, case.registrar_sent_at = "sent", now
                    report.incoming_sent.append(case.label)
                report.sent.append(f"{case.label}: {entry.title}")

    def _failed(
        self,
        entry_id: int,
        now: datetime,
        exc: PostvaktError,
        progress: dict[str, Any],
        report: DeliveryReport,
        document: DiaryDocument,
    ) -> None:
        refused = isinstance(exc, DiaryRejected)
        with self.sessions() as session, database_errors(), session.begin():
            entry = self._load(session, entry_id)
            entry.attempts += 1
            entry.last_error = str(exc)[:2000]
            if progress:
                entry.progress = progress
            if refused:
                entry.status, entry.next_attempt_at = DeliveryStatus.FAILED, None
                report.failed.append(f"{document.case.label}: {exc}")
            else:
                minutes = min(2 ** (entry.attempts - 1), self.config.registry.retry_max_minutes)
                entry.status = DeliveryStatus.PENDING
                entry.next_attempt_at = now + timedelta(minutes=minutes)
                report.retrying.append(f"{document.case.label}: {exc}")
        log.warning(
            "diary document %s %s (%s): %s",
            entry_id,
            "refused" if refused else "not delivered, retried later",
            self.system,
            type(exc).__name__,
        )

    # -- status and retry -------------------------------------------------------------------

    def retry(self, *, include_uncertain: bool = True, case_id: int | None = None) -> int:
        """Failed documents (and those left uncertain by a crash) are tried again now."""
        now = self.clock()
        states = [DeliveryStatus.FAILED, DeliveryStatus.PENDING]
        if include_uncertain:
            states.append(DeliveryStatus.SENDING)
        with self.sessions() as session, database_errors(), session.begin():
            query = select(DiaryEntry).where(DiaryEntry.status.in_(states))
            if case_id is not None:
                query = query.where(DiaryEntry.case_id == case_id)
            count = 0
            for entry in session.scalars(query):
                if entry.status is DeliveryStatus.SENDING:
                    if entry.claimed_at is not None and now - entry.claimed_at < STUCK_AFTER:
                        continue  # being sent right now by a running process
                    # a stopped process may have done any step without noting it: the
                    # backend looks before it does one again (Public 360: by ExternalId)
                    entry.progress = {**(entry.progress or {}), "unsure": True}
                entry.status, entry.next_attempt_at = DeliveryStatus.PENDING, now
                count += 1
            return count


def uncertain(entry: DiaryEntry, now: datetime) -> bool:
    """Left ``sending`` by a process that stopped: it may or may not have reached the diary."""
    return entry.status is DeliveryStatus.SENDING and (
        entry.claimed_at is None or now - entry.claimed_at >= STUCK_AFTER
    )
