"""Mailbox leases: one holder at a time, renewed while working, run out when not, taken
over from a process that is gone; and the intake leaving a held mailbox to its holder."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from postvakt.clock import Clock
from postvakt.registry.db import open_database, session_factory
from postvakt.registry.leases import Held, Lease, acquire, holder_is_gone, release, renew
from postvakt.registry.models import Disposition, MailboxLease, MessageRecord, Unit
from postvakt.registry.models import Mailbox as MailboxRow
from postvakt.service import Service
from tests.support.workspace import Workspace, citizen_mail, make_workspace

COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat.\n\nKarin Ek\n"
OTHER_HOST = "en-annan-server:4242:0badc0de"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = open_database(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def mailbox_id(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        unit = Unit(name="Kontaktcenter", head="chef@testby.se")
        box = MailboxRow(address="kontakt@testby.se", kind="function", connector="maildir")
        box.unit = unit
        session.add(box)
        session.flush()
        return box.id


def take(sessions: sessionmaker[Session], mailbox_id: int, holder: str, now: datetime):
    with sessions.begin() as session:
        return acquire(session, mailbox_id, holder, now=now, seconds=300)


def test_one_holder_at_a_time_until_released(
    sessions: sessionmaker[Session], mailbox_id: int, now: datetime
) -> None:
    first = take(sessions, mailbox_id, "värd:1:a", now)
    assert isinstance(first, Lease) and first.expires_at == now + timedelta(seconds=300)
    second = take(sessions, mailbox_id, "värd:2:b", now + timedelta(seconds=10))
    assert isinstance(second, Held)
    assert second.holder == "värd:1:a" and second.expires_at == now + timedelta(seconds=300)
    # The holder itself may take it again (a pass placing its own drafts).
    assert isinstance(take(sessions, mailbox_id, "värd:1:a", now + timedelta(seconds=20)), Lease)
    with sessions.begin() as session:
        release(session, Lease(mailbox_id, "värd:2:b", 300, now, now, now))  # not theirs
    assert isinstance(take(sessions, mailbox_id, "värd:2:b", now + timedelta(seconds=30)), Held)
    with sessions.begin() as session:
        release(session, first)
    assert isinstance(take(sessions, mailbox_id, "värd:2:b", now + timedelta(seconds=40)), Lease)


def test_a_lease_that_is_not_renewed_runs_out_and_is_taken_over(
    sessions: sessionmaker[Session], mailbox_id: int, now: datetime
) -> None:
    lease = take(sessions, mailbox_id, OTHER_HOST, now)
    assert isinstance(lease, Lease)
    assert not lease.due(now + timedelta(seconds=149))
    assert lease.due(now + timedelta(seconds=150))
    later = now + timedelta(seconds=200)
    with sessions.begin() as session:
        assert renew(session, lease, now=later)
    assert lease.expires_at == later + timedelta(seconds=300)
    # Renewed: still held just before its new end, free just after.
    assert isinstance(take(sessions, mailbox_id, "värd:2:b", later + timedelta(seconds=299)), Held)
    taken = take(sessions, mailbox_id, "värd:2:b", later + timedelta(seconds=301))
    assert isinstance(taken, Lease) and taken.holder == "värd:2:b"
    # The old holder learns on its next renewal that the mailbox is no longer its own.
    with sessions.begin() as session:
        assert not renew(session, lease, now=later + timedelta(seconds=302))
    with sessions.begin() as session:
        row = session.get_one(MailboxLease, mailbox_id)
        assert row.holder == "värd:2:b"


def test_the_lease_of_a_process_of_this_host_that_is_gone_is_taken_at_once(
    sessions: sessionmaker[Session], mailbox_id: int, now: datetime
) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    gone = f"{socket.gethostname()}:{ended.stdout.strip()}:feedface"
    assert holder_is_gone(gone)
    assert not holder_is_gone(OTHER_HOST)  # another host's process cannot be checked
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        running = f"{socket.gethostname()}:{alive.pid}:cafebabe"
        assert not holder_is_gone(running)
        assert isinstance(take(sessions, mailbox_id, running, now), Lease)
        assert isinstance(take(sessions, mailbox_id, "värd:2:b", now), Held)
    finally:
        alive.kill()
        alive.wait()
    taken = take(sessions, mailbox_id, "värd:2:b", now + timedelta(seconds=1))
    assert isinstance(taken, Lease), "the holder's process has ended: its lease is over"


def test_many_taking_at_once_give_the_lease_to_exactly_one(
    sessions: sessionmaker[Session], mailbox_id: int, now: datetime
) -> None:
    for round_ in range(10):
        barrier = threading.Barrier(4)
        got: list[object] = []

        def contend(
            i: int, round_: int = round_, barrier: threading.Barrier = barrier, got: list = got
        ) -> None:
            barrier.wait()
            got.append(take(sessions, mailbox_id, f"{OTHER_HOST}-{round_}-{i}", now))

        threads = [threading.Thread(target=contend, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        leases = [g for g in got if isinstance(g, Lease)]
        assert len(got) == 4 and len(leases) == 1, got
        with sessions.begin() as session:
            assert session.scalars(select(MailboxLease.holder)).one() == leases[0].holder
            release(session, leases[0])


# ----------------------------------------------------------------------- the intake


class MovableClock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def workspace_on(db_url: str, tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws", db_url)


def hold(service: Service, address: str, holder: str, until: datetime, now: datetime) -> None:
    assert service.sessions is not None
    with service.sessions.begin() as session:
        box = session.scalars(select(MailboxRow).where(MailboxRow.address == address)).one()
        session.add(
            MailboxLease(mailbox_id=box.id, holder=holder, acquired_at=now, expires_at=until)
        )


def records(service: Service) -> dict[str, Disposition]:
    assert service.sessions is not None
    with service.sessions() as session:
        return {r.message_key: r.disposition for r in session.scalars(select(MessageRecord))}


def test_a_mailbox_another_process_holds_is_skipped_then_taken_when_its_lease_runs_out(
    workspace_on: Workspace, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="postvakt")
    clock: Clock = MovableClock(now)
    workspace_on.deliver(citizen_mail(COMPLAINT, message_id="<k1@example.net>"), name="k1")
    workspace_on.deliver(
        citizen_mail(COMPLAINT, to="anna@testby.se", message_id="<a1@example.net>"),
        who="anna",
        name="a1",
    )
    with Service(workspace_on.config, clock=clock).open() as service:
        hold(service, "kontakt@testby.se", OTHER_HOST, now + timedelta(seconds=120), now)
        report = service.run_once()
        assert not report.errors
        (skipped,) = report.skipped
        assert skipped.startswith("kontakt@testby.se: läses just nu av en annan Postvakt-process")
        assert OTHER_HOST in skipped and "högst 120 s" in skipped
        # The log names the mailbox by its number, never by its address (above DEBUG).
        (held,) = [r for r in caplog.records if "is held by" in r.getMessage()]
        assert "testby.se" not in held.getMessage() and "mailbox " in held.getMessage()
        assert records(service) == {"a1": Disposition.CASE}  # the other mailbox was read
        assert len(workspace_on.drafts("kontakt")) == 0 and len(workspace_on.drafts("anna")) == 1

        clock.at = now + timedelta(seconds=121)  # the holder never renewed: it is gone
        report = service.run_once()
        assert not report.errors and not report.skipped
        assert records(service) == {"a1": Disposition.CASE, "k1": Disposition.CASE}
        assert len(workspace_on.drafts("kontakt")) == 1
        with service.sessions() as session:  # type: ignore[misc]
            assert session.scalars(select(MailboxLease)).all() == []  # released after the pass


def test_drafts_of_a_held_mailbox_wait_for_their_holder(
    workspace_on: Workspace, now: datetime
) -> None:
    clock: Clock = MovableClock(now)
    with Service(workspace_on.config, clock=clock).open() as service:
        assert service.intake is not None
        workspace_on.deliver(citizen_mail(COMPLAINT, message_id="<k1@example.net>"), name="k1")
        connector = service.connectors["kontakt@testby.se"]
        # The message's transaction writes its draft to the outbox; placing it comes after.
        assert service.sessions is not None
        with service.sessions() as session:
            box_id = session.scalars(
                select(MailboxRow.id).where(MailboxRow.address == connector.address)
            ).one()
            session.rollback()  # process() runs its own transaction
            (fetched,) = connector.fetch_new("INBOX", None, lambda _key: False)
            outcome = service.intake.process(session, box_id, fetched)
        assert outcome.disposition is Disposition.CASE and workspace_on.drafts("kontakt") == []

        hold(service, "kontakt@testby.se", OTHER_HOST, now + timedelta(seconds=60), now)
        report = service.intake.deliver_drafts(connector)
        assert report.drafts_saved == [] and not report.errors and len(report.skipped) == 1
        assert workspace_on.drafts("kontakt") == []
        clock.at = now + timedelta(seconds=61)
        report = service.intake.deliver_drafts(connector)
        assert len(report.drafts_saved) == 1 and not report.skipped
        assert len(workspace_on.drafts("kontakt")) == 1


def test_a_turn_renews_its_lease_as_work_goes_on_and_stops_when_it_is_lost(
    workspace_on: Workspace, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    from postvakt.intake.turns import LeaseLost, Turn, mailbox_turn

    clock = MovableClock(now)
    with Service(workspace_on.config, clock=clock).open() as service:
        assert service.intake is not None and service.sessions is not None
        with service.sessions() as session:
            box = session.scalars(
                select(MailboxRow.id).where(MailboxRow.address == "kontakt@testby.se")
            ).one()
            session.rollback()
            with mailbox_turn(service.intake, session, box, "kontakt@testby.se") as turn:
                assert isinstance(turn, Turn)
                assert turn.lease.expires_at == now + timedelta(seconds=300)
                clock.at = now + timedelta(seconds=100)
                turn.keep()  # not yet half the lease time: nothing to do
                assert turn.lease.expires_at == now + timedelta(seconds=300)
                clock.at = now + timedelta(seconds=160)
                turn.keep()
                assert turn.lease.expires_at == now + timedelta(seconds=460)
                with service.sessions.begin() as other:  # the row as others see it
                    row = other.get_one(MailboxLease, box)
                    assert row.expires_at == now + timedelta(seconds=460)
                    row.holder = OTHER_HOST  # taken over (as after a long stall)
                with pytest.raises(LeaseLost, match="en annan Postvakt-process tog över"):
                    turn.keep(check=True)
                (lost,) = [r for r in caplog.records if "ran out" in r.getMessage()]
                assert lost.getMessage().startswith(f"the lease on mailbox {box} ran out")
            with service.sessions() as other:  # not released: it is no longer this one's
                assert other.get_one(MailboxLease, box).holder == OTHER_HOST


def test_a_case_command_tells_when_its_draft_waits_for_the_process_that_holds_the_mailbox(
    workspace_on: Workspace, now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    from postvakt.cli import main

    clock: Clock = MovableClock(now)
    with Service(workspace_on.config, clock=clock).open() as service:
        hold(service, "kontakt@testby.se", OTHER_HOST, now + timedelta(seconds=300), now)
    command = [
        "--config",
        str(workspace_on.config_path),
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
        "lisa@example.net",
        "--by",
        "anna@testby.se",
    ]
    assert main(command, clock=clock) == 0
    out = capsys.readouterr().out
    assert "Utkast väntar: kontakt@testby.se: läses just nu av en annan Postvakt-process" in out
    assert workspace_on.drafts("kontakt") == []  # left to the holder, not placed twice
