"""The unit head told of new complaints: one mail a working day, in working time, to each unit
head, listing the complaints and opinions registered in their units since the last one with
links to the case pages, and the deadlines running; configurable off — on SQLite and
PostgreSQL, with mail read from a Maildir and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
from datetime import datetime, time

import pytest
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.errors import ConfigError
from postvakt.registry.models import Case
from postvakt.service import Service
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail, make_workspace

COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n\nKarin Ek\n"

MORE = """
[[units]]
name = "Bygglov"
head = "chef@testby.se"
parent = "Kommunledningen"

[[units]]
name = "Fritid"
head = "fchef@testby.se"
parent = "Kommunledningen"

[[people]]
name = "Bo Bygg"
address = "bo@testby.se"
unit = "Bygglov"

[[people]]
name = "Frida Fri"
address = "frida@testby.se"
unit = "Fritid"
"""


def at(y: int, m: int, d: int, h: int = 9, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=STOCKHOLM)


@pytest.fixture
def ws(tmp_path, db_url: str, smtp_server: SmtpServer) -> Workspace:
    """Lena (chef@) heads Kontaktcenter and Bygglov; Fritid has a head of its own."""
    workspace = make_workspace(tmp_path / "ws", db_url)
    text = workspace.config_path.read_text().replace(
        'registrar = "registrator@testby.se"',
        'registrar = "registrator@testby.se"\nregistrar_notice = "none"',
    )
    text = text.replace(
        "[database]", '[web]\nbase_url = "https://postvakt.exempel.se"\n\n[database]'
    )
    workspace.config_path.write_text(text + MORE + smtp_server.config())
    return workspace


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open()


def cli(ws: Workspace, when: datetime, *args: str) -> int:
    return main(["--config", str(ws.config_path), *args], clock=fixed_clock(when))


def by_hand(ws: Workspace, when: datetime, unit: str, summary: str, *extra: str) -> int:
    return cli(
        ws, when, "cases", "add", "--channel", "visit", "--unit", unit, "--summary", summary,
        "--contact", "070-123 45 67", "--by", "anna@testby.se", *extra,
    )  # fmt: skip


def ids(ws: Workspace) -> dict[str, int]:
    with service_at(ws, at(2026, 11, 23)) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            return {c.reference: c.id for c in session.scalars(select(Case))}


def digest(ws: Workspace, when: datetime) -> None:
    with service_at(ws, when) as service:
        assert service.jobs is not None
        report = service.jobs.run("head-digest")
        assert report.ran, report.why_not
        assert report.sent.errors == []


def test_one_mail_a_day_to_each_head_with_links_and_deadlines(
    ws: Workspace, smtp_server: SmtpServer
) -> None:
    # Monday 23 November: a complaint by e-mail to Kontaktcenter's mailbox, an opinion at
    # a visit to Bygglov, and one about someone's own care.
    # Postvakt watches the mailbox from 08:00 (what was there before is old mail).
    old = at(2026, 11, 20, 16)
    ws.deliver(citizen_mail("Hej, när har ni öppet?", subject="Öppettider", date=old), when=old)
    with service_at(ws, at(2026, 11, 23, 8)) as service:
        service.run_once()
    received = at(2026, 11, 23, 8, 10)
    ws.deliver(citizen_mail(COMPLAINT, date=received), when=received)
    with service_at(ws, at(2026, 11, 23, 8, 15)) as service:
        service.run_once()
    assert by_hand(ws, at(2026, 11, 23, 11), "Bygglov", "Förslag: längre öppettider",
                   "--kind", "opinion") == 0  # fmt: skip
    assert by_hand(ws, at(2026, 11, 23, 14), "Kontaktcenter", "Min mammas hemtjänst",
                   "--care") == 0  # fmt: skip
    smtp_server.received.clear()
    case = ids(ws)

    digest(ws, at(2026, 11, 24))  # Tuesday 09:00
    # One mail, to the head of the two units that got cases; none to Fritid's head.
    (mail,) = smtp_server.received
    assert mail.recipients == ["chef@testby.se"]
    assert mail.message["Subject"] == "Postvakt: 3 nya ärenden i din enhet"
    text = mail.text.replace("\r\n", "\n")
    assert "Nya klagomål och synpunkter i din enhet:" in text
    assert (
        "KS 2026/1 klagomål i Kontaktcenter: Klagomål på snöröjningen, handläggare Anna Berg – "
        "bekräftelse senast 30 november 2026, svar senast 30 november 2026\n    "
        f"https://postvakt.exempel.se/arenden/{case['KS 2026/1']}" in text
    )
    assert (
        "KS 2026/2 synpunkt i Bygglov: Förslag: längre öppettider, handläggare Anna Berg – "
        "svar senast 30 november 2026\n    "
        f"https://postvakt.exempel.se/arenden/{case['KS 2026/2']}" in text
    )
    # About someone's own care: none of the citizen's words.
    assert "KS 2026/3 klagomål i Kontaktcenter: rör enskilds vård och omsorg" in text
    assert "mammas" not in text
    assert "Tidsgränser som löper i din enhet:" not in text  # nothing else is open

    # Again the same day (another instance, a restart): nothing.
    with service_at(ws, at(2026, 11, 24, 9, 5)) as service:
        assert service.jobs is not None
        assert not service.jobs.run("head-digest").ran
        assert service.jobs.run("head-digest", force=True).sent.sent == {}
    assert len(smtp_server.received) == 1

    # Tuesday afternoon a new complaint in Kontaktcenter, and one in Fritid.
    assert by_hand(ws, at(2026, 11, 24, 15), "Kontaktcenter", "Trasig gatlykta") == 0
    assert by_hand(ws, at(2026, 11, 24, 15, 30), "Fritid", "Simhallen är stängd") == 0
    smtp_server.received.clear()
    digest(ws, at(2026, 11, 25))  # Wednesday
    to_lena = smtp_server.to("chef@testby.se")
    to_fritid = smtp_server.to("fchef@testby.se")
    assert len(to_lena) == 1 and len(to_fritid) == 1 and len(smtp_server.received) == 2
    text = to_lena[0].text
    new, _, running = text.partition("Tidsgränser som löper i din enhet:")
    # Only what is new since the last digest is new; the rest are deadlines running.
    assert "KS 2026/4 klagomål i Kontaktcenter: Trasig gatlykta" in new
    assert "KS 2026/1" not in new and "KS 2026/2" not in new
    assert to_lena[0].message["Subject"] == "Postvakt: ett nytt ärende i din enhet"
    assert "KS 2026/1 klagomål i Kontaktcenter: Klagomål på snöröjningen" in running
    assert "KS 2026/2 synpunkt i Bygglov" in running
    assert "Simhallen" not in text
    assert "KS 2026/5 klagomål i Fritid: Simhallen är stängd" in to_fritid[0].text
    assert "snöröjningen" not in to_fritid[0].text and "KS 2026/1" not in to_fritid[0].text

    # Thursday: nothing new, no mail — even though deadlines run.
    smtp_server.received.clear()
    digest(ws, at(2026, 11, 26))
    assert smtp_server.received == []

    # Tuesday 1 December, after a new case on Monday: KS 2026/1's deadlines (Monday 30
    # November) have passed, and the digest says so.
    assert by_hand(ws, at(2026, 11, 30, 10), "Kontaktcenter", "Halt på trottoaren") == 0
    smtp_server.received.clear()
    digest(ws, at(2026, 12, 1))
    (mail,) = smtp_server.received
    assert (
        "KS 2026/1 klagomål i Kontaktcenter: Klagomål på snöröjningen – bekräftelse skulle ha "
        "lämnats senast 30 november 2026, svar skulle ha lämnats senast 30 november 2026"
        in mail.text
    )


def test_the_first_digest_lists_only_the_last_working_day(
    ws: Workspace, smtp_server: SmtpServer
) -> None:
    # Registered long before Postvakt sent its first digest: not a flood of old cases.
    assert by_hand(ws, at(2026, 11, 2, 10), "Kontaktcenter", "Gammalt ärende") == 0
    # Friday 20 November: the working day before Monday's first digest.
    assert by_hand(ws, at(2026, 11, 20, 16), "Kontaktcenter", "Från i fredags") == 0
    smtp_server.received.clear()
    digest(ws, at(2026, 11, 23))
    (mail,) = smtp_server.received
    new = mail.text.partition("Tidsgränser som löper i din enhet:")[0]
    assert "Från i fredags" in new and "Gammalt ärende" not in new


def test_outside_working_time_it_waits_for_working_time(
    ws: Workspace, smtp_server: SmtpServer
) -> None:
    assert by_hand(ws, at(2026, 11, 23, 10), "Kontaktcenter", "Trasig gatlykta") == 0
    smtp_server.received.clear()
    digest(ws, at(2026, 11, 24, 7, 0))  # before working hours: queued, not sent
    assert smtp_server.received == []
    with service_at(ws, at(2026, 11, 24, 8, 30)) as service:
        assert service.notifier is not None
        service.notifier.flush(service.clock())
    (mail,) = smtp_server.received
    assert mail.recipients == ["chef@testby.se"] and "Trasig gatlykta" in mail.text


def test_without_base_url_the_lines_have_no_link(ws: Workspace, smtp_server: SmtpServer) -> None:
    ws.config_path.write_text(
        ws.config_path.read_text().replace('base_url = "https://postvakt.exempel.se"\n', "")
    )
    assert by_hand(ws, at(2026, 11, 23, 10), "Kontaktcenter", "Trasig gatlykta") == 0
    smtp_server.received.clear()
    digest(ws, at(2026, 11, 24))
    (mail,) = smtp_server.received
    assert "KS 2026/1 klagomål i Kontaktcenter: Trasig gatlykta" in mail.text
    assert not re.search(r"https?://", mail.text)


def test_scheduled_at_the_configured_time_and_can_be_turned_off(ws: Workspace) -> None:
    with service_at(ws, at(2026, 11, 24)) as service:
        assert ("head-digest", "", time(9, 0)) in service.schedule()
    text = ws.config_path.read_text()
    ws.config_path.write_text(text + "\n[rules]\nhead_digest_time = 10:30:00\n")
    with service_at(ws, at(2026, 11, 24)) as service:
        assert ("head-digest", "", time(10, 30)) in service.schedule()
    ws.config_path.write_text(text + "\n[rules]\nhead_digest = false\n")
    with service_at(ws, at(2026, 11, 24)) as service:
        assert all(job != "head-digest" for job, _, _ in service.schedule())
    ws.config_path.write_text(text + "\n[rules]\nhead_digest_time = 06:00:00\n")
    with pytest.raises(ConfigError, match="head_digest_time 06:00 ligger utanför arbetstiden"):
        load_config(ws.config_path)
