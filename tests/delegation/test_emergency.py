"""Emergency delegation (the Örebro routine's "akut läge"): someone unreachable, nothing
planned — their mail is delegated only when the unit head *and* the head's own nearest
manager have ordered it.  From the command line on a Maildir workspace (SQLite and
PostgreSQL), with a real SMTP server for the notices."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.delegation import commands as absence
from postvakt.errors import InvalidTransitionError, PermissionDeniedError
from postvakt.registry.models import Case
from postvakt.service import Service
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail, make_workspace

PEOPLE = """
[[people]]
name = "Bo Ek"
address = "bo@testby.se"
unit = "Kontaktcenter"

[[people]]
name = "Carl Lund"
address = "carl@testby.se"
unit = "Kontaktcenter"

[[people]]
name = "Lena Holm"
address = "chef@testby.se"
unit = "Kontaktcenter"

[[people]]
name = "Kim Dahl"
address = "kd@testby.se"
unit = "Kommunledningen"
"""
COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n\nKarin Ek\n"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=STOCKHOLM)  # a Tuesday


@pytest.fixture
def ws(tmp_path: Path, db_url: str, smtp_server: SmtpServer) -> Workspace:
    workspace = make_workspace(tmp_path / "ws", db_url)
    workspace.config_path.write_text(
        workspace.config_path.read_text() + PEOPLE + smtp_server.config(), encoding="utf-8"
    )
    return workspace


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open()


def handler(service: Service) -> str | None:
    assert service.sessions is not None
    with service.sessions() as session:
        (case,) = session.scalars(select(Case)).all()
        return case.handler


def run(ws: Workspace, when: datetime, *argv: str) -> int:
    return main(["--config", str(ws.config_path), "absence", *argv], clock=fixed_clock(when))


def test_in_force_only_when_both_have_approved_and_everyone_is_told(
    ws: Workspace, smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ws.deliver(citizen_mail(COMPLAINT, to="anna@testby.se"), "anna", when=NOW.replace(hour=8))
    with service_at(ws, NOW) as service:
        service.run_once()
    capsys.readouterr()

    assert run(
        ws, NOW, "add", "anna@testby.se", "--from", "2026-12-01", "--kind", "sjukdom",
        "--substitute", "bo@testby.se", "--emergency", "--by", "chef@testby.se",
    ) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "akut: väntar på godkännande av kd@testby.se" in out
    assert "gäller först när kd@testby.se också har godkänt" in out
    # Both are told at once: the one asked to approve, and the one who ordered.
    (asked,) = smtp_server.to("kd@testby.se")
    assert (
        asked.message["Subject"] == "Akut delegering av Anna Bergs e-post: ditt godkännande behövs"
    )
    assert "Lena Holm (chef@testby.se) har beställt en akut delegering" in asked.text
    assert "Bo Ek (bo@testby.se) ska få läsa brevlådan från 1 december 2026" in asked.text
    assert "postvakt absence approve 1 --by kd@testby.se" in asked.text
    assert "får bara öppna e-post som antas röra tjänsteangelägenheter" in asked.text
    (ordered,) = smtp_server.to("chef@testby.se")
    assert ordered.message["Subject"] == "Akut delegering av Anna Bergs e-post: beställd"
    assert "Väntar på: Kim Dahl." in ordered.text
    assert smtp_server.to("bo@testby.se") == []

    # Not in force: the work stays, nobody gets access.
    with service_at(ws, NOW.replace(hour=11)) as service:
        service.run_once()
        assert handler(service) == "anna@testby.se"
        (row,) = absence.listing(service)
        assert row.access == "-"

    # Only the two may approve, and each once.
    assert run(ws, NOW, "approve", "1", "--by", "bo@testby.se") == 2
    assert "bo@testby.se kan inte godkänna den akuta delegeringen 1" in capsys.readouterr().err
    assert run(ws, NOW, "approve", "1", "--by", "chef@testby.se") == 2
    assert "chef@testby.se har redan godkänt" in capsys.readouterr().err

    later = NOW.replace(hour=12)
    assert run(ws, later, "approve", "1", "--by", "kd@testby.se") == 0
    assert "godkänd av chef@testby.se och kd@testby.se" in capsys.readouterr().out
    (notice,) = smtp_server.to("bo@testby.se")
    assert notice.message["Subject"] == "Du får läsa Anna Bergs e-post (akut delegering)"
    assert "Du får bara öppna e-post som antas röra tjänsteangelägenheter." in notice.text
    assert "beställdes av Lena Holm och godkändes av Lena Holm och Kim Dahl" in notice.text
    assert "från 1 december 2026 och tills vidare" in notice.text
    for approver in ("chef@testby.se", "kd@testby.se"):
        assert smtp_server.to(approver)[-1].message["Subject"] == (
            "Akut delegering av Anna Bergs e-post gäller nu"
        )

    with service_at(ws, later.replace(hour=13)) as service:
        service.run_once()
        assert handler(service) == "bo@testby.se"
    assert len(smtp_server.to("bo@testby.se")) == 2  # the notice, then the case: none twice

    # The log: who ordered, who approved, who was told.
    assert run(ws, later, "show", "1") == 0
    log = capsys.readouterr().out
    assert "2026-12-01 10:00  chef@testby.se: beställde akut delegering" in log
    assert "2026-12-01 12:00  kd@testby.se: godkände den akuta delegeringen" in log
    assert "2026-12-01 12:00  postvakt: meddelande skickat till bo@testby.se" in log
    assert "postvakt: delegeringen gäller: båda har godkänt" in log


def test_who_may_order_an_emergency(ws: Workspace) -> None:
    fields = {
        "person": "anna@testby.se",
        "kind": "sjukdom",
        "start": date(2026, 12, 1),
        "end": None,
        "substitutes": ["bo@testby.se"],
    }
    with service_at(ws, NOW) as service:
        with pytest.raises(PermissionDeniedError, match=r"det gör enhetschefen chef@testby\.se"):
            absence.add(service, **fields, actor="anna@testby.se", emergency_order=True)
        with pytest.raises(InvalidTransitionError, match="ange den med --substitute"):
            absence.add(
                service,
                **{**fields, "substitutes": []},
                actor="chef@testby.se",
                emergency_order=True,
            )
        assert absence.listing(service, every=True) == []  # nothing half-saved
        # The nearest manager may order it too; then the unit head approves.
        row = absence.add(service, **fields, actor="kd@testby.se", emergency_order=True)
        assert row.waiting_for == ("chef@testby.se",)
        done = absence.approve(service, row.id, actor="chef@testby.se")
        assert done.waiting_for == () and done.approved_by == ("kd@testby.se", "chef@testby.se")
        # A head of the top unit has no nearest manager: no emergency can be ordered for them.
        with pytest.raises(InvalidTransitionError, match="har ingen närmaste chef"):
            absence.add(
                service,
                **{**fields, "person": "chef@testby.se"},
                actor="kd@testby.se",
                emergency_order=True,
            )


def test_a_new_delegate_needs_both_again(ws: Workspace, smtp_server: SmtpServer) -> None:
    with service_at(ws, NOW) as service:
        row = absence.add(
            service,
            person="anna@testby.se",
            kind="sjukdom",
            start=date(2026, 12, 1),
            end=date(2026, 12, 11),
            substitutes=["bo@testby.se"],
            actor="chef@testby.se",
            emergency_order=True,
        )
        absence.approve(service, row.id, actor="kd@testby.se")
        changed = absence.change(
            service, row.id, actor="chef@testby.se", substitutes=["carl@testby.se"]
        )
        assert changed.status == "akut: väntar på godkännande av kd@testby.se"
        asked = smtp_server.to("kd@testby.se")
        assert [m.message["Subject"] for m in asked] == [
            "Akut delegering av Anna Bergs e-post: ditt godkännande behövs",
            "Akut delegering av Anna Bergs e-post gäller nu",
            "Akut delegering av Anna Bergs e-post: ditt godkännande behövs",
        ]
        assert "Carl Lund (carl@testby.se) ska få läsa brevlådan" in asked[-1].text
        assert smtp_server.to("carl@testby.se") == []
        absence.approve(service, row.id, actor="kd@testby.se")
    (notice,) = smtp_server.to("carl@testby.se")
    assert notice.message["Subject"] == "Du får läsa Anna Bergs e-post (akut delegering)"


def test_told_at_once_out_of_hours_and_again_when_the_mail_server_was_down(
    ws: Workspace, smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    saturday_evening = datetime(2026, 12, 5, 20, 30, tzinfo=STOCKHOLM)
    port = smtp_server.port
    smtp_server.stop()
    assert run(
        ws, saturday_evening, "add", "anna@testby.se", "--from", "2026-12-05", "--kind",
        "sjukdom", "--substitute", "bo@testby.se", "--emergency", "--by", "chef@testby.se",
    ) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert "aviseringen till chef@testby.se kunde inte skickas" in err
    assert smtp_server.received == []
    restarted = SmtpServer(port=port)  # the same server back on its port
    restarted.controller = Controller(restarted, hostname=restarted.host, port=port)
    restarted.controller.start()
    try:
        assert run(ws, saturday_evening.replace(hour=21), "apply") == 0
        assert {r.recipients[0] for r in restarted.received} == {
            "chef@testby.se",
            "kd@testby.se",
        }
        assert run(ws, saturday_evening.replace(hour=22), "apply") == 0
        assert len(restarted.received) == 2  # none twice
    finally:
        restarted.stop()
