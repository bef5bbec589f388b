"""Reminders, breaches and alerts by real SMTP: in working time, as digests, never twice."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.registry.models import JobClaim, Notification
from postvakt.service import Service
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail, make_workspace

COMPLAINT = "Jag vill klaga på snöröjningen. Ingen har plogat på tre dagar.\n\nKarin Ek\n"


def at(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=STOCKHOLM)


def with_smtp(ws: Workspace, smtp: SmtpServer) -> Workspace:
    """SMTP for notifications; the registrar's notices are tested on their own."""
    text = ws.config_path.read_text().replace(
        'registrar = "registrator@testby.se"',
        'registrar = "registrator@testby.se"\nregistrar_notice = "none"',
    )
    ws.config_path.write_text(text + smtp.config())
    return ws


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open()


def overdue_workspace(ws: Workspace, smtp: SmtpServer) -> Workspace:
    """A complaint from Monday 16 Nov (answer due Monday 23) and a question to Anna."""
    with_smtp(ws, smtp)
    received = at(2026, 11, 16)
    ws.deliver(citizen_mail(COMPLAINT, date=received), when=received)
    ws.deliver(
        citizen_mail(
            "Hej, när har ni öppet?", subject="Öppettider", sender="olle@example.net", date=received
        ),
        "anna",
        when=received,
    )
    with service_at(ws, at(2026, 11, 16, 11)) as service:
        service.run_once()
    return ws


def test_a_digest_per_person_in_swedish_and_never_twice(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = overdue_workspace(workspace, smtp_server)
    with service_at(ws, at(2026, 11, 24, 8, 30)) as service:  # Tuesday: both deadlines passed
        assert service.jobs is not None
        report = service.jobs.run("reminders", slot="0830")
        assert report.ran and report.sent.errors == []
    recipients = sorted(r for m in smtp_server.received for r in m.recipients)
    assert recipients == ["anna@testby.se", "chef@testby.se"]  # one digest each
    (to_anna,) = smtp_server.to("anna@testby.se")
    assert to_anna.message["Subject"] == "Postvakt: 3 saker behöver åtgärdas i dag"
    assert to_anna.message["Auto-Submitted"] == "auto-generated"
    text = to_anna.text
    assert "Det här behöver din uppmärksamhet tisdag 24 november 2026:" in text
    assert "Tidsgränsen har passerats:" in text
    assert (
        "KS 2026/1 Synpunkter och klagomål – Klagomål på snöröjningen (kontakt@testby.se) – svar skulle ha lämnats senast 23 november 2026"
        in text
    )
    assert "bekräftelse till den klagande skulle ha lämnats senast 23 november 2026" in text
    assert "Öppettider från olle@example.net (anna@testby.se)" in text

    # The 13:00 run and a restarted service tell nobody again.
    with service_at(ws, at(2026, 11, 24, 13)) as service:
        assert service.jobs is not None
        again = service.jobs.run("reminders", slot="1300")
        assert again.ran and again.sent.sent == {}
    assert len(smtp_server.received) == 2
    with service_at(ws, at(2026, 11, 24, 13)) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            rows = session.scalars(select(Notification)).all()
            assert {r.status for r in rows} == {"sent"} and len(
                rows
            ) == 6  # 3 items x (Anna, the unit head)


def test_a_reminder_goes_one_working_day_before(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = overdue_workspace(workspace, smtp_server)
    with service_at(ws, at(2026, 11, 20, 8, 30)) as service:  # Friday, due Monday
        assert service.jobs is not None
        service.jobs.run("reminders", slot="0830")
    (only,) = smtp_server.received
    assert only.recipients == ["anna@testby.se"] and "Snart dags att svara:" in only.text
    assert "svar senast 23 november 2026" in only.text
    assert only.message["Subject"] == "Postvakt: påminnelse om 3 svar"


@pytest.mark.parametrize(
    "when",
    [
        at(2026, 11, 24, 6, 0),  # before working hours
        at(2026, 11, 24, 20, 0),  # evening
        at(2026, 11, 24, 0, 0),  # midnight
    ],
)
def test_nothing_is_sent_outside_working_time(
    workspace: Workspace, smtp_server: SmtpServer, when: datetime
) -> None:
    ws = overdue_workspace(workspace, smtp_server)
    with service_at(ws, when) as service:
        assert service.jobs is not None
        report = service.jobs.run("reminders", force=True)
        assert report.sent.queued == 6 and report.sent.sent == {}
    assert smtp_server.received == []
    with service_at(ws, at(2026, 11, 24, 9)) as service:  # any run in working time sends the queue
        assert service.jobs is not None
        service.jobs.run("coverage", force=True)
    assert len(smtp_server.received) == 2


@pytest.mark.parametrize("day", [date(2026, 11, 28), date(2026, 12, 24), date(2026, 6, 19)])
def test_no_job_runs_on_a_day_off(workspace: Workspace, smtp_server: SmtpServer, day: date) -> None:
    """A Saturday, julafton, midsommarafton: cron fires on weekdays, the job checks the calendar."""
    ws = with_smtp(workspace, smtp_server)
    with service_at(
        ws, datetime.combine(day, datetime.min.time(), STOCKHOLM) + timedelta(hours=9)
    ) as service:
        assert service.jobs is not None
        for job in ("coverage", "daily-open", "reminders", "compilation"):
            report = service.jobs.run(job)
            assert not report.ran and "ingen arbetsdag" in report.why_not
    assert smtp_server.received == []


def test_a_mail_server_that_is_down_is_tried_again(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = overdue_workspace(workspace, smtp_server)
    smtp_server.stop()
    with service_at(ws, at(2026, 11, 24, 8, 30)) as service:
        assert service.jobs is not None
        report = service.jobs.run("reminders", slot="0830")
        assert len(report.sent.errors) == 2 and "försöker igen" in report.sent.errors[0]
        assert service.sessions is not None
        with service.sessions() as session:
            statuses = session.scalars(select(Notification.status)).all()
            assert statuses == ["queued"] * 6  # back in the queue for the next run
    restarted = SmtpServer(port=smtp_server.port)
    from aiosmtpd.controller import Controller

    restarted.controller = Controller(restarted, hostname=restarted.host, port=restarted.port)
    restarted.controller.start()
    try:
        with service_at(ws, at(2026, 11, 24, 13)) as service:
            assert service.jobs is not None
            service.jobs.run("reminders", slot="1300")
        assert len(restarted.received) == 2
    finally:
        restarted.stop()


def test_the_compilation_reminder_goes_to_every_unit_head_once(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = with_smtp(workspace, smtp_server)
    with service_at(ws, at(2027, 1, 14, 8, 30)) as service:  # before 15 January: nothing
        assert service.jobs is not None
        assert service.jobs.run("compilation").planned == []
    for day in (18, 19):
        with service_at(ws, at(2027, 1, day, 8, 30)) as service:
            assert service.jobs is not None
            service.jobs.run("compilation")
    # The heads once; the owner (here the registrar) once a week (tests/test_compilation.py).
    assert sorted(r for m in smtp_server.received for r in m.recipients) == [
        "chef@testby.se",
        "kd@testby.se",
        "registrator@testby.se",
    ]
    text = smtp_server.to("chef@testby.se")[0].text
    assert (
        "Kontaktcenter: sammanställningen av 2026 års synpunkter och klagomål ska vara klar senast 15 februari 2027"
        in text
    )


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_two_instances_on_one_database_run_a_job_once(
    tmp_path, smtp_server: SmtpServer, database: str, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'shared.db'}"
        if database == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    ws = overdue_workspace(make_workspace(tmp_path / "ws", url), smtp_server)
    when = at(2026, 11, 24, 8, 30)
    first, second = service_at(ws, when), service_at(ws, when)
    try:
        # Two schedulers fire the same job at the same moment: two threads let go together
        # (the services' clocks say when it is; no real time is read).
        fire = when.astimezone(STOCKHOLM)
        together = threading.Barrier(2)

        def job(service: Service) -> None:
            together.wait(timeout=30)
            service._run_job("reminders", "0830")

        threads = [threading.Thread(target=job, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
        assert first.sessions is not None
        with first.sessions() as session:
            claims = session.scalars(select(JobClaim)).all()
        assert [(c.job, c.day) for c in claims] == [("reminders@0830", fire.date())]
        assert sorted(r for m in smtp_server.received for r in m.recipients) == [
            "anna@testby.se",
            "chef@testby.se",
        ]
    finally:
        first.close()
        second.close()


@pytest.mark.postgres
def test_two_flushes_at_once_send_a_queued_notice_once(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The IDLE watcher's pass and the scheduler's (or two workers) flush together, both
    having read the notice as queued: one claims it, the other leaves it."""
    from datetime import time

    from postvakt.registry.db import open_database, session_factory
    from postvakt.rules.calendar import WorkingCalendar
    from postvakt.rules.notify import Notifier, Planned

    sent: list[str] = []

    class Mailer:
        domain = "testby.se"

        def send(self, to: str, subject: str, body: str, *, message_id: str) -> None:
            sent.append(to)

    sessions = session_factory(open_database(postgres_url))
    night = at(2026, 11, 28, 23)  # a Saturday night: a care notice goes at once
    notifier = Notifier(sessions, Mailer(), WorkingCalendar(), (time(8), time(17)))  # type: ignore[arg-type]
    with sessions.begin() as session:
        item = Planned("chef@testby.se", "care", "KS 2026/1", night.date(), "KS 2026/1: vård")
        assert notifier.queue(session, [item], night) == 1
    both_read = threading.Barrier(2, timeout=10)
    read = Notifier._rows

    def rows_then_wait(self: Notifier, session, recipients):  # type: ignore[no-untyped-def]
        found = read(self, session, recipients)
        both_read.wait()  # neither updates before both have read "queued"
        return found

    monkeypatch.setattr(Notifier, "_rows", rows_then_wait)
    threads = [threading.Thread(target=notifier.flush, args=(night,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sent == ["chef@testby.se"]
    with sessions() as session:
        assert session.scalars(select(Notification.status)).all() == ["sent"]
