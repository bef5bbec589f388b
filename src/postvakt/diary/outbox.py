"""Queueing every document of a case for the diary, in the transaction that made it.

:class:`DiaryOutbox` is installed on the session factory (``install``): a listener sees each
new case event as the session flushes it, and a registration (``REGISTERED``) queues the
incoming document, a closure (``CLOSED``) the closure — whichever path made the event: the
intake, the command line, the web, a correction.  A batch of the intake writes its new cases'
events without ORM objects (:mod:`postvakt.registry.batch_rows`), which no flush sees: it
queues their incoming documents itself (:func:`queue_registered`).  Letters are queued where they are known to
have gone to the citizen: seen in the Sent folder (:meth:`DiaryOutbox.letter_sent`), or saved
for printing and posting.  A callback note is queued by ``postvakt cases callback``.

Nothing is queued when no diary is configured: ``system = "registrar"`` without
``organisation.registrar`` (or with ``registrar_notice = "none"``).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from postvakt.clock import STOCKHOLM, Clock
from postvakt.diary.base import DOCUMENT_TITLES, Attachment, DocumentKind
from postvakt.registry.documents import DeliveryStatus, DiaryAttachment, DiaryEntry
from postvakt.registry.models import Case, CaseEvent, EventKind

__all__ = [
    "LETTER_KINDS",
    "DiaryOutbox",
    "install",
    "outbox_of",
    "sent_documents",
    "sent_letter_kind",
]

log = logging.getLogger("postvakt.diary")

LETTER_KINDS = {
    "acknowledgment": DocumentKind.ACKNOWLEDGEMENT,
    "acknowledgment_care": DocumentKind.ACKNOWLEDGEMENT,
    "ack": DocumentKind.ACKNOWLEDGEMENT,
    "answer": DocumentKind.ANSWER,
    "new_review": DocumentKind.NEW_REVIEW,
    "review": DocumentKind.NEW_REVIEW,
    "handover": DocumentKind.HANDOVER,
}
"""Letter names (templates, draft kinds) to document kinds."""

_KEY = "postvakt.diary"
_ABSENT = "postvakt.diary.absent"
"""``Session.info`` key, while a flush's documents are queued: keys known not to be queued."""
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class DiaryOutbox:
    """Where documents are queued, and whether they are at all."""

    def __init__(self, config: Any, clock: Clock):
        self.config = config
        self.clock = clock

    @property
    def system(self) -> str:
        return str(self.config.registry.system)

    @property
    def enabled(self) -> bool:
        if self.system != "registrar":
            return True
        org = self.config.organisation
        return bool(org.registrar) and org.registrar_notice != "none"

    def queue(
        self,
        session: Session,
        case: Case,
        kind: DocumentKind,
        *,
        key: str,
        at: datetime,
        text: str,
        attachments: Iterable[Attachment] = (),
        title: str | None = None,
    ) -> DiaryEntry | None:
        """Queue one document (once: a key already queued is left alone)."""
        if not self.enabled:
            return None
        key = key[:200]
        pending = _pending_keys(session)
        if key in pending:
            return None
        if key not in session.info.get(_ABSENT, ()):  # else looked up for the whole flush
            existing = session.scalars(select(DiaryEntry).where(DiaryEntry.key == key)).first()
            if existing is not None:
                return None
        entry = DiaryEntry(
            case=case,
            key=key,
            system=self.system,
            kind=kind.value,
            title=(title or DOCUMENT_TITLES[kind])[:300],
            made_at=at,
            text=text,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=None,  # due at once
            progress={},
            created_at=self.clock(),
        )
        entry.attachments = [
            DiaryAttachment(
                position=i, filename=a.filename[:300], content_type=a.content_type, data=a.data
            )
            for i, a in enumerate(attachments)
        ]
        session.add(entry)
        pending.add(key)
        log.debug("diary document queued: case %s, %s", case.id, kind.value)
        return entry

    # -- the documents ----------------------------------------------------------------------

    def incoming(self, session: Session, case: Case, at: datetime) -> None:
        """The citizen's message (its .eml) or the note of an oral complaint."""
        stamp = f"{case.received_at.astimezone(STOCKHOLM):%Y-%m-%d %H:%M}"
        if case.original:
            files = [
                Attachment(
                    f"Inkommande {case.reference.replace('/', '-')}.eml",
                    "message/rfc822",
                    case.original,
                )
            ]
            text = f"Inkommet meddelande. Ankomststämpel {stamp}."
        else:
            files = [
                Attachment(
                    f"Anteckning {case.reference.replace('/', '-')}.txt",
                    "text/plain",
                    case.summary.encode("utf-8"),
                )
            ]
            text = (
                f"Synpunkt eller klagomål lämnad via {case.channel} {stamp}, antecknad av "
                "handläggaren."
            )
        self.queue(
            session,
            case,
            DocumentKind.INCOMING,
            key=f"case-{case.id}/incoming",
            at=case.received_at,
            text=text,
            attachments=files,
        )

    def letter_sent(
        self,
        session: Session,
        case: Case,
        *,
        kind: DocumentKind,
        at: datetime,
        identity: str,
        by: str | None,
        attachments: Iterable[Attachment],
    ) -> None:
        """A letter that went to the citizen (seen in Sent, or saved to print and post)."""
        digest = hashlib.sha1(
            identity.encode("utf-8", "replace"), usedforsecurity=False
        ).hexdigest()[:20]
        self.queue(
            session,
            case,
            kind,
            key=f"case-{case.id}/{kind.value}/{digest}",
            at=at,
            text=f"{DOCUMENT_TITLES[kind]} skickad till avsändaren" + (f" av {by}." if by else "."),
            attachments=attachments,
        )

    def closure(self, session: Session, case: Case, event: CaseEvent) -> None:
        count = sum(1 for e in case.events if e.kind is EventKind.CLOSED) if case.id else 1
        self.queue(
            session,
            case,
            DocumentKind.CLOSURE,
            key=f"case-{case.id}/closure/{count}",
            at=event.at,
            text=f"Handläggaren ({event.actor}) har avslutat ärendet; det kan avslutas i "
            f"diariet.\n{event.detail}",
        )

    def callback(self, session: Session, case: Case, event: CaseEvent) -> None:
        self.queue(
            session,
            case,
            DocumentKind.CALLBACK,
            key=f"case-{case.id}/callback/{event.id or event.at.isoformat()}",
            at=event.at,
            text=f"Återkoppling av {event.actor}: {event.detail}",
        )


_TITLES = (
    ("Mottagningsbekräftelse", DocumentKind.ACKNOWLEDGEMENT),
    ("Ny prövning", DocumentKind.NEW_REVIEW),
    ("Överlämning", DocumentKind.HANDOVER),
    ("Svar", DocumentKind.ANSWER),
)
"""The titles Postvakt's letters are named by (``templates.LETTERS``), most specific first."""


def sent_letter_kind(filenames: Iterable[str]) -> DocumentKind:
    """Which letter a sent mail carried, by its attachment's name; a mail written by hand is
    the answer."""
    names = list(filenames)
    for title, kind in _TITLES:
        if any(name.startswith(title) for name in names):
            return kind
    return DocumentKind.ANSWER


def sent_documents(raw: bytes, subject: str | None) -> list[Attachment]:
    """The sent mail itself (.eml) and the Word letters in it, as the diary keeps them."""
    files = [Attachment("Skickat meddelande.eml", "message/rfc822", raw)]
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        for part in message.walk():
            name = part.get_filename() or ""
            if name.lower().endswith(".docx") and not part.is_multipart():
                data = part.get_payload(decode=True)
                if isinstance(data, bytes) and data:
                    files.append(Attachment(name.replace("/", "-"), DOCX, data))
    except (ValueError, LookupError, TypeError, IndexError):  # broken MIME: the .eml holds all
        pass
    return files


def _pending_keys(session: Session) -> set[str]:
    keys: set[str] = session.info.setdefault("postvakt.diary.keys", set())
    return keys


def outbox_of(session: Session) -> DiaryOutbox | None:
    found = session.info.get(_KEY)
    return found if isinstance(found, DiaryOutbox) else None


def install(sessions: sessionmaker[Session], config: Any, clock: Clock) -> DiaryOutbox:
    """Queue documents from every session ``sessions`` makes."""
    outbox = DiaryOutbox(config, clock)
    info = dict(sessions.kw.get("info") or {})
    info[_KEY] = outbox
    sessions.configure(info=info)
    return outbox


@event.listens_for(Session, "before_flush")
def _documents_of_new_events(session: Session, _context: Any, _instances: Any) -> None:
    outbox = outbox_of(session)
    if outbox is None or not outbox.enabled:
        return
    new_events = [o for o in session.new if isinstance(o, CaseEvent)]
    if not new_events:
        return
    for item in new_events:
        case = item.case
        if case is None:
            continue
        # Queued after the flush: the case has its id (the key) by then.
        if item.kind is EventKind.REGISTERED:
            session.info.setdefault("postvakt.diary.after", []).append(("incoming", case, item))
        elif item.kind is EventKind.CLOSED:
            session.info.setdefault("postvakt.diary.after", []).append(("closure", case, item))
        elif item.kind in (EventKind.CALLBACK, EventKind.FEEDBACK):  # notes: a call, feedback
            session.info.setdefault("postvakt.diary.after", []).append(("callback", case, item))


@event.listens_for(Session, "after_flush_postexec")
def _queue_after_flush(session: Session, _context: Any) -> None:
    queue_documents(session, session.info.pop("postvakt.diary.after", None) or [])


def queue_registered(session: Session, registered: list[tuple[Case, dict[str, Any]]]) -> None:
    """Queue the incoming documents of new cases whose registration events were written
    without the ORM (a batch's, :mod:`postvakt.intake.records`): (case, event values) each,
    the cases flushed."""
    outbox = outbox_of(session)
    if outbox is None or not outbox.enabled:
        return
    queue_documents(session, [("incoming", case, _At(values["at"])) for case, values in registered])


@dataclass(frozen=True)
class _At:
    """What queueing an incoming document reads of its event."""

    at: datetime


def queue_documents(session: Session, waiting: list[tuple[str, Case, Any]]) -> None:
    """Queue the documents of (what, case, event) after a flush gave the cases their ids."""
    outbox = outbox_of(session)
    if not waiting or outbox is None:
        return
    incoming = [f"case-{case.id}/incoming" for what, case, _ in waiting if what == "incoming"]
    if len(incoming) > 1 and outbox.enabled:
        # The new cases of a batch: which of their keys are queued, in one query, not
        # one per case.
        queued = set(session.scalars(select(DiaryEntry.key).where(DiaryEntry.key.in_(incoming))))
        session.info[_ABSENT] = set(incoming) - queued
    try:
        for what, case, item in waiting:
            if what == "incoming":
                outbox.incoming(session, case, item.at)
            elif what == "closure":
                outbox.closure(session, case, item)
            else:
                outbox.callback(session, case, item)
    finally:
        session.info.pop(_ABSENT, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_keys(session: Session) -> None:
    session.info.pop("postvakt.diary.keys", None)
    session.info.pop("postvakt.diary.after", None)
