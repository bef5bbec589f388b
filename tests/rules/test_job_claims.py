"""A rule job's run for a day is claimed before its work and finished after it.  The claim
used to be all there was: a run whose work failed (the database away a moment) or whose
process stopped in the middle left the claim, and the job was not made again that day — a
daily-open check or a day's reminders skipped.  Now a run that failed lets its claim go, one
whose process stopped leaves it unfinished for RULE_LEASE, and the catch-up makes it again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from postvakt.clock import STOCKHOLM
from postvakt.errors import DatabaseError
from postvakt.registry.models import JobClaim
from postvakt.rules.jobs import RULE_LEASE
from postvakt.service import Service
from tests.rules.test_notify import at, overdue_workspace, service_at
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace

WHEN = at(2026, 11, 24, 8, 30)  # a Tuesday; both deadlines of the workspace passed


def _claims(service: Service) -> list[JobClaim]:
    assert service.sessions is not None
    with service.sessions() as session:
        return list(session.scalars(select(JobClaim).order_by(JobClaim.id)))


def _recipients(smtp: SmtpServer) -> list[str]:
    return sorted(r for m in smtp.received for r in m.recipients)


def test_a_run_whose_work_failed_is_made_again_by_the_catch_up(
    workspace: Workspace, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = overdue_workspace(workspace, smtp_server)
    with service_at(ws, WHEN) as service:
        assert service.jobs is not None
        work = service.jobs._reminders
        calls = []

        def once_away(today):  # the database went away in the middle of the run
            calls.append(today)
            if len(calls) == 1:
                raise DatabaseError("Databasen svarar inte.")
            return work(today)

        monkeypatch.setattr(service.jobs, "_reminders", once_away)
        service._run_job("reminders", "0830")  # logged, as under the scheduler
        assert smtp_server.received == []
        [claim] = _claims(service)
        assert claim.finished_at is None

        assert service.catch_up() == ["reminders@0830"]

        assert _recipients(smtp_server) == ["anna@testby.se", "chef@testby.se"]
        [claim] = _claims(service)
        assert claim.finished_at is not None
        assert service.catch_up() == []  # finished: not made a third time
    assert len(calls) == 2


def test_a_run_whose_process_stopped_is_made_again_once_its_lease_is_over(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = overdue_workspace(workspace, smtp_server)
    day = WHEN.astimezone(STOCKHOLM).date()
    with service_at(ws, WHEN) as service:
        assert service.sessions is not None
        with service.sessions() as session, session.begin():
            session.add(
                JobClaim(job="reminders@0830", day=day, claimed_by="värd-2:4711", claimed_at=WHEN)
            )  # claimed by a process that was killed before it finished
    soon = WHEN + RULE_LEASE - timedelta(minutes=1)
    with service_at(ws, soon) as service:  # it may still be at work: left alone
        assert service.catch_up() == []
        assert service.jobs is not None
        assert not service.jobs.run("reminders", slot="0830").ran
    assert smtp_server.received == []
    later = WHEN + RULE_LEASE + timedelta(minutes=1)
    with service_at(ws, later) as service:
        assert service.catch_up() == ["reminders@0830"]
        [claim] = _claims(service)
    assert _recipients(smtp_server) == ["anna@testby.se", "chef@testby.se"]
    assert claim.claimed_by != "värd-2:4711" and claim.finished_at is not None


def test_a_finished_run_and_one_never_begun_are_not_made_by_the_catch_up(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    """The catch-up makes again only what was begun: a job whose time passed while no
    process ran keeps the scheduler's misfire rule (it is not made hours late)."""
    ws = overdue_workspace(workspace, smtp_server)
    with service_at(ws, WHEN) as service:
        assert service.jobs is not None
        assert service.jobs.run("reminders", slot="0830").ran
    sent = len(smtp_server.received)
    with service_at(ws, WHEN + 2 * RULE_LEASE) as service:
        assert service.catch_up() == []
        assert [c.job for c in _claims(service)] == ["reminders@0830"]
    assert len(smtp_server.received) == sent


def test_the_head_digest_counts_from_the_last_digest_that_went(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    """Yesterday's digest was claimed and never went (its process stopped, the day ended):
    today's covers the cases since the one before, not since yesterday's claim."""
    ws = overdue_workspace(workspace, smtp_server)  # a complaint registered 16 November
    with service_at(ws, at(2026, 11, 24, 9)) as service:
        assert service.sessions is not None
        with service.sessions() as session, session.begin():
            for day, finished in ((13, True), (23, False)):
                claimed = at(2026, 11, day, 9)
                session.add(
                    JobClaim(
                        job="head-digest",
                        day=claimed.date(),
                        claimed_by="värd-2:4711",
                        claimed_at=claimed,
                        finished_at=claimed if finished else None,
                    )
                )
        assert service.jobs is not None
        planned = service.jobs._head_digest(at(2026, 11, 24, 9))
    assert planned, "the complaint of 16 November is in no digest that went"


def test_a_run_stopped_by_an_interrupt_lets_its_claim_go(
    workspace: Workspace, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = overdue_workspace(workspace, smtp_server)
    with service_at(ws, WHEN) as service:
        assert service.jobs is not None

        def interrupted(today):
            raise KeyboardInterrupt

        monkeypatch.setattr(service.jobs, "_reminders", interrupted)
        with pytest.raises(KeyboardInterrupt):
            service.jobs.run("reminders", slot="0830")
        [claim] = _claims(service)
        assert claim.finished_at is None and claim.claimed_at < WHEN - RULE_LEASE
        assert service.jobs.unfinished(WHEN.date()) == {"reminders@0830"}
