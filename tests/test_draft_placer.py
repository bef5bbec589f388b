"""The draft placer (:mod:`postvakt.intake.placer`): a pass of several batches appends the
drafts of its committed batches on a second connection while it reads on; every draft ends
in Drafts exactly once, whatever the placer meets (a refused connection, a short lease, a
crash between its append and the note of it)."""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from postvakt.clock import Clock
from postvakt.config import load_config
from postvakt.errors import DatabaseError, DatabaseLockedError, UnavailableError
from postvakt.intake import Intake
from postvakt.intake import batch as batch_module
from postvakt.intake import placer as placer_module
from postvakt.intake.batch import run_folder
from postvakt.intake.drafts import DRAFT_BATCH, deliver_drafts
from postvakt.intake.placer import PLACER_CONNECTIONS, DraftPlacer
from postvakt.intake.report import PassReport
from postvakt.intake.turns import Turn, mailbox_turn
from postvakt.mailbox.base import DraftReply
from postvakt.mailbox.imap import ImapConnector
from postvakt.mailbox.imap_lean import LeanIMAPClient
from postvakt.registry.models import Case, Draft, DraftStatus, Mailbox
from postvakt.service import Service
from tests.support.dovecot import MASTER_ENV, DovecotServer, write_config
from tests.support.memory_connector import MemoryConnector
from tests.support.workspace import citizen_mail, make_workspace
from tests.test_intake import COMPLAINT


@dataclass
class CompanionConnector(MemoryConnector):
    """A :class:`MemoryConnector` with companions that share its Drafts and note their
    appends; ``refuse_companions`` makes a companion's appends fail as a full server would."""

    companions: list[CompanionConnector] = field(default_factory=list)
    appended: list[str] = field(default_factory=list)
    refuse: bool = False
    refuse_companions: bool = False
    sent_folder: bool = False
    """An empty Sent folder after INBOX (a pass reads it after the inbox's batches)."""
    meet: threading.Barrier | None = None
    """Each append waits there for another's."""
    companions_meet: threading.Barrier | None = None
    """The companions' :attr:`meet`."""

    def folders(self, role: Any) -> list[str]:
        if role == "sent":
            return ["Sent"] if self.sent_folder else []
        return super().folders(role)

    def fetch_new(self, folder: str, state: Any, is_known: Any) -> Any:
        return iter(()) if folder == "Sent" else super().fetch_new(folder, state, is_known)

    def companion(self) -> CompanionConnector:
        other = CompanionConnector(self.address, messages=self.messages, drafts=self.drafts)
        other.refuse, other.meet = self.refuse_companions, self.companions_meet
        self.companions.append(other)
        return other

    @property
    def by_companions(self) -> list[str]:
        """The Message-IDs its companions appended, all of them."""
        return [m for c in self.companions for m in c.appended]

    def save_drafts(self, drafts: Any) -> list[str]:
        if self.meet is not None:
            self.meet.wait()  # both appends under way at once, or BrokenBarrierError
        if self.refuse:
            raise UnavailableError("servern tar inte emot fler anslutningar", mailbox=self.address)
        self.appended += [d.message_id for d in drafts if d.message_id not in self.drafts]
        return super().save_drafts(drafts)


def _fill(connector: MemoryConnector, count: int) -> None:
    for n in range(count):
        connector.add(citizen_mail(f"{COMPLAINT}\n{n}", message_id=f"<p{n}@example.net>"))


def _drafts(service: Service) -> list[Draft]:
    assert service.sessions is not None
    with service.sessions() as session:
        return list(session.scalars(select(Draft).order_by(Draft.id)))


def _pass_of_25(
    connector: CompanionConnector, helpers: int, db_url: str, tmp_path: Path, clock: Clock
) -> tuple[PassReport, list[Draft]]:
    """One pass over 25 new complaints in batches of 10, with ``helpers`` helper processes:
    its report and the drafts it made."""
    ws = make_workspace(tmp_path / "ws", db_url)
    text = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(text + f"\n[service]\nprepare_processes = {helpers}\n")
    _fill(connector, 25)
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None
        intake = Intake(service.config, service.sessions, clock=clock, batch_size=10)
        try:
            report = intake.run_mailbox(connector)
        finally:
            intake.close()
        return report, _drafts(service)


@pytest.mark.parametrize(
    ("helpers", "by_companion", "by_pass"),
    # Without the helper process a full batch runs at once: the drafts of the first two
    # batches of 10 go on the companion as the next batch begins; the last 5 the pass places.
    # With it, a batch runs when the next is full (the helper parses that one meanwhile): the
    # first batch's drafts go on the companion as the third begins; the second and the third
    # run at the folder's end, and the pass places their 15.
    [(0, 20, 5), (1, 10, 15)],
    ids=["alone", "with-helper"],
)
def test_the_drafts_of_committed_batches_go_on_the_companion_while_the_pass_reads_on(
    helpers: int, by_companion: int, by_pass: int, db_url: str, tmp_path: Path, clock: Clock
) -> None:
    connector = CompanionConnector("kontakt@testby.se")
    report, drafts = _pass_of_25(connector, helpers, db_url, tmp_path, clock)
    assert len(drafts) == 25 and {d.status for d in drafts} == {DraftStatus.SAVED}
    assert len(connector.companions) == PLACER_CONNECTIONS
    assert len(connector.by_companions) == by_companion
    assert len(connector.appended) == by_pass
    appended = connector.by_companions + connector.appended
    assert Counter(appended) == Counter(d.message_id for d in drafts)  # each once
    assert sorted(connector.drafts) == sorted(d.message_id for d in drafts)
    assert len(report.drafts_saved) == 25 and not report.errors
    assert all(d.location for d in drafts)


def test_the_placer_appends_on_two_connections_at_once(
    db_url: str, tmp_path: Path, clock: Clock
) -> None:
    """Each companion's append waits until the other's is under way too: the pass ends
    with every draft placed once only if the two appended at the same time (a placer that
    took its appends one after the other would break the barrier and leave them to the
    pass)."""
    assert PLACER_CONNECTIONS == 2
    meet = threading.Barrier(2, timeout=20)
    connector = CompanionConnector("kontakt@testby.se", companions_meet=meet)
    report, drafts = _pass_of_25(connector, 0, db_url, tmp_path, clock)
    assert not meet.broken
    assert [len(c.appended) for c in connector.companions] == [10, 10]
    assert Counter(connector.by_companions + connector.appended) == Counter(
        d.message_id for d in drafts
    )
    assert len(drafts) == 25 and {d.status for d in drafts} == {DraftStatus.SAVED}
    assert not report.errors and len(report.drafts_saved) == 25


def test_a_long_pass_notes_the_placed_drafts_as_it_goes(
    db_url: str, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drafts the placer appended are noted at the next hand-over, in its transaction, not
    only when the pass ends: while a long pass goes on, they no longer count as to be placed
    (``postvakt status``).  Each hand-over here waits until the placer has appended what it
    was handed, so that the third batch begins with the first batch's drafts noted."""
    nudge, run_batch = DraftPlacer.nudge, batch_module.run_batch

    def after_the_appends(placer: DraftPlacer) -> None:
        deadline = time.monotonic() + 30
        while len(placer._placed) + len(placer._noted.drafts_saved) < placer.handed_over:
            assert time.monotonic() < deadline, "the placer did not append what it was handed"
            time.sleep(0.01)
        nudge(placer)

    saved_when_a_batch_began: list[int] = []

    def counting(intake: Intake, *args: Any, **kwargs: Any) -> Any:
        with intake.sessions() as session:
            saved = select(func.count()).select_from(Draft).where(Draft.status == DraftStatus.SAVED)
            saved_when_a_batch_began.append(session.scalar(saved) or 0)
        return run_batch(intake, *args, **kwargs)

    monkeypatch.setattr(DraftPlacer, "nudge", after_the_appends)
    monkeypatch.setattr(batch_module, "run_batch", counting)
    connector = CompanionConnector("kontakt@testby.se")
    report, drafts = _pass_of_25(connector, 0, db_url, tmp_path, clock)
    # Batches of 10, 10 and 5: the first batch's drafts are handed over as the second's
    # messages come, and noted as the third's do.
    assert saved_when_a_batch_began == [0, 0, 10]
    assert {d.status for d in drafts} == {DraftStatus.SAVED} and len(drafts) == 25
    assert len(report.drafts_saved) == 25 and len(connector.by_companions) == 20


def test_a_pass_of_one_batch_starts_no_placer(db_url: str, tmp_path: Path, clock: Clock) -> None:
    ws = make_workspace(tmp_path / "ws", db_url)
    connector = CompanionConnector("kontakt@testby.se")
    _fill(connector, 10)
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None
        Intake(service.config, service.sessions, clock=clock, batch_size=10).run_mailbox(connector)
        assert len(_drafts(service)) == 10
    assert connector.companions == [] and len(connector.appended) == 10


def test_a_companion_the_server_refuses_leaves_its_drafts_to_the_pass(
    db_url: str, tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused companion (the server's connection limit) costs nothing: no error in the
    report, every draft placed once, by the pass; the placer says once that it stopped (not
    once per connection)."""
    caplog.set_level(logging.INFO, logger="postvakt.intake")
    ws = make_workspace(tmp_path / "ws", db_url)
    connector = CompanionConnector("kontakt@testby.se")
    _fill(connector, 25)
    connector.refuse_companions = True
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None
        intake = Intake(service.config, service.sessions, clock=clock, batch_size=10)
        report = intake.run_mailbox(connector)
        drafts = _drafts(service)
    assert len(connector.companions) == PLACER_CONNECTIONS and connector.by_companions == []
    stopped = [r for r in caplog.records if "draft placer" in r.getMessage()]
    assert [r.getMessage() for r in stopped] == [
        "draft placer of mailbox 1 stopped (UnavailableError); the pass places the rest"
    ]
    assert {d.status for d in drafts} == {DraftStatus.SAVED} and len(drafts) == 25
    assert Counter(connector.appended) == Counter(d.message_id for d in drafts)
    assert not report.errors and len(report.drafts_saved) == 25


def test_the_placer_appends_only_while_half_the_lease_is_left(
    db_url: str, tmp_path: Path, clock: Clock
) -> None:
    ws = make_workspace(tmp_path / "ws", db_url)
    connector = CompanionConnector("kontakt@testby.se")
    _fill(connector, 12)
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None
        intake = Intake(service.config, service.sessions, clock=clock, batch_size=100)
        intake.run_mailbox(connector)  # one batch: twelve pending drafts, no placer
        with service.sessions() as session:
            session.execute(Draft.__table__.update().values(status=DraftStatus.PENDING))
            session.commit()
            mailbox_id = session.scalars(
                select(Mailbox.id).where(Mailbox.address == connector.address)
            ).one()
        connector.drafts.clear()
        with (
            service.sessions() as session,
            mailbox_turn(intake, session, mailbox_id, connector.address) as turn,
        ):
            assert isinstance(turn, Turn)
            turn.lease.expires_at = intake.now() + timedelta(seconds=turn.lease.seconds / 2 - 1)
            placer = DraftPlacer(intake, session, connector, turn, mailbox_id)
            placer.nudge()
            report = placer.stop()
            assert placer.handed_over == 12 and placer.stopped_by == "lease"
            assert report.drafts_saved == [] and connector.drafts == {}
            turn.lease.expires_at = intake.now() + timedelta(seconds=turn.lease.seconds)
            placer = DraftPlacer(intake, session, connector, turn, mailbox_id)
            placer.nudge()
            assert len(placer.stop().drafts_saved) == 12 and placer.stopped_by is None
    assert len(connector.drafts) == 12


# -- on Dovecot ---------------------------------------------------------------------------


def _drafts_in_dovecot(server: DovecotServer, user: str) -> Counter[str]:
    return Counter(str(head["Message-ID"]).strip("<> ") for head in server.headers_in(user))


@pytest.fixture
def mailbox(dovecot: DovecotServer, tmp_path: Path, db_url: str) -> Iterator[tuple[str, Path]]:
    user = dovecot.add_user()
    path = write_config(tmp_path, dovecot, user)
    text = path.read_text(encoding="utf-8").replace(
        'url = "sqlite:///postvakt.db"', f'url = "{db_url}"'
    )
    path.write_text(text + "\n[service]\nbatch_size = 20\n", encoding="utf-8")
    yield user, path


def test_on_dovecot_every_draft_is_in_drafts_once_and_the_placer_placed_most(
    dovecot: DovecotServer, mailbox: tuple[str, Path], clock: Clock
) -> None:
    user, path = mailbox
    for n in range(70):
        dovecot.deliver(user, citizen_mail(f"{COMPLAINT}\n{n}", to=dovecot.address(user)))
    environ = {MASTER_ENV: dovecot.master_password}
    with Service(load_config(path), clock=clock, environ=environ).open() as service:
        connector = service.connectors[dovecot.address(user)]
        assert isinstance(connector, ImapConnector)
        companions: list[ImapConnector] = []
        handed: list[int] = []
        original = connector.companion

        def noting() -> ImapConnector:
            other = original()
            save = other.save_drafts

            def counting(drafts: Sequence[DraftReply]) -> list[str]:
                handed.append(len(drafts))
                return save(drafts)

            other.save_drafts = counting  # type: ignore[method-assign]
            companions.append(other)
            return other

        connector.companion = noting  # type: ignore[method-assign]
        report = service.run_mailbox(dovecot.address(user))
        drafts = _drafts(service)
        assert service.sessions is not None
        with service.sessions() as session:
            cases = session.scalar(select(func.count()).select_from(Case))
    assert cases == 70 and len(drafts) == 70 and not report.errors
    assert {d.status for d in drafts} == {DraftStatus.SAVED}
    assert _drafts_in_dovecot(dovecot, user) == Counter({d.message_id: 1 for d in drafts})
    # The placer's connections log in when first used, once each.
    assert len(companions) == PLACER_CONNECTIONS and {c.logins for c in companions} <= {0, 1}
    # Batches of 20, each run when the next is full: the drafts of the first two went to the
    # placer as the batch after them began; the last two batches (20 + 10) the pass placed.
    assert sorted(handed) == [20, 20]
    assert all(d.location and d.location.startswith("Drafts/") for d in drafts)


def test_on_dovecot_drafts_appended_but_not_noted_are_not_appended_again(
    dovecot: DovecotServer, mailbox: tuple[str, Path], clock: Clock
) -> None:
    """The process dies between the placer's append and the note of it: the drafts are
    still pending; the next placing finds them in Drafts and appends nothing twice."""
    user, path = mailbox
    for n in range(15):
        dovecot.deliver(user, citizen_mail(f"{COMPLAINT}\n{n}", to=dovecot.address(user)))
    environ = {MASTER_ENV: dovecot.master_password}
    with Service(load_config(path), clock=clock, environ=environ).open() as service:
        assert service.sessions is not None and service.intake is not None
        intake = service.intake
        connector = service.connectors[dovecot.address(user)]
        with service.sessions() as session:
            mailbox_id = session.scalars(
                select(Mailbox.id).where(Mailbox.address == connector.address)
            ).one()
        # The folder read without placing drafts: fifteen committed, pending drafts.
        with (
            service.sessions() as session,
            mailbox_turn(intake, session, mailbox_id, connector.address) as turn,
        ):
            run_folder(intake, session, connector, mailbox_id, "INBOX", "inbox", PassReport())
            placer = DraftPlacer(intake, session, connector, turn, mailbox_id)
            placer.nudge()
            assert len(placer._threads) == PLACER_CONNECTIONS
            placer._join()  # the placer appends, then "the process dies": nothing is noted
            assert len(placer._placed) == 15
        assert {d.status for d in _drafts(service)} == {DraftStatus.PENDING}
        assert sum(_drafts_in_dovecot(dovecot, user).values()) == 15
        report = deliver_drafts(intake, connector)
        drafts = _drafts(service)
    assert len(report.drafts_saved) == 15 and not report.errors
    assert {d.status for d in drafts} == {DraftStatus.SAVED}
    assert _drafts_in_dovecot(dovecot, user) == Counter({d.message_id: 1 for d in drafts})


def test_a_multiappend_goes_out_in_one_write_where_the_server_takes_literal_plus(
    dovecot: DovecotServer,
) -> None:
    """Every write lets another thread take the interpreter: a MULTIAPPEND of ten drafts
    is one write (imapclient's own way is one per word and literal), and arrives whole."""
    user = dovecot.add_user()
    client = LeanIMAPClient("127.0.0.1", port=dovecot.imap_port, ssl=False)
    client.login(f"{user}*{dovecot.master_user}", dovecot.master_password)
    assert client.has_capability("LITERAL+")
    writes: list[int] = []
    sock: socket.socket = client._imap.sock
    real = sock.sendall

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(sock, name)

        def sendall(self, data: bytes) -> None:
            writes.append(len(data))
            real(data)

    client._imap.sock = Counting()
    bodies = [
        f"From: a@example.net\r\nSubject: utkast {n}\r\n\r\nåäö {n}\r\n".encode() for n in range(10)
    ]
    try:
        client.multiappend("Drafts", [{"msg": body, "flags": (b"\\Draft",)} for body in bodies])
        client._imap.sock = sock
        client.select_folder("Drafts", readonly=True)
        stored = client.fetch(client.search(["ALL"]), [b"BODY.PEEK[]"])
    finally:
        client._imap.sock = sock
        client.logout()
    assert len(writes) == 1
    assert sorted(item[b"BODY[]"] for item in stored.values()) == sorted(bodies)


def test_a_locked_database_after_the_placer_ran_is_reported_as_such(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass stops on a locked database in a read outside a transaction of its own (the
    Sent folder's state: another process holds SQLite's write lock) after the placer placed
    drafts: the placer's drafts are noted and the error goes on as it was, not as "a
    transaction is already begun" (an unexpected error, with the drafts not noted)."""
    db = tmp_path / "postvakt.db"
    ws = make_workspace(tmp_path / "ws", f"sqlite:///{db}")
    text = ws.config_path.read_text(encoding="utf-8").replace(
        f'url = "sqlite:///{db}"', f'url = "sqlite:///{db}"\nbusy_timeout_seconds = 0.5'
    )
    ws.config_path.write_text(text + "\n[service]\nprepare_processes = 0\n", encoding="utf-8")
    connector = CompanionConnector("kontakt@testby.se", sent_folder=True)
    _fill(connector, 25)
    read_state = batch_module.load_state

    def locked_for_sent(session: Any, mailbox_id: int, folder: str) -> Any:
        if folder != "Sent":
            return read_state(session, mailbox_id, folder)
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            return read_state(session, mailbox_id, folder)
        finally:
            other.execute("ROLLBACK")
            other.close()

    monkeypatch.setattr(batch_module, "load_state", locked_for_sent)
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None
        intake = Intake(service.config, service.sessions, clock=clock, batch_size=10)
        try:
            with pytest.raises(DatabaseLockedError):
                intake.run_mailbox(connector)
        finally:
            intake.close()
        drafts = _drafts(service)
    placed = connector.by_companions
    assert len(placed) == 20  # the first two batches', on the companion
    assert sorted(d.message_id for d in drafts if d.status is DraftStatus.SAVED) == sorted(placed)


def test_a_withdrawn_cases_draft_placed_but_not_noted_is_taken_out_of_drafts(
    db_url: str, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The placer appended a batch's drafts, but the note of it failed (a commit that fails
    after the append; a crash is the same): they are in Drafts and pending.  A case among
    them is withdrawn: its draft, perhaps in Drafts, is looked for there and taken out in
    the next pass (it was marked never placed, and stayed in Drafts for good, where a person
    could send it).  A pending draft that was never placed is looked for in vain and ends
    removed with nothing to say."""
    ws = make_workspace(tmp_path / "ws", db_url)
    text = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(text + "\n[service]\nprepare_processes = 0\n", encoding="utf-8")
    connector = CompanionConnector("kontakt@testby.se")
    _fill(connector, 25)

    def note_fails(*_args: Any, **_kwargs: Any) -> Any:
        raise DatabaseError("Förbindelsen med databasen bröts.")

    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None and service.corrections is not None
        intake = Intake(service.config, service.sessions, clock=clock, batch_size=10)
        try:
            with monkeypatch.context() as patch:
                patch.setattr(placer_module, "mark_placed", note_fails)
                with pytest.raises(DatabaseError):
                    intake.run_mailbox(connector)
            appended = connector.by_companions
            # The first note fails, and the pass with it: at the second hand-over, if the
            # placer had appended the first batch's drafts by then (the second batch's are not
            # handed over, the third batch is left for the next pass), or when the pass stops
            # the placer, after it appended both batches' drafts.
            assert len(appended) in (10, 20) and set(appended) <= set(connector.drafts)
            drafts = _drafts(service)
            pending = [d for d in drafts if d.status is DraftStatus.PENDING]
            assert (len(appended), len(drafts)) in ((10, 20), (20, 25))
            assert len(pending) == len(drafts)  # none noted
            placed = next(d for d in pending if d.message_id == appended[0])
            never = next(d for d in pending if d.message_id not in connector.drafts)
            with service.sessions() as session:
                withdrawn = [
                    session.get(Case, d.case_id).reference  # type: ignore[union-attr]
                    for d in (placed, never)
                ]
            for reference in withdrawn:
                service.corrections.withdraw(
                    reference, reason="Dubblett", by="registrator@testby.se"
                )
            report = intake.run_mailbox(connector)
        finally:
            intake.close()
        after = {d.message_id: d for d in _drafts(service)}
    assert placed.message_id not in connector.drafts  # taken out
    assert never.message_id not in connector.drafts  # and never put there
    assert (after[placed.message_id].status, after[placed.message_id].last_error) == (
        DraftStatus.REMOVED,
        None,
    )
    assert (after[never.message_id].status, after[never.message_id].last_error) == (
        DraftStatus.REMOVED,
        None,
    )
    assert [ref for ref, _where in report.drafts_removed] == [withdrawn[0]]
    others = [d for m, d in after.items() if m not in (placed.message_id, never.message_id)]
    assert {d.status for d in others} == {DraftStatus.SAVED}
    assert sorted(connector.drafts) == sorted(d.message_id for d in others)


def test_a_backlog_goes_on_the_companion_in_appends_of_at_most_a_draft_batch(
    tmp_path: Path, clock: Clock
) -> None:
    """Drafts a refusing server left pending are handed to the next pass's placer with its
    first batch's: in appends of at most ``DRAFT_BATCH``, the lease looked at before each
    (one append of all of them could outlast it), every draft once."""
    ws = make_workspace(tmp_path / "ws", f"sqlite:///{tmp_path / 'postvakt.db'}")
    text = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(text + "\n[service]\nprepare_processes = 0\n", encoding="utf-8")
    connector = CompanionConnector("kontakt@testby.se")
    sizes: list[int] = []
    companion = connector.companion

    def noting() -> CompanionConnector:
        other = companion()
        save = other.save_drafts

        def save_drafts(drafts: Any) -> list[str]:
            sizes.append(len(drafts))
            return save(drafts)

        other.save_drafts = save_drafts  # type: ignore[method-assign]
        return other

    connector.companion = noting  # type: ignore[method-assign]
    _fill(connector, 120)
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None
        intake = Intake(service.config, service.sessions, clock=clock, batch_size=200)
        try:
            connector.refuse = True  # the server refuses drafts this pass: 120 stay pending
            intake.run_mailbox(connector)
            connector.refuse = False
            for n in range(120, 145):
                connector.add(citizen_mail(f"{COMPLAINT}\n{n}", message_id=f"<p{n}@example.net>"))
            intake.batch_size = 10
            intake.run_mailbox(connector)
        finally:
            intake.close()
        drafts = _drafts(service)
    assert sizes and max(sizes) <= DRAFT_BATCH and sum(sizes) >= 120
    assert len(drafts) == 145 and {d.status for d in drafts} == {DraftStatus.SAVED}
    assert sorted(connector.drafts) == sorted(d.message_id for d in drafts)
    appended = connector.appended + [m for c in connector.companions for m in c.appended]
    assert Counter(appended) == Counter(d.message_id for d in drafts)  # each once
