"""Queueing every document of a case for the diary, in the transaction that made it.

:class:`DiaryOutbox` is installed on the session factory (``install``): a listener sees each
new case event as the session flushes it, and a registration (``REGISTERED``) queues the
incoming document, a closure (``CLOSED``) the closure — whichever path made the event: the
intake, the command line, the web, a correction.  A batch of the intake writes its new cases'
events without ORM objects (:mod:`postvakt.registry.batch_rows`), which no flush sees: it
queues their incoming documents itself (:func:`queue_registered`).  Letters are queued where
they are known to have gone to the citizen: seen in the Sent folder
(:meth:`DiaryOutbox.letter_sent`), or saved for printing and posting.  A callback note is
queued by ``postvakt cases callback``.

A person's corrections reach the diary the same way, so that it never keeps an open
complaint Postvakt no longer handles:

- a withdrawal (``WITHDRAWN``: makulerat, a case made 'annat', one merged into another)
  queues a memo with the reason and who decided;
- a change of kind (``RECLASSIFIED`` with the case's kind changed in the same transaction:
  complaint ⇄ opinion) queues a memo naming both kinds and who changed it; a change to
  'annat' is a withdrawal and says so in its own memo;
- a message of a withdrawn case registered again as a new case (the new case takes the
  withdrawn one's identity: same Message-ID, whose content hash the withdrawn case gave
  up) queues a memo on the withdrawn case naming the new one, and the new case's incoming
  document names the withdrawn one.

The diary's copy of the case (the folder's case card) is written anew with each document,
so its status and kind follow.  Postvakt never closes a case in the diary system itself: the
memos tell the registrar, who decides.

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
from sqlalchemy.orm import Session, object_session, sessionmaker

from postvakt.clock import STOCKHOLM, Clock
from postvakt.diary.base import DOCUMENT_TITLES, Attachment, DocumentKind
from postvakt.registry.documents import DeliveryStatus, DiaryAttachment, DiaryEntry
from postvakt.registry.models import Case, CaseEvent, CaseKind, CaseStatus, EventKind

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
_AFTER = "postvakt.diary.after"
"""``Session.info`` key: (what, case, event) of a flush, queued once the flush is done."""
_KINDS = "postvakt.diary.kinds"
"""``Session.info`` key: {case id: the kind it had} for cases whose kind changed in the
transaction (read by the change of kind's memo)."""
_KIND_SV = {"complaint": "klagomål", "opinion": "synpunkt"}
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

    def incoming(
        self, session: Session, case: Case, at: datetime, *, earlier: Case | None = None
    ) -> None:
        """The citizen's message (its .eml) or the note of an oral complaint; ``earlier`` is
        the withdrawn case the message was before it was registered again."""
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
        if earlier is not None:
            text += f"\nMeddelandet var tidigare ärende {earlier.label}, som är makulerat."
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

    def withdrawn(self, session: Session, case: Case, event: CaseEvent) -> None:
        """Makulerat: who decided and why (the case's reason: 'Dubblett', 'inte klagomål eller
        synpunkt', 'sammanfört med KS 2026/3')."""
        reason = (case.withdrawn_reason or "").strip()
        if reason and not reason.endswith((".", "!", "?")):
            reason += "."
        self.queue(
            session,
            case,
            DocumentKind.WITHDRAWN,
            key=f"case-{case.id}/withdrawn/{event.id or event.at.isoformat()}",
            at=event.at,
            text=f"Ärendet makulerades i Postvakt av {event.actor}. "
            + (f"Skäl: {reason}\n" if reason else "Inget skäl angavs.\n")
            + "Ärendet handläggs inte vidare i Postvakt; registratorn avgör hur det avslutas i "
            "diariet.",
        )

    def reclassified(self, session: Session, case: Case, event: CaseEvent, before: str) -> None:
        """The kind changed from ``before`` to the case's kind, by the event's actor."""
        was = _KIND_SV.get(before, before)
        now = _KIND_SV.get(case.kind.value, case.kind.value)
        self.queue(
            session,
            case,
            DocumentKind.RECLASSIFIED,
            key=f"case-{case.id}/reclassified/{event.id or event.at.isoformat()}",
            at=event.at,
            title=f"{DOCUMENT_TITLES[DocumentKind.RECLASSIFIED]}: {was} → {now}",
            text=f"{event.actor} ändrade ärendets typ från {was} till {now}. Ärendet handläggs "
            f"vidare som {now}.",
        )

    def replaced(self, session: Session, earlier: Case, case: Case, event: Any) -> None:
        """``earlier`` (withdrawn) gave its message to ``case``, registered again by the
        registration ``event``'s actor: the diary hears which case took over."""
        if not case.diary_number:  # numbering = "diary": the diary has not numbered it yet
            named = f"ärendet med Postvakts referens {case.reference} (diarienummer saknas ännu)"
        elif case.label != case.reference:
            named = f"ärende {case.label} (Postvakts referens {case.reference})"
        else:
            named = f"ärende {case.label}"
        self.queue(
            session,
            earlier,
            DocumentKind.REPLACED,
            key=f"case-{earlier.id}/replaced/{case.id}",
            at=event.at,
            text=f"{event.actor} registrerade ärendets meddelande på nytt, som "
            f"{_KIND_SV.get(case.kind.value, case.kind.value)}. Det handläggs nu i {named}; "
            "det här ärendet är fortsatt makulerat.",
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


@event.listens_for(Case.kind, "set", active_history=True)
def _kind_changed(target: Case, _value: Any, oldvalue: Any, _initiator: Any) -> None:
    """Note the kind a case had before a person changed it in this transaction (the first,
    should it change twice), for the change of kind's memo."""
    if not isinstance(oldvalue, CaseKind) or target.id is None:
        return  # a new case's first kind, or one not loaded
    session = object_session(target)
    if session is None or outbox_of(session) is None:
        return
    session.info.setdefault(_KINDS, {}).setdefault(target.id, oldvalue)


@dataclass(frozen=True)
class _Reclassified:
    """A change of kind's event, with the kind the case had before it."""

    event: CaseEvent
    before: str


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
        waiting: tuple[str, Case, Any] | None = None
        if item.kind is EventKind.REGISTERED:
            waiting = ("registered", case, item)
        elif item.kind is EventKind.CLOSED:
            waiting = ("closure", case, item)
        elif item.kind in (EventKind.CALLBACK, EventKind.FEEDBACK):  # notes: a call, feedback
            waiting = ("callback", case, item)
        elif item.kind is EventKind.WITHDRAWN:
            waiting = ("withdrawn", case, item)
        elif item.kind is EventKind.RECLASSIFIED:
            # Only a change between the kinds: a change to 'annat' leaves the kind as it was
            # and withdraws the case, which its own memo says.
            before = session.info.get(_KINDS, {}).pop(case.id, None)
            if before is not None and before is not case.kind:
                waiting = ("reclassified", case, _Reclassified(item, before.value))
        if waiting is not None:
            session.info.setdefault(_AFTER, []).append(waiting)


@event.listens_for(Session, "after_flush_postexec")
def _queue_after_flush(session: Session, _context: Any) -> None:
    queue_documents(session, session.info.pop(_AFTER, None) or [])


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
    incoming = [
        f"case-{case.id}/incoming"
        for what, case, _ in waiting
        if what in ("incoming", "registered")
    ]
    if len(incoming) > 1 and outbox.enabled:
        # The new cases of a batch: which of their keys are queued, in one query, not
        # one per case.
        queued = set(session.scalars(select(DiaryEntry.key).where(DiaryEntry.key.in_(incoming))))
        session.info[_ABSENT] = set(incoming) - queued
    try:
        for what, case, item in waiting:
            if what == "incoming":
                outbox.incoming(session, case, item.at)
            elif what == "registered":
                earlier = _withdrawn_before(session, case)
                outbox.incoming(session, case, item.at, earlier=earlier)
                if earlier is not None:
                    outbox.replaced(session, earlier, case, item)
            elif what == "closure":
                outbox.closure(session, case, item)
            elif what == "withdrawn":
                outbox.withdrawn(session, case, item)
            elif what == "reclassified":
                outbox.reclassified(session, case, item.event, item.before)
            else:
                outbox.callback(session, case, item)
    finally:
        session.info.pop(_ABSENT, None)


def _withdrawn_before(session: Session, case: Case) -> Case | None:
    """The withdrawn case whose message ``case`` is, registered again: the case of the same
    Message-ID made before it, when that one is withdrawn and gave up its content hash (its
    identity) to the new case, as registering its message again does
    (:meth:`postvakt.corrections.messages.MessageCorrections.register`).  A message
    withdrawn and registered again twice names the case it was last."""
    if not case.message_id or case.id is None:
        return None
    before = session.scalars(
        select(Case)
        .where(Case.message_id == case.message_id, Case.id < case.id)
        .order_by(Case.id.desc())
        .limit(1)
    ).first()
    if before is None or before.status is not CaseStatus.WITHDRAWN or before.content_hash:
        return None
    return before


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_keys(session: Session) -> None:
    session.info.pop("postvakt.diary.keys", None)
    session.info.pop(_AFTER, None)
    session.info.pop(_KINDS, None)
