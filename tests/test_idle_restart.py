"""The IDLE watcher across a restart of a real Dovecot: it does not spin while the server is
away, logs one line per change of state, and reads new mail once the server is back.

The back-off policy is passed in with a short cap, so nothing here sleeps longer than the
scenario needs and no sleep is patched.  CPU time is the process's own over a window in
which the test thread only sleeps, less what threads left by earlier tests used in it
(``tests.support.cpu``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from postvakt.clock import Clock
from postvakt.config import ImapSettings, load_config
from postvakt.errors import UnavailableError
from postvakt.idle_hub import IdleHub
from postvakt.mailbox.imap import ImapConnector
from postvakt.registry.models import Case
from postvakt.retry import Backoff, RetryPolicy
from postvakt.service import Service
from postvakt.watch import QUICK_RETURNS
from tests.support.cpu import MAX_CPU_SHARE, CpuWindow
from tests.support.dovecot import MASTER_ENV, DovecotServer, write_config
from tests.support.workspace import citizen_mail

COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n"
SHORT = RetryPolicy(base=0.05, cap=0.25)
"""The test's back-off: 50 ms doubling to 250 ms (production: 1 s doubling to 5 minutes)."""


@pytest.fixture
def server() -> Iterator[DovecotServer]:
    # its own server: these tests stop it; an imap process that gets no inotify instance
    # (128 per user on Linux, shared with every Dovecot here) looks every second, not 30
    server = DovecotServer.start(extra_config="mailbox_idle_check_interval = 1 secs\n")
    try:
        yield server
    finally:
        server.stop()


def imap_connector(server: DovecotServer, user: str, clock: Clock | None = None) -> ImapConnector:
    settings = ImapSettings(
        host=server.host,
        port=server.imap_port,
        security="none",
        username=user,
        master_user=server.master_user,
        password_env=MASTER_ENV,
        timeout_seconds=10,
    )
    return ImapConnector(
        server.address(user),
        settings,
        server.master_password,
        clock=clock,
        backoff=Backoff(SHORT),
    )


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)


def lines(caplog: pytest.LogCaptureFixture, text: str, level: int = logging.DEBUG) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "postvakt.service" and r.levelno >= level and text in r.getMessage()
    ]


def count_cases(service: Service) -> int:
    assert service.sessions is not None
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


# ------------------------------------------------------------------ the service on Dovecot


def test_the_watcher_rests_while_dovecot_is_down_and_reads_new_mail_when_it_is_back(
    server: DovecotServer, tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    user = server.add_user()
    config_path = write_config(tmp_path, server, user)
    # only the IDLE watcher reads mail in this test: the polling pass comes once an hour
    config_path.write_text(config_path.read_text() + "\n[service]\npoll_interval_seconds = 3600\n")
    window = CpuWindow()
    service = Service(
        load_config(config_path),
        clock=clock,
        environ={MASTER_ENV: server.master_password},
        connector_factory=lambda *_: imap_connector(server, user, clock),
        reconnect=SHORT,
    ).open()
    assert service.intake is not None
    assert service.intake.classify is not None  # loaded now: the first pass must not train it
    caplog.set_level(logging.DEBUG, logger="postvakt")
    runner = threading.Thread(target=service.run_forever, name="run-forever")
    runner.start()
    imap = service.connectors[server.address(user)]
    assert isinstance(imap, ImapConnector)
    try:
        wait_until(lambda: imap._idle_client is not None, 30, "the watcher opens its IDLE")
        time.sleep(0.3)  # the IDLE command follows the EXAMINE at once
        # the polling pass is an hour away: only the watcher can register mail in time
        server.deliver(user, citizen_mail(COMPLAINT, to=server.address(user)))
        wait_until(lambda: lines(caplog, "pass: 1 messages"), 30, "the first mail registered")
        time.sleep(0.5)  # the watcher is back in IDLE after its pass

        server.pause()  # every connection drops, the port refuses; users and mail stay
        time.sleep(0.5)  # the watcher notices (Dovecot says BYE as it stops)
        share = window.share(3.0)
        assert share < MAX_CPU_SHARE, (
            f"{share:.1%} of a CPU while the server was down ({window.explain()})"
        )
        attempts = len(lines(caplog, "attempt"))

        server.resume()  # the same ports
        server.deliver(user, citizen_mail(COMPLAINT + "Igen.", to=server.address(user)))
        wait_until(lambda: count_cases(service) == 2, 60, "the mail after the restart registered")
        wait_until(lambda: lines(caplog, "back after"), 30, "the watcher says it is back")
    finally:
        service.stop()
        runner.join(timeout=30)
        service.close()
    assert not runner.is_alive()
    assert attempts >= 3, "the watcher kept trying while the server was down"
    # one line per change of state, none per attempt
    assert len(lines(caplog, "watching")) == 1
    assert len(lines(caplog, "lost")) == 1
    assert len(lines(caplog, "back after")) == 1
    assert lines(caplog, "", logging.WARNING) == lines(caplog, "lost")
    assert count_cases(service) == 2


# ------------------------------------------------------------------ the connector on Dovecot


def test_a_wait_on_a_server_that_stopped_raises_instead_of_returning_at_once(
    server: DovecotServer,
) -> None:
    user = server.add_user()
    imap = imap_connector(server, user)
    assert imap.wait_for_new("INBOX", timeout=0.1) is False  # the IDLE stands
    server.pause()
    try:
        # Dovecot's "* BYE Server shutting down." and then the end of the stream, which
        # imapclient's idle_check takes for "nothing new" — once the BYE is read, every
        # later idle_check returns an empty list at once.
        with pytest.raises(UnavailableError, match="försöker igen"):
            imap.wait_for_new("INBOX", timeout=5)
        with pytest.raises(UnavailableError, match="ConnectionRefused"):
            imap.wait_for_new("INBOX", timeout=5)
    finally:
        server.resume()
    assert imap.wait_for_new("INBOX", timeout=0.1) is False  # open again, same ports
    server.deliver(user, citizen_mail(COMPLAINT, to=server.address(user)))
    assert imap.wait_for_new("INBOX", timeout=10) is True
    imap.close()


def test_the_end_of_the_stream_without_a_bye_is_noticed_too(server: DovecotServer) -> None:
    user = server.add_user()
    imap = imap_connector(server, user)
    assert imap.wait_for_new("INBOX", timeout=0.1) is False
    assert imap._idle_client is not None
    imap._idle_client.socket().shutdown(2)  # as if the network took it: no BYE is read
    with pytest.raises(UnavailableError):
        imap.wait_for_new("INBOX", timeout=5)
    assert imap.wait_for_new("INBOX", timeout=0.1) is False  # a new connection
    imap.close()


def test_the_first_pass_after_a_restart_reconnects_instead_of_failing(
    server: DovecotServer, tmp_path: Path, clock: Clock
) -> None:
    user = server.add_user()
    server.deliver(user, citizen_mail(COMPLAINT, to=server.address(user)))
    imap = imap_connector(server, user, clock)
    service = Service(
        load_config(write_config(tmp_path, server, user)),
        clock=clock,
        environ={MASTER_ENV: server.master_password},
        connector_factory=lambda *_: imap,
    ).open()
    try:
        assert service.run_once().errors == []
        logins = imap.logins
        server.restart()  # between two passes: the kept connection is closed by the server
        server.deliver(user, citizen_mail(COMPLAINT + "Igen.", to=server.address(user)))
        report = service.run_once()
        assert report.errors == []
        assert imap.logins == logins + 1
        assert count_cases(service) == 2
    finally:
        service.close()


# ------------------------------------------------------------------ connectors that misbehave


class _Stubborn:
    """A connector whose wait fails the same way at once, every time (fault injection)."""

    def __init__(self, behave: Callable[[], bool]):
        self.behave = behave
        self.calls = 0

    def wait_for_new(self, folder: str, timeout: float) -> bool:
        self.calls += 1
        return self.behave()


def _run_watch(connector: _Stubborn, seconds: float) -> tuple[float, list[int], bool, str]:
    """The connector watched by the service's hub (a blocking connector: on its small pool)."""
    window = CpuWindow()
    stop = threading.Event()
    passes: list[int] = []
    hub = IdleHub(
        lambda _address: passes.append(1),
        stop=stop,
        policy=RetryPolicy(base=0.1, cap=0.2),
        logins_per_second=1000,
    )
    hub.add("kontakt@testby.se", connector, folder=lambda: "INBOX")
    hub.start()
    assert hub._thread is not None
    try:
        share = window.share(seconds)
        alive = hub._thread.is_alive()
    finally:
        stop.set()
        hub.close(timeout=10)
    assert not hub._thread.is_alive()
    return share, passes, alive, window.explain()


def test_a_watch_that_fails_before_any_wait_backs_off(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> bool:
        raise RuntimeError("a bug before the wait")

    connector = _Stubborn(broken)
    caplog.set_level(logging.DEBUG, logger="postvakt")
    share, passes, alive, explain = _run_watch(connector, 1.5)
    assert alive, "an unexpected error does not end the watch"
    assert share < MAX_CPU_SHARE, f"{share:.1%} of a CPU ({explain})"
    # a wait of 0.075–0.1 s, then 0.15–0.2 s each: at most about 8 tries in 1.5 s
    assert 2 <= connector.calls <= 20
    assert passes == []
    assert len(lines(caplog, "could not start", logging.ERROR)) == 1
    # the bug's traceback once (at DEBUG), not again at every back-off
    assert connector.calls >= 2
    assert len([r for r in caplog.records if r.exc_info]) == 1


def test_a_wait_that_returns_at_once_with_nothing_new_backs_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    connector = _Stubborn(lambda: False)  # an idle_check on a dead socket, say
    caplog.set_level(logging.DEBUG, logger="postvakt")
    share, passes, alive, explain = _run_watch(connector, 1.5)
    assert alive
    assert share < MAX_CPU_SHARE, f"{share:.1%} of a CPU ({explain})"
    # each round: the wait that opens the IDLE, QUICK_RETURNS quick ones, then a back-off
    rounds = 1.5 / 0.075 + 1
    assert QUICK_RETURNS <= connector.calls <= rounds * (QUICK_RETURNS + 1)
    assert 1 <= len(passes) <= rounds
    assert len(lines(caplog, "could not start", logging.WARNING)) == 1
    assert lines(caplog, "back after") == lines(caplog, "watching") == []
