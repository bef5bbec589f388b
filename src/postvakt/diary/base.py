"""What a diary system is given: a case's facts and one document of it at a time.

Every document of a case — the incoming message with its arrival stamp, each
acknowledgement, answer, new review, hand-over, callback note and the closure, and the
memos of a person's corrections (withdrawn, its kind changed, replaced by a new case of the
same message) — is written
to the ``diary_documents`` outbox in the same transaction as the change that made it
(:mod:`postvakt.registry.documents`).  The deliverer (:mod:`postvakt.diary.delivery`) hands
each due row to the configured backend:

- :class:`~postvakt.diary.registrar.RegistrarDiary` — one e-mail per document (or a daily
  digest) to the registrar, who enters it in the diary by hand;
- :class:`~postvakt.diary.public360.Public360Diary` — Public 360's SIF web API: the case,
  then the document, then its files;
- :class:`~postvakt.diary.folder.FolderDiary` — a folder per case with the documents and a
  JSON card, for diary systems that import files.

A backend raises :class:`DiaryUnavailable` when the diary could not be reached or refused
for now (retried with back-off) and :class:`DiaryRejected` when the diary refused the
document as it is (kept, shown as failed; a person looks and runs ``postvakt diary retry``).
``progress`` is the row's own JSON dict, saved after every attempt whether it succeeded or
not: a backend that takes several calls (Public 360: document, then files) records what is
done there so that a retry never does it twice.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from postvakt.errors import PostvaktError

__all__ = [
    "DOCUMENT_TITLES",
    "INBOUND",
    "OUTBOUND",
    "Attachment",
    "CaseFacts",
    "Delivered",
    "DiaryBackend",
    "DiaryDocument",
    "DiaryError",
    "DiaryRejected",
    "DiaryUnavailable",
    "DocumentKind",
]


class DocumentKind(enum.StrEnum):
    INCOMING = "incoming"  # the citizen's message (or the note of an oral complaint)
    ACKNOWLEDGEMENT = "acknowledgement"
    ANSWER = "answer"
    NEW_REVIEW = "new_review"
    HANDOVER = "handover"
    CALLBACK = "callback"  # a note of a callback by phone
    CLOSURE = "closure"  # the handler closed the case: it can be closed in the diary
    WITHDRAWN = "withdrawn"  # makulerat (also 'annat', merged): who decided, and why
    RECLASSIFIED = "reclassified"  # a person changed the kind (complaint ⇄ opinion)
    REPLACED = "replaced"  # a withdrawn case's message was registered again: the new case


DOCUMENT_TITLES = {
    DocumentKind.INCOMING: "Inkommande synpunkt/klagomål",
    DocumentKind.ACKNOWLEDGEMENT: "Mottagningsbekräftelse",
    DocumentKind.ANSWER: "Svar",
    DocumentKind.NEW_REVIEW: "Besked om ny prövning",
    DocumentKind.HANDOVER: "Besked om överlämning",
    DocumentKind.CALLBACK: "Anteckning om återkoppling",
    DocumentKind.CLOSURE: "Ärendet avslutat",
    DocumentKind.WITHDRAWN: "Ärendet makulerat",
    DocumentKind.RECLASSIFIED: "Ärendetyp ändrad",
    DocumentKind.REPLACED: "Ärendet ersatt av ett nytt ärende",
}
"""Each kind as the diary names it (Swedish)."""

INBOUND = frozenset({DocumentKind.INCOMING})
OUTBOUND = frozenset(
    {
        DocumentKind.ACKNOWLEDGEMENT,
        DocumentKind.ANSWER,
        DocumentKind.NEW_REVIEW,
        DocumentKind.HANDOVER,
    }
)
"""The rest (callback, closure, withdrawn, reclassified, replaced) are internal memos."""


@dataclass(frozen=True)
class CaseFacts:
    """What a diary needs to know about the case a document belongs to."""

    case_id: int
    reference: str
    """Postvakt's reference (``PV-2026-000123``, or Postvakt's own diary number)."""
    diary_number: str | None
    """The diary's number, once known (None until then)."""
    kind: str
    """complaint | opinion"""
    heading: str
    summary: str
    anonymous: bool
    individual_care: bool
    received_at: datetime
    registered_at: datetime
    status: str = ""
    sender_name: str | None = None
    sender_address: str | None = None
    unit: str | None = None
    handler: str | None = None
    channel: str = "email"

    @property
    def label(self) -> str:
        """What people quote: the diary number when known, else the reference."""
        return self.diary_number or self.reference


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class DiaryDocument:
    """One document of a case, as it goes to the diary."""

    key: str
    """Idempotency key, unique per document (``case-17/answer/3``): never delivered twice."""
    kind: DocumentKind
    title: str
    """Swedish title (``Svar – KS 2026/17``)."""
    date: datetime
    """When the document was made: arrival stamp, sending time, closing time."""
    text: str
    """A short Swedish description (what happened, by whom), the body of a notice."""
    case: CaseFacts
    attachments: tuple[Attachment, ...] = ()

    @property
    def inbound(self) -> bool:
        return self.kind in INBOUND

    @property
    def outbound(self) -> bool:
        return self.kind in OUTBOUND


@dataclass(frozen=True)
class Delivered:
    """What the diary said back."""

    diary_number: str | None = None
    """The case's number, when the diary gave it (Public 360's ``CaseNumber``)."""
    external_id: str | None = None
    """The document's id there (a document number, a path, a Message-ID)."""


class DiaryBackend(Protocol):
    name: str
    """registrar | public360 | file"""

    def deliver(self, document: DiaryDocument, progress: dict[str, Any]) -> Delivered:
        """Put ``document`` in the diary (raise DiaryUnavailable / DiaryRejected)."""
        ...


class DiaryError(PostvaktError):
    """The diary did not take a document; the message says why and what to do (Swedish)."""


class DiaryUnavailable(DiaryError):
    """The diary (or SMTP) could not be reached, or failed for now: retried with back-off."""


class DiaryRejected(DiaryError):
    """The diary refused the document as it is: a person must look (``diary retry``)."""
