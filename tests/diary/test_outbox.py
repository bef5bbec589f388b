"""Issue 17: every document of a case reaches the diary, through the outbox — never lost,
never twice — with the registrar (real SMTP server), a folder, and Public 360 (the SIF fake)."""

from __future__ import annotations

import email
import json
import re
import shutil
from datetime import datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.diary.public360 import Public360Diary
from postvakt.mailbox.maildir import deliver
from postvakt.registry.documents import DeliveryStatus, DiaryEntry
from postvakt.registry.models import Case
from postvakt.service import Service
from tests.support.p360_fake import P360Fake
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail, make_workspace

COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n\nKarin Ek\n"
REGISTRAR = "registrator@testby.se"
KEY = "p360-nyckel-5b1e"


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=STOCKHOLM)


def service_at(ws: Workspace, when: datetime, environ: dict[str, str] | None = None) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when), environ=environ).open()


def cli(ws: Workspace, when: datetime, *argv: str) -> int:
    return main(["--config", str(ws.config_path), *argv], clock=fixed_clock(when))


def workspace_with(tmp_path: Path, db_url: str, extra: str) -> Workspace:
    ws = make_workspace(tmp_path / "ws", db_url)
    ws.config_path.write_text(ws.config_path.read_text() + extra, encoding="utf-8")
    return ws


def send_draft(ws: Workspace, draft: Path) -> None:
    """The person sends Postvakt's draft from their mail program: it lands in Sent."""
    deliver(ws.maildir() / ".Sent", draft.read_bytes())


def entries(service: Service) -> list[DiaryEntry]:
    with service.sessions() as session:
        return list(session.scalars(select(DiaryEntry).order_by(DiaryEntry.id)))


def test_every_document_of_a_case_goes_to_the_registrar_once(
    db_url: str, tmp_path: Path, smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = workspace_with(tmp_path, db_url, smtp_server.config())
    ws.deliver(citizen_mail(COMPLAINT, message_id="<life@example.net>"), when=at(2026, 11, 16, 7))
    with service_at(ws, at(2026, 11, 16, 9)) as service:
        service.run_once()
    (ack,) = ws.drafts()
    send_draft(ws, ack)
    with service_at(ws, at(2026, 11, 16, 11)) as service:
        service.run_once()
        service.run_once()  # nothing new: nothing sent twice
    assert (
        cli(
            ws,
            at(2026, 11, 17),
            "cases",
            "answer",
            "KS 2026/1",
            "--by",
            "anna@testby.se",
            "--text",
            "Vi plogar i dag.",
        )
        == 0
    )
    answer = next(d for d in ws.drafts() if d != ack)
    send_draft(ws, answer)
    with service_at(ws, at(2026, 11, 17, 11)) as service:
        service.run_once()
    assert (
        cli(
            ws,
            at(2026, 11, 17, 12),
            "cases",
            "callback",
            "KS 2026/1",
            "--by",
            "anna@testby.se",
            "--note",
            "Ringde Karin, vägen är plogad.",
        )
        == 0
    )
    assert (
        cli(
            ws,
            at(2026, 11, 17, 13),
            "cases",
            "close",
            "KS 2026/1",
            "--by",
            "anna@testby.se",
            "--action",
            "Plogat",
        )
        == 0
    )

    notices = smtp_server.to(REGISTRAR)
    # (A folded subject may lose the space after a dash between encoded words.)
    kinds = [re.split(r"\s*–\s*", m.message["Subject"])[1] for m in notices]
    assert kinds == [
        "Inkommande synpunkt/klagomål",
        "Mottagningsbekräftelse",
        "Svar",
        "Anteckning om återkoppling",
        "Ärendet avslutat",
    ]
    assert all(m.message["Subject"].startswith("KS 2026/1 – ") for m in notices)
    files = [[a.get_filename() for a in m.message.iter_attachments()] for m in notices]
    assert "Ärendekort KS 2026-1.docx" in files[0] and any(f.endswith(".eml") for f in files[0])
    assert "Mottagningsbekräftelse KS 2026-1.docx" in files[1]
    assert "Svar KS 2026-1.docx" in files[2]
    assert len({m.message["Message-ID"] for m in notices}) == 5
    capsys.readouterr()
    assert cli(ws, at(2026, 11, 17, 14), "diary", "status", "--all", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert {s["status"] for s in shown} == {"sent"} and len(shown) == 5


def test_the_cases_of_one_batch_each_reach_the_registrar_once(
    db_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """A pass that registers several cases in one batch writes their events without ORM
    objects (no flush hook sees them): each case's incoming document is queued all the same,
    once, with the registration's time."""
    ws = workspace_with(tmp_path, db_url, smtp_server.config())
    for n, street in enumerate(("Björkvägen", "Ekvägen", "Lindvägen")):
        body = COMPLAINT.replace("Björkvägen", street)
        ws.deliver(
            citizen_mail(body, message_id=f"<batch-{n}@example.net>"), when=at(2026, 11, 16, 7)
        )
    with service_at(ws, at(2026, 11, 16, 9)) as service:
        report = service.run_once()
        assert [o.case for o in report.outcomes] == ["KS 2026/1", "KS 2026/2", "KS 2026/3"]
        service.run_once()  # nothing new: nothing queued or sent twice
        with service.sessions() as session:
            cases = {c.id: c.reference for c in session.scalars(select(Case))}
        incoming = [e for e in entries(service) if e.key.endswith("/incoming")]
        assert sorted(e.key for e in incoming) == sorted(f"case-{i}/incoming" for i in cases)
    subjects = [m.message["Subject"] for m in smtp_server.to(REGISTRAR)]
    for reference in ("KS 2026/1", "KS 2026/2", "KS 2026/3"):
        sent = [s for s in subjects if s.startswith(f"{reference} – Inkommande")]
        assert len(sent) == 1, subjects


def test_a_registrar_smtp_that_is_down_delays_but_loses_nothing(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    smtp = SmtpServer.start()
    port = smtp.port
    smtp.stop()  # down
    ws = workspace_with(tmp_path, db_url, smtp.config())
    ws.deliver(citizen_mail(COMPLAINT), when=at(2026, 11, 16, 7))
    with service_at(ws, at(2026, 11, 16, 9)) as service:
        report = service.run_once()
        assert report.outcomes[0].case == "KS 2026/1" and report.registrar_notices == []
        (entry,) = entries(service)
        assert entry.status is DeliveryStatus.PENDING and entry.attempts == 1
        assert entry.next_attempt_at == at(2026, 11, 16, 9) + timedelta(minutes=1)
        assert entry.last_error
    with service_at(ws, at(2026, 11, 16, 9) + timedelta(seconds=30)) as service:
        service.run_once()  # not yet due: not tried
        assert entries(service)[0].attempts == 1
    capsys.readouterr()
    assert cli(ws, at(2026, 11, 16, 9), "diary", "status") == 0
    out = capsys.readouterr().out
    assert "KS 2026/1" in out and "väntar" in out

    back = SmtpServer(port=port)
    from aiosmtpd.controller import Controller

    back.controller = Controller(back, hostname=back.host, port=port)
    back.controller.start()
    try:
        assert (
            cli(
                ws,
                at(
                    2026,
                    11,
                    16,
                    9,
                ),
                "diary",
                "retry",
            )
            == 0
        )
        assert "1 levererat" in capsys.readouterr().out
        assert len(back.to(REGISTRAR)) == 1
        assert cli(ws, at(2026, 11, 16, 10), "diary", "retry") == 0  # nothing left: nothing twice
        assert len(back.to(REGISTRAR)) == 1
    finally:
        back.stop()


def test_a_folder_per_case_for_diaries_that_import_files(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "diarium"
    ws = workspace_with(tmp_path, db_url, f'\n[registry]\nsystem = "file"\nfolder = "{folder}"\n')
    ws.deliver(citizen_mail(COMPLAINT), when=at(2026, 11, 16, 7))
    with service_at(ws, at(2026, 11, 16, 9)) as service:
        service.run_once()
        assert [e.status for e in entries(service)] == [DeliveryStatus.SENT]
    (case_folder,) = [p for p in folder.iterdir() if p.is_dir()]
    card = json.loads((case_folder / "ärende.json").read_text(encoding="utf-8"))
    assert card["reference"] == "KS 2026/1" and card["kind"] == "complaint"
    written = {p.name for p in case_folder.rglob("*") if p.is_file()}
    assert any(n.endswith(".eml") for n in written) and "Ärendekort KS 2026-1.docx" in written


def test_public360_numbers_the_case_and_takes_each_document(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTVAKT_P360_AUTHKEY", KEY)  # what the command line's process has
    fake = P360Fake(KEY)
    ws = workspace_with(
        tmp_path,
        db_url,
        '\n[registry]\nnumbering = "diary"\nsystem = "public360"\n'
        '[registry.public360]\nbase_url = "https://p360.testby.se/Biz/v2/api/call"\n',
    )
    environ = {"POSTVAKT_P360_AUTHKEY": KEY}

    def open_at(when: datetime) -> Service:
        service = service_at(ws, when, environ)
        assert service.diary is not None
        service.diary._backend = Public360Diary(
            service.config.registry.public360,
            environ,
            collective_number=None,
            transport=fake.transport,
        )
        return service

    fake.fail_next("CreateDocument", 1, status=500)  # the case is created, its document fails
    ws.deliver(citizen_mail(COMPLAINT, message_id="<p@example.net>"), when=at(2026, 11, 16, 7))
    with open_at(at(2026, 11, 16, 9)) as service:
        (outcome,) = service.run_once().outcomes
        assert outcome.case == "PV-2026-000001"
        (entry,) = entries(service)
        assert entry.status is DeliveryStatus.PENDING and entry.progress.get("case_number")
    with open_at(
        at(
            2026,
            11,
            16,
            9,
        )
        + timedelta(minutes=2)
    ) as service:
        service.run_once()  # due again: the document goes, into the same case
        assert [e.status for e in entries(service)] == [DeliveryStatus.SENT]
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert case.diary_number == "26/00001" and case.label == "26/00001"
    assert len(fake.calls_of("CreateCase")) == 1 and len(fake.documents) == 1
    (ack,) = ws.drafts()
    send_draft(ws, ack)
    with open_at(at(2026, 11, 16, 12)) as service:
        service.run_once()
    assert len(fake.cases) == 1 and len(fake.documents) == 2  # the acknowledgment, same case
    assert (
        cli(
            ws,
            at(2026, 11, 17),
            "cases",
            "answer",
            "26/00001",
            "--by",
            "anna@testby.se",
            "--text",
            "Vi plogar.",
        )
        == 0
    )
    names = []
    for draft in ws.drafts():
        message = email.message_from_bytes(draft.read_bytes(), policy=policy.default)
        names += [p.get_filename() for p in message.iter_attachments()]
    assert "Svar 26-00001.docx" in names  # the next letter carries the diary's number
    shutil.rmtree(tmp_path / "unused", ignore_errors=True)


def test_a_sent_letter_is_known_by_its_word_file(tmp_path: Path) -> None:
    from email.message import EmailMessage

    from postvakt.diary.base import DocumentKind
    from postvakt.diary.outbox import sent_documents, sent_letter_kind

    def sent(filename: str | None) -> bytes:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = (
            "anna@testby.se",
            "k@example.net",
            "SV: x",
        )
        message.set_content("Hej! Se brevet.")
        if filename:
            message.add_attachment(
                b"PK\x03\x04 word",
                maintype="application",
                subtype="octet-stream",
                filename=filename,
            )
        return message.as_bytes()

    assert sent_letter_kind(["Ny prövning KS 2026-1.docx"]) is DocumentKind.NEW_REVIEW
    assert sent_letter_kind(["Överlämning KS 2026-1.docx"]) is DocumentKind.HANDOVER
    assert (
        sent_letter_kind(["Mottagningsbekräftelse PV-2026-000001.docx"])
        is DocumentKind.ACKNOWLEDGEMENT
    )
    assert sent_letter_kind(["Svar KS 2026-1.docx"]) is DocumentKind.ANSWER
    assert sent_letter_kind([]) is DocumentKind.ANSWER  # written by hand: the answer
    files = sent_documents(sent("Överlämning KS 2026-1.docx"), "SV: x")
    assert [(f.filename, f.content_type) for f in files] == [
        ("Skickat meddelande.eml", "message/rfc822"),
        (
            "Överlämning KS 2026-1.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    ]
    assert files[1].data == b"PK\x03\x04 word"
    broken = b"From: a@b\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\n"
    assert [f.filename for f in sent_documents(broken, None)] == ["Skickat meddelande.eml"]
