"""Callbacks (återuppringningar): a citizen who looked for someone who was not there is called
back within the policy's ``callback`` time — made, told, listed, reminded, escalated and done
from the command line, and made from a phone message noted in a case that asks for it; on
SQLite and PostgreSQL, with a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from postvakt.callbacks import check_phone, phone_number, wants_callback
from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.errors import InvalidInputError
from postvakt.registry.callbacks import CallbackRequest
from postvakt.registry.documents import DiaryEntry
from postvakt.registry.models import Case, EventKind
from postvakt.service import Service
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, make_workspace


def at(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=STOCKHOLM)


MONDAY = at(2026, 11, 23)

PEOPLE = """
[[people]]
name = "Cecilia Ek"
address = "cecilia@testby.se"
unit = "Kontaktcenter"
title = "Receptionist"

[[people]]
name = "Lena Holm"
address = "chef@testby.se"
unit = "Kontaktcenter"
title = "Enhetschef"
"""


@pytest.fixture
def ws(tmp_path, db_url: str, smtp_server: SmtpServer) -> Workspace:
    """The workspace with Cecilia at the reception, the head as a person, and SMTP (the
    registrar gets every document of a case by e-mail)."""
    workspace = make_workspace(tmp_path / "ws", db_url)
    text = workspace.config_path.read_text()
    workspace.config_path.write_text(text + PEOPLE + smtp_server.config())
    return workspace


def cli(ws: Workspace, when: datetime, *args: str) -> int:
    return main(["--config", str(ws.config_path), *args], clock=fixed_clock(when))


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open()


def add(ws: Workspace, when: datetime, **extra: str) -> int:
    values = {
        "--for": "anna@testby.se",
        "--name": "Karin Ek",
        "--phone": "070-123 45 67",
        "--about": "Frågar om bygglovet för altanen",
        "--by": "cecilia@testby.se",
        **extra,
    }
    return cli(ws, when, "callbacks", "add", *(x for kv in values.items() for x in kv))


def rows(ws: Workspace) -> list[CallbackRequest]:
    with service_at(ws, MONDAY) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            found = list(session.scalars(select(CallbackRequest).order_by(CallbackRequest.id)))
            session.expunge_all()
            return found


def test_a_message_is_taken_told_listed_and_done(
    ws: Workspace, smtp_server: SmtpServer, capsys
) -> None:
    assert add(ws, MONDAY) == 0
    out = capsys.readouterr().out
    # Two working days from Monday 23 November.
    assert (
        "Återuppringning 1: Anna Berg ringer Karin Ek på 070-123 45 67 senast onsdag 25 november 2026."
        in out
    )
    assert "Anna Berg har fått meddelandet med e-post." in out
    (told,) = smtp_server.to("anna@testby.se")
    assert told.message["Subject"] == "Postvakt: ring upp en medborgare"
    assert "Ring upp: någon har sökt dig:" in told.text
    assert (
        "Återuppringning 1: ring Karin Ek på 070-123 45 67 senast 25 november 2026 – Frågar om "
        "bygglovet för altanen" in told.text
    )

    assert cli(ws, MONDAY, "callbacks", "list") == 0
    listing = capsys.readouterr().out
    assert "Anna Berg" in listing and "2026-11-25" in listing and "väntar" in listing
    assert cli(ws, MONDAY, "callbacks", "list", "--for", "cecilia@testby.se") == 0
    assert "Inga återuppringningar väntar." in capsys.readouterr().out
    assert cli(ws, MONDAY, "callbacks", "list", "--json") == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert item["for"] == "anna@testby.se" and item["requested_by"] == "cecilia@testby.se"
    assert item["due"] == "2026-11-25" and item["unit"] == "Kontaktcenter"
    assert item["done_at"] is None and item["case"] is None

    # Whoever took the message may not mark it done; the one it is for may, once.
    assert (
        cli(ws, MONDAY, "callbacks", "done", "1", "--note", "Ringt", "--by", "cecilia@testby.se")
        == 2
    )
    assert "cecilia@testby.se får inte markera återuppringning 1 som klar" in (
        capsys.readouterr().err
    )
    later = at(2026, 11, 24, 11)
    note = "Förklarade att bygglovet beslutas på torsdag"
    assert cli(ws, later, "callbacks", "done", "1", "--note", note, "--by", "anna@testby.se") == 0
    assert "Återuppringning 1 är klar." in capsys.readouterr().out
    # Done once: a second run changes nothing and says who marked it done and when.
    assert cli(ws, later, "callbacks", "done", "1", "--note", "igen", "--by", "anna@testby.se") == 0
    assert (
        "Återuppringning 1 är redan markerad som klar av anna@testby.se 2026-11-24 11:00; "
        "inget ändrat." in capsys.readouterr().out
    )
    assert cli(ws, later, "callbacks", "list") == 0
    assert "Inga återuppringningar väntar." in capsys.readouterr().out
    assert cli(ws, later, "callbacks", "list", "--all", "--json") == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert item["done_by"] == "anna@testby.se" and item["note"] == note
    assert item["done_at"] == "2026-11-24T11:00:00+01:00"
    assert cli(ws, later, "callbacks", "done", "7", "--note", "x", "--by", "anna@testby.se") == 2
    assert "Det finns ingen återuppringning nr 7" in capsys.readouterr().err


def test_the_deadline_counts_working_days_and_follows_the_config(
    ws: Workspace, smtp_server: SmtpServer
) -> None:
    # Wednesday 23 December: julafton, juldagen, annandag jul and the weekend are not working
    # days, so two working days end on Tuesday 29 December.
    assert add(ws, at(2026, 12, 23)) == 0
    assert rows(ws)[0].due == date(2026, 12, 29)
    # An organisation that promises one working day.
    ws.config_path.write_text(
        ws.config_path.read_text().replace(
            "[database]", '[deadlines]\ncallback = "1 arbetsdag"\n\n[database]'
        )
    )
    assert add(ws, at(2026, 12, 23)) == 0
    assert rows(ws)[1].due == date(2026, 12, 28)


def test_bad_input_is_refused_in_swedish(ws: Workspace, capsys) -> None:
    assert add(ws, MONDAY, **{"--phone": "ring mig"}) == 2
    assert "'ring mig' är inget telefonnummer" in capsys.readouterr().err
    assert add(ws, MONDAY, **{"--for": "okand@testby.se"}) == 2
    assert "okand@testby.se finns inte i konfigurationen" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:  # argparse's own check, in Swedish
        add(ws, MONDAY, **{"--about": "  "})
    assert exited.value.code == 2
    assert "argumentet --about: får inte vara tom" in capsys.readouterr().err
    assert rows(ws) == []


def test_reminded_before_the_deadline_and_the_head_told_after(
    ws: Workspace, smtp_server: SmtpServer
) -> None:
    assert add(ws, MONDAY) == 0  # due Wednesday 25 November
    smtp_server.received.clear()
    with service_at(ws, at(2026, 11, 24, 8, 30)) as service:  # Tuesday: one working day left
        assert service.jobs is not None
        report = service.jobs.run("reminders", slot="0830")
        assert report.ran and report.sent.errors == []
    (reminder,) = smtp_server.received
    assert reminder.recipients == ["anna@testby.se"]
    assert "Snart dags att ringa upp:" in reminder.text
    assert "ring Karin Ek på 070-123 45 67 senast 25 november 2026" in reminder.text
    assert reminder.message["Subject"] == "Postvakt: ring upp en medborgare"
    # The afternoon run tells nobody again.
    with service_at(ws, at(2026, 11, 24, 13)) as service:
        assert service.jobs is not None
        service.jobs.run("reminders", slot="1300")
    assert len(smtp_server.received) == 1

    # Thursday: the deadline has passed: Anna and the head of her unit are told, once.
    smtp_server.received.clear()
    with service_at(ws, at(2026, 11, 26, 8, 30)) as service:
        assert service.jobs is not None
        service.jobs.run("reminders", slot="0830")
    assert sorted(r for m in smtp_server.received for r in m.recipients) == [
        "anna@testby.se",
        "chef@testby.se",
    ]
    (to_head,) = smtp_server.to("chef@testby.se")
    assert "Tidsgränsen har passerats:" in to_head.text
    assert (
        "Återuppringning 1: Anna Berg skulle ha ringt Karin Ek på 070-123 45 67 senast "
        "25 november 2026" in to_head.text
    )
    smtp_server.received.clear()
    with service_at(ws, at(2026, 11, 26, 13)) as service:
        assert service.jobs is not None
        service.jobs.run("reminders", slot="1300")
    assert smtp_server.received == []

    # Done: no more reminders of it.
    assert cli(ws, at(2026, 11, 26, 14), "callbacks", "done", "1", "--note", "Ringt", "--by",
               "anna@testby.se") == 0  # fmt: skip
    with service_at(ws, at(2026, 11, 27, 8, 30)) as service:
        assert service.jobs is not None
        service.jobs.run("reminders", slot="0830")
    assert smtp_server.received == []


def test_the_person_away_is_covered(ws: Workspace, smtp_server: SmtpServer, capsys) -> None:
    assert (
        cli(ws, MONDAY, "absence", "add", "anna@testby.se", "--kind", "semester",
            "--from", "2026-11-23", "--to", "2026-11-27", "--substitute", "cecilia@testby.se",
            "--by", "chef@testby.se")
        == 0
    )  # fmt: skip
    smtp_server.received.clear()
    capsys.readouterr()
    assert add(ws, MONDAY, **{"--by": "chef@testby.se"}) == 0
    assert (
        "Anna Berg är borta; cecilia@testby.se har fått meddelandet med e-post."
        in capsys.readouterr().out
    )
    (told,) = smtp_server.received
    assert told.recipients == ["cecilia@testby.se"]
    assert "(för anna@testby.se, som är borta)" in told.text
    # Whoever covers Anna today may mark it done.
    assert cli(ws, MONDAY, "callbacks", "done", "1", "--note", "Ringt", "--by",
               "cecilia@testby.se") == 0  # fmt: skip


def _phone_case(ws: Workspace, summary: str, *extra: str, channel: str = "phone") -> int:
    return cli(
        ws,
        MONDAY,
        "cases",
        "add",
        "--channel",
        channel,
        "--unit",
        "Kontaktcenter",
        "--summary",
        summary,
        "--name",
        "Sven Sten",
        "--by",
        "cecilia@testby.se",
        *extra,
    )


def test_a_phone_message_in_a_case_that_asks_for_a_callback_makes_one(
    ws: Workspace, smtp_server: SmtpServer, capsys
) -> None:
    summary = "Personalen i hemtjänsten kommer för sent. Vill att handläggaren ringer tillbaka."
    # The channel by its Swedish name, as a user writes it.
    contact = "Storgatan 1, tel 070-765 43 21"
    assert _phone_case(ws, summary, "--contact", contact, channel="telefon") == 0
    out = capsys.readouterr().out
    assert "KS 2026/1: registrerat" in out
    # Registered by hand, the case's handler is whoever registered it (the reception).
    assert "Återuppringning 1: Cecilia Ek ringer Sven Sten på 070-765 43 21 senast onsdag" in out
    (row,) = rows(ws)
    assert row.for_address == "cecilia@testby.se" and row.phone == "070-765 43 21"
    assert row.name == "Sven Sten" and row.about == summary and row.due == date(2026, 11, 25)
    assert cli(ws, MONDAY, "callbacks", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out)[0]["case"] == "KS 2026/1"

    # Done: the callback is noted on the case, and goes to the diary.
    note = "Lovade att schemat ses över i veckan"
    assert cli(ws, at(2026, 11, 24), "callbacks", "done", "1", "--note", note, "--by",
               "cecilia@testby.se") == 0  # fmt: skip
    assert "Samtalet är antecknat i ärende KS 2026/1 och går till diariet." in (
        capsys.readouterr().out
    )
    with service_at(ws, MONDAY) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            (event,) = [e for e in case.events if e.kind is EventKind.CALLBACK]
            assert event.actor == "cecilia@testby.se"
            assert event.detail == f"Ringde upp Sven Sten: {note}"
            (entry,) = session.scalars(select(DiaryEntry).where(DiaryEntry.kind == "callback"))
            assert note in entry.text
    # …and reached the registrar, who keeps the diary.
    bodies = [
        m.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        for m in smtp_server.to("registrator@testby.se")
    ]
    assert sum(note in body for body in bodies) == 1


def test_a_phone_case_without_the_ask_or_without_a_phone_makes_none(ws: Workspace, capsys) -> None:
    assert _phone_case(ws, "Snön är inte röjd på Storgatan", "--contact", "070-765 43 21") == 0
    assert "Återuppringning" not in capsys.readouterr().out
    assert _phone_case(ws, "Ring tillbaka om snöröjningen", "--email", "sven@example.net") == 0
    out = capsys.readouterr().out
    assert "Obs: medborgaren vill bli uppringd, men inget telefonnummer angavs" in out
    assert rows(ws) == []


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("Vill att någon ringer tillbaka", True),
        ("Kan ni ringa tillbaka i morgon?", True),
        ("Ring tillbaka efter lunch", True),
        ("Ber handläggaren ringa mig tillbaka", True),
        ("Vill att vi återkopplar per telefon", True),
        ("Önskar att vi återkoppla per telefon", True),
        ("Ska återkopplas per telefon", True),
        ("Snön är inte röjd", False),
        ("Ringde i går om bygglovet", False),
    ],
)
def test_which_summaries_ask_for_a_callback(text: str, asks: bool) -> None:
    assert wants_callback(text) is asks


def test_phone_numbers_are_found_and_checked() -> None:
    assert phone_number("Storgatan 1, 123 45 Testby, tel 070-765 43 21") == "070-765 43 21"
    assert phone_number("+46 19 21 10 00") == "+46 19 21 10 00"
    assert phone_number("Storgatan 12") is None
    assert check_phone("  070 - 123  45 67 ") == "070 - 123 45 67"
    with pytest.raises(InvalidInputError, match="inget telefonnummer"):
        check_phone("12345")
    with pytest.raises(InvalidInputError, match="inget telefonnummer"):
        check_phone("070-123 45 67 eller mejl")
