"""IDLE without a thread per mailbox, on a real Dovecot: one loop watches every mailbox, the
logins are spread, and a server with no room for another connection is told as such.

Times here are bounds that cannot flake (tens of seconds for what takes one); how fast the
watch wakes is measured in ``benchmarks/imap_idle.py``.
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import distinct, func, select

from postvakt.clock import Clock
from postvakt.config import ImapSettings, load_config
from postvakt.errors import AuthenticationError, ConnectionLimitError, UnavailableError
from postvakt.idle_hub import IdleHub
from postvakt.mailbox.imap import ImapConnector
from postvakt.registry.models import Case
from postvakt.retry import Backoff, RetryPolicy
from postvakt.service import Service
from postvakt.watch import QUICK_RETURNS, PassRunner
from tests.support.cpu import MAX_CPU_SHARE, CpuWindow
from tests.support.dovecot import CONFIG, MASTER_ENV, DovecotServer, write_config
from tests.support.workspace import citizen_mail

COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n"
SHORT = RetryPolicy(base=0.05, cap=0.25)
ROOMY = """
default_client_limit = 5000
service imap {
  process_limit = 3000
  client_limit = 1
}
service anvil {
  client_limit = 5000
}
mailbox_idle_check_interval = 1 secs
"""
"""Room for a few hundred connections (Dovecot's defaults stop at 100 imap processes); and
an imap process that gets no inotify instance (128 per user on Linux, shared with every
Dovecot on the machine) looks for new mail every second instead of every 30."""
QUICK_CHECKS = "mailbox_idle_check_interval = 1 secs\n"
HUB_THREADS = 1 + 4 + 4 + 2
"""The hub's loop, its openers, its passes and its waiters: the most it ever runs."""


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)


def messages(caplog: pytest.LogCaptureFixture, text: str, level: int = logging.DEBUG) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("postvakt") and r.levelno >= level and text in r.getMessage()
    ]


def imap_settings(server: DovecotServer, user: str, timeout: float = 10) -> ImapSettings:
    return ImapSettings(
        host=server.host,
        port=server.imap_port,
        security="none",
        username=user,
        master_user=server.master_user,
        password_env=MASTER_ENV,
        timeout_seconds=timeout,
    )


class RecordingImap(ImapConnector):
    """The real IMAP connector, noting when each IDLE login starts (as the server sees it)."""

    def __init__(self, *args: object, starts: list[float], **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.starts = starts

    def idle_open(self, folder: str) -> int:
        self.starts.append(time.monotonic())
        return super().idle_open(folder)


def many_mailboxes(
    tmp_path: Path, server: DovecotServer, users: list[str], extra: str = ""
) -> Path:
    """A config with one function mailbox per user, read via the master user."""
    head, _, block = CONFIG.partition("[[mailboxes]]")
    parts = [head]
    for user in users:
        parts.append(
            ("[[mailboxes]]" + block).format(
                address=server.address(user),
                kind="function",
                port=server.imap_port,
                user=user,
                master=server.master_user,
                env=MASTER_ENV,
                sieve_port=server.sieve_port,
                last_login=server.directory / "state" / "last-login.db",
            )
        )
    path = tmp_path / "postvakt.toml"
    path.write_text("\n".join(parts) + extra, encoding="utf-8")
    return path


def most_within(times: list[float], window: float) -> int:
    """The most of ``times`` that fall in any ``window`` seconds."""
    ordered = sorted(times)
    return max(sum(1 for t in ordered[i:] if t < start + window) for i, start in enumerate(ordered))


def hub_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("idle-"))


@pytest.fixture
def roomy() -> Iterator[DovecotServer]:
    server = DovecotServer.start(extra_config=ROOMY)
    try:
        yield server
    finally:
        server.stop()


# ------------------------------------------------------------------ many mailboxes, few threads


def test_fifty_mailboxes_are_watched_by_a_few_threads_and_each_is_read_when_mail_comes(
    roomy: DovecotServer, tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    users = [roomy.add_user() for _ in range(50)]
    path = many_mailboxes(
        tmp_path, roomy, users, extra="\n[service]\npoll_interval_seconds = 3600\n"
    )
    service = Service(
        load_config(path), clock=clock, environ={MASTER_ENV: roomy.master_password}
    ).open()
    assert service.intake is not None and service.intake.classify is not None  # loaded now
    assert len(service.idle_mailboxes()) == 50
    caplog.set_level(logging.INFO, logger="postvakt")
    before = threading.active_count()
    runner = threading.Thread(target=service.run_forever, name="run-forever")
    runner.start()
    try:
        wait_until(lambda: service.idle_hub is not None, 10, "the watch starts")
        hub = service.idle_hub
        assert hub is not None
        wait_until(lambda: hub.standing() == 50, 60, "all 50 IDLEs stand")
        wait_until(lambda: not hub.runner.busy(), 120, "the passes at start are done")
        standing_threads = threading.active_count() - before
        for user in users:
            roomy.deliver(user, citizen_mail(COMPLAINT, to=roomy.address(user)))
        wait_until(lambda: mailboxes_with_cases(service) == 50, 180, "a case in every mailbox")
        busy_threads = threading.active_count() - before
        hub_count = hub_threads()
    finally:
        service.stop()
        runner.join(timeout=60)
        service.close()
    assert not runner.is_alive()
    # the old watch ran a thread per mailbox: 50 here; now the hub's fixed few (and the
    # scheduler's own), whatever the number of mailboxes
    assert hub_count <= HUB_THREADS
    assert standing_threads < 25, f"{standing_threads} threads for 50 mailboxes"
    assert busy_threads < 25, f"{busy_threads} threads for 50 mailboxes"
    # each mailbox was read because its IDLE said so: the polling pass is an hour away
    # (the log may be masked: "new mail in [e-post]", so the lines are counted, not the names)
    assert len(messages(caplog, "new mail in")) >= 50
    assert len(messages(caplog, ": watching")) == 50


def mailboxes_with_cases(service: Service) -> int:
    assert service.sessions is not None
    with service.sessions() as session:
        return session.scalar(select(func.count(distinct(Case.mailbox_id)))) or 0


# ------------------------------------------------------------------ staggered logins


def test_the_logins_of_a_hundred_mailboxes_are_spread_at_start_and_after_a_restart(
    roomy: DovecotServer,
) -> None:
    users = [roomy.add_user() for _ in range(100)]
    starts: list[float] = []
    passes: Counter[str] = Counter()
    rate = 50.0  # logins per second: 20 ms apart on average, never closer than 10 ms
    hub = IdleHub(lambda address: passes.update([address]), policy=SHORT, logins_per_second=rate)
    for user in users:
        connector = RecordingImap(
            roomy.address(user),
            imap_settings(roomy, user),
            roomy.master_password,
            backoff=Backoff(SHORT),
            starts=starts,
        )
        hub.add(roomy.address(user), connector, folder=lambda: "INBOX")
    hub.start()
    try:
        wait_until(lambda: hub.standing() == 100, 60, "all 100 IDLEs stand")
        first = list(starts)
        wait_until(lambda: len(passes) == 100 and not hub.runner.busy(), 30, "a pass each")
        roomy.restart()  # every IDLE connection is dropped at once
        wait_until(lambda: hub.standing() < 100, 30, "the IDLEs notice the restart")
        wait_until(lambda: hub.standing() == 100, 60, "all 100 IDLEs stand again")
        wait_until(lambda: sum(passes.values()) == 200 and not hub.runner.busy(), 30, "passes")
        again = starts[len(first) :]
    finally:
        hub.close()
    assert len(first) == 100
    # all at once would be 100 in a few milliseconds; paced, 99 gaps of at least 10 ms, and
    # never more in a window than the gaps allow plus the 4 that may be under way together
    assert max(first) - min(first) >= 99 * 0.5 / rate
    assert most_within(first, 0.2) <= 0.2 * rate * 2 + 4
    assert len(again) >= 100
    assert most_within(again, 0.2) <= 0.2 * rate * 2 + 4
    # each mailbox read once when its IDLE first stood and once when it stood again
    assert set(passes.values()) == {2}


class RenewingImap(ImapConnector):
    """The real IMAP connector, counting its IDLE renewals (DONE, IDLE)."""

    renewals = 0

    def idle_renew(self) -> bool:
        self.renewals += 1
        return super().idle_renew()


def test_the_idle_is_renewed_on_time_and_still_hears_new_mail(roomy: DovecotServer) -> None:
    user = roomy.add_user()
    imap = RenewingImap(roomy.address(user), imap_settings(roomy, user), roomy.master_password)
    passes: list[str] = []
    # renewed every 0.5 s here; in production every 25 minutes (RFC 2177 allows 29)
    hub = IdleHub(passes.append, policy=SHORT, renew=0.5, stand=0.2)
    hub.add(roomy.address(user), imap, folder=lambda: "INBOX")
    hub.start()
    try:
        wait_until(lambda: imap.renewals >= 3, 30, "three renewals")
        # standing again after each renewal (for a moment during one it is not)
        wait_until(lambda: hub.standing() == 1, 10, "the IDLE standing after renewals")
        wait_until(lambda: passes and not hub.runner.busy(), 30, "the pass at start")
        roomy.deliver(user, citizen_mail(COMPLAINT, to=roomy.address(user)))
        wait_until(lambda: len(passes) == 2, 30, "a pass for the new mail")
    finally:
        hub.close()
    assert imap.logins == 1, "renewing needs no new login"


# ------------------------------------------------------------------ a server out of room


def test_a_server_out_of_connections_is_reported_as_such_never_as_a_wrong_password(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    server = DovecotServer.start(
        extra_config="protocol imap {\n  mail_max_userip_connections = 2\n}\n" + QUICK_CHECKS
    )
    try:
        user = server.add_user()
        held = [server.imap_as_master(user) for _ in range(2)]  # the user's 2 are taken
        config = load_config(write_config(tmp_path, server, user))
        service = Service(
            config, clock=clock, environ={MASTER_ENV: server.master_password}, reconnect=SHORT
        ).open()
        assert service.intake is not None and service.intake.classify is not None
        caplog.set_level(logging.DEBUG, logger="postvakt")
        runner = threading.Thread(target=service.run_forever, name="run-forever")
        runner.start()
        try:
            wait_until(
                lambda: messages(caplog, "could not start", logging.WARNING), 30, "a warning"
            )
            for client in held:
                client.logout()  # room again: the watch comes back by itself
            server.deliver(user, citizen_mail(COMPLAINT, to=server.address(user)))
            wait_until(lambda: mailboxes_with_cases(service) == 1, 60, "the mail registered")
            wait_until(lambda: messages(caplog, ": watching"), 30, "the watch stands")
        finally:
            service.stop()
            runner.join(timeout=30)
            service.close()
    finally:
        server.stop()
    warning = messages(caplog, "could not start", logging.WARNING)
    assert len(warning) == 1
    assert "servern" in warning[0] and "tar inte emot fler anslutningar" in warning[0]
    assert "mail_max_userip_connections" in warning[0]
    assert user not in warning[0].replace(server.address(user), "")  # no login name logged
    # The mailbox named once (as its address, or masked when the suite's logging masks it).
    why = warning[0].split(" could not start: ", 1)[1]
    assert not why.startswith((server.address(user), "[e-post]")), warning[0]
    assert ".;" not in warning[0]
    assert not messages(caplog, "lösenord"), "a full server is no wrong password"
    assert not messages(caplog, "nekades")


def test_a_login_that_hangs_for_want_of_imap_processes_names_process_limit() -> None:
    server = DovecotServer.start(extra_config="service imap {\n  process_limit = 1\n}\n")
    try:
        user = server.add_user()
        held = server.imap_as_master(user)  # the one imap process there is
        imap = ImapConnector(
            server.address(user), imap_settings(server, user, timeout=3), server.master_password
        )
        with pytest.raises(ConnectionLimitError) as refused:
            imap.idle_open("INBOX")
        held.logout()
    finally:
        server.stop()
    text = str(refused.value)
    assert "tar inte emot fler anslutningar" in text and "process_limit" in text
    assert not isinstance(refused.value, AuthenticationError)
    assert "lösenord" not in text


def test_a_wrong_password_is_still_a_wrong_password(roomy: DovecotServer) -> None:
    user = roomy.add_user()
    imap = ImapConnector(roomy.address(user), imap_settings(roomy, user), "fel-lösen")
    with pytest.raises(AuthenticationError, match="lösenordet"):
        imap.idle_open("INBOX")


def test_running_out_of_file_descriptors_names_limitnofile(roomy: DovecotServer) -> None:
    user = roomy.add_user()
    imap = ImapConnector(roomy.address(user), imap_settings(roomy, user), roomy.master_password)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowest_free = os.dup(0)  # a new descriptor takes the lowest number free
    os.close(lowest_free)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))  # no room for one more
    try:
        with pytest.raises(UnavailableError) as failed:
            imap.idle_open("INBOX")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    text = str(failed.value)
    assert "fildeskriptorer" in text and "LimitNOFILE" in text and "ulimit -n" in text
    assert imap.idle_open("INBOX") > 0  # room again
    imap.close()


# ------------------------------------------------------------------ the parts on their own


def test_a_burst_of_news_for_one_mailbox_gives_one_more_pass_never_two_at_once() -> None:
    running = threading.Event()
    release = threading.Event()
    at_once = 0
    most = 0
    seen: list[str] = []
    lock = threading.Lock()

    def run_pass(address: str) -> None:
        nonlocal at_once, most
        with lock:
            at_once += 1
            most = max(most, at_once)
        seen.append(address)
        if len(seen) == 1:
            running.set()
            release.wait(10)
        with lock:
            at_once -= 1

    runner = PassRunner(run_pass, workers=4)
    runner.request("a@testby.se")
    assert running.wait(10)
    for _ in range(20):  # news while the pass runs
        runner.request("a@testby.se")
    release.set()
    wait_until(lambda: not runner.busy(), 10, "the passes end")
    runner.close()
    assert seen == ["a@testby.se", "a@testby.se"]
    assert most == 1
    assert runner.asked == 21


class _DeadSocket:
    """A connector whose IDLE socket reads as readable with nothing in it, every time, while
    the renewal that should tell a dead one succeeds (fault injection)."""

    def __init__(self) -> None:
        self.reads = 0
        self.opens = 0
        self._pair: tuple[socket.socket, socket.socket] | None = None

    def idle_open(self, folder: str) -> int:
        self.idle_close()
        self.opens += 1
        ours, theirs = socket.socketpair()
        theirs.close()  # the end of the stream: readable for ever
        self._pair = (ours, theirs)
        return ours.fileno()

    def idle_read(self) -> bool | None:
        self.reads += 1
        return None

    def idle_renew(self) -> bool:
        return False

    def idle_close(self) -> None:
        if self._pair is not None:
            self._pair[0].close()
            self._pair = None


def test_a_socket_that_is_always_readable_with_nothing_backs_off_instead_of_spinning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    connector = _DeadSocket()
    caplog.set_level(logging.DEBUG, logger="postvakt")
    window = CpuWindow()  # the CPU of the hub's threads, not of threads other tests left
    hub = IdleHub(lambda _a: None, policy=RetryPolicy(base=0.1, cap=0.2), logins_per_second=1000)
    hub.add("kontakt@testby.se", connector, folder=lambda: "INBOX")
    hub.start()
    try:
        share = window.share(1.5)
    finally:
        hub.close()
    # a spin takes a whole core; the counts below check the back-off itself
    assert share < MAX_CPU_SHARE, f"{share:.0%} of a CPU ({window.explain()})"
    # each round: QUICK_RETURNS reads, then a back-off of 0.075–0.2 s and a new connection
    assert 2 <= connector.opens <= 1.5 / 0.075 + 1
    assert connector.reads <= connector.opens * QUICK_RETURNS
    assert len(messages(caplog, "could not start", logging.WARNING)) == 1
    assert messages(caplog, ": watching") == []


class _OnlyBlocks:
    """A connector that can only block in ``wait_for_new`` (no socket to select on)."""

    def __init__(self) -> None:
        self.calls = 0
        self.news = False

    def wait_for_new(self, folder: str, timeout: float) -> bool:
        self.calls += 1
        if self.news:
            self.news = False
            return True
        time.sleep(timeout)
        return False


def test_connectors_that_can_only_block_take_turns_on_a_small_pool() -> None:
    connectors = [_OnlyBlocks() for _ in range(20)]
    passes: list[str] = []
    hub = IdleHub(passes.append, logins_per_second=1000)
    for number, connector in enumerate(connectors):
        hub.add(f"m{number}@testby.se", connector, folder=lambda: "INBOX")
    hub.start()
    try:
        wait_until(lambda: all(c.calls >= 2 for c in connectors), 60, "every mailbox waited on")
        waiting_threads = sum(1 for t in threading.enumerate() if t.name.startswith("idle-wait"))
        connectors[7].news = True
        wait_until(lambda: passes.count("m7@testby.se") == 2, 60, "the news heard")
    finally:
        hub.close()
    assert waiting_threads <= 2, "20 blocking mailboxes, 2 threads"
    assert sorted(set(passes)) == sorted(f"m{n}@testby.se" for n in range(20))
