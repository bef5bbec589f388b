"""A stateful fake of Public 360's SIF web API, as an ``httpx2.MockTransport`` handler.

It answers the calls Postvakt makes with the shapes of the vendor's connector definition:
every call a POST of ``{"parameter": {...}}`` to
``…/SI.Data.RPC/SI.Data.RPC/<Service>/<Method>``, every answer JSON with ``Successful``,
``ErrorMessage`` and ``ErrorDetails``:

- ``CaseService/CreateCase`` (``Title`` required; ``ExternalId: {Id, Type}`` kept)
  → ``Recno``, ``CaseNumber`` (``26/00001``);
- ``CaseService/GetCases`` (filters ``ExternalId: {Id, Type}``, ``CaseNumber``; no filter is
  refused) → ``Cases: [{Recno, CaseNumber, Title, ExternalId}]``, oldest first;
- ``DocumentService/GetDocuments`` (filters ``CaseNumber``, ``DocumentNumber``, ``Title``
  with ``%`` for any text;
  ``IncludeFiles``) → ``Documents: [{Recno, DocumentNumber, CaseNumber, Title, Notes,
  Files: [{Recno, Title, Format}]}]``.  The two look-ups follow what public SIF clients send
  and read (the connector definition has no look-up);
- ``DocumentService/CreateDocument`` (``CaseNumber``, ``Title``, ``Category``, ``Status``
  required; the case must exist; category and status from the connector's lists)
  → ``Recno``, ``DocumentNumber`` (``26/00001-1``);
- ``FileService/CreateFile`` (``Title``, ``DocumentNumber``, ``Format``, ``Base64Data``
  required; the document must exist; the data must be Base64) → ``Recno``; the decoded
  bytes are kept.

Like the server it checks the key — the ``authkey`` query parameter, or the bearer token in
``Authorization`` — and answers 401 with no JSON when it is wrong.  A missing or invalid
parameter is HTTP 200 with ``Successful: false`` and an ``ErrorMessage``, as SIF answers.

Faults: :meth:`P360Fake.fail_next` makes the next N calls of a method fail with an HTTP
status, with ``Successful: false``, with an answer that is not JSON, or with a time-out or
a refused connection (raised as ``httpx2.ReadTimeout`` / ``httpx2.ConnectError``), without
doing what they asked; or (``lost``) do what they asked and then time out, as when the
answer is lost on the way back.  Every request is recorded in :attr:`P360Fake.calls`.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2

CATEGORIES = frozenset(
    {"recno:60005", "recno:113", "recno:110", "recno:111", "recno:114", "recno:115"}
)
STATUSES = frozenset({"recno:1", "recno:6"})
REQUIRED = {
    ("CaseService", "CreateCase"): ("Title",),
    ("DocumentService", "CreateDocument"): ("CaseNumber", "Title", "Category", "Status"),
    ("FileService", "CreateFile"): ("Title", "DocumentNumber", "Format", "Base64Data"),
    ("CaseService", "GetCases"): (),
    ("DocumentService", "GetDocuments"): (),
}
_PREFIX = "/SI.Data.RPC/SI.Data.RPC/"

FaultKind = Literal["status", "unsuccessful", "garbage", "timeout", "connect", "lost"]


@dataclass
class Call:
    """One request as the fake saw it."""

    service: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    parameter: dict[str, Any] | None
    status: int | None = None
    """The HTTP status answered (None when the fake raised a transport error)."""


@dataclass
class Fault:
    method: str
    times: int
    kind: FaultKind
    status: int = 500
    message: str = "Internal error"
    after: int = 0
    """Calls of the method that go through before the first failure."""


@dataclass
class Case:
    recno: int
    number: str
    parameter: dict[str, Any]
    documents: list[str] = field(default_factory=list)


@dataclass
class Document:
    recno: int
    number: str
    case_number: str
    parameter: dict[str, Any]
    files: list[File] = field(default_factory=list)


@dataclass
class File:
    recno: int
    document_number: str
    title: str
    format: str
    data: bytes


class P360Fake:
    """The SIF API of one Public 360 installation, in memory.

    ``auth`` is ``"authkey"`` (the key as the query parameter ``authkey``) or ``"bearer"``
    (``Authorization: Bearer <key>``).  ``year`` is the two digits case numbers start with.
    """

    def __init__(
        self, key: str, *, auth: Literal["authkey", "bearer"] = "authkey", year: int = 26
    ) -> None:
        self.key = key
        self.auth = auth
        self.year = year
        self.cases: dict[str, Case] = {}
        self.documents: dict[str, Document] = {}
        self.files: list[File] = []
        self.calls: list[Call] = []
        self._faults: list[Fault] = []
        self._recnos = itertools.count(200001)
        self._case_seq = itertools.count(1)

    @property
    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self)

    # ------------------------------------------------------------------ set-up and faults

    def add_case(self, number: str, title: str) -> Case:
        """A case that exists before Postvakt calls (a collective case, say)."""
        case = Case(next(self._recnos), number, {"Title": title})
        self.cases[number] = case
        return case

    def fail_next(
        self,
        method: str,
        times: int = 1,
        *,
        kind: FaultKind = "status",
        status: int = 500,
        message: str = "Internal error",
        after: int = 0,
    ) -> None:
        """The next ``times`` calls of ``method`` (``CreateDocument``…) fail as ``kind``,
        once ``after`` calls of it have gone through."""
        self._faults.append(Fault(method, times, kind, status, message, after))

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    # ------------------------------------------------------------------ the server

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        service, _, method = path.partition(_PREFIX)[2].partition("/")
        call = Call(
            service=service,
            method=method,
            url=str(request.url),
            headers=dict(request.headers),
            body=request.content,
            parameter=None,
        )
        self.calls.append(call)
        response = self._answer(request, call)
        call.status = response.status_code
        return response

    def _answer(self, request: httpx2.Request, call: Call) -> httpx2.Response:
        if _PREFIX not in request.url.path or (call.service, call.method) not in REQUIRED:
            return httpx2.Response(404, text="Not Found")
        if request.method != "POST":
            return httpx2.Response(405, text="Method Not Allowed")
        if not self._authorised(request):
            return httpx2.Response(401, text="Unauthorized")
        fault = self._fault(call.method)
        if fault is not None and fault.kind != "lost":
            if fault.kind == "timeout":
                raise httpx2.ReadTimeout("timed out", request=request)
            if fault.kind == "connect":
                raise httpx2.ConnectError("[Errno 111] Connection refused", request=request)
            if fault.kind == "garbage":
                return httpx2.Response(200, text="<html>Service Unavailable</html>")
            if fault.kind == "unsuccessful":
                return _failed(fault.message)
            return httpx2.Response(fault.status, text=fault.message)
        try:
            body = json.loads(request.content)
        except ValueError:
            return httpx2.Response(400, text="Bad Request")
        parameter = body.get("parameter") if isinstance(body, dict) else None
        if not isinstance(parameter, dict):
            return _failed("Parameter is missing")
        call.parameter = parameter
        for name in REQUIRED[(call.service, call.method)]:
            value = parameter.get(name)
            if not isinstance(value, str) or not value.strip():
                return _failed(f"Missing required parameter: {name}")
        handlers = {
            "CreateCase": self._create_case,
            "CreateDocument": self._create_document,
            "CreateFile": self._create_file,
            "GetCases": self._get_cases,
            "GetDocuments": self._get_documents,
        }
        response = handlers[call.method](parameter)
        if fault is not None:  # "lost": done, and the answer never comes back
            raise httpx2.ReadTimeout("timed out", request=request)
        return response

    def _authorised(self, request: httpx2.Request) -> bool:
        if self.auth == "bearer":
            return request.headers.get("Authorization") == f"Bearer {self.key}"
        return request.url.params.get("authkey") == self.key

    def _fault(self, method: str) -> Fault | None:
        for fault in self._faults:
            if fault.method != method or fault.times == 0:
                continue
            if fault.after > 0:
                fault.after -= 1
                return None
            fault.times -= 1
            return fault
        return None

    def _create_case(self, parameter: dict[str, Any]) -> httpx2.Response:
        for name in ("ResponsiblePersonRecno", "ResponsibleEnterpriseRecno"):
            if name in parameter and not isinstance(parameter[name], int):
                return _failed(f"{name} must be an integer")
        external = parameter.get("ExternalId")
        if external is not None and not _external_id(external):
            return _failed("ExternalId must have Id and Type")
        number = f"{self.year:02d}/{next(self._case_seq):05d}"
        case = Case(next(self._recnos), number, parameter)
        self.cases[number] = case
        return _ok(Recno=case.recno, CaseNumber=number)

    def _get_cases(self, parameter: dict[str, Any]) -> httpx2.Response:
        external = parameter.get("ExternalId")
        number = parameter.get("CaseNumber")
        if external is None and number is None:
            return _failed("At least one search criterion is required")
        if external is not None and not _external_id(external):
            return _failed("ExternalId must have Id and Type")
        found = [
            case
            for case in self.cases.values()
            if (number is None or case.number == number)
            and (external is None or case.parameter.get("ExternalId") == external)
        ]
        found.sort(key=lambda case: case.recno)
        return _ok(
            Cases=[
                {
                    "Recno": case.recno,
                    "CaseNumber": case.number,
                    "Title": case.parameter.get("Title"),
                    "ExternalId": case.parameter.get("ExternalId"),
                }
                for case in found
            ],
            TotalCount=len(found),
        )

    def _get_documents(self, parameter: dict[str, Any]) -> httpx2.Response:
        case_number = parameter.get("CaseNumber")
        number = parameter.get("DocumentNumber")
        if case_number is None and number is None:
            return _failed("At least one search criterion is required")
        title = parameter.get("Title")
        found = [
            document
            for document in self.documents.values()
            if (case_number is None or document.case_number == case_number)
            and (number is None or document.number == number)
            and (title is None or _like(str(document.parameter.get("Title")), str(title)))
        ]
        found.sort(key=lambda document: document.recno)
        include_files = bool(parameter.get("IncludeFiles"))
        return _ok(
            Documents=[
                {
                    "Recno": document.recno,
                    "DocumentNumber": document.number,
                    "CaseNumber": document.case_number,
                    "Title": document.parameter.get("Title"),
                    "Notes": document.parameter.get("Notes"),
                    **(
                        {
                            "Files": [
                                {"Recno": f.recno, "Title": f.title, "Format": f.format}
                                for f in document.files
                            ]
                        }
                        if include_files
                        else {}
                    ),
                }
                for document in found
            ],
            TotalCount=len(found),
        )

    def _create_document(self, parameter: dict[str, Any]) -> httpx2.Response:
        case = self.cases.get(parameter["CaseNumber"])
        if case is None:
            return _failed(f"Case not found: {parameter['CaseNumber']}")
        if parameter["Category"] not in CATEGORIES:
            return _failed(f"Unknown Category: {parameter['Category']}")
        if parameter["Status"] not in STATUSES:
            return _failed(f"Unknown Status: {parameter['Status']}")
        contacts = parameter.get("Contacts", [])
        if not isinstance(contacts, list) or any(
            not isinstance(c, dict) or not c.get("ReferenceNumber") for c in contacts
        ):
            return _failed("Contact not found: ReferenceNumber is required")
        number = f"{case.number}-{len(case.documents) + 1}"
        document = Document(next(self._recnos), number, case.number, parameter)
        case.documents.append(number)
        self.documents[number] = document
        return _ok(Recno=document.recno, DocumentNumber=number)

    def _create_file(self, parameter: dict[str, Any]) -> httpx2.Response:
        document = self.documents.get(parameter["DocumentNumber"])
        if document is None:
            return _failed(f"Document not found: {parameter['DocumentNumber']}")
        try:
            data = base64.b64decode(parameter["Base64Data"], validate=True)
        except binascii.Error:
            return _failed("Base64Data is not valid Base64")
        file = File(
            next(self._recnos),
            document.number,
            parameter["Title"],
            parameter["Format"],
            data,
        )
        document.files.append(file)
        self.files.append(file)
        return _ok(Recno=file.recno)


def _like(text: str, pattern: str) -> bool:
    """SIF's text filters: ``%`` stands for any text, the rest must match."""
    import re

    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("%")), text) is not None


def _external_id(value: object) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("Id"), str)
        and bool(value["Id"])
        and isinstance(value.get("Type"), str)
        and bool(value["Type"])
    )


def _ok(**fields: Any) -> httpx2.Response:
    return httpx2.Response(
        200, json={**fields, "Successful": True, "ErrorMessage": None, "ErrorDetails": None}
    )


def _failed(message: str) -> httpx2.Response:
    return httpx2.Response(
        200,
        json={"Recno": 0, "Successful": False, "ErrorMessage": message, "ErrorDetails": None},
    )
