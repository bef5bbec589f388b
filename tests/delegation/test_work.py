"""The work follows the substitute (on the Maildir connector): new and open cases, reminders,
notifications, private mail, coverage of function mailboxes, and the command line."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.delegation import commands as absence
from postvakt.errors import InvalidTransitionError
from postvakt.registry.models import Case, Draft
from postvakt.service import Service
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail

PEOPLE = """
[[people]]
name = "Bo Ek"
address = "bo@testby.se"
unit = "Kontaktcenter"
phone = "0123-111 22"

[[people]]
name = "Carl Lund"
address = "carl@testby.se"
unit = "Kontaktcenter"
"""
COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n\nKarin Ek\n"


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=STOCKHOLM)


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open()


@pytest.fixture
def ws(workspace: Workspace, smtp_server: SmtpServer) -> Workspace:
    workspace.config_path.write_text(
        workspace.config_path.read_text() + PEOPLE + smtp_server.config(), encoding="utf-8"
    )
    return workspace


def anna_away(ws: Workspace, *, substitutes: tuple[str, ...] = ("bo@testby.se",), **kw) -> int:
    with service_at(ws, at(2026, 12, 1)) as service:
        row = absence.add(
            service,
            person="anna@testby.se",
            kind=kw.get("kind", "semester"),
            start=date(2026, 12, 21),
            end=kw.get("end", date(2027, 1, 6)),
            substitutes=list(substitutes),
            actor="chef@testby.se",
        )
    return row.id


def cases(service: Service) -> list[Case]:
    assert service.sessions is not None
    with service.sessions() as session:
        found = session.scalars(select(Case).order_by(Case.id)).all()
        for case in found:
            _ = case.events  # loaded before the session closes
        session.expunge_all()
        return list(found)


def test_a_case_arriving_during_the_absence_goes_to_the_substitute(ws: Workspace) -> None:
    anna_away(ws)
    ws.deliver(citizen_mail(COMPLAINT, to="anna@testby.se"), "anna", when=at(2026, 12, 22, 8))
    with service_at(ws, at(2026, 12, 22)) as service:
        (outcome,) = service.run_once().outcomes
        (case,) = cases(service)
    assert outcome.case == case.reference
    assert (case.handler, case.regular_handler) == ("bo@testby.se", "anna@testby.se")
    assert case.events[-2].kind.value == "delegated"  # then the acknowledgment's draft
    assert "under anna@testby.se" in case.events[-2].detail
    assert len(ws.drafts("anna")) == 1  # drafted in Anna's mailbox, where Bo reads


def test_open_cases_go_to_the_substitute_and_come_back(
    ws: Workspace, smtp_server: SmtpServer
) -> None:
    ws.deliver(citizen_mail(COMPLAINT, to="anna@testby.se"), "anna", when=at(2026, 12, 18, 8))
    with service_at(ws, at(2026, 12, 18)) as service:
        service.run_once()
    anna_away(ws)
    with service_at(ws, at(2026, 12, 21, 9)) as service:
        service.run_once()
        (case,) = cases(service)
    assert (case.handler, case.regular_handler) == ("bo@testby.se", "anna@testby.se")
    (told,) = smtp_server.to("bo@testby.se")
    assert "Ärenden du har tagit över under en frånvaro" in told.text
    assert f"{case.reference}" in told.text and "medan anna@testby.se är borta" in told.text
    with service_at(ws, at(2027, 1, 7, 9)) as service:  # the first working day back
        service.run_once()
        (case,) = cases(service)
    assert (case.handler, case.regular_handler) == ("anna@testby.se", None)
    assert [e.kind.value for e in case.events][-2:] == ["delegated", "returned"]
    assert "hanterades av bo@testby.se" in case.events[-1].detail
    (back,) = smtp_server.to("anna@testby.se")
    assert "tillbaka hos dig efter frånvaron" in back.text


def test_a_substitute_away_too_passes_the_case_along_the_chain(ws: Workspace) -> None:
    anna_away(ws)
    with service_at(ws, at(2026, 12, 1)) as service:
        absence.add(
            service,
            person="bo@testby.se",
            kind="tjänsteresa",
            start=date(2026, 12, 28),
            end=date(2026, 12, 30),
            substitutes=["carl@testby.se"],
            actor="bo@testby.se",
        )
    ws.deliver(citizen_mail(COMPLAINT, to="anna@testby.se"), "anna", when=at(2026, 12, 22, 8))
    handlers = []
    for day in (at(2026, 12, 22), at(2026, 12, 28), at(2027, 1, 4), at(2027, 1, 7)):
        with service_at(ws, day) as service:
            service.run_once()
            handlers.append(cases(service)[0].handler)
    assert handlers == ["bo@testby.se", "carl@testby.se", "bo@testby.se", "anna@testby.se"]


def test_private_mail_stays_with_the_person_and_gets_no_draft(ws: Workspace) -> None:
    anna_away(ws)
    ws.deliver(
        citizen_mail(COMPLAINT, to="anna@testby.se", headers={"Sensitivity": "Private"}),
        "anna",
        when=at(2026, 12, 22, 8),
    )
    with service_at(ws, at(2026, 12, 22)) as service:
        service.run_once()
        (case,) = cases(service)
        assert service.sessions is not None
        with service.sessions() as session:
            assert session.scalars(select(Draft)).all() == []
    assert case.private and case.handler == "anna@testby.se" and case.regular_handler is None
    assert ws.drafts("anna") == []


def test_reminders_go_to_whoever_covers(ws: Workspace, smtp_server: SmtpServer) -> None:
    ws.deliver(citizen_mail(COMPLAINT, to="anna@testby.se"), "anna", when=at(2026, 12, 15, 8))
    with service_at(ws, at(2026, 12, 15)) as service:
        service.run_once()
    anna_away(ws)
    with service_at(
        ws,
        at(
            2026,
            12,
            21,
            8,
        ),
    ) as service:
        assert service.jobs is not None
        report = service.jobs.run("reminders", force=True)
    assert report.planned and all(p.recipient == "anna@testby.se" for p in report.planned)
    assert smtp_server.to("anna@testby.se") == []  # nobody away is told anything
    reminders = [r for r in smtp_server.to("bo@testby.se") if "påminnelse" in r.message["Subject"]]
    assert reminders and "(för anna@testby.se, som är borta)" in reminders[0].text


def test_a_function_mailbox_is_covered_by_an_owners_substitute(
    ws: Workspace, smtp_server: SmtpServer
) -> None:
    anna_away(ws)  # Anna owns kontakt@ alone; Bo is her substitute
    with service_at(ws, at(2026, 12, 22, 8)) as service:
        assert service.jobs is not None
        assert service.jobs.run("coverage", force=True).planned == []
    with service_at(ws, at(2026, 12, 1)) as service:
        absence.change(service, 1, actor="chef@testby.se", substitutes=[])
    with service_at(ws, at(2026, 12, 22, 8)) as service:
        assert service.jobs is not None
        report = service.jobs.run("coverage", force=True)
    assert [p.recipient for p in report.planned] == ["chef@testby.se"]  # the same morning
    (alert,) = smtp_server.to("chef@testby.se")
    assert "kontakt@testby.se: ingen av de ansvariga" in alert.text


def test_only_the_person_or_their_head_may_set_it_up(ws: Workspace) -> None:
    with service_at(ws, at(2026, 12, 1)) as service:
        with pytest.raises(InvalidTransitionError, match="får inte lägga in"):
            absence.add(
                service,
                person="anna@testby.se",
                kind="semester",
                start=date(2026, 12, 21),
                end=None,
                substitutes=["bo@testby.se"],
                actor="carl@testby.se",
            )
        with pytest.raises(InvalidTransitionError, match="finns inte bland personerna"):
            absence.add(
                service,
                person="anna@testby.se",
                kind="semester",
                start=date(2026, 12, 21),
                end=None,
                substitutes=["bertil@testby.se"],
                actor="anna@testby.se",
            )
        with pytest.raises(InvalidTransitionError, match=r"slutar .* före"):
            absence.add(
                service,
                person="anna@testby.se",
                kind="semester",
                start=date(2026, 12, 21),
                end=date(2026, 12, 1),
                substitutes=[],
                actor="kd@testby.se",  # the head's head may
            )


def test_the_command_line(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(ws.config_path)
    clock = fixed_clock(at(2026, 12, 1))

    def run(*argv: str) -> int:
        return main(["--config", config, "absence", *argv], clock=clock)

    assert (
        run(
            "add", "anna@testby.se", "--from", "2026-12-21", "--to", "2027-01-06",
            "--kind", "semester", "--substitute", "bo@testby.se", "--by", "chef@testby.se",
        )
        == 0
    )  # fmt: skip
    assert (
        "Frånvaro 1 inlagd: anna@testby.se semester 2026-12-21 – 2027-01-06, ersätts av bo@testby.se [kommande]"
        in capsys.readouterr().out
    )
    assert (
        run(
            "add", "bo@testby.se", "--from", "2026-12-28", "--kind", "semester",
            "--substitute", "anna@testby.se", "--by", "bo@testby.se",
        )
        == 2  # a refused request (a cycle of substitutes): the user must choose another
    )  # fmt: skip
    assert "en cirkel" in capsys.readouterr().err
    assert run("who-covers", "anna@testby.se", "--date", "2026-12-22") == 0
    assert capsys.readouterr().out.strip() == (
        "anna@testby.se den 2026-12-22: Bo Ek <bo@testby.se> (ersättare)"
    )
    assert run("list", "--json") == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["id"], row["covered_by"], row["status"]) == (1, "bo@testby.se", "kommande")
    assert run("change", "1", "--to", "2027-01-10", "--by", "anna@testby.se") == 0
    assert "2027-01-10" in capsys.readouterr().out
    assert run("end", "1", "--by", "anna@testby.se") == 0
    assert run("list") == 0
    assert capsys.readouterr().out.strip().endswith("Ingen frånvaro inlagd.")
    assert run("end", "7", "--by", "anna@testby.se") == 2
    assert "ingen frånvaro med nummer 7" in capsys.readouterr().err
