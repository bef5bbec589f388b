"""Notices that were lost or went to the wrong person, holes a review found:

- the one covering an absent person who had the same item themself (a breach told to the
  handler and to the head) got no digest at all: two rows under one key, an IntegrityError,
  the whole digest dropped (and outside working time nothing queued);
- a notice queued for someone present went, days later, to them while they were away: the
  cover was worked out when it was queued, not when it went;
- a notice left 'sending' by a process that stopped was never sent;
- a digest sent again after a lost reply had a new Message-ID;
- a refused digest logged the recipient's address."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from postvakt.clock import STOCKHOLM
from postvakt.config.connectors import SmtpConfig
from postvakt.delegation import commands as absence
from postvakt.registry.db import open_database, session_factory
from postvakt.registry.models import Notification
from postvakt.rules.calendar import WorkingCalendar
from postvakt.rules.notify import NOTICE_LEASE, Mailer, Notifier, Planned
from tests.rules.test_notify import at, overdue_workspace, service_at
from tests.support.ports import free_port
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)


def _away(ws: Workspace, start: date, end: date) -> None:
    with service_at(ws, at(2026, 11, 16, 12)) as service:
        absence.add(
            service,
            person="anna@testby.se",
            kind="semester",
            start=start,
            end=end,
            substitutes=[],  # nobody named: the unit head covers her
            actor="chef@testby.se",
        )


def test_the_head_covering_an_absent_handler_gets_the_breaches_once(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = overdue_workspace(workspace, smtp_server)
    _away(ws, date(2026, 11, 24), date(2026, 11, 27))
    with service_at(ws, at(2026, 11, 24, 8, 30)) as service:
        assert service.jobs is not None
        assert service.jobs.run("reminders", slot="0830").ran
        assert service.sessions is not None
        with service.sessions() as session:
            rows = session.scalars(select(Notification)).all()
    assert smtp_server.to("anna@testby.se") == []  # away: not told
    (told,) = smtp_server.to("chef@testby.se")
    assert told.text.count("KS 2026/1 Synpunkter och klagomål") == 2  # answer and ack, once each
    assert told.text.count("Öppettider från olle@example.net") == 1  # Anna's, and the head's
    assert {r.status for r in rows} == {"sent"}
    assert {r.recipient for r in rows} == {"anna@testby.se", "chef@testby.se"}


def test_queued_outside_working_time_the_covering_head_gets_them_in_the_morning(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = overdue_workspace(workspace, smtp_server)
    _away(ws, date(2026, 11, 24), date(2026, 11, 27))
    with service_at(ws, at(2026, 11, 24, 7, 0)) as service:  # before working hours
        assert service.jobs is not None
        report = service.jobs.run("reminders", force=True)
    assert report.sent.queued > 0 and smtp_server.received == []
    with service_at(ws, at(2026, 11, 24, 9, 0)) as service:
        assert service.notifier is not None
        service.notifier.flush(at(2026, 11, 24, 9, 0))
    assert smtp_server.to("anna@testby.se") == []
    assert len(smtp_server.to("chef@testby.se")) == 1


def test_a_notice_queued_on_friday_goes_to_whoever_covers_on_monday(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = overdue_workspace(workspace, smtp_server)
    _away(ws, date(2026, 11, 23), date(2026, 11, 27))  # from Monday
    with service_at(ws, at(2026, 11, 20, 18)) as service:  # Friday 18:00: queued
        assert service.jobs is not None
        report = service.jobs.run("reminders", force=True)
    assert report.sent.queued == 3 and smtp_server.received == []
    monday = at(2026, 11, 23, 8, 5)
    with service_at(ws, monday) as service:
        assert service.notifier is not None
        service.notifier.flush(monday)
    assert smtp_server.to("anna@testby.se") == [], "Anna is away on Monday"
    (told,) = smtp_server.to("chef@testby.se")
    assert "(för anna@testby.se, som är borta)" in told.text


def _notifier(url: str, port: int) -> Notifier:
    smtp = SmtpConfig(
        host="127.0.0.1", port=port, security="none", from_address="postvakt@testby.se"
    )
    return Notifier(
        session_factory(open_database(url)),
        Mailer(smtp, {}),
        WorkingCalendar(),
        (time(8), time(17)),
    )


ITEM = Planned("anna@testby.se", "breach", "KS 2026/1", MONDAY.date(), "KS 2026/1: svar")


def test_a_notice_a_stopped_process_left_sending_goes_once_its_claim_is_old(
    db_url: str, smtp_server: SmtpServer
) -> None:
    """A process claimed the notice (sending) and stopped before the mail went: after
    NOTICE_LEASE the next run sends it; before, it may still be at work and is left."""
    notifier = _notifier(db_url, smtp_server.port)
    with notifier.sessions() as session, session.begin():
        session.add(notifier._row(ITEM, "sending", MONDAY))
    notifier.flush(MONDAY + NOTICE_LEASE - timedelta(minutes=1))
    assert smtp_server.received == []
    notifier.flush(MONDAY + NOTICE_LEASE + timedelta(minutes=1))
    notifier.flush(MONDAY + 2 * NOTICE_LEASE)
    assert len(smtp_server.to("anna@testby.se")) == 1
    with notifier.sessions() as session:
        assert session.scalars(select(Notification.status)).all() == ["sent"]


class _LosesTheReply(SmtpServer):
    """Keeps the message, then the connection breaks before its 250 reaches Postvakt."""

    lose_next = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if self.lose_next:
            self.lose_next = False
            server.transport.close()
        return reply


def test_a_digest_sent_again_after_a_lost_reply_has_the_same_message_id(
    tmp_path: Path,
) -> None:
    smtp = _LosesTheReply.start()
    try:
        notifier = _notifier(f"sqlite:///{tmp_path / 'p.db'}", smtp.port)
        smtp.lose_next = True
        assert notifier.send([ITEM], MONDAY).errors  # the connection was cut: queued again
        notifier.flush(MONDAY.replace(hour=13))
        ids = [m.message["Message-ID"] for m in smtp.to("anna@testby.se")]
    finally:
        smtp.stop()
    assert len(ids) == 2 and ids[0] == ids[1]
    assert ids[0].startswith("<postvakt-notice-") and ids[0].endswith("@testby.se>")


def test_a_refused_digest_logs_no_address(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = _notifier(f"sqlite:///{tmp_path / 'p.db'}", free_port())  # nobody listens
    with caplog.at_level(logging.INFO):
        report = notifier.send([ITEM], MONDAY)
    assert report.errors  # the person running it is told, with the address
    logged = [r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG]
    assert logged and not [m for m in logged if "@" in m]
