"""Every mailbox opened every working day by someone responsible who is present."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.mailbox.base import OpenedEvidence
from postvakt.mailbox.maildir import MaildirConnector
from postvakt.rules.daily_open import OpenedResult, judge
from postvakt.service import Service
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail


def at(y: int, m: int, d: int, h: int = 14) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=STOCKHOLM)


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open()


def kontakt(results: list[OpenedResult]) -> list[OpenedResult]:
    """The function mailbox's result (the personal one is checked too under orebro)."""
    return [r for r in results if r.mailbox == "kontakt@testby.se"]


def with_smtp(ws: Workspace, smtp: SmtpServer) -> Workspace:
    """SMTP for notifications; the registrar's notices are tested on their own."""
    text = ws.config_path.read_text().replace(
        'registrar = "registrator@testby.se"',
        'registrar = "registrator@testby.se"\nregistrar_notice = "none"',
    )
    ws.config_path.write_text(text + smtp.config())
    return ws


def test_an_unopened_function_mailbox_alerts_its_owners_then_the_unit_head(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = with_smtp(workspace, smtp_server)
    ws.deliver(
        citizen_mail("Hej, när har ni öppet?", subject="Öppettider"), when=at(2026, 11, 20, 9)
    )
    with service_at(ws, at(2026, 11, 24)) as service:  # Tuesday 14:00; nobody has read it
        assert service.jobs is not None
        report = service.jobs.run("daily-open")
        # Anna's own mailbox is checked too: tests/rules/test_daily_open_personal.py
        (result,) = kontakt(report.opened)
        assert (result.mailbox, result.opened, result.misses_in_a_row) == (
            "kontakt@testby.se",
            False,
            1,
        )
        assert "1 oläst meddelande från tidigare dagar" in result.evidence
    (first,) = smtp_server.received
    assert first.recipients == ["anna@testby.se"]
    assert (
        "Brevlådor som inte har öppnats i dag:" in first.text
        and "kontakt@testby.se: ingen läsning" in first.text
    )
    with service_at(ws, at(2026, 11, 25)) as service:  # Wednesday: the second working day in a row
        assert service.jobs is not None
        (result,) = kontakt(service.jobs.run("daily-open").opened)
        assert result.misses_in_a_row == 2
    second_day = smtp_server.received[1:]
    assert sorted(r for m in second_day for r in m.recipients) == [
        "anna@testby.se",
        "chef@testby.se",
    ]
    assert "(andra arbetsdagen i rad)" in smtp_server.to("chef@testby.se")[0].text


def test_a_holiday_does_not_break_the_count_of_days_in_a_row(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = with_smtp(workspace, smtp_server)
    ws.deliver(
        citizen_mail("Hej, när har ni öppet?", subject="Öppettider"), when=at(2026, 12, 20, 9)
    )
    with service_at(ws, at(2026, 12, 23)) as service:  # Wednesday before Christmas
        assert service.jobs is not None
        service.jobs.run("daily-open")
    with service_at(ws, at(2026, 12, 28)) as service:  # Monday after: 24-27 are no working days
        assert service.jobs is not None
        (result,) = kontakt(service.jobs.run("daily-open").opened)
        assert result.misses_in_a_row == 2


def test_a_mailbox_with_only_read_mail_counts_as_opened(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = with_smtp(workspace, smtp_server)
    path = ws.deliver(citizen_mail("Hej!", subject="Läst"), when=at(2026, 11, 20, 9))
    path.rename(ws.maildir() / "cur" / (path.name + ":2,S"))
    with service_at(ws, at(2026, 11, 24)) as service:
        assert service.jobs is not None
        (result,) = kontakt(service.jobs.run("daily-open").opened)
        assert (
            result.opened is True
            and result.evidence == "inga olästa meddelanden från tidigare dagar"
        )
    assert smtp_server.received == []


def test_personal_mailboxes_are_checked_where_the_config_asks(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = with_smtp(workspace, smtp_server)
    text = ws.config_path.read_text().replace(
        'kind = "personal"\n', 'kind = "personal"\ncheck_daily_open = true\n'
    )
    ws.config_path.write_text(text)
    with service_at(ws, at(2026, 11, 24)) as service:
        assert service.jobs is not None
        assert sorted(r.mailbox for r in service.jobs.run("daily-open").opened) == [
            "anna@testby.se",
            "kontakt@testby.se",
        ]


def test_a_function_mailbox_with_no_owner_present_is_a_coverage_gap(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = with_smtp(workspace, smtp_server)
    with service_at(ws, at(2026, 11, 24, 8)) as service:
        assert service.jobs is not None
        assert service.jobs.run("coverage", force=True).planned == []  # Anna is present
        service.jobs.absent = lambda address, day: (
            address == "anna@testby.se" and day == date(2026, 11, 24)
        )
        report = service.jobs.run("coverage", force=True)
    assert [p.recipient for p in report.planned] == ["chef@testby.se"]
    (alert,) = smtp_server.received
    assert "Funktionsbrevlådor utan ansvarig på plats i dag:" in alert.text
    assert (
        "kontakt@testby.se: ingen av de ansvariga (anna@testby.se) är på plats i dag" in alert.text
    )


def test_maildir_evidence_of_reading_today(workspace: Workspace) -> None:
    delivered = datetime(2021, 3, 1, 9, 0, tzinfo=STOCKHOLM)  # before any day the test runs
    now = [datetime(2021, 3, 2, 10, 0, tzinfo=STOCKHOLM)]
    connector = MaildirConnector("kontakt@testby.se", workspace.maildir(), clock=lambda: now[0])
    a = workspace.deliver(citizen_mail("A"), when=delivered, name="a")
    workspace.deliver(citizen_mail("B"), when=delivered, name="b")
    assert connector.opened_evidence("INBOX", None) == OpenedEvidence(0, None, 2)
    read = workspace.maildir() / "cur" / "a:2,S"
    a.rename(read)  # the person reads A: the file system stamps the file's change time
    # The clock stands at that stamp, the one time here the test cannot choose: the
    # evidence is "changed on the clock's day", whatever day the test runs.
    now[0] = datetime.fromtimestamp(read.stat().st_ctime, STOCKHOLM)
    evidence = connector.opened_evidence("INBOX", None)
    assert evidence == OpenedEvidence(changed_today=1, last_login=None, unread_from_before=1)
    opened, words = judge(evidence, datetime.combine(now[0].date(), datetime.min.time(), STOCKHOLM))
    assert opened is True and words == "1 meddelande läst eller markerat i dag"
    assert read.stat().st_mtime == delivered.timestamp()  # arrival time kept
    now[0] += timedelta(days=1)  # the next day the same change is no evidence
    assert connector.opened_evidence("INBOX", None).changed_today == 0


def test_judge_weighs_a_login_today_but_not_yesterday() -> None:
    start = datetime(2026, 11, 24, tzinfo=STOCKHOLM)
    today = OpenedEvidence(0, datetime(2026, 11, 24, 8, 12, tzinfo=STOCKHOLM), 3)
    yesterday = OpenedEvidence(0, datetime(2026, 11, 23, 16, 0, tzinfo=STOCKHOLM), 3)
    assert judge(today, start) == (True, "inloggning i dag kl. 08:12")
    assert judge(yesterday, start)[0] is False
    assert judge(None, start) == (None, "e-postsystemet ger inga uppgifter om läsning")
