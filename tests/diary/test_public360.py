"""Public 360 as the diary: every document of a case, against the stateful SIF fake."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

import httpx2
import pytest

from postvakt.clock import STOCKHOLM
from postvakt.config.registry import Public360Config
from postvakt.diary.base import (
    Attachment,
    CaseFacts,
    Delivered,
    DiaryDocument,
    DiaryRejected,
    DiaryUnavailable,
    DocumentKind,
)
from postvakt.diary.public360 import INDIVIDUAL_CARE_TITLE, Public360Diary
from tests.support.p360_fake import P360Fake

KEY = "p360-nyckel-9f3a71c2e8"
ENV = {"POSTVAKT_P360_AUTHKEY": KEY}
ARRIVED = datetime(2026, 3, 9, 8, 14, tzinfo=STOCKHOLM)
SENDER_NAME = "Kerstin Lindqvist"
SENDER_ADDRESS = "kerstin.lindqvist@exempel.se"

EML = (
    "Return-Path: <kerstin.lindqvist@exempel.se>\r\n"
    "From: Kerstin Lindqvist <kerstin.lindqvist@exempel.se>\r\n"
    "To: kontaktcenter@kommun.se\r\n"
    "Subject: =?utf-8?q?Sn=C3=B6r=C3=B6jningen_p=C3=A5_Bj=C3=B6rkv=C3=A4gen?=\r\n"
    "Date: Mon, 09 Mar 2026 08:14:02 +0100\r\n"
    "Message-ID: <20260309081402.4711@exempel.se>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Hej!\r\n\r\n"
    "Vi på Björkvägen 12 har inte fått vägen plogad på fyra dagar. Min mamma som bor hos oss\r\n"
    "kommer inte ut till färdtjänsten. Jag vill klaga på detta.\r\n\r\n"
    "Kerstin Lindqvist\r\n"
).encode()
DOCX = resources.files("postvakt.templates").joinpath("files/arendekort.docx").read_bytes()


def settings(**changes: Any) -> Public360Config:
    return Public360Config(base_url="https://p360.kommun.se/Biz/v2/api/call", **changes)


def case_facts(**changes: Any) -> CaseFacts:
    facts: dict[str, Any] = {
        "case_id": 17,
        "reference": "PV-2026-000017",
        "diary_number": None,
        "kind": "complaint",
        "heading": "Snöröjningen på Björkvägen",
        "summary": "Vägen har inte plogats på fyra dagar.",
        "anonymous": False,
        "individual_care": False,
        "received_at": ARRIVED,
        "registered_at": ARRIVED + timedelta(minutes=3),
        "sender_name": SENDER_NAME,
        "sender_address": SENDER_ADDRESS,
        "unit": "Gata och park",
        "channel": "email",
    }
    facts.update(changes)
    return CaseFacts(**facts)


def document(
    kind: DocumentKind,
    case: CaseFacts,
    *,
    attachments: tuple[Attachment, ...] = (),
    title: str | None = None,
    seq: int = 1,
) -> DiaryDocument:
    return DiaryDocument(
        key=f"case-{case.case_id}/{kind.value}/{seq}",
        kind=kind,
        title=title or f"{kind.value} – {case.label}",
        date=ARRIVED + timedelta(days=seq),
        text=f"Handling av slag {kind.value} i ärende {case.label}.",
        case=case,
        attachments=attachments,
    )


def incoming(case: CaseFacts) -> DiaryDocument:
    return document(
        DocumentKind.INCOMING,
        case,
        title="Inkommande synpunkt/klagomål",
        attachments=(Attachment("meddelande.eml", "message/rfc822", EML),),
    )


@pytest.fixture
def fake() -> P360Fake:
    return P360Fake(KEY)


def diary(
    fake: P360Fake,
    *,
    environ: dict[str, str] | None = None,
    collective_number: str | None = None,
    **changes: Any,
) -> Public360Diary:
    return Public360Diary(
        settings(**changes),
        ENV if environ is None else environ,
        collective_number=collective_number,
        transport=fake.transport,
    )


# ---------------------------------------------------------------------- the life of a case


def test_incoming_message_creates_the_case_its_document_and_the_eml_file(
    fake: P360Fake,
) -> None:
    progress: dict[str, Any] = {}

    delivered = diary(fake).deliver(incoming(case_facts()), progress)

    [case] = fake.cases.values()
    assert delivered == Delivered(diary_number=case.number, external_id=case.documents[0])
    assert case.number.startswith("26/")
    assert case.parameter["Title"] == "Snöröjningen på Björkvägen"
    assert case.parameter["CaseType"] == "recno:2"
    filed = fake.documents[delivered.external_id]
    assert filed.case_number == case.number
    assert filed.parameter["Category"] == "recno:114"  # incoming e-mail
    assert filed.parameter["Status"] == "recno:6"  # officially recorded
    assert filed.parameter["Title"] == "Inkommande synpunkt/klagomål"
    assert filed.parameter["Notes"] == (  # the last line finds it again after a lost answer
        "Handling av slag incoming i ärende PV-2026-000017.\n\nPostvakt-id: case-17/incoming/1"
    )
    assert case.parameter["ExternalId"] == {"Id": "PV-2026-000017", "Type": "Postvakt"}
    [file] = filed.files
    assert (file.title, file.format, file.data) == ("meddelande", "eml", EML)
    assert progress == {
        "case_number": case.number,
        "document_number": delivered.external_id,
        "files": ["meddelande.eml"],
    }
    assert [call.url.split("?")[0] for call in fake.calls] == [
        "https://p360.kommun.se/Biz/v2/api/call/SI.Data.RPC/SI.Data.RPC/CaseService/CreateCase",
        "https://p360.kommun.se/Biz/v2/api/call/SI.Data.RPC/SI.Data.RPC/DocumentService/"
        "CreateDocument",
        "https://p360.kommun.se/Biz/v2/api/call/SI.Data.RPC/SI.Data.RPC/FileService/CreateFile",
    ]
    assert all(json.loads(call.body).keys() == {"parameter"} for call in fake.calls)


def test_every_later_document_goes_to_the_same_case_and_the_closure_is_a_memo(
    fake: P360Fake,
) -> None:
    p360 = diary(fake)
    first = p360.deliver(incoming(case_facts()), {})
    numbered = case_facts(diary_number=first.diary_number, status="answered")
    later = [
        document(
            DocumentKind.ACKNOWLEDGEMENT,
            numbered,
            seq=2,
            attachments=(Attachment("Mottagningsbekräftelse.docx", "application/x", DOCX),),
        ),
        document(
            DocumentKind.ANSWER,
            numbered,
            seq=3,
            attachments=(Attachment("Svar KS 2026-17.docx", "application/x", DOCX),),
        ),
        document(DocumentKind.CALLBACK, numbered, seq=4),
        document(DocumentKind.CLOSURE, numbered, seq=5),
    ]

    answers = [p360.deliver(doc, {}) for doc in later]

    assert len(fake.calls_of("CreateCase")) == 1
    [case] = fake.cases.values()
    assert {answer.diary_number for answer in answers} == {case.number}
    assert [answer.external_id for answer in answers] == case.documents[1:]
    assert case.documents == [f"{case.number}-{n}" for n in range(1, 6)]
    categories = [fake.documents[number].parameter["Category"] for number in case.documents]
    assert categories == ["recno:114", "recno:111", "recno:111", "recno:60005", "recno:60005"]
    answer_files = fake.documents[answers[1].external_id].files
    assert [(f.title, f.format, f.data) for f in answer_files] == [
        ("Svar KS 2026-17", "docx", DOCX)
    ]
    assert fake.documents[answers[3].external_id].files == []  # the closure has no file
    assert len(fake.files) == 3


def test_a_letter_or_a_phone_call_is_an_incoming_document_not_an_incoming_email(
    fake: P360Fake,
) -> None:
    delivered = diary(fake).deliver(incoming(case_facts(channel="phone")), {})

    assert fake.documents[delivered.external_id].parameter["Category"] == "recno:110"


def test_the_settings_reach_the_case_and_the_document(fake: P360Fake) -> None:
    p360 = diary(
        fake,
        case_type="recno:7",
        responsible_person_recno=200311,
        responsible_enterprise_recno=200042,
        default_value_set="Postvakt",
        document_status="reserved",
        external_system="Postvakt-test",
    )

    delivered = p360.deliver(incoming(case_facts()), {})

    case = fake.cases[delivered.diary_number]
    assert case.parameter == {
        "Title": "Snöröjningen på Björkvägen",
        "CaseType": "recno:7",
        "ResponsiblePersonRecno": 200311,
        "ResponsibleEnterpriseRecno": 200042,
        "DefaultValueSet": "Postvakt",
        "ExternalId": {"Id": "PV-2026-000017", "Type": "Postvakt-test"},
    }
    filed = fake.documents[delivered.external_id].parameter
    assert (filed["Status"], filed["DefaultValueSet"]) == ("recno:1", "Postvakt")


def test_a_progress_that_is_complete_makes_no_call(fake: P360Fake) -> None:
    progress: dict[str, Any] = {}
    p360 = diary(fake)
    first = p360.deliver(incoming(case_facts()), progress)
    calls = len(fake.calls)

    again = p360.deliver(incoming(case_facts()), progress)

    assert again == first
    assert len(fake.calls) == calls


def test_two_attachments_with_the_same_name_are_both_filed(fake: P360Fake) -> None:
    photos = (
        Attachment("bild.jpg", "image/jpeg", b"\xff\xd8first\xff\xd9"),
        Attachment("bild.jpg", "image/jpeg", b"\xff\xd8second\xff\xd9"),
    )
    doc = document(DocumentKind.INCOMING, case_facts(), attachments=photos)
    fake.fail_next("CreateFile", kind="status", status=503)
    progress: dict[str, Any] = {}
    with pytest.raises(DiaryUnavailable):
        diary(fake).deliver(doc, progress)

    diary(fake).deliver(doc, progress)

    assert [f.data for f in fake.files] == [photo.data for photo in photos]
    assert progress["files"] == ["bild.jpg", "bild.jpg"]


# ---------------------------------------------------------------------- anonymity and privacy


def test_an_anonymous_complaint_goes_to_the_collective_case_and_names_no_one(
    fake: P360Fake,
) -> None:
    collective = fake.add_case("26/00005", "Anonyma synpunkter och klagomål 2026")
    anonymous = case_facts(anonymous=True, sender_name=None, sender_address=None)

    delivered = diary(fake, collective_number="26/00005").deliver(incoming(anonymous), {})

    assert fake.calls_of("CreateCase") == []
    assert delivered.diary_number == "26/00005"
    assert collective.documents == [delivered.external_id]
    assert fake.documents[delivered.external_id].parameter["Contacts"] == []


def test_an_anonymous_complaint_without_a_collective_case_is_refused_before_any_call(
    fake: P360Fake,
) -> None:
    anonymous = case_facts(anonymous=True, sender_name=None, sender_address=None)

    with pytest.raises(DiaryRejected, match=r"registry\.collective_number"):
        diary(fake).deliver(incoming(anonymous), {})

    assert fake.calls == []


def test_a_case_about_individual_care_gets_a_title_without_the_citizens_words(
    fake: P360Fake,
) -> None:
    heading = "Min mamma Ingrid på Solgårdens demensboende får inte sina mediciner"
    care = case_facts(heading=heading, individual_care=True, unit="Äldreomsorg")
    letter = document(
        DocumentKind.ANSWER,
        care,
        title="Svar om Ingrids mediciner – PV-2026-000017",
        attachments=(
            Attachment("Svar om Ingrids mediciner.docx", "application/x", DOCX),
            Attachment("Solgården journalutdrag.txt", "text/plain", b"Ingrid, Solg\xc3\xa5rden"),
        ),
    )
    p360 = diary(fake)

    delivered = p360.deliver(incoming(care), {})
    answered = p360.deliver(letter, {"case_number": delivered.diary_number})

    case = fake.cases[delivered.diary_number]
    assert case.parameter["Title"] == INDIVIDUAL_CARE_TITLE
    titles = [case.parameter["Title"]]
    titles += [fake.documents[n].parameter["Title"] for n in case.documents]
    titles += [file.title for file in fake.files]
    assert titles == [
        INDIVIDUAL_CARE_TITLE,
        "Inkommande synpunkt/klagomål",
        "Svar",
        "Inkommande synpunkt/klagomål",
        "Svar (1)",
        "Svar (2)",
    ]
    citizen = {w.lower() for w in (heading + " Ingrids Solgården journalutdrag").split()}
    assert not citizen & {w.lower() for t in titles for w in t.split()}
    filed = [f.data for f in fake.documents[answered.external_id].files]
    assert filed == [DOCX, "Ingrid, Solgården".encode()]


def test_the_citizens_name_and_address_are_sent_nowhere_but_in_the_filed_message(
    fake: P360Fake,
) -> None:
    # Without a personnummer there is no contact to name: no invented ReferenceNumber.
    delivered = diary(fake).deliver(incoming(case_facts()), {})

    assert fake.documents[delivered.external_id].parameter["Contacts"] == []
    for call in fake.calls_of("CreateCase") + fake.calls_of("CreateDocument"):
        assert SENDER_ADDRESS.encode() not in call.body
        assert SENDER_NAME.encode() not in call.body


# ---------------------------------------------------------------------- failures and retries


def test_a_server_error_on_the_document_keeps_the_case_and_the_retry_makes_no_second_case(
    fake: P360Fake,
) -> None:
    fake.fail_next("CreateDocument", kind="status", status=500)
    progress: dict[str, Any] = {}
    p360 = diary(fake)

    with pytest.raises(DiaryUnavailable, match=r"HTTP 500 \(CreateDocument\)") as failed:
        p360.deliver(incoming(case_facts()), progress)
    [case] = fake.cases.values()
    assert progress["case_number"] == case.number
    assert "document_number" not in progress
    assert "försöker igen" in str(failed.value)

    delivered = p360.deliver(incoming(case_facts()), progress)

    assert len(fake.cases) == 1
    assert len(fake.calls_of("CreateCase")) == 1
    assert delivered.diary_number == case.number
    assert case.documents == [delivered.external_id]


def test_a_failing_file_keeps_the_document_and_the_retry_makes_no_second_document(
    fake: P360Fake,
) -> None:
    files = (
        Attachment("meddelande.eml", "message/rfc822", EML),
        Attachment("karta.pdf", "application/pdf", b"%PDF-1.4 karta"),
    )
    doc = document(DocumentKind.INCOMING, case_facts(), attachments=files)
    fake.fail_next("CreateFile", kind="status", status=502)
    progress: dict[str, Any] = {}
    p360 = diary(fake)
    with pytest.raises(DiaryUnavailable, match=r"HTTP 502 \(CreateFile, fil 1 av 2\)"):
        p360.deliver(doc, progress)
    assert progress["files"] == []
    fake.fail_next("CreateFile", kind="timeout", after=1)  # the first file goes through
    with pytest.raises(DiaryUnavailable, match=r"CreateFile, fil 2 av 2"):
        p360.deliver(doc, progress)
    assert progress["files"] == ["meddelande.eml"]

    delivered = p360.deliver(doc, progress)

    assert len(fake.calls_of("CreateDocument")) == 1
    assert len(fake.documents) == 1
    assert [(f.title, f.format) for f in fake.documents[delivered.external_id].files] == [
        ("meddelande", "eml"),
        ("karta", "pdf"),
    ]
    assert progress["files"] == ["meddelande.eml", "karta.pdf"]


def test_successful_false_is_a_rejection_with_public_360s_message(fake: P360Fake) -> None:
    fake.fail_next(
        "CreateCase", kind="unsuccessful", message="CaseType 'recno:2' is not valid for user"
    )
    progress: dict[str, Any] = {}

    with pytest.raises(DiaryRejected) as rejected:
        diary(fake).deliver(incoming(case_facts()), progress)

    message = str(rejected.value)
    assert "CaseType 'recno:2' is not valid for user" in message
    assert "CreateCase" in message
    assert "postvakt diary retry" in message
    assert "case_number" not in progress


def test_a_long_error_message_is_cut(fake: P360Fake) -> None:
    fake.fail_next("CreateDocument", kind="unsuccessful", message="Fel " + "x" * 5000)

    with pytest.raises(DiaryRejected) as rejected:
        diary(fake).deliver(incoming(case_facts()), {})

    assert "Fel xxx" in str(rejected.value)
    assert len(str(rejected.value)) < 600


def test_a_missing_required_parameter_is_successful_false_from_the_server(
    fake: P360Fake,
) -> None:
    with httpx2.Client(transport=fake.transport) as client:
        response = client.post(
            "https://p360.kommun.se/SI.Data.RPC/SI.Data.RPC/DocumentService/CreateDocument",
            params={"authkey": KEY},
            json={"parameter": {"CaseNumber": "26/00001", "Title": "Svar", "Status": "recno:6"}},
        )

    assert response.status_code == 200
    assert response.json()["Successful"] is False
    assert response.json()["ErrorMessage"] == "Missing required parameter: Category"


def test_a_timeout_is_unavailable_and_says_how_long_it_waited(fake: P360Fake) -> None:
    fake.fail_next("CreateDocument", kind="timeout")

    with pytest.raises(DiaryUnavailable) as failed:
        diary(fake, timeout_seconds=12.5).deliver(incoming(case_facts()), {})

    assert "Public 360 svarade inte inom 12,5 s (CreateDocument)" in str(failed.value)
    assert isinstance(failed.value.__cause__, httpx2.ReadTimeout)


def test_a_refused_connection_is_unavailable_and_names_the_host(fake: P360Fake) -> None:
    fake.fail_next("CreateCase", kind="connect")

    with pytest.raises(DiaryUnavailable, match=r"Kunde inte nå Public 360 på p360\.kommun\.se"):
        diary(fake).deliver(incoming(case_facts()), {})


def test_an_answer_that_is_not_json_is_unavailable(fake: P360Fake) -> None:
    fake.fail_next("CreateCase", kind="garbage")
    progress: dict[str, Any] = {}

    with pytest.raises(DiaryUnavailable, match="inte med JSON") as failed:
        diary(fake).deliver(incoming(case_facts()), progress)

    assert isinstance(failed.value.__cause__, ValueError)
    assert "case_number" not in progress


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, DiaryUnavailable),
        (503, DiaryUnavailable),
        (403, DiaryUnavailable),
        (404, DiaryRejected),
        (400, DiaryRejected),
    ],
)
def test_http_statuses_map_to_retry_or_rejection(
    fake: P360Fake, status: int, error: type[Exception]
) -> None:
    fake.fail_next("CreateCase", kind="status", status=status)

    with pytest.raises(error, match=f"HTTP {status}"):
        diary(fake).deliver(incoming(case_facts()), {})


def test_a_wrong_key_names_the_variable_and_not_the_key(fake: P360Fake) -> None:
    wrong = "fel-nyckel-0000aaaa"

    with pytest.raises(DiaryUnavailable) as failed:
        diary(fake, environ={"POSTVAKT_P360_AUTHKEY": wrong}).deliver(incoming(case_facts()), {})

    message = str(failed.value)
    assert "HTTP 401" in message
    assert "POSTVAKT_P360_AUTHKEY" in message
    assert wrong not in message
    assert fake.cases == {}


def test_a_missing_key_variable_is_named_before_any_call(fake: P360Fake) -> None:
    with pytest.raises(DiaryUnavailable, match="P360_NYCKEL") as failed:
        diary(fake, environ={}, authkey_env="P360_NYCKEL").deliver(incoming(case_facts()), {})

    assert "inte satt" in str(failed.value)
    assert fake.calls == []


def test_bearer_mode_sends_the_token_in_the_header_and_not_in_the_address() -> None:
    fake = P360Fake(KEY, auth="bearer")

    diary(fake, auth="bearer").deliver(incoming(case_facts()), {})

    assert len(fake.documents) == 1
    for call in fake.calls:
        assert call.headers["authorization"] == f"Bearer {KEY}"
        assert KEY not in call.url


def test_the_key_and_the_citizen_never_reach_the_log(
    fake: P360Fake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    p360 = diary(fake)
    progress: dict[str, Any] = {}
    fake.fail_next("CreateFile", kind="timeout")
    with pytest.raises(DiaryUnavailable):
        p360.deliver(incoming(case_facts()), progress)
    p360.deliver(incoming(case_facts()), progress)
    fake.fail_next("CreateDocument", kind="unsuccessful", message="Ogiltig status")
    with pytest.raises(DiaryRejected):
        p360.deliver(document(DocumentKind.ANSWER, case_facts(diary_number="26/00001")), {})

    assert fake.calls[0].url.endswith(f"authkey={KEY}")  # the key did go to the server
    assert "HTTP Request: POST https://p360.kommun.se/" in caplog.text  # httpx2's own line
    assert "case 17: incoming filed in Public 360 as 26/00001-1" in caplog.text
    assert KEY not in caplog.text
    for personal in (SENDER_NAME, SENDER_ADDRESS, "Björkvägen"):
        assert personal not in caplog.text
    assert all(record.levelno <= logging.INFO for record in caplog.records)
