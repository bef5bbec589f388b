"""The whole life of a case, the registrar's flow, the letters and the yearly compilation."""

from __future__ import annotations

import csv
import email
import io
import json
import subprocess
import tempfile
from datetime import datetime
from email import policy
from pathlib import Path

import docx
import openpyxl
import pytest
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, Clock, fixed_clock
from postvakt.config import load_config
from postvakt.errors import InvalidTransitionError
from postvakt.mailbox.maildir import deliver
from postvakt.registry.models import Case, CaseStatus, Disposition
from postvakt.service import Service
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail

COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n\nKarin Ek\n"


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=STOCKHOLM)


def with_smtp(ws: Workspace, smtp: SmtpServer) -> Workspace:
    ws.config_path.write_text(ws.config_path.read_text() + smtp.config())
    return ws


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open()


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def attachment(path: Path) -> tuple[str, bytes]:
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    (part,) = list(message.iter_attachments())
    return part.get_filename(), part.get_content()


def opens_in_libreoffice(files: list[Path]) -> list[Path]:
    """Convert to PDF with LibreOffice (headless): proof the .docx is Word-compatible."""
    out = Path(tempfile.mkdtemp())
    subprocess.run(
        [
            "libreoffice",
            "--headless",
            f"-env:UserInstallation=file://{out}/profile",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            *map(str, files),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return sorted(out.glob("*.pdf"))


def test_the_whole_life_of_a_case(
    workspace: Workspace, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    ws = with_smtp(workspace, smtp_server)
    letters: list[Path] = []

    def keep(name: str, data: bytes) -> None:
        path = tmp_path / "letters" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        letters.append(path)

    # 1. Arrival: registered with its arrival stamp, acknowledgment drafted, registrar told.
    received = at(2026, 11, 16, 7)
    ws.deliver(
        citizen_mail(COMPLAINT, date=received, message_id="<life@example.net>"), when=received
    )
    with service_at(ws, at(2026, 11, 16, 9)) as service:
        report = service.run_once()
        assert report.outcomes[0].case == "KS 2026/1" and report.registrar_notices == ["KS 2026/1"]
    (notice,) = smtp_server.to("registrator@testby.se")
    assert (
        notice.message["Subject"]
        == "KS 2026/1 – Inkommande synpunkt/klagomål – Klagomål på snöröjningen"
    )
    card_name, card = next(
        (a.get_filename(), a.get_content())
        for a in notice.message.iter_attachments()
        if a.get_filename().endswith(".docx")
    )
    assert card_name == "Ärendekort KS 2026-1.docx"
    card_text = docx_text(card)
    assert "2026-11-16 07:00" in card_text and "Karin Ek <karin.ek@example.net>" in card_text
    keep(card_name, card)
    eml = next(a for a in notice.message.iter_attachments() if a.get_filename().endswith(".eml"))
    assert b"<life@example.net>" in eml.get_content().as_bytes()
    (ack_draft,) = ws.drafts()
    keep(*attachment(ack_draft))

    # 2. Anna sends the acknowledgment from her mailbox: the case is acknowledged.
    sent = email.message_from_bytes(ack_draft.read_bytes())
    deliver(ws.maildir() / ".Sent", sent.as_bytes())
    config = str(ws.config_path)
    with service_at(ws, at(2026, 11, 16, 11)) as service:
        service.run_once()

    # 3. Answered with the template (a text), drafted as a reply in the same mailbox.
    assert (
        main(
            clock=fixed_clock(at(2026, 11, 17)),
            argv=[
                "--config",
                config,
                "cases",
                "answer",
                "KS 2026/1",
                "--by",
                "anna@testby.se",
                "--text",
                "Vi har plogat Björkvägen och lagt till den i plogningsrutten.",
            ],
        )
        == 0
    )
    answer = [d for d in ws.drafts() if d != ack_draft]
    name, data = attachment(answer[0])
    assert name == "Svar KS 2026-1.docx"
    assert "Vi har plogat Björkvägen" in docx_text(data) and "Svar på ditt klagomål" in docx_text(
        data
    )
    keep(name, data)

    # 4. The citizen writes back that they are not satisfied: the case reopens by itself for
    #    a new review by the nearest manager (the head of Anna's unit), who is told; the notice
    #    is drafted.
    reply_at = at(2026, 11, 18, 8)
    ws.deliver(
        citizen_mail(
            "Hej igen!\n\nJag är inte nöjd med svaret. Gatan är fortfarande oplogad.\n\nKarin Ek\n",
            subject="SV: Klagomål på snöröjningen",
            date=reply_at,
            headers={"In-Reply-To": "<life@example.net>", "References": "<life@example.net>"},
        ),
        when=reply_at,
    )
    with service_at(ws, at(2026, 11, 18, 9)) as service:
        (outcome,) = service.run_once().outcomes
    assert outcome.disposition is Disposition.FOLLOWUP and outcome.case == "KS 2026/1"
    (told,) = smtp_server.to("chef@testby.se")
    assert "KS 2026/1" in told.message.get_content() and "ny prövning" in told.message.get_content()
    with pytest.raises(SystemExit):
        main(["--config", config, "cases", "reopen"])  # usage error: number missing
    review = [d for d in ws.drafts() if d not in (ack_draft, answer[0])]
    name, data = attachment(review[0])
    assert name == "Ny prövning KS 2026-1.docx" and "Ditt ärende prövas på nytt" in docx_text(data)
    keep(name, data)

    # 5. The reviewer answers and closes with the actions taken.
    assert (
        main(
            clock=fixed_clock(at(2026, 11, 19)),
            argv=[
                "--config",
                config,
                "cases",
                "answer",
                "KS 2026/1",
                "--text",
                "Efter ny prövning: rutten ändras.",
            ],
        )
        == 0
    )
    assert (
        main(
            clock=fixed_clock(at(2026, 11, 19, 11)),
            argv=[
                "--config",
                config,
                "cases",
                "close",
                "KS 2026/1",
                "--action",
                "Plogningsrutten ändrad; entreprenören informerad.",
            ],
        )
        == 0
    )
    with service_at(ws, at(2026, 11, 20)) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert case.status is CaseStatus.CLOSED
            assert case.handler == "chef@testby.se"  # the head of the handler's unit reviewed
            assert case.received_at == received  # the arrival stamp never changed
            kinds = [e.kind.value for e in case.events]
            assert kinds == [
                "registered",
                "drafted",
                "acknowledged",
                "answered",
                "drafted",
                "note",
                "reopened",
                "escalated",
                "drafted",
                "answered",
                "drafted",
                "closed",
            ]
            assert [e.actor for e in case.events][-2:] == ["chef@testby.se", "chef@testby.se"]

    # 6. The yearly compilation, in all three formats.
    out = tmp_path / "sammanstallning.docx"
    assert (
        main(
            clock=fixed_clock(at(2026, 11, 20)),
            argv=[
                "--config",
                config,
                "report",
                "annual",
                "--year",
                "2026",
                "--unit",
                "Kontaktcenter",
                "--out",
                str(out),
            ],
        )
        == 0
    )
    text = docx_text(out.read_bytes())
    assert "Sammanställning av synpunkter och klagomål 2026" in text
    assert "KS 2026/1" in text and "Plogningsrutten ändrad" in text and "Efter ny prövning" in text
    assert "Klagomål: 1. Synpunkter: 0. Totalt: 1." in text
    letters.append(out)
    assert (
        main(
            clock=fixed_clock(at(2026, 11, 20)),
            argv=[
                "--config",
                config,
                "report",
                "annual",
                "--year",
                "2026",
                "--out",
                str(tmp_path / "s.xlsx"),
            ],
        )
        == 0
    )
    book = openpyxl.load_workbook(tmp_path / "s.xlsx")
    assert book.sheetnames[:4] == ["Organisation", "Förvaltningar", "Enheter", "Ärenden"]
    assert [c.value for c in book["Ärenden"][2]][:5] == [
        "Kommunledningen",
        "Kontaktcenter",
        "KS 2026/1",
        "klagomål",
        "övrigt",
    ]
    assert (
        main(
            clock=fixed_clock(at(2026, 11, 20)),
            argv=[
                "--config",
                config,
                "report",
                "annual",
                "--year",
                "2026",
                "--out",
                str(tmp_path / "s.csv"),
            ],
        )
        == 0
    )
    rows = list(
        csv.reader(io.StringIO((tmp_path / "s.csv").read_text(encoding="utf-8-sig")), delimiter=";")
    )
    # The new review was answered before its deadline (25 November), which has not passed on
    # 20 November: an answered case is judged at once, in time.
    assert rows[1][1:4] == ["Kontaktcenter", "KS 2026/1", "klagomål"]
    assert rows[1][-1] == "ja"

    # 7. Every letter opens in LibreOffice.
    pdfs = opens_in_libreoffice(letters)
    assert len(pdfs) == len(letters) and all(p.stat().st_size > 1000 for p in pdfs)


def test_illegal_transitions_are_refused_with_advice(
    workspace: Workspace, clock: Clock, capsys
) -> None:
    workspace.deliver(citizen_mail(COMPLAINT))
    with Service(load_config(workspace.config_path), clock=clock).open() as service:
        service.run_once()
        assert service.casework is not None
        with pytest.raises(InvalidTransitionError, match="Svara först"):
            service.casework.close("KS 2026/1", actor="anna@testby.se", action="x")
        with pytest.raises(InvalidTransitionError, match="Bara ett besvarat"):
            service.casework.reopen("KS 2026/1", actor="anna@testby.se")
    assert (
        main(
            ["--config", str(workspace.config_path), "cases", "close", "KS 2026/1", "--action", "x"]
        )
        == 2  # a refused request: the user must answer first
    )
    assert "kan inte avslutas" in capsys.readouterr().err


def test_an_oral_complaint_is_registered_by_hand(
    workspace: Workspace, clock: Clock, capsys
) -> None:
    config = str(workspace.config_path)
    # By phone, with only a phone number: the acknowledgment is saved to be printed and posted.
    assert (
        main(
            [
                "--config",
                config,
                "cases",
                "add",
                "--channel",
                "phone",
                "--unit",
                "Kontaktcenter",
                "--summary",
                "Personalen i hemtjänsten kommer för sent",
                "--contact",
                "070-123 45 67",
                "--name",
                "Sven Sten",
                "--by",
                "anna@testby.se",
            ]
        )
        == 0
    )
    output = capsys.readouterr().out
    assert "KS 2026/1: registrerat" in output
    saved = workspace.root / "brev" / "Mottagningsbekräftelse KS 2026-1.docx"
    assert saved.exists() and "Sven Sten" in docx_text(saved.read_bytes())
    # At a visit, with an e-mail address: the letter is drafted in the unit's function mailbox.
    assert (
        main(
            [
                "--config",
                config,
                "cases",
                "add",
                "--channel",
                "visit",
                "--kind",
                "opinion",
                "--unit",
                "Kontaktcenter",
                "--summary",
                "Förslag: fler bänkar i parken",
                "--email",
                "Lisa@Example.net",
                "--name",
                "Lisa",
                "--by",
                "anna@testby.se",
            ]
        )
        == 0
    )
    (draft,) = workspace.drafts()
    assert (
        email.message_from_bytes(draft.read_bytes(), policy=policy.default)["To"]
        == "Lisa <lisa@example.net>"
    )
    # Anonymous (no contact at all): the collective number, no letter.
    assert (
        main(
            [
                "--config",
                config,
                "cases",
                "add",
                "--channel",
                "sms",
                "--unit",
                "Kontaktcenter",
                "--summary",
                "Trasig lampa vid busshållplatsen",
                "--by",
                "anna@testby.se",
            ]
        )
        == 0
    )
    assert "KS 2026/3-1" in capsys.readouterr().out
    assert main(["--config", config, "cases", "list", "--json"]) == 0
    cases = {c["number"]: c for c in json.loads(capsys.readouterr().out)}
    assert cases["KS 2026/1"]["reply_due"] is not None and cases["KS 2026/3-1"]["anonymous"] is True
    assert cases["KS 2026/2"]["kind"] == "opinion"


def test_forward_to_another_unit_and_to_another_administration(
    workspace: Workspace, smtp_server: SmtpServer, capsys
) -> None:
    ws = with_smtp(workspace, smtp_server)
    ws.deliver(citizen_mail(COMPLAINT, message_id="<a@example.net>"), name="a")
    ws.deliver(
        citizen_mail(
            "Jag vill klaga på vårdcentralens väntetider.",
            subject="Vårdcentralen",
            sender="Olle <olle@example.net>",
            message_id="<b@example.net>",
        ),
        name="b",
    )
    with service_at(ws, at(2026, 11, 24)) as service:
        service.run_once()
    smtp_server.received.clear()
    config = str(ws.config_path)
    # Within the organisation: the case goes on in the other unit, with its head as handler.
    assert (
        main(["--config", config, "cases", "forward", "KS 2026/1", "--to", "Kommunledningen"]) == 0
    )
    # To another administration: the case leaves; the receiver gets the card and the original.
    assert (
        main(
            [
                "--config",
                config,
                "cases",
                "forward",
                "KS 2026/2",
                "--to",
                "Region Exempellän",
                "--contact",
                "vard@region.example",
            ]
        )
        == 0
    )
    with service_at(ws, at(2026, 11, 24)) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            first, second = session.scalars(select(Case).order_by(Case.id)).all()
            assert (first.unit.name, first.handler, first.status) == (
                "Kommunledningen",
                "kd@testby.se",
                CaseStatus.REGISTERED,
            )
            assert (second.status, second.forwarded_to) == (
                CaseStatus.FORWARDED,
                "Region Exempellän",
            )
            assert any("Återkoppling till anna@testby.se" in e.detail for e in first.events)
    with service_at(ws, at(2026, 11, 24, 9)) as service:
        assert service.jobs is not None
        service.jobs.run("coverage", force=True)  # any run in working time sends what waited
    handovers = [attachment(d) for d in ws.drafts() if "Överlämning" in attachment(d)[0]]
    assert len(handovers) == 2 and "Region Exempellän" in docx_text(handovers[1][1])
    (external,) = smtp_server.to("vard@region.example")
    assert external.message["Subject"] == "Överlämnat ärende – KS 2026/2"
    assert {a.get_filename() for a in external.message.iter_attachments()} == {
        "Följebrev KS 2026-2.docx",
        "Ärendekort KS 2026-2.docx",
        "Originalmeddelande KS 2026-2.eml",
    }
    told = sorted(
        r
        for m in smtp_server.received
        for r in m.recipients
        if r not in ("vard@region.example", "registrator@testby.se")
    )
    # The new handler is told; Anna forwarded both herself, so she is told nothing yet (she
    # hears back when the receiver answers: tests/test_review_and_forward.py).
    assert told == ["kd@testby.se"]
    # The registrar had each case's incoming document at registration (before the clear):
    # none of them goes again.
    again = [m.message["Subject"] for m in smtp_server.to("registrator@testby.se")]
    assert not [s for s in again if "Inkommande" in s]


def test_the_care_mark_routes_the_registrar_notice_and_the_export(
    workspace: Workspace, smtp_server: SmtpServer, capsys
) -> None:
    ws = with_smtp(workspace, smtp_server)
    config = str(ws.config_path)
    assert (
        main(
            [
                "--config",
                config,
                "cases",
                "add",
                "--channel",
                "visit",
                "--unit",
                "Kontaktcenter",
                "--summary",
                "Min mammas insatser i hemtjänsten uteblev",
                "--contact",
                "070-111 22 33",
                "--care",
                "--by",
                "anna@testby.se",
            ]
        )
        == 0
    )
    # The incoming document, then the acknowledgment saved to print and post.
    notice, letter = smtp_server.to("registrator@testby.se")
    for sent in (notice, letter):
        assert "Vård och omsorg – avvikelsemodulen" in sent.message["Subject"]
        assert "KS 2026/1" in sent.message["Subject"]
        assert "mammas" not in sent.message["Subject"]  # none of the citizen's words
    capsys.readouterr()
    assert (
        main(["--config", config, "cases", "export", "--since", "2026-01-01", "--format", "json"])
        == 0
    )
    (row,) = json.loads(capsys.readouterr().out)
    assert row["individual_care"] is True and row["channel"] == "visit" and row["received_at"]
    assert main(["--config", config, "cases", "export", "--since", "2026-01-01"]) == 0
    exported = list(csv.DictReader(io.StringIO(capsys.readouterr().out), delimiter=";"))
    assert exported[0]["Nummer"] == "KS 2026/1" and exported[0]["Vård och omsorg"] == "True"


def test_the_registrar_digest_once_a_day(workspace: Workspace, smtp_server: SmtpServer) -> None:
    ws = with_smtp(workspace, smtp_server)
    ws.config_path.write_text(
        ws.config_path.read_text().replace(
            'registrar = "registrator@testby.se"',
            'registrar = "registrator@testby.se"\nregistrar_notice = "daily"',
        )
    )
    ws.deliver(citizen_mail(COMPLAINT, message_id="<1@example.net>"), name="1")
    ws.deliver(
        citizen_mail(COMPLAINT + " Igen.", sender="olle@example.net", message_id="<2@example.net>"),
        name="2",
    )
    with service_at(ws, at(2026, 11, 24, 8)) as service:
        assert service.run_once().registrar_notices == []  # not per case
        assert ("registrar", "", datetime.min.time().replace(hour=8)) in service.schedule()
        service._run_job("registrar", "")
        service._run_job("registrar", "")  # claimed: not twice
    (digest,) = smtp_server.to("registrator@testby.se")
    assert digest.message["Subject"] == "Synpunkter och klagomål – 2 dokument 24 november 2026"
    assert len(list(digest.message.iter_attachments())) == 4


def test_the_life_of_a_case_on_dovecot(tmp_path: Path, dovecot, imap_user) -> None:
    from postvakt.registry.report import annual_report
    from tests.support.dovecot import MASTER_ENV, write_config

    user = imap_user.name
    address = dovecot.address(user)
    config = load_config(write_config(tmp_path, dovecot, user))
    environ = {MASTER_ENV: dovecot.master_password}
    now = [at(2026, 11, 24, 9)]
    service = Service(config, clock=lambda: now[0], environ=environ).open()
    assert service.casework is not None and service.sessions is not None

    def drafts() -> list[bytes]:
        client = dovecot.imap(user)
        client.select_folder("Drafts", readonly=True)
        uids = client.search(["ALL"])
        bodies = (
            [item[b"BODY[]"] for item in client.fetch(uids, [b"BODY.PEEK[]"]).values()]
            if uids
            else []
        )
        client.logout()
        return bodies

    try:
        dovecot.deliver(user, citizen_mail(COMPLAINT, to=address, message_id="<d@example.net>"))
        assert service.run_once().outcomes[0].case == "KS 2026/1"
        (ack,) = drafts()
        dovecot.append(user, "Sent", ack)  # the person sends the acknowledgment
        service.run_once()
        now[0] = at(2026, 11, 25, 10)
        service.casework.answer("KS 2026/1", actor=address, text="Vi plogar Björkvägen i dag.")
        service.run_once()  # the pass places the answer's draft
        # An out-of-office reply in the thread is machine mail: it neither joins nor reopens.
        dovecot.deliver(
            user,
            citizen_mail(
                "Jag är på semester till och med 30 november. Jag läser inte min e-post.",
                subject="Automatiskt svar: SV: Klagomål på snöröjningen",
                to=address,
                headers={"In-Reply-To": "<d@example.net>", "Auto-Submitted": "auto-replied"},
            ),
        )
        (machine,) = service.run_once().outcomes
        assert machine.disposition.value == "screened" and machine.case is None
        # The citizen asks when; on the phone she says she is not satisfied: reopened by hand.
        dovecot.deliver(
            user,
            citizen_mail(
                "Tack för svaret. Vilken tid kommer plogbilen?",
                subject="SV: Klagomål på snöröjningen",
                to=address,
                headers={"In-Reply-To": "<d@example.net>"},
            ),
        )
        (followup,) = service.run_once().outcomes
        assert followup.disposition.value == "followup" and followup.case == "KS 2026/1"
        with service.sessions() as session:
            assert session.scalars(select(Case)).one().status is CaseStatus.ANSWERED
        service.casework.reopen("KS 2026/1", actor=address, reason="Inte nöjd (per telefon).")
        service.casework.answer(
            "KS 2026/1", actor="chef@testby.se", text="Efter ny prövning: extra plogning."
        )
        service.casework.close(
            "KS 2026/1", actor="chef@testby.se", action="Extra plogning beställd."
        )
        service.run_once()
        assert len(drafts()) == 4  # acknowledgment, answer, new review, answer after review
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert case.status is CaseStatus.CLOSED
            kinds = [e.kind.value for e in case.events]
            assert kinds[:3] == ["registered", "drafted", "acknowledged"] and kinds[-1] == "closed"
            assert "reopened" in kinds and "note" in kinds  # the follow-up was noted on the case
            report = annual_report(session, 2026, service.intake.policy.compilation_due(2026))
        (row,) = report.units[0].rows
        assert (row.answer, row.actions, row.acknowledged) == (
            "2026-11-25: Vi plogar Björkvägen i dag.\n"
            "2026-11-25 (efter ny prövning): Efter ny prövning: extra plogning.",
            "2026-11-25 (efter ny prövning): Extra plogning beställd.",
            at(2026, 11, 24).date(),
        )
    finally:
        service.close()
