"""Issue 17: one number, the diary's — on both databases, through the command line and mail.

- numbering = "postvakt": the year in the number is the year of registration;
- numbering = "diary": a Postvakt reference until the diary number is known (typed with
  ``cases number``, imported with ``cases import-numbers``, or in the registrar's reply to a
  notice), then the diary number everywhere: JSON, letters, thread joining.
"""

from __future__ import annotations

import email
import json
from datetime import datetime
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.registry.models import Case, Disposition
from postvakt.service import Service
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail, make_workspace

COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n\nKarin Ek\n"
REGISTRAR = "registrator@testby.se"


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=STOCKHOLM)


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open()


def diary_workspace(tmp_path: Path, db_url: str, smtp: SmtpServer | None = None) -> Workspace:
    ws = make_workspace(tmp_path / "ws", db_url)
    extra = '\n[registry]\nnumbering = "diary"\nreply_to = "kontakt@testby.se"\n'
    ws.config_path.write_text(
        ws.config_path.read_text() + extra + (smtp.config() if smtp else ""), encoding="utf-8"
    )
    return ws


def attachment_names(path: Path) -> list[str]:
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    return [part.get_filename() for part in message.iter_attachments()]


def cli(ws: Workspace, when: datetime, *argv: str) -> int:
    return main(["--config", str(ws.config_path), *argv], clock=fixed_clock(when))


def case_json(
    ws: Workspace, when: datetime, number: str, capsys: pytest.CaptureFixture[str]
) -> dict:
    capsys.readouterr()
    assert cli(ws, when, "cases", "show", number, "--json") == 0
    return json.loads(capsys.readouterr().out)


def test_old_mail_gets_a_number_of_the_year_it_is_registered(db_url: str, tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", db_url)
    # Watched since 2024 (else mail from before the mailbox's start is not acted on).
    ws.config_path.write_text(
        ws.config_path.read_text().replace("start_from = 2026-01-01", "start_from = 2024-01-01")
    )
    arrived = at(2024, 12, 30, 9)
    ws.deliver(citizen_mail(COMPLAINT, date=arrived), when=arrived)
    with service_at(ws, at(2026, 12, 3, 9)) as service:
        (outcome,) = service.run_once().outcomes
        assert outcome.case == "KS 2026/1"  # not KS 2024/1: the diary closed 2024 long ago
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert case.received_at == arrived  # the arrival stamp stays the real one
            assert case.diary_number == "KS 2026/1" and case.label == "KS 2026/1"


def test_the_diary_number_replaces_the_reference_everywhere(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = diary_workspace(tmp_path, db_url)
    ws.deliver(citizen_mail(COMPLAINT, message_id="<one@example.net>"), when=at(2026, 12, 1, 8))
    with service_at(ws, at(2026, 12, 1, 9)) as service:
        (outcome,) = service.run_once().outcomes
    assert outcome.case == "PV-2026-000001"
    shown = case_json(ws, at(2026, 12, 1, 9), "PV-2026-000001", capsys)
    assert shown["number"] is None and shown["reference"] == "PV-2026-000001"
    (ack,) = ws.drafts()
    assert (
        b"PV-2026-000001" in ack.read_bytes()
        or b"PV-2026-000001".replace(b"-", b"=") in ack.read_bytes()
    )

    # Only the registrar (or an admin) gives diary numbers.
    assert (
        cli(
            ws,
            at(2026, 12, 1, 10),
            "cases",
            "number",
            "PV-2026-000001",
            "--diary",
            "KS 2026/123",
            "--by",
            "anna@testby.se",
        )
        == 2
    )
    assert "registratorn" in capsys.readouterr().err
    assert (
        cli(
            ws,
            at(2026, 12, 1, 10),
            "cases",
            "number",
            "PV-2026-000001",
            "--diary",
            " KS  2026/123 ",
            "--by",
            REGISTRAR,
        )
        == 0
    )
    assert "KS 2026/123" in capsys.readouterr().out
    shown = case_json(ws, at(2026, 12, 1, 10), "KS 2026/123", capsys)  # found by either
    assert shown["number"] == "KS 2026/123" and shown["reference"] == "PV-2026-000001"

    # A second case cannot take the same number.
    ws.deliver(
        citizen_mail(
            COMPLAINT + " Igen.", sender="olle@example.net", message_id="<two@example.net>"
        ),
        when=at(2026, 12, 1, 11),
    )
    with service_at(ws, at(2026, 12, 1, 12)) as service:
        (second,) = service.run_once().outcomes
    assert second.case == "PV-2026-000002"
    assert (
        cli(
            ws,
            at(2026, 12, 1, 13),
            "cases",
            "number",
            "PV-2026-000002",
            "--diary",
            "KS 2026/123",
            "--by",
            REGISTRAR,
        )
        == 2
    )
    assert "redan diarienummer" in capsys.readouterr().err

    # The next letter carries the diary number; the acknowledgment drafted before keeps the
    # reference and is not drafted again.
    assert (
        cli(
            ws,
            at(2026, 12, 2, 9),
            "cases",
            "answer",
            "KS 2026/123",
            "--by",
            "anna@testby.se",
            "--text",
            "Vi plogar i dag.",
        )
        == 0
    )
    names = [attachment_names(p) for p in ws.drafts()]
    assert ["Svar KS 2026-123.docx"] in names
    # One acknowledgment per case, the first with the reference, none drafted again.
    acks = sorted(n[0] for n in names if n and n[0].startswith("Mottagningsbekräftelse"))
    assert acks == [
        "Mottagningsbekräftelse PV-2026-000001.docx",
        "Mottagningsbekräftelse PV-2026-000002.docx",
    ]

    # The citizen quotes the diary number in a new thread: the message joins the case.
    ws.deliver(
        citizen_mail(
            "Tack, men gatan är fortfarande inte plogad.",
            subject="Angående KS 2026/123",
            message_id="<three@example.net>",
        ),
        when=at(2026, 12, 3, 8),
    )
    with service_at(ws, at(2026, 12, 3, 9)) as service:
        (joined,) = service.run_once().outcomes
    assert joined.disposition is Disposition.FOLLOWUP and joined.case in (
        "KS 2026/123",
        "PV-2026-000001",
    )


def test_numbers_imported_from_a_file_report_each_line_that_did_not_match(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = diary_workspace(tmp_path, db_url)
    for i in (1, 2):
        ws.deliver(
            citizen_mail(COMPLAINT, sender=f"p{i}@example.net", message_id=f"<m{i}@example.net>"),
            when=at(2026, 12, 1, 8),
        )
    with service_at(ws, at(2026, 12, 1, 9)) as service:
        assert [o.case for o in service.run_once().outcomes] == ["PV-2026-000001", "PV-2026-000002"]
    table = tmp_path / "nummer.csv"
    table.write_text(
        "referens;diarienummer\n"
        "PV-2026-000001;KS 2026/501\n"
        "PV-2026-000099;KS 2026/502\n"  # no such case
        "PV-2026-000002;KS 2026/501\n"  # the number of another case
        "trasig rad\n",
        encoding="utf-8",
    )
    assert cli(ws, at(2026, 12, 2), "cases", "import-numbers", str(table), "--by", REGISTRAR) == 1
    out = capsys.readouterr().out
    assert "rad 2: PV-2026-000001 → KS 2026/501" in out
    assert "rad 3: inget ärende med referensen 'PV-2026-000099'" in out
    assert "rad 4:" in out and "redan diarienummer" in out
    assert "rad 5: väntade två fält" in out
    assert "1 nummer satt" in out
    with service_at(ws, at(2026, 12, 2)) as service, service.sessions() as session:
        numbers = {c.reference: c.diary_number for c in session.scalars(select(Case))}
    assert numbers == {"PV-2026-000001": "KS 2026/501", "PV-2026-000002": None}


def test_the_registrars_reply_to_the_notice_gives_the_number(
    db_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    ws = diary_workspace(tmp_path, db_url, smtp_server)
    ws.deliver(citizen_mail(COMPLAINT, message_id="<r@example.net>"), when=at(2026, 12, 1, 8))
    with service_at(ws, at(2026, 12, 1, 9)) as service:
        assert service.run_once().registrar_notices == ["PV-2026-000001"]
    (notice,) = smtp_server.to(REGISTRAR)
    assert notice.message["Reply-To"] == "kontakt@testby.se"
    assert "PV-2026-000001" in notice.message["Subject"]

    # Someone else cannot give a number by writing like the registrar.
    forged = citizen_mail(
        "KS 2026/999\n", subject=f"SV: {notice.message['Subject']}", sender="olle@example.net"
    )
    ws.deliver(forged, when=at(2026, 12, 1, 10))
    reply = citizen_mail(
        "KS 2026/77\n\nHälsningar\nRegistraturen\n",
        subject=f"SV: {notice.message['Subject']}",
        sender=f"Registraturen <{REGISTRAR}>",
        headers={"In-Reply-To": notice.message["Message-ID"]},
    )
    ws.deliver(reply, when=at(2026, 12, 1, 11))
    with service_at(ws, at(2026, 12, 1, 12)) as service:
        service.run_once()
        with service.sessions() as session:
            case = session.scalars(select(Case).where(Case.reference == "PV-2026-000001")).one()
            assert case.diary_number == "KS 2026/77" and case.label == "KS 2026/77"
            assert any("registratorns svar" in e.detail for e in case.events)


def test_registry_settings_are_checked_with_a_clear_message(tmp_path: Path) -> None:
    from postvakt.config import inspect_config

    ws = make_workspace(tmp_path / "ws")
    base = ws.config_path.read_text()
    cases = {
        '[registry]\nsystem = "public360"\nnumbering = "diary"\n': "registry.public360",
        '[registry]\nsystem = "public360"\n[registry.public360]\nbase_url = "https://p.se/x"\n': 'numbering = "diary"',
        '[registry]\nreference_format = "PV-{seq}"\n': "{year}",
        '[registry]\nnumber_pattern = "KS ("\n': "reguljärt uttryck",
        '[registry]\nnumbring = "diary"\n': "numbring",
        '[registry]\nnumbering = "diary"\nsystem = "public360"\n[registry.public360]\nbase_url = "https://p.se/x"\n': "POSTVAKT_P360_AUTHKEY",
    }
    for extra, expected in cases.items():
        ws.config_path.write_text(base + "\n" + extra, encoding="utf-8")
        _config, problems = inspect_config(ws.config_path, environ={})
        text = "\n".join(f"{p.key}: {p.message}" for p in problems)
        assert expected in text, (extra, text)
