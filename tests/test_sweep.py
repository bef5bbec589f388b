"""Sweeping many mailboxes: a cheap look at each, a full pass only where something is new.

Real Dovecot (the session's server, fresh users per test) and both databases.  Connectors
are real :class:`ImapConnector` objects with a counting layer on top (logins, looks, reads,
how many at once), so the tests see what the sweep did to the server.
"""

from __future__ import annotations

import resource
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from postvakt.clock import STOCKHOLM
from postvakt.config import Config, MailboxConfig, load_config
from postvakt.mailbox.base import Checkpoint, Connector, FetchedMessage
from postvakt.mailbox.imap import ImapConnector
from postvakt.registry.models import Case, Disposition, MessageRecord
from postvakt.registry.passes import last_passes
from postvakt.service import Service
from postvakt.sweep import SQLITE_WRITERS
from tests.support.dovecot import MASTER_ENV, DovecotServer
from tests.support.ports import free_port
from tests.support.workspace import citizen_mail

HEAD = """\
[organisation]
name = "Testby kommun"
diary_prefix = "KS"
domains = ["testby.se"]

[database]
url = "{db_url}"

[service]
pool_size = {pool_size}

[[units]]
name = "Kontaktcenter"
head = "chef@testby.se"

[[people]]
name = "Anna Berg"
address = "anna@testby.se"
unit = "Kontaktcenter"
"""

MAILBOX = """
[[mailboxes]]
address = "{address}"
start_from = 2026-01-01
name = "Brevlåda {index}"
kind = "function"
unit = "Kontaktcenter"
owners = ["anna@testby.se"]
connector = "imap"

[mailboxes.imap]
host = "127.0.0.1"
port = {port}
security = "none"
username = "{user}"
master_user = "{master}"
password_env = "{env}"
"""

WRONG_ENV = "PV_TEST_WRONG_PASSWORD"


@dataclass
class Tally:
    """What the connectors did, counted across threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    busy: Counter[str] = field(default_factory=Counter)
    most: Counter[str] = field(default_factory=Counter)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    overlap: threading.Condition = field(default_factory=threading.Condition)
    wait_for_company: bool = False
    """Hold each login until another is under way (or 5 s passed): the pool's threads are
    then seen working at once without relying on timing."""
    on_probe: Any = None

    working: Counter[str] = field(default_factory=Counter)
    """Per mailbox, its connection's calls under way (a read may log in inside it)."""

    @contextmanager
    def at(self, kind: str, address: str) -> Iterator[None]:
        with self.lock:
            self.busy[kind] += 1
            self.most[kind] = max(self.most[kind], self.busy[kind])
            self.calls[(kind, address)] += 1
            self.working[address] += 1
            at_work = sum(1 for n in self.working.values() if n)
            self.most["connections"] = max(self.most["connections"], at_work)
        with self.overlap:
            self.overlap.notify_all()
        try:
            yield
        finally:
            with self.lock:
                self.busy[kind] -= 1
                self.working[address] -= 1

    def count(self, kind: str) -> int:
        return sum(n for (k, _a), n in self.calls.items() if k == kind)

    def addresses(self, kind: str) -> set[str]:
        return {a for (k, a), n in self.calls.items() if k == kind and n}


class CountingImap(ImapConnector):
    """A real IMAP connector that tells the tally when it logs in, looks and reads."""

    tally: Tally

    def _open(self, *, gated: bool = True) -> Any:
        with self.tally.at("login", self.address):
            if self.tally.wait_for_company:
                with self.tally.overlap:
                    self.tally.overlap.wait_for(lambda: self.tally.busy["login"] >= 2, timeout=5)
            return super()._open(gated=gated)

    def probe(self, folder: str, state: Mapping[str, Any] | None) -> bool:
        if self.tally.on_probe is not None:
            self.tally.on_probe(self.address)
        with self.tally.at("probe", self.address):
            return super().probe(folder, state)

    def fetch_new(
        self, folder: str, state: Mapping[str, Any] | None, is_known: Any
    ) -> Iterator[FetchedMessage | Checkpoint]:
        with self.tally.at("read", self.address):
            yield from super().fetch_new(folder, state, is_known)


def counting_factory(tally: Tally, environ: Mapping[str, str]) -> Any:
    def factory(mailbox: MailboxConfig, _config: Config, _env: Mapping[str, str]) -> Connector:
        settings = mailbox.settings
        connector = CountingImap(mailbox.address, settings, environ.get(settings.password_env, ""))  # type: ignore[union-attr, arg-type]
        connector.tally = tally
        return connector

    return factory


@dataclass
class Site:
    service: Service
    users: list[str]
    tally: Tally
    clock: list[datetime]
    statements: list[str] = field(default_factory=list)

    def address(self, index: int) -> str:
        return self.service.config.mailboxes[index].address

    def record_statements(self) -> None:
        assert self.service.engine is not None
        event.listen(
            self.service.engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_a: self.statements.append(statement),
        )


def build_site(
    tmp_path: Path,
    dovecot: DovecotServer,
    db_url: str,
    users: list[str],
    *,
    pool_size: int = 16,
    broken: dict[int, tuple[int, str]] | None = None,
) -> Site:
    """A service over ``users``' mailboxes; ``broken`` gives a mailbox index another port
    and password variable (a server that is down, a refused login)."""
    text = HEAD.format(db_url=db_url, pool_size=pool_size)
    for index, user in enumerate(users):
        port, env = (broken or {}).get(index, (dovecot.imap_port, MASTER_ENV))
        text += MAILBOX.format(
            address=dovecot.address(user),
            index=index,
            port=port,
            user=user,
            master=dovecot.master_user,
            env=env,
        )
    path = tmp_path / "postvakt.toml"
    path.write_text(text, encoding="utf-8")
    tally = Tally()
    environ = {MASTER_ENV: dovecot.master_password, WRONG_ENV: "inte-rätt"}
    clock = [datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)]
    service = Service(
        load_config(path),
        clock=lambda: clock[0],
        environ=environ,
        connector_factory=counting_factory(tally, environ),
    ).open()
    return Site(service, users, tally, clock)


@pytest.fixture
def sites() -> Iterator[list[Site]]:
    made: list[Site] = []
    yield made
    for site in made:
        site.service.close()


def question(user: str, n: int) -> bytes:
    return citizen_mail(
        f"Hej! När har biblioteket öppet på lördag? Fråga {n}.\n\nKarin",
        subject=f"Fråga {n}",
        message_id=f"<q{n}.{user}@example.net>",
    )


def lease_writes(statements: list[str]) -> list[str]:
    return [
        s
        for s in statements
        if "mailbox_leases" in s and s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


def test_an_idle_pass_takes_no_lease_and_notes_every_good_pass(
    tmp_path: Path, dovecot: DovecotServer, db_url: str, sites: list[Site]
) -> None:
    users = [dovecot.add_user() for _ in range(30)]
    for n, user in enumerate(users):
        dovecot.append(user, "INBOX", question(user, n))
    site = build_site(tmp_path, dovecot, db_url, users, pool_size=8)
    sites.append(site)

    first = site.service.run_once()
    assert first.errors == []
    assert len(first.outcomes) == 30
    logins = site.tally.count("login")

    site.clock[0] += timedelta(minutes=1)
    site.record_statements()
    second = site.service.run_once()

    assert second.errors == [] and second.outcomes == [] and second.skipped == []
    assert site.tally.count("login") == logins, "the connections are kept between passes"
    assert site.tally.addresses("read") == {site.address(i) for i in range(30)}, "first pass"
    assert lease_writes(site.statements) == [], "no mailbox was taken: nothing was new"
    # Fewer statements than mailboxes: none per unchanged mailbox (one read, one note, and
    # the rest of run_once: diary, care, notifications).
    assert len(site.statements) < 30, site.statements
    assert sum(1 for s in site.statements if "sync_states" in s) == 1
    sessions = site.service.sessions
    assert sessions is not None
    with sessions() as session:
        noted = last_passes(session)
    assert len(noted) == 30
    assert set(noted.values()) == {site.clock[0]}, "the idle pass is noted as good"


def test_a_message_between_passes_is_read_in_the_next_pass_and_only_its_mailbox(
    tmp_path: Path, dovecot: DovecotServer, db_url: str, sites: list[Site]
) -> None:
    users = [dovecot.add_user() for _ in range(12)]
    site = build_site(tmp_path, dovecot, db_url, users, pool_size=4)
    sites.append(site)
    assert site.service.run_once().errors == []
    assert site.service.run_once().outcomes == []

    reads = Counter({a: n for (k, a), n in site.tally.calls.items() if k == "read"})
    dovecot.append(users[7], "INBOX", question(users[7], 7))
    site.record_statements()
    third = site.service.run_once()

    assert [(o.mailbox, o.folder) for o in third.outcomes] == [(site.address(7), "INBOX")]
    after = Counter({a: n for (k, a), n in site.tally.calls.items() if k == "read"})
    assert {a for a in after if after[a] != reads[a]} == {site.address(7)}
    assert len(lease_writes(site.statements)) >= 1  # its lease, and only a few statements
    fourth = site.service.run_once()
    assert fourth.outcomes == [] and fourth.errors == []
    sessions = site.service.sessions
    assert sessions is not None
    with sessions() as session:
        keys = session.scalars(select(MessageRecord.message_key)).all()
    assert len(keys) == 1


def test_a_failing_server_for_one_mailbox_does_not_stop_the_others(
    tmp_path: Path, dovecot: DovecotServer, db_url: str, sites: list[Site]
) -> None:
    users = [dovecot.add_user() for _ in range(8)]
    for n, user in enumerate(users):
        dovecot.append(user, "INBOX", question(user, n))
    closed = free_port()  # nothing listens there
    site = build_site(
        tmp_path,
        dovecot,
        db_url,
        users,
        pool_size=3,
        broken={2: (closed, MASTER_ENV), 5: (dovecot.imap_port, WRONG_ENV)},
    )
    sites.append(site)

    first = site.service.run_once()

    read = {o.mailbox for o in first.outcomes}
    assert read == {site.address(i) for i in range(8)} - {site.address(2), site.address(5)}
    assert len(first.errors) == 2
    assert any("inloggningen" in e for e in first.errors), first.errors
    # The others' connections stay; one dropped by the server is opened again.
    dovecot.kill_connections(users[4])
    dovecot.append(users[4], "INBOX", question(users[4], 40))
    second = site.service.run_once()
    assert [o.mailbox for o in second.outcomes] == [site.address(4)]
    assert len(second.errors) == 2  # the two broken ones are tried again, and still fail


def test_the_pool_never_has_more_than_pool_size_connections_at_work_on_one_server(
    tmp_path: Path, dovecot: DovecotServer, db_url: str, sites: list[Site]
) -> None:
    users = [dovecot.add_user() for _ in range(30)]
    for n, user in enumerate(users[::3]):
        dovecot.append(user, "INBOX", question(user, n))
    site = build_site(tmp_path, dovecot, db_url, users, pool_size=4)
    sites.append(site)
    site.tally.wait_for_company = True

    first = site.service.run_once()
    site.tally.wait_for_company = False
    assert first.errors == [] and len(first.outcomes) == 10
    second = site.service.run_once()
    dovecot.append(users[1], "INBOX", question(users[1], 99))
    third = site.service.run_once()

    assert second.outcomes == [] and len(third.outcomes) == 1
    assert site.tally.most["login"] >= 2, "the pool logs in in parallel"
    assert site.tally.most["login"] <= 4
    assert site.tally.most["connections"] <= 4
    assert site.tally.count("login") == 30, "one login per mailbox, kept for later passes"
    sessions_open = sum(len(dovecot.connection_pids(u)) for u in users)
    assert sessions_open == 30


def test_the_first_pass_processes_the_mail_already_there_exactly_once(
    tmp_path: Path, dovecot: DovecotServer, db_url: str, sites: list[Site]
) -> None:
    users = [dovecot.add_user() for _ in range(20)]
    old = datetime(2025, 6, 1, 9, 0, tzinfo=STOCKHOLM)  # before start_from: seen, not a case
    for n, user in enumerate(users):
        dovecot.append(user, "INBOX", question(user, 2 * n))
        dovecot.append(user, "INBOX", question(user, 2 * n + 1))
        with dovecot.imap_as_master(user) as client:
            client.append("INBOX", question(user, 1000 + n), msg_time=old)
    site = build_site(tmp_path, dovecot, db_url, users, pool_size=6)
    sites.append(site)

    first = site.service.run_once()
    site.service.close()
    restarted = build_site(tmp_path, dovecot, db_url, users, pool_size=6)
    sites.append(restarted)
    again = restarted.service.run_once()

    assert first.errors == [] and again.errors == []
    assert len(first.outcomes) == 60 and again.outcomes == []
    assert restarted.tally.count("read") == 0, "after a restart only looks: nothing was new"
    assert Counter(o.disposition for o in first.outcomes)[Disposition.BEFORE_START] == 20
    sessions = restarted.service.sessions
    assert sessions is not None
    with sessions() as session:
        per_key = session.execute(
            select(MessageRecord.mailbox_id, MessageRecord.message_key, func.count()).group_by(
                MessageRecord.mailbox_id, MessageRecord.message_key
            )
        ).all()
        message_ids = session.scalars(select(Case.message_id)).all()
    assert len(per_key) == 60 and {n for *_k, n in per_key} == {1}
    assert len(message_ids) == len(set(message_ids))


def test_a_stop_finishes_the_mailboxes_at_work_and_starts_no_new_one(
    tmp_path: Path, dovecot: DovecotServer, db_url: str, sites: list[Site]
) -> None:
    users = [dovecot.add_user() for _ in range(12)]
    site = build_site(tmp_path, dovecot, db_url, users, pool_size=2)
    sites.append(site)
    assert site.service.run_once().errors == []
    looked = site.tally.count("probe")
    site.tally.on_probe = lambda _address: site.service.stop()

    report = site.service.run_once()

    assert report.errors == []
    assert 1 <= site.tally.count("probe") - looked <= 2, "only those already at work"


def test_the_service_raises_its_open_files_limit_to_the_hard_limit(
    tmp_path: Path, dovecot: DovecotServer, sites: list[Site], caplog: pytest.LogCaptureFixture
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lower = min(soft, hard, 512) - 1
    resource.setrlimit(resource.RLIMIT_NOFILE, (lower, hard))
    try:
        with caplog.at_level("INFO", logger="postvakt.process"):
            sites.append(
                build_site(
                    tmp_path, dovecot, f"sqlite:///{tmp_path / 'p.db'}", [dovecot.add_user()]
                )
            )
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard
        assert f"from {lower} to {hard}" in caplog.text
        assert "@" not in caplog.text
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_full_passes_at_once_are_bounded_by_the_database_sqlite_to_its_one_writer(
    tmp_path: Path, dovecot: DovecotServer, db_url: str, sites: list[Site]
) -> None:
    users = [dovecot.add_user() for _ in range(24)]
    for n, user in enumerate(users):
        dovecot.append(user, "INBOX", question(user, 2 * n))
        dovecot.append(user, "INBOX", question(user, 2 * n + 1))
    site = build_site(tmp_path, dovecot, db_url, users, pool_size=12)
    sites.append(site)

    first = site.service.run_once()

    assert first.errors == [] and len(first.outcomes) == 48
    writers = SQLITE_WRITERS if db_url.startswith("sqlite") else 12
    assert 1 <= site.tally.most["read"] <= writers
    assert site.tally.most["login"] <= 12


def test_one_mailbox_swept_alone_is_looked_at_and_read_only_when_something_is_new(
    tmp_path: Path, dovecot: DovecotServer, db_url: str, sites: list[Site]
) -> None:
    """``Service.sweep_mailbox``: what a worker's pass task does with one mailbox."""
    users = [dovecot.add_user() for _ in range(3)]
    dovecot.append(users[1], "INBOX", question(users[1], 1))
    site = build_site(tmp_path, dovecot, db_url, users, pool_size=4)
    sites.append(site)
    address = site.address(1)

    first = site.service.sweep_mailbox(address)
    assert [o.mailbox for o in first.outcomes] == [address] and first.errors == []
    assert site.tally.addresses("read") == {address}, "only the mailbox asked for"

    site.clock[0] += timedelta(minutes=1)
    site.record_statements()
    quiet = site.service.sweep_mailbox(address)
    assert quiet.outcomes == [] and quiet.errors == []
    assert lease_writes(site.statements) == [], "a quiet mailbox is not taken"
    sessions = site.service.sessions
    assert sessions is not None
    with sessions() as session:
        noted = last_passes(session)
    assert len(noted) == 1
    assert list(noted.values()) == [site.clock[0]], "the quiet look is noted as a good pass"

    dovecot.append(users[1], "INBOX", question(users[1], 2))
    site.clock[0] += timedelta(minutes=1)
    again = site.service.sweep_mailbox(address)
    assert len(again.outcomes) == 1 and again.errors == []
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(MessageRecord)) == 2
