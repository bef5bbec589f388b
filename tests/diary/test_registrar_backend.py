"""The registrar backend on a real SMTP server: one notice per document, or a digest."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from importlib.resources import files
from pathlib import Path

import pytest

from postvakt.clock import STOCKHOLM
from postvakt.config.connectors import SmtpConfig
from postvakt.diary.base import (
    Attachment,
    CaseFacts,
    DiaryDocument,
    DiaryUnavailable,
    DocumentKind,
)
from postvakt.diary.registrar import RegistrarDiary
from postvakt.errors import UnavailableError
from postvakt.rules.notify import Mailer
from tests.support.ports import free_port
from tests.support.smtp import SmtpServer

EML = Path(__file__).parents[1] / "data" / "eml"
REGISTRAR = "registrator@testby.se"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def mailer(port: int) -> Mailer:
    smtp = SmtpConfig(
        host="127.0.0.1", port=port, security="none", from_address="postvakt@testby.se"
    )
    return Mailer(smtp, {})


def docx() -> bytes:
    return files("postvakt.templates").joinpath("files/arendekort.docx").read_bytes()


def snow_case(**changes: object) -> CaseFacts:
    case = CaseFacts(
        case_id=17,
        reference="PV-2026-000123",
        diary_number=None,
        kind="complaint",
        heading="Klagomål på snöröjningen på Björkvägen",
        summary="Klagomål på snöröjningen",
        anonymous=False,
        individual_care=False,
        # 06:41 UTC is 07:41 in Stockholm in November: the notice says Swedish time.
        received_at=datetime(2026, 11, 23, 6, 41, tzinfo=UTC),
        registered_at=datetime(2026, 11, 23, 9, 0, tzinfo=STOCKHOLM),
        status="registered",
        sender_name="Göran Sjöberg",
        sender_address="goran.sjoberg@telia.com",
        unit="Gatuavdelningen",
        handler="anna.berg",
    )
    return replace(case, **changes)  # type: ignore[arg-type]


def incoming(case: CaseFacts, key: str = "case-17/incoming/1") -> DiaryDocument:
    original = (EML / "01_utf8_8bit_snorojning.eml").read_bytes()
    return DiaryDocument(
        key=key,
        kind=DocumentKind.INCOMING,
        title=f"Inkommande synpunkt/klagomål – {case.label}",
        date=case.received_at,
        text="Klagomål via e-post till kontaktcenter@testby.se.",
        case=case,
        attachments=(Attachment("Originalmeddelande.eml", "message/rfc822", original),),
    )


def answer(case: CaseFacts, key: str = "case-17/answer/3") -> DiaryDocument:
    return DiaryDocument(
        key=key,
        kind=DocumentKind.ANSWER,
        title=f"Svar – {case.label}",
        date=datetime(2026, 11, 30, 14, 5, tzinfo=STOCKHOLM),
        text="Svaret skickades av Anna Berg från kontaktcenter@testby.se.",
        case=case,
        attachments=(Attachment(f"Svar {case.label.replace('/', '-')}.docx", DOCX, docx()),),
    )


def attachments(message: EmailMessage) -> dict[str, EmailMessage]:
    return {a.get_filename(): a for a in message.iter_attachments()}


def test_an_incoming_message_goes_to_the_registrar_with_its_arrival_stamp(
    smtp_server: SmtpServer,
) -> None:
    diary = RegistrarDiary(mailer(smtp_server.port), REGISTRAR, reply_to="postvakt@testby.se")
    document = incoming(snow_case())

    delivered = diary.deliver(document, {})

    (notice,) = smtp_server.to(REGISTRAR)
    message = notice.message
    assert message["Subject"] == (
        "PV-2026-000123 – Inkommande synpunkt/klagomål – Klagomål på snöröjningen"
    )
    key_hash = hashlib.sha1(b"case-17/incoming/1", usedforsecurity=False).hexdigest()[:24]
    assert message["Message-ID"] == f"<diary.{key_hash}@testby.se>" == delivered.external_id
    assert message["Reply-To"] == "postvakt@testby.se"
    body = message.get_body(("plain",)).get_content()
    assert (
        "Postvakts referens: PV-2026-000123 (diarienummer saknas ännu — svara på detta "
        "meddelande med diarienumret i ämnesraden eller på första raden)" in body
    )
    assert "Diarienummer:" not in body
    assert "Dokument: Inkommande synpunkt/klagomål (inkommande handling)" in body
    assert "Datum: 2026-11-23 07:41" in body
    assert "Ankomststämpel: 2026-11-23 07:41 (via e-post)" in body
    assert "Avsändare: Göran Sjöberg <goran.sjoberg@telia.com>" in body
    assert "Klagomål via e-post till kontaktcenter@testby.se." in body
    assert "Dokumentet är bifogat." in body
    # The original goes in whole, as a message (RFC 2046), with its own headers.
    (eml,) = attachments(message).values()
    assert eml.get_content_type() == "message/rfc822"
    original = eml.get_content()
    source = (EML / "01_utf8_8bit_snorojning.eml").read_bytes()
    (source_id,) = re.findall(rb"^Message-ID: *(.+?)\r?$", source, re.MULTILINE | re.IGNORECASE)
    assert original["Message-ID"] == source_id.decode()


def test_an_answer_carries_the_diary_number_and_the_sent_letter(
    smtp_server: SmtpServer,
) -> None:
    diary = RegistrarDiary(mailer(smtp_server.port), REGISTRAR)
    document = answer(snow_case(diary_number="KS 2026/45"))

    diary.deliver(document, {})

    (notice,) = smtp_server.to(REGISTRAR)
    message = notice.message
    # The title's own number is not repeated after the one the subject begins with.
    assert message["Subject"] == "KS 2026/45 – Svar – Klagomål på snöröjningen"
    assert message["Reply-To"] is None  # none configured: replies go to the sender address
    body = message.get_body(("plain",)).get_content()
    assert "Diarienummer: KS 2026/45" in body
    assert "saknas" not in body and "Postvakts referens" not in body
    assert "Datum: 2026-11-30 14:05" in body and "Ankomststämpel" not in body
    assert "Mottagare: Göran Sjöberg <goran.sjoberg@telia.com>" in body
    assert "Dokumentet är bifogat." in body
    letter = attachments(message)["Svar KS 2026-45.docx"]
    assert letter.get_content_type() == DOCX
    assert letter.get_content() == docx()


def test_a_resent_notice_carries_the_same_message_id(smtp_server: SmtpServer) -> None:
    diary = RegistrarDiary(mailer(smtp_server.port), REGISTRAR)
    case = snow_case()

    first = diary.deliver(answer(case), {})
    again = diary.deliver(answer(case), {})  # e.g. after a crash before the outbox was marked
    other = diary.deliver(answer(case, key="case-17/answer/4"), {})

    ids = [r.message["Message-ID"] for r in smtp_server.to(REGISTRAR)]
    assert ids == [first.external_id, again.external_id, other.external_id]
    assert ids[0] == ids[1] != ids[2]


def test_the_subject_of_a_care_case_has_none_of_the_citizens_words(
    smtp_server: SmtpServer,
) -> None:
    diary = RegistrarDiary(mailer(smtp_server.port), REGISTRAR)
    case = snow_case(
        diary_number="SN 2026/311",
        heading="Hemtjänsten kom inte till mamma Margit på Lövstigen",
        summary="Missad insats för Margit Lind, diabetes",
        individual_care=True,
        sender_name="Eva Lind",
        sender_address="eva.lind@example.net",
    )
    document = replace(answer(case), title="Svar om Margits insulin – SN 2026/311")

    diary.deliver(document, {})

    (notice,) = smtp_server.to(REGISTRAR)
    subject = notice.message["Subject"]
    assert subject == "[Vård och omsorg – avvikelsemodulen] SN 2026/311 – Svar"
    citizen = " ".join([case.heading, case.summary, "Margits insulin", "Eva Lind eva.lind"])
    words = {w.casefold() for w in re.findall(r"\w{3,}", citizen)} - {"för", "till"}
    assert {"margit", "lind", "diabetes", "insulin", "lövstigen"} <= words
    assert not {w.casefold() for w in re.findall(r"\w+", subject)} & words
    body = notice.message.get_body(("plain",)).get_content()
    assert "registreras i verksamhetssystemets avvikelsemodul, inte i diariet" in body


def test_the_daily_digest_is_one_mail_with_every_document(smtp_server: SmtpServer) -> None:
    diary = RegistrarDiary(mailer(smtp_server.port), REGISTRAR, reply_to="postvakt@testby.se")
    snow = snow_case()
    numbered = snow_case(case_id=18, reference="PV-2026-000124", diary_number="KS 2026/46")
    documents = [
        incoming(snow),
        answer(numbered, key="case-18/answer/1"),
        answer(replace(numbered, case_id=19, diary_number="KS 2026/47"), key="case-19/answer/1"),
    ]
    # Two letters of the same name (different cases): both kept, the second renamed.
    documents[2] = replace(documents[2], attachments=documents[1].attachments)

    delivered = diary.deliver_digest(documents)

    (digest,) = smtp_server.to(REGISTRAR)
    message = digest.message
    # Named by the newest document's day in Sweden (30 November), not the oldest.
    assert message["Subject"] == "Synpunkter och klagomål – 3 dokument 30 november 2026"
    assert message["Message-ID"] == delivered.external_id
    assert message["Reply-To"] == "postvakt@testby.se"
    body = message.get_body(("plain",)).get_content()
    lines = [line for line in body.splitlines() if line.startswith("  • ")]
    assert lines == [
        "  • 2026-11-23 07:41 PV-2026-000123 – Inkommande synpunkt/klagomål – Klagomål på "
        "snöröjningen (referens, diarienummer saknas) – bifogat",
        "  • 2026-11-30 14:05 KS 2026/46 – Svar – Klagomål på snöröjningen – bifogat",
        "  • 2026-11-30 14:05 KS 2026/47 – Svar – Klagomål på snöröjningen – bifogat",
    ]
    assert sorted(attachments(message)) == [
        "Originalmeddelande.eml",
        "Svar KS 2026-46 (2).docx",
        "Svar KS 2026-46.docx",
    ]
    # The same documents make the same digest id; other documents another.
    assert diary.deliver_digest(list(reversed(documents))) == delivered
    assert diary.deliver_digest(documents[:2]).external_id != delivered.external_id


@pytest.mark.parametrize("down", ["stopped", "closed port"])
def test_smtp_down_is_diary_unavailable(smtp_server: SmtpServer, down: str) -> None:
    port = smtp_server.port if down == "stopped" else free_port()
    smtp_server.stop()
    diary = RegistrarDiary(mailer(port), REGISTRAR)

    with pytest.raises(DiaryUnavailable) as raised:
        diary.deliver(answer(snow_case(diary_number="KS 2026/45")), {})
    assert isinstance(raised.value.__cause__, UnavailableError)
    text = str(raised.value)
    assert text.startswith(
        "Diarieföringen av svar i ärende KS 2026/45 kunde inte skickas till registratorn: "
    )
    assert f"127.0.0.1:{port}" in text and "försöker igen" in text

    with pytest.raises(DiaryUnavailable, match="sammanställningen av 1 dokument"):
        diary.deliver_digest([incoming(snow_case())])
    assert smtp_server.received == []


def test_other_callers_of_the_mailer_keep_a_random_message_id(smtp_server: SmtpServer) -> None:
    sender = mailer(smtp_server.port)
    sender.send(REGISTRAR, "Postvakt: ett ärende till dig", "Hej!\n")
    sender.send(REGISTRAR, "Postvakt: ett ärende till dig", "Hej!\n")

    first, second = (r.message for r in smtp_server.to(REGISTRAR))
    assert first["Message-ID"] != second["Message-ID"]
    assert first["Message-ID"].endswith("@testby.se>") and first["Reply-To"] is None
