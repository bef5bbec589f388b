"""The yearly compilation: every answer and measure, "in time" only for cases whose deadline
has passed, totals per unit, administration and organisation, a landscape Word document
whose table breaks no words (read back from LibreOffice's PDF), a typed workbook, sending it
to its owner and the weekly reminder until it is sent."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import tempfile
import unicodedata
from datetime import datetime
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.enum.section import WD_ORIENT
from fastapi.testclient import TestClient

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.compilation import sendings
from postvakt.config import load_config
from postvakt.service import Service
from postvakt.web import create_app
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, make_workspace
from tests.web.support import make_config, sign_in

MORE_UNITS = """
[[units]]
name = "Utbildningsförvaltningen"
head = "uf@testby.se"

[[units]]
name = "Björkskolan"
head = "rektor@testby.se"
parent = "Utbildningsförvaltningen"

[[units]]
name = "Björkskolans fritidshem"
head = "fritids@testby.se"
parent = "Björkskolan"

[[people]]
name = "Rut Rektor"
address = "rektor@testby.se"
unit = "Björkskolan"
title = "Rektor"
"""


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=STOCKHOLM)


def municipality(tmp_path: Path, *, to: str | None = "kvalitet@testby.se") -> Workspace:
    """The test municipality with two administrations (one three levels deep), Linköping's
    seven days, and the compilation's owner."""
    ws = make_workspace(tmp_path / "ws")
    text = ws.config_path.read_text(encoding="utf-8")
    extra = f'compilation_to = "{to}"\n' if to else ""
    text = text.replace('policy = "orebro"\n', f'policy = "linkoping"\n{extra}')
    ws.config_path.write_text(text + MORE_UNITS, encoding="utf-8")
    return ws


def with_smtp(ws: Workspace, smtp: SmtpServer) -> Workspace:
    ws.config_path.write_text(ws.config_path.read_text() + smtp.config())
    return ws


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open(need_connectors=False)


def register(ws: Workspace, when: datetime, unit: str, summary: str, **kw: object) -> str:
    """A complaint (or ``kind``) registered by hand on ``when``; its number."""
    with service_at(ws, when) as service:
        assert service.casework is not None
        done = service.casework.add(
            kind=str(kw.pop("kind", "complaint")),
            channel="phone",
            summary=summary,
            unit=unit,
            actor=str(kw.pop("actor", "anna@testby.se")),
            contact="070-123 45 67",
            **kw,  # type: ignore[arg-type]
        )
    return done.case


def act(ws: Workspace, when: datetime, verb: str, number: str, **kw: str) -> None:
    with service_at(ws, when) as service:
        assert service.casework is not None
        getattr(service.casework, verb)(number, actor=kw.pop("actor", "anna@testby.se"), **kw)


def cli(ws: Workspace, when: datetime, *argv: str) -> int:
    return main(["--config", str(ws.config_path), *argv], clock=fixed_clock(when))


def annual(ws: Workspace, when: datetime, out: Path, *extra: str) -> Path:
    assert cli(ws, when, "report", "annual", "--year", "2026", "--out", str(out), *extra) == 0
    return out


def docx_text(path: Path) -> str:
    document = docx.Document(str(path))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def pdf_text(path: Path) -> str:
    """The .docx as LibreOffice lays it out: converted to PDF, read back with pdftotext."""
    out = Path(tempfile.mkdtemp())
    subprocess.run(
        ["libreoffice", "--headless", f"-env:UserInstallation=file://{out}/profile",
         "--convert-to", "pdf", "--outdir", str(out), str(path)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    (pdf,) = out.glob("*.pdf")
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode("utf-8")
    return unicodedata.normalize("NFKC", text)  # ligatures (ﬁ) back to letters


def words(text: str) -> set[str]:
    text = unicodedata.normalize("NFKC", text)  # "…" as pdftotext reads it: "..."
    return {w.strip(",.:;()”\"'") for w in text.split()} - {""}


# --------------------------------------------------------------------------- the content


def test_every_answer_and_measure_of_a_case_is_listed(tmp_path: Path) -> None:
    ws = municipality(tmp_path)
    number = register(
        ws, at(2026, 11, 2), "Kontaktcenter", "Snön ligger kvar på Björkvägen", email="karin@ek.se"
    )
    act(ws, at(2026, 11, 4), "answer", number, text="Vi plogar Björkvägen i morgon bitti.")
    act(ws, at(2026, 11, 6), "reopen", number, reason="Fortfarande inte plogat.")
    act(
        ws,
        at(2026, 11, 9),
        "answer",
        number,
        actor="chef@testby.se",
        text="Efter ny prövning: Björkvägen läggs först i plogningsrutten.",
    )
    act(ws, at(2026, 11, 10), "close", number, actor="chef@testby.se", action="Rutten ändrad.")

    word = docx_text(annual(ws, at(2026, 11, 30), tmp_path / "s.docx"))
    assert "2026-11-04: Vi plogar Björkvägen i morgon bitti." in word  # the first answer too
    assert (
        "2026-11-09 (efter ny prövning): Efter ny prövning: Björkvägen läggs först i "
        "plogningsrutten." in word
    )
    assert "2026-11-10 (efter ny prövning): Rutten ändrad." in word

    book = openpyxl.load_workbook(annual(ws, at(2026, 11, 30), tmp_path / "s.xlsx"))
    entries = [[c.value for c in row] for row in book["Svar och åtgärder"].iter_rows(min_row=2)]
    assert [(e[2], e[3], e[4].date().isoformat(), e[6]) for e in entries] == [
        (number, "svar", "2026-11-04", "nej"),
        (number, "svar", "2026-11-09", "ja"),
        (number, "åtgärd", "2026-11-10", "ja"),
    ]
    assert entries[1][5] == "chef@testby.se"

    table = list(
        csv.reader(
            io.StringIO(annual(ws, at(2026, 11, 30), tmp_path / "s.csv").read_text("utf-8-sig")),
            delimiter=";",
        )
    )
    answers = table[1][table[0].index("Chefens svar")]
    assert answers.splitlines() == [
        "2026-11-04: Vi plogar Björkvägen i morgon bitti.",
        "2026-11-09 (efter ny prövning): Efter ny prövning: Björkvägen läggs först i "
        "plogningsrutten.",
    ]


def test_a_long_answer_is_listed_whole(tmp_path: Path) -> None:
    """The event kept only 300 characters of an answer; a later answer then hid the rest."""
    ws = municipality(tmp_path)
    number = register(ws, at(2026, 11, 2), "Kontaktcenter", "Gatlyktan är trasig")
    long = "Vi har bytt lampan. " + "Elnätet på gatan är gammalt och ska bytas. " * 10 + "Slut."
    act(ws, at(2026, 11, 3), "answer", number, text=long)
    act(ws, at(2026, 11, 5), "reopen", number, reason="Lyser fortfarande inte.")
    act(ws, at(2026, 11, 6), "answer", number, actor="chef@testby.se", text="Nu lyser den.")

    word = docx_text(annual(ws, at(2026, 11, 30), tmp_path / "s.docx"))
    assert f"2026-11-03: {long}" in word and "Nu lyser den." in word


def test_answered_in_time_counts_answered_cases_and_those_whose_deadline_has_passed(
    tmp_path: Path,
) -> None:
    ws = municipality(tmp_path)  # seven days; a deadline on a weekend moves to Monday
    in_time = register(ws, at(2026, 11, 2), "Kontaktcenter", "Biblioteket stängde tidigt")
    late = register(ws, at(2026, 11, 2), "Kontaktcenter", "Bussen kom aldrig")
    register(ws, at(2026, 11, 2), "Kontaktcenter", "Ingen har svarat om bygglovet")
    register(ws, at(2026, 11, 25), "Kontaktcenter", "Soporna hämtades inte")
    early = register(ws, at(2026, 11, 27), "Kontaktcenter", "Parken är mörk")
    act(ws, at(2026, 11, 5), "answer", in_time, text="Öppettiderna gäller igen.")
    act(ws, at(2026, 11, 12), "answer", late, text="Linjen är tillbaka.")
    act(ws, at(2026, 11, 30), "answer", early, text="Lamporna är lagade.")

    # 30 November: three deadlines (9 November) have passed, two (2 and 4 December) have not.
    # Judged: the three whose deadline passed and the one answered early (in time already);
    # the open case not yet due is in neither count.
    book = openpyxl.load_workbook(annual(ws, at(2026, 11, 30), tmp_path / "s.xlsx"))
    sheet = book["Organisation"]
    row = dict(zip([c.value for c in sheet[1]], [c.value for c in sheet[2]], strict=True))
    judged_column = "Bedömda (besvarade eller förfallna)"
    assert (row["Totalt"], row[judged_column], row["Besvarade i tid"]) == (5, 4, 2)
    assert row["Ej förfallna"] == 1 and row["Andel besvarade i tid"] == pytest.approx(2 / 4)
    cases = book["Ärenden"]
    judged = {r[2].value: r[-1].value for r in cases.iter_rows(min_row=2)}
    assert judged[in_time] == "ja" and judged[late] == "nej" and judged[early] == "ja"
    assert sorted(judged.values()) == ["ej förfallet", "ja", "ja", "nej", "nej"]

    # On 15 February every deadline has passed: all five are judged.
    book = openpyxl.load_workbook(annual(ws, at(2027, 2, 15), tmp_path / "feb.xlsx"))
    sheet = book["Organisation"]
    values = dict(zip([c.value for c in sheet[1]], [c.value for c in sheet[2]], strict=True))
    assert (values[judged_column], values["Besvarade i tid"]) == (5, 2)


def test_totals_roll_up_from_unit_to_administration_to_organisation(tmp_path: Path) -> None:
    ws = municipality(tmp_path)
    day = at(2026, 10, 5)
    register(ws, day, "Kommunledningen", "Fullmäktige sänds inte på webben")
    register(ws, day, "Kontaktcenter", "Telefonkön är lång")
    register(ws, day, "Kontaktcenter", "Mer öppet på lördagar", kind="opinion")
    register(ws, day, "Utbildningsförvaltningen", "Skolskjutsen är sen")
    register(ws, day, "Björkskolan", "Maten är kall")
    register(ws, day, "Björkskolans fritidshem", "Ingen lek ute", actor="rektor@testby.se")
    register(ws, day, "Björkskolans fritidshem", "Fler utflykter", kind="opinion")
    register(ws, day, "Björkskolans fritidshem", "Min sons medicin gavs inte", care=True)

    book = openpyxl.load_workbook(annual(ws, at(2026, 11, 30), tmp_path / "s.xlsx"))
    assert book.sheetnames == [
        "Organisation", "Förvaltningar", "Enheter", "Ärenden", "Svar och åtgärder",
        "Verksamhetsområden",
    ]  # fmt: skip

    def table(name: str) -> list[dict[str, object]]:
        sheet = book[name]
        head = [c.value for c in sheet[1]]
        assert (
            sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(head)).column_letter}{sheet.max_row}"
        )
        assert sheet.freeze_panes == "A2"
        return [
            dict(zip(head, [c.value for c in r], strict=True)) for r in sheet.iter_rows(min_row=2)
        ]

    (whole,) = table("Organisation")
    assert (whole["Organisation"], whole["Totalt"], whole["Klagomål"]) == ("Testby kommun", 8, 5)
    assert whole["Synpunkter"] == 2 and whole["Vård och omsorg (avvikelsemodulen)"] == 1
    administrations = {r["Förvaltning"]: r for r in table("Förvaltningar")}
    assert {k: v["Totalt"] for k, v in administrations.items()} == {
        "Kommunledningen": 3,
        "Utbildningsförvaltningen": 5,  # its own, Björkskolan's and the fritidshem's, two down
    }
    assert administrations["Utbildningsförvaltningen"]["Chef"] == "uf@testby.se"
    units = [(r["Förvaltning"], r["Enhet"], r["Totalt"]) for r in table("Enheter")]
    assert units == [
        ("Kommunledningen", "Kommunledningen", 1),
        ("Kommunledningen", "Kontaktcenter", 2),
        ("Utbildningsförvaltningen", "Utbildningsförvaltningen", 1),
        ("Utbildningsförvaltningen", "Björkskolan", 1),
        ("Utbildningsförvaltningen", "Björkskolans fritidshem", 3),
    ]
    # Typed columns: dates are dates, counts numbers, the share a percentage.
    cases = table("Ärenden")
    assert all(isinstance(r["Inkom"], datetime) for r in cases)
    assert book["Ärenden"]["I2"].number_format == "yyyy-mm-dd"
    assert isinstance(whole["Totalt"], int)
    share = book["Organisation"].cell(2, list(whole).index("Andel besvarade i tid") + 1)
    assert share.number_format == "0%"
    care = [r for r in cases if r["Verksamhetsområde"] == "vård och omsorg"]
    assert len(care) == 1 and "medicin" not in str(care[0]["Vad gällde det"])

    word = docx_text(annual(ws, at(2026, 11, 30), tmp_path / "s.docx"))
    for line in (
        "organisation\nTestby kommun\n5\n2\n1\n8",
        "förvaltning\nUtbildningsförvaltningen\n3\n1\n1\n5",
    ):
        assert line in word.replace("\t", "\n"), line


def test_the_word_document_is_landscape_and_its_columns_break_no_words(tmp_path: Path) -> None:
    ws = municipality(tmp_path)
    number = register(
        ws,
        at(2026, 3, 2),
        "Björkskolans fritidshem",
        "Snöröjningsentreprenören plogade inte skolgården före skoldagens början",
    )
    act(
        ws,
        at(2026, 3, 4),
        "answer",
        number,
        actor="rektor@testby.se",
        text="Vi har talat med snöröjningsentreprenören; skolgården plogas numera före "
        "klockan sju varje vardag.",
    )
    act(
        ws,
        at(2026, 3, 5),
        "close",
        number,
        actor="rektor@testby.se",
        action="Avtalet kompletterat med tidpunkt för plogning; uppföljning i december.",
    )
    register(ws, at(2026, 11, 27), "Kontaktcenter", "Telefontiderna är för korta")

    path = annual(ws, at(2026, 11, 30), tmp_path / "sammanställning.docx")
    document = docx.Document(str(path))
    section = document.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE and section.page_width > section.page_height
    cases = document.tables[-1]
    assert [c.text for c in cases.rows[0].cells] == [
        "Ärende", "Vad gällde det", "Chefens svar", "Vidtagna åtgärder", "Inkom", "Besvarat",
        "Svar senast", "I tid",
    ]  # fmt: skip
    assert 'w:tblLayout w:type="fixed"' in cases._tbl.xml and "w:tblHeader" in cases._tbl.xml

    text = pdf_text(path)
    laid_out = words(text)
    in_tables = words(
        "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    )
    broken = sorted(w for w in in_tables if w not in laid_out)
    assert broken == [], f"words broken by the column widths: {broken}"
    assert {"Snöröjningsentreprenören", "snöröjningsentreprenören", "förfallet"} <= laid_out


# --------------------------------------------------------------------------- sending it


def test_report_annual_send_mails_it_to_its_owner_and_records_it(
    tmp_path: Path, smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = with_smtp(municipality(tmp_path), smtp_server)
    register(ws, at(2026, 5, 4), "Kontaktcenter", "Telefonkön är lång")
    register(ws, at(2026, 5, 4), "Björkskolan", "Maten är kall")

    when = at(2027, 2, 1)
    assert cli(ws, when, "report", "annual", "--year", "2026", "--send") != 0
    assert "--by" in capsys.readouterr().err and smtp_server.received == []

    assert (
        cli(ws, when, "report", "annual", "--year", "2026", "--send", "--by", "kd@testby.se") == 0
    )
    out = capsys.readouterr().out
    assert "Sammanställning 2026: 2 ärenden i 5 enheter" in out
    assert "Skickad till kvalitet@testby.se" in out
    (mail,) = smtp_server.to("kvalitet@testby.se")
    assert mail.message["Subject"] == (
        "Sammanställning av synpunkter och klagomål 2026 – Testby kommun"
    )
    names = [a.get_filename() for a in mail.message.iter_attachments()]
    assert names == [
        "Sammanställning synpunkter och klagomål 2026 – Testby kommun.docx",
        "Sammanställning synpunkter och klagomål 2026 – Testby kommun.xlsx",
    ]
    body = mail.message.get_body(("plain",)).get_content()
    assert "2 ärenden: 2 klagomål, 0 synpunkter" in body and "Skickad av kd@testby.se" in body
    with service_at(ws, when) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            (sent,) = sendings(session, 2026)
            assert (sent.unit, sent.sent_to, sent.sent_by, sent.cases) == (
                None,
                "kvalitet@testby.se",
                "kd@testby.se",
                2,
            )
            assert sent.sent_at == when


def test_sending_without_an_owner_or_a_mail_server_is_refused_and_not_recorded(
    tmp_path: Path, smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = with_smtp(municipality(tmp_path, to=None), smtp_server)
    register(ws, at(2026, 5, 4), "Kontaktcenter", "Telefonkön är lång")
    argv = ("report", "annual", "--year", "2026", "--send", "--by", "kd@testby.se")
    assert cli(ws, at(2027, 2, 1), *argv) != 0
    assert "compilation_to under [organisation]" in capsys.readouterr().err

    ws = with_smtp(municipality(tmp_path / "b"), smtp_server)
    smtp_server.stop()  # the mail server is down: nothing is recorded as sent
    assert cli(ws, at(2027, 2, 1), *argv) != 0
    assert "kunde inte skickas" in capsys.readouterr().err
    with service_at(ws, at(2027, 2, 1)) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            assert sendings(session, 2026) == []


def test_the_owner_is_reminded_weekly_from_15_january_until_it_is_sent(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    ws = with_smtp(municipality(tmp_path), smtp_server)
    register(ws, at(2026, 5, 4), "Kontaktcenter", "Telefonkön är lång")

    def run(when: datetime) -> list[str]:
        before = len(smtp_server.received)
        with service_at(ws, when) as service:
            assert service.jobs is not None
            service.jobs.run("compilation")
        return [r for m in smtp_server.received[before:] for r in m.recipients]

    assert run(at(2027, 1, 14, 9)) == []  # before 15 January
    told = run(at(2027, 1, 15, 9))
    assert sorted(told) == sorted(
        ["kvalitet@testby.se", "kd@testby.se", "chef@testby.se", "uf@testby.se",
         "rektor@testby.se", "fritids@testby.se"]
    )  # fmt: skip
    (owner,) = smtp_server.to("kvalitet@testby.se")
    assert (
        "Sammanställningen av 2026 års synpunkter och klagomål ska skickas till "
        "kvalitet@testby.se senast 15 februari 2027 och är inte skickad än." in owner.text
    )
    assert run(at(2027, 1, 18, 9)) == []  # the same week: nobody twice
    assert run(at(2027, 1, 22, 9)) == ["kvalitet@testby.se"]  # a week on: the owner again
    assert run(at(2027, 1, 29, 9)) == ["kvalitet@testby.se"]

    # Sent on 1 February (last year's, 2026's, is what is due in 2027): no more reminders.
    argv = ("report", "annual", "--year", "2026", "--send", "--by", "kd@testby.se")
    assert cli(ws, at(2027, 2, 1), *argv) == 0
    assert run(at(2027, 2, 5, 9)) == []
    assert run(at(2027, 2, 12, 9)) == []


def test_the_reminder_goes_on_after_the_deadline_and_to_the_registrar_without_an_owner(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    ws = with_smtp(municipality(tmp_path, to=None), smtp_server)
    with service_at(ws, at(2027, 2, 19, 9)) as service:  # after 15 February, still not sent
        assert service.jobs is not None
        planned = service.jobs.run("compilation").planned
    assert [p.recipient for p in planned] == ["registrator@testby.se"]  # heads: too late now
    (mail,) = smtp_server.to("registrator@testby.se")
    assert "skulle ha skickats senast 15 februari 2027" in mail.text
    assert "compilation_to under [organisation]" in mail.text


# --------------------------------------------------------------------------- the page


def test_the_compilation_page_shows_every_level_and_sends_it(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    make_config(tmp_path / "web")
    path = tmp_path / "web" / "postvakt.toml"
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        'registrar = "registrator@testby.se"\n',
        'registrar = "registrator@testby.se"\ncompilation_to = "kvalitet@testby.se"\n',
    )
    path.write_text(text + smtp_server.config(), encoding="utf-8")
    app = create_app(load_config(path), clock=fixed_clock(at(2027, 1, 20)), environ={})
    try:
        casework = app.state.ctx.casework
        for unit in ("Kontaktcenter", "Bygglov", "Bygglov"):
            casework.add(
                kind="complaint",
                channel="phone",
                summary="Det tar för lång tid",
                unit=unit,
                actor="anna@testby.se",
                contact="070-123 45 67",
                received_at=at(2026, 5, 4),
            )
        with TestClient(app) as client:
            csrf = sign_in(client, "admin@testby.se")
            page = client.get("/sammanstallning?year=2026").text
            assert re.search(r"organisation</td>\s*<th scope=\"row\">Testby kommun</th>", page)
            assert re.search(r"förvaltning</td>\s*<th scope=\"row\">Kommunledningen</th>", page)
            assert "Inte skickad än." in page
            word = client.get("/sammanstallning/2026.docx")
            assert word.status_code == 200 and word.content[:2] == b"PK"
            response = client.post("/sammanstallning/2026/skicka", data={"csrf": csrf})
            assert (
                response.status_code == 200
                and "är skickad till kvalitet@testby.se" in response.text
            )
            assert "till kvalitet@testby.se" in client.get("/sammanstallning?year=2026").text
            assert len(smtp_server.to("kvalitet@testby.se")) == 1

            csrf = sign_in(client, "bchef@testby.se")  # a unit head sends their own unit's
            denied = client.post("/sammanstallning/2026/skicka", data={"csrf": csrf})
            assert denied.status_code == 403
            own = client.post(
                "/sammanstallning/2026/skicka", data={"csrf": csrf, "unit": "Bygglov"}
            )
            assert own.status_code == 200
            (mail,) = [
                m for m in smtp_server.to("kvalitet@testby.se") if "Bygglov" in m.message["Subject"]
            ]
            assert "2 ärenden: 2 klagomål" in mail.message.get_body(("plain",)).get_content()
    finally:
        app.state.ctx.close()
