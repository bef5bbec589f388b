"""Public 360's SIF web API as a diary: the case, then each document, then its files.

One document is delivered in up to three kinds of call, each a POST of
``{"parameter": {...}}`` to ``{base_url}/SI.Data.RPC/SI.Data.RPC/<Service>/<Method>``:

1. ``CaseService/CreateCase`` — only when the case has no number yet (neither the diary's
   nor one recorded in ``progress``) and is not anonymous; anonymous complaints go to the
   collective case (``[registry] collective_number``).  The ``CaseNumber`` it returns is
   the diary number.  The case carries ``ExternalId: {Id: <reference>, Type:
   <external_system>}``.
2. ``DocumentService/CreateDocument`` — the document, in the category of its kind; its
   notes end with the line ``Postvakt-id: <key>``.
3. ``FileService/CreateFile`` — one call per attachment.

What is done is written to ``progress`` right after each successful call, and the caller
saves ``progress`` whether the delivery succeeded or not: a retry never creates the case,
the document or a file twice.  A call that got no answer (a time-out, a broken connection)
may still have been carried out: ``progress["asking"]`` names it, and the next try looks
before making it again — ``CaseService/GetCases`` by the ExternalId, ``DocumentService/
GetDocuments`` in the case for the Postvakt-id line, the document's files by title.  A
document a stopped process left "sending" is marked ``unsure`` by ``postvakt diary retry``,
and every step not noted is looked for.  A Public 360 that refuses a look-up gets the call
again, as before (and perhaps a duplicate the registrar removes).

Errors: no answer, HTTP 5xx, 401, 403, 408, 429 or an answer that is not SIF's JSON raise
:class:`DiaryUnavailable` (retried with back-off); HTTP 200 with ``Successful: false`` and
any other HTTP 4xx raise :class:`DiaryRejected` (a person must look).  The authkey is read
from the environment variable the settings name, at each delivery; it is never logged nor
put in a message.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
from collections import Counter
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import httpx2

from postvakt.config.registry import Public360Config
from postvakt.diary.base import (
    DOCUMENT_TITLES,
    Attachment,
    CaseFacts,
    Delivered,
    DiaryDocument,
    DiaryRejected,
    DiaryUnavailable,
    DocumentKind,
)

__all__ = [
    "CATEGORIES",
    "INDIVIDUAL_CARE_TITLE",
    "Public360Diary",
    "case_title",
    "category",
    "contacts",
    "document_title",
]

log = logging.getLogger("postvakt.diary")

INDIVIDUAL_CARE_TITLE = "Synpunkter och klagomål – vård och omsorg"
"""The title of a new case about individual care.  The diary's lists of cases and documents
are public, so no title of a care case — case, document or file — carries the citizen's
words: documents and files are titled by their kind, and the words stay in the filed files."""

INCOMING_EMAIL = "recno:114"
INCOMING_DOCUMENT = "recno:110"
OUTBOUND_DOCUMENT = "recno:111"
MEMO = "recno:60005"  # internal memo without follow-up

CATEGORIES = {
    DocumentKind.ACKNOWLEDGEMENT: OUTBOUND_DOCUMENT,
    DocumentKind.ANSWER: OUTBOUND_DOCUMENT,
    DocumentKind.NEW_REVIEW: OUTBOUND_DOCUMENT,
    DocumentKind.HANDOVER: OUTBOUND_DOCUMENT,
    DocumentKind.CALLBACK: MEMO,
    DocumentKind.CLOSURE: MEMO,
    DocumentKind.WITHDRAWN: MEMO,
    DocumentKind.RECLASSIFIED: MEMO,
    DocumentKind.REPLACED: MEMO,
}
"""Category of each kind but the incoming one (e-mail or document, by the case's channel).

A withdrawal, a change of kind and a withdrawn case replaced by a new one are memos in the
case: Postvakt does not close the case in Public 360 nor change its type (SIF's case update
is not among the calls Postvakt makes); the registrar decides."""

STATUSES = {"reserved": "recno:1", "recorded": "recno:6"}

_RPC = "SI.Data.RPC/SI.Data.RPC"
_TITLE_LIMIT = 250
_MESSAGE_LIMIT = 300
_RETRYABLE = frozenset({401, 403, 408, 429})
_FORMATS = {
    "message/rfc822": "eml",
    "text/plain": "txt",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}


class Public360Diary:
    """Delivers each document of a case to Public 360 (``[registry] system = "public360"``).

    ``environ`` is where the authkey (or bearer token) is looked up, by the name in
    ``settings.authkey_env``; ``transport`` replaces the network (tests).
    """

    name = "public360"

    def __init__(
        self,
        settings: Public360Config,
        environ: Mapping[str, str],
        *,
        collective_number: str | None,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._environ = environ
        self._collective = collective_number
        self._transport = transport

    def deliver(self, document: DiaryDocument, progress: dict[str, Any]) -> Delivered:
        """Put ``document`` in its case in Public 360, creating the case when it has none.

        Returns the case number as ``diary_number`` and the document number as
        ``external_id``.  Raises :class:`DiaryUnavailable` or :class:`DiaryRejected`, with
        ``progress`` holding every step that was done.
        """
        case = document.case
        if case.diary_number:
            case_number: str | None = case.diary_number
        elif progress.get("case_number"):
            case_number = str(progress["case_number"])
        elif case.anonymous:
            if not self._collective:
                raise DiaryRejected(
                    "Anonyma klagomål diarieförs i ett samlingsärende, men inget är angivet: "
                    "ange samlingsärendets diarienummer i registry.collective_number och kör "
                    "sedan postvakt diary retry."
                )
            case_number = self._collective
        else:
            case_number = None
        doubt = _Doubt(progress)
        files: list[str] = progress.setdefault("files", [])
        with _Session(self._settings, self._environ, self._transport) as session:
            if case_number is None:
                if doubt.of("case"):
                    case_number = self._look_for_case(session, case)
                if case_number is None:
                    doubt.asking("case")
                    answer = session.call("CaseService", "CreateCase", self._case(case))
                    case_number = _text(answer, "CaseNumber", "CreateCase")
                    log.info("case %d: Public 360 case %s created", case.case_id, case_number)
                progress["case_number"] = case_number
            doubt.answered("case")
            document_number = progress.get("document_number")
            there: list[dict[str, Any]] | None = None  # the document's files in Public 360
            if not document_number and doubt.of("document"):
                found = self._look_for_document(session, case_number, document)
                if found is not None:
                    document_number = str(found["DocumentNumber"])
                    there = _files_of(found)
            if not document_number:
                doubt.asking("document")
                parameter = self._document(document, case_number)
                answer = session.call("DocumentService", "CreateDocument", parameter)
                document_number = _text(answer, "DocumentNumber", "CreateDocument")
                log.info(
                    "case %d: %s filed in Public 360 as %s",
                    case.case_id,
                    document.kind.value,
                    document_number,
                )
            progress["document_number"] = document_number
            doubt.answered("document")
            self._send_files(session, document, str(document_number), files, doubt, there)
        doubt.settled()
        return Delivered(diary_number=case_number, external_id=str(document_number))

    def _send_files(
        self,
        session: _Session,
        document: DiaryDocument,
        document_number: str,
        files: list[str],
        doubt: _Doubt,
        there: list[dict[str, Any]] | None,
    ) -> None:
        """Each attachment not yet sent, as a file of the document; one whose CreateFile
        went without an answer is looked for first, by its title on the document."""
        case = document.case
        total = len(document.attachments)
        parameters = []
        for number, attachment in enumerate(document.attachments, start=1):
            title = None
            if case.individual_care:  # the file's name may carry the citizen's words
                title = DOCUMENT_TITLES[document.kind]
                title += f" ({number})" if total > 1 else ""
            parameters.append(_file(attachment, document_number, title))
        done = Counter(files)
        seen: Counter[str] = Counter()
        todo = []
        recorded: Counter[str] = Counter()  # titles of the files noted as sent
        for number, (attachment, parameter) in enumerate(
            zip(document.attachments, parameters, strict=True), start=1
        ):
            seen[attachment.filename] += 1
            if seen[attachment.filename] <= done[attachment.filename]:
                recorded[parameter["Title"]] += 1  # sent by an earlier try
            else:
                todo.append((number, attachment, parameter))
        if todo and doubt.of("file"):
            if there is None:
                there = self._files_there(session, document_number)
            arrived = Counter(str(f.get("Title")) for f in there) - recorded
            for number, attachment, parameter in list(todo):
                if arrived[parameter["Title"]] > 0:  # its answer was lost, not the file
                    arrived[parameter["Title"]] -= 1
                    files.append(attachment.filename)
                    todo.remove((number, attachment, parameter))
                    log.info(
                        "case %d: file %d of %d found in Public 360", case.case_id, number, total
                    )
        for number, attachment, parameter in todo:
            doubt.asking("file")
            session.call("FileService", "CreateFile", parameter, what=f"fil {number} av {total}")
            files.append(attachment.filename)
            doubt.answered("file")
            log.debug("case %d: file %d of %d sent", case.case_id, number, total)

    def _look_for_case(self, session: _Session, case: CaseFacts) -> str | None:
        """The case an earlier CreateCase made whose answer never came: Public 360 knows it
        by the ExternalId Postvakt gives every case it creates.  None when there is none, or
        when Public 360 refuses the look-up (then the case is created as before, and may be
        there twice)."""
        answer = self._look_up(session, "CaseService", "GetCases", {"ExternalId": self._id(case)})
        cases = [c for c in (answer or {}).get("Cases") or [] if c.get("CaseNumber")]
        if not cases:
            return None
        first = min(cases, key=lambda c: int(c.get("Recno") or 0))
        log.info(
            "case %d: Public 360 case %s found (made by an earlier try)",
            case.case_id,
            first["CaseNumber"],
        )
        return str(first["CaseNumber"])

    def _look_for_document(
        self, session: _Session, case_number: str, document: DiaryDocument
    ) -> dict[str, Any] | None:
        """The document an earlier CreateDocument made whose answer never came, found in its
        case by the line ``Postvakt-id: <key>`` its notes end with."""
        answer = self._look_up(
            session,
            "DocumentService",
            "GetDocuments",
            {"CaseNumber": case_number, "Title": document_title(document), "IncludeFiles": True},
        )
        mark = _mark(document)
        found = [
            d
            for d in (answer or {}).get("Documents") or []
            if d.get("DocumentNumber") and mark in str(d.get("Notes") or "").splitlines()
        ]
        if not found:
            return None
        first = min(found, key=lambda d: int(d.get("Recno") or 0))
        log.info(
            "case %d: %s found in Public 360 as %s (made by an earlier try)",
            document.case.case_id,
            document.kind.value,
            first["DocumentNumber"],
        )
        return first

    def _files_there(self, session: _Session, document_number: str) -> list[dict[str, Any]]:
        answer = self._look_up(
            session,
            "DocumentService",
            "GetDocuments",
            {"DocumentNumber": document_number, "IncludeFiles": True},
        )
        for found in (answer or {}).get("Documents") or []:
            if str(found.get("DocumentNumber")) == document_number:
                return _files_of(found)
        return []

    def _look_up(
        self, session: _Session, service: str, method: str, parameter: dict[str, Any]
    ) -> dict[str, Any] | None:
        """A look-up's answer; None when Public 360 refuses it (a version without the
        filter): what it would have found is then made again, as before look-ups."""
        try:
            return session.call(service, method, parameter)
        except DiaryRejected as exc:
            log.warning("Public 360 refused the look-up %s: %s", method, type(exc).__name__)
            return None

    def _id(self, case: CaseFacts) -> dict[str, str]:
        """The ExternalId of a case Postvakt creates: its reference, under the system name."""
        return {"Id": case.reference, "Type": self._settings.external_system}

    def _case(self, case: CaseFacts) -> dict[str, Any]:
        settings = self._settings
        parameter: dict[str, Any] = {
            "Title": case_title(case),
            "CaseType": settings.case_type,
            "ExternalId": self._id(case),
        }
        if settings.responsible_person_recno is not None:
            parameter["ResponsiblePersonRecno"] = settings.responsible_person_recno
        if settings.responsible_enterprise_recno is not None:
            parameter["ResponsibleEnterpriseRecno"] = settings.responsible_enterprise_recno
        if settings.default_value_set:
            parameter["DefaultValueSet"] = settings.default_value_set
        return parameter

    def _document(self, document: DiaryDocument, case_number: str) -> dict[str, Any]:
        parameter: dict[str, Any] = {
            "CaseNumber": case_number,
            "Title": document_title(document),
            "Category": category(document),
            "Status": STATUSES[self._settings.document_status],
            "Notes": f"{document.text}\n\n{_mark(document)}",
            "Contacts": contacts(document.case),
        }
        if self._settings.default_value_set:
            parameter["DefaultValueSet"] = self._settings.default_value_set
        return parameter


def case_title(case: CaseFacts) -> str:
    """The title of a new case: its heading, or a neutral one for individual care."""
    if case.individual_care:
        return INDIVIDUAL_CARE_TITLE
    fallback = "Klagomål" if case.kind == "complaint" else "Synpunkt"
    return _clip(case.heading.strip() or fallback)


def document_title(document: DiaryDocument) -> str:
    """The document's title; for individual care the kind's name alone (titles are public)."""
    if document.case.individual_care or not document.title.strip():
        return DOCUMENT_TITLES[document.kind]
    return _clip(document.title.strip())


def category(document: DiaryDocument) -> str:
    """The document category of ``document`` (``recno:…``)."""
    if document.kind is DocumentKind.INCOMING:
        return INCOMING_EMAIL if document.case.channel == "email" else INCOMING_DOCUMENT
    return CATEGORIES[document.kind]


def contacts(case: CaseFacts) -> list[dict[str, str]]:
    """The document's contacts: none.

    SIF identifies a contact by ``ReferenceNumber`` (a personnummer or organisation number)
    and Postvakt does not have the citizen's; inventing one would link the document to
    someone else, and an anonymous complaint must name no one.  The citizen's name and
    address stay in the filed message for the registrar to add as a contact by hand.
    """
    return []


def _file(attachment: Attachment, document_number: str, title: str | None) -> dict[str, Any]:
    path = PurePath(attachment.filename)
    suffix = path.suffix.lstrip(".").lower()
    if not suffix:
        guessed = mimetypes.guess_extension(attachment.content_type) or ""
        suffix = _FORMATS.get(attachment.content_type, guessed.lstrip(".")) or "bin"
    return {
        "Title": title or _clip(path.stem or attachment.filename),
        "DocumentNumber": document_number,
        "Format": suffix,
        "Base64Data": base64.b64encode(attachment.data).decode("ascii"),
    }


class _Session:
    """One delivery's HTTP client: the key looked up, every answer mapped to our errors."""

    def __init__(
        self,
        settings: Public360Config,
        environ: Mapping[str, str],
        transport: httpx2.BaseTransport | None,
    ) -> None:
        self._settings = settings
        self._base = settings.base_url.rstrip("/")
        self._host = httpx2.URL(self._base).host
        variable = settings.authkey_env
        key = environ.get(variable, "")
        if not key:
            raise DiaryUnavailable(
                f"Miljövariabeln {variable} är inte satt: Postvakt behöver Public 360-nyckeln "
                f"där. Sätt {variable} för tjänsten och starta om den."
            )
        self._key = key
        inner = transport if transport is not None else httpx2.HTTPTransport()
        headers = {"Accept": "application/json"}
        if settings.auth == "bearer":
            headers["Authorization"] = f"Bearer {key}"
        else:
            inner = _KeyedTransport(inner, key)
        self._client = httpx2.Client(
            transport=inner,
            headers=headers,
            timeout=httpx2.Timeout(settings.timeout_seconds),
            follow_redirects=False,
        )

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._client.close()

    def call(
        self, service: str, method: str, parameter: dict[str, Any], *, what: str = ""
    ) -> dict[str, Any]:
        """POST one SIF call; the answer's JSON when ``Successful`` is true."""
        label = f"{method}, {what}" if what else method
        url = f"{self._base}/{_RPC}/{service}/{method}"
        try:
            response = self._client.post(url, json={"parameter": parameter})
        except httpx2.TimeoutException as exc:
            seconds = f"{self._settings.timeout_seconds:g}".replace(".", ",")
            raise DiaryUnavailable(
                f"Public 360 svarade inte inom {seconds} s ({label}); "
                "Postvakt försöker igen senare."
            ) from exc
        except httpx2.HTTPError as exc:
            raise DiaryUnavailable(
                f"Kunde inte nå Public 360 på {self._host} ({label}: "
                f"{self._scrub(str(exc)) or type(exc).__name__}); Postvakt försöker igen senare."
            ) from exc
        status = response.status_code
        if status in (401, 403):
            raise DiaryUnavailable(
                f"Public 360 nekade Postvakt (HTTP {status}, {label}): kontrollera nyckeln i "
                f"miljövariabeln {self._settings.authkey_env} och att den har rätt "
                "behörigheter. Postvakt försöker igen senare."
            )
        if status >= 500 or status in _RETRYABLE:
            raise DiaryUnavailable(
                f"Public 360 svarade med HTTP {status} ({label}); Postvakt försöker igen senare."
            )
        if status >= 300:
            raise DiaryRejected(
                f"Public 360 svarade med HTTP {status} ({label}): kontrollera base_url i "
                f"[registry.public360] ({self._base}) och kör sedan postvakt diary retry."
            )
        try:
            answer = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DiaryUnavailable(
                f"Public 360 svarade inte med JSON ({label}); Postvakt försöker igen senare."
            ) from exc
        if not isinstance(answer, dict) or not isinstance(answer.get("Successful"), bool):
            raise DiaryUnavailable(
                f"Public 360 svarade utan Successful ({label}); Postvakt försöker igen senare."
            )
        if not answer["Successful"]:
            message = self._scrub(str(answer.get("ErrorMessage") or "").strip())
            if len(message) > _MESSAGE_LIMIT:
                message = message[: _MESSAGE_LIMIT - 1] + "…"
            raise DiaryRejected(
                f"Public 360 tog inte emot anropet ({label}): "
                f"{message or 'inget felmeddelande'}. Rätta orsaken och kör sedan "
                "postvakt diary retry."
            )
        return answer

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***")


class _KeyedTransport(httpx2.BaseTransport):
    """Adds ``authkey`` to the URL below the client, so httpx2's own log line of each
    request (INFO, logger ``httpx2``) shows the URL without the key."""

    def __init__(self, inner: httpx2.BaseTransport, key: str) -> None:
        self._inner = inner
        self._key = key

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        keyed = httpx2.Request(
            request.method,
            request.url.copy_merge_params({"authkey": self._key}),
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return self._inner.handle_request(keyed)

    def close(self) -> None:
        self._inner.close()


def _text(answer: dict[str, Any], field: str, method: str) -> str:
    value = answer.get(field)
    if value in (None, ""):
        raise DiaryUnavailable(
            f"Public 360 svarade utan {field} ({method}); Postvakt försöker igen senare."
        )
    return str(value)


def _mark(document: DiaryDocument) -> str:
    """The last line of a document's notes: Postvakt's key of it, by which a document whose
    CreateDocument got no answer is found again."""
    return f"Postvakt-id: {document.key}"


def _files_of(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in found.get("Files") or [] if isinstance(f, dict)]


class _Doubt:
    """What may have happened in Public 360 without Postvakt hearing of it.

    ``progress["asking"]`` names the call on its way ("case", "document", "file"): set
    before it, cleared on its answer, so a call that timed out, or whose connection broke,
    is still named at the next try, which looks for what it may have made before making it
    again.  ``progress["unsure"]`` (set by ``postvakt diary retry`` on a document a stopped
    process left "sending") puts every step not noted in doubt.
    """

    def __init__(self, progress: dict[str, Any]) -> None:
        self._progress = progress
        self._before = progress.get("asking")
        self._unsure = bool(progress.get("unsure"))

    def of(self, step: str) -> bool:
        return self._unsure or self._before == step

    def asking(self, step: str) -> None:
        self._progress["asking"] = step

    def answered(self, step: str) -> None:
        if self._progress.get("asking") == step:
            del self._progress["asking"]

    def settled(self) -> None:
        self._progress.pop("asking", None)
        self._progress.pop("unsure", None)


def _clip(text: str) -> str:
    return text if len(text) <= _TITLE_LIMIT else text[: _TITLE_LIMIT - 1] + "…"
