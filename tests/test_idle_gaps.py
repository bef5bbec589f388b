"""Gaps in the IDLE watch a review found (:mod:`postvakt.idle_hub`,
:mod:`postvakt.mailbox.imap_idle`): mail that came between a renewal's DONE and its IDLE, a
failed renewal that unregistered another mailbox's connection, and a loop that spun while a
blocking mailbox waited for a thread."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from postvakt.config import ImapSettings
from postvakt.errors import UnavailableError
from postvakt.idle_hub import IdleHub
from postvakt.mailbox.imap import ImapConnector
from postvakt.retry import RetryPolicy
from tests.support.dovecot import DovecotServer
from tests.support.scripted_imap import ScriptedImap
from tests.support.workspace import citizen_mail
from tests.test_idle_hub import COMPLAINT, QUICK_CHECKS, SHORT, imap_settings, wait_until


class MailInTheGap(ImapConnector):
    """The real IMAP connector; at its first renewal a citizen's mail is delivered after the
    server ended the IDLE (DONE) and before the new IDLE: the server tells of it with its
    "+ idling", in one write."""

    server: DovecotServer
    user: str
    delivered = False

    def idle_renew(self) -> bool:
        client = self._idle_client
        assert client is not None
        idle = client.idle

        def deliver_then_idle() -> Any:
            if not self.delivered:
                self.delivered = True
                self.server.deliver(self.user, citizen_mail(COMPLAINT, to=self.address))
            return idle()

        client.idle = deliver_then_idle  # type: ignore[method-assign]
        try:
            return super().idle_renew()
        finally:
            del client.idle


def test_mail_between_a_renewals_done_and_idle_is_heard_at_once() -> None:
    """imaplib reads "+ idling" and the "* 1 EXISTS" sent with it into its buffer: the
    socket, empty, is never readable for that line, and the loop heard of the mail only at
    the next renewal (25 minutes in production)."""
    server = DovecotServer.start(extra_config=QUICK_CHECKS)
    try:
        user = server.add_user()
        imap = MailInTheGap(
            server.address(user), imap_settings(server, user), server.master_password
        )
        imap.server, imap.user = server, user
        passes: list[float] = []
        # renewed every 3 s here: the pass for the mail must come well before the next one
        hub = IdleHub(lambda _a: passes.append(time.monotonic()), policy=SHORT, renew=3.0)
        hub.add(server.address(user), imap, folder=lambda: "INBOX")
        hub.start()
        try:
            wait_until(lambda: imap.delivered, 30, "the renewal")
            renewed = time.monotonic()
            wait_until(lambda: any(p >= renewed - 0.5 for p in passes), 2, "a pass for the mail")
            heard = min(p for p in passes if p >= renewed - 0.5) - renewed
        finally:
            hub.close()
    finally:
        server.stop()
    assert heard < 2 and imap.logins == 1


class _Gone:
    """A mailbox whose renewal fails (the server went): the connector closes its socket on
    the opener thread, and holds the failure until another mailbox has a new connection on
    the same descriptor number (fault injection)."""

    def __init__(self, hub: list[IdleHub]) -> None:
        self.hub = hub
        self.pair: tuple[socket.socket, socket.socket] | None = None
        self.closed = threading.Event()
        self.old_fd: int | None = None

    def idle_open(self, folder: str) -> int:
        self.pair = socket.socketpair()
        return self.pair[0].fileno()

    def idle_read(self) -> bool | None:
        return False

    def idle_renew(self) -> bool:
        assert self.pair is not None
        self.old_fd = self.pair[0].fileno()
        for end in self.pair:
            end.close()
        self.pair = None
        self.closed.set()
        taken = self.hub[0]._selector.get_map()  # the other's open registers meanwhile
        wait_until(lambda: self.old_fd in taken, 5, "the descriptor taken by another")
        raise UnavailableError("förbindelsen bröts", mailbox="a@testby.se")

    def idle_close(self) -> None:
        if self.pair is not None:
            for end in self.pair:
                end.close()
            self.pair = None


class _Next:
    """A mailbox that logs in right after the other's socket closed (gets its number)."""

    def __init__(self, after: threading.Event) -> None:
        self.after = after
        self.pair: tuple[socket.socket, socket.socket] | None = None

    def idle_open(self, folder: str) -> int:
        self.after.wait(10)
        self.pair = socket.socketpair()
        return self.pair[0].fileno()

    def idle_read(self) -> bool | None:
        assert self.pair is not None
        return bool(self.pair[0].recv(100))

    def idle_renew(self) -> bool:
        return False

    def idle_close(self) -> None:
        pass


def test_a_failed_renewal_leaves_another_mailboxs_connection_watched() -> None:
    """The failure, handled after the other mailbox's connection was registered on the same
    descriptor number, unregistered that one: the other mailbox stood deaf till its own
    renewal (25 minutes in production)."""
    hubs: list[IdleHub] = []
    gone = _Gone(hubs)
    other = _Next(gone.closed)
    passes: list[str] = []
    hub = IdleHub(
        passes.append,
        renew=1.5,
        stand=0.2,
        logins_per_second=1000,
        policy=RetryPolicy(base=5, cap=5),
    )
    hubs.append(hub)
    hub.add("a@testby.se", gone, folder=lambda: "INBOX")
    hub.add("b@testby.se", other, folder=lambda: "INBOX")
    hub.start()
    try:
        wait_until(lambda: gone.old_fd is not None and other.pair, 10, "the renewal, the open")
        assert other.pair is not None and other.pair[0].fileno() == gone.old_fd
        time.sleep(0.2)  # the failure handled
        other.pair[1].send(b"* 2 EXISTS\r\n")
        # heard before its own renewal (1.5 s after its open)
        wait_until(lambda: passes.count("b@testby.se") == 2, 1.0, "the other mailbox's news")
    finally:
        hub.close()


class _Slow:
    def wait_for_new(self, folder: str, timeout: float) -> bool:
        time.sleep(0.5)  # not the hub's timeout (a minute): its thread ends soon after the test
        return False


class _Down:
    def wait_for_new(self, folder: str, timeout: float) -> bool:
        raise UnavailableError("servern svarar inte", mailbox="down@testby.se")


def test_a_blocking_mailbox_waiting_for_a_thread_does_not_spin_the_loop() -> None:
    """A mailbox that can only block (no socket), due for a new login while every waiter
    thread is busy: the loop waited for the login time, already past, turn after turn."""
    hub = IdleHub(
        lambda _a: None, waiters=2, logins_per_second=1000, policy=RetryPolicy(base=0.1, cap=0.2)
    )
    for n in range(2):
        hub.add(f"slow{n}@testby.se", _Slow(), folder=lambda: "INBOX")
    hub.add("down@testby.se", _Down(), folder=lambda: "INBOX")
    turns = 0
    turn = hub._turn

    def counted() -> None:
        nonlocal turns
        turns += 1
        turn()

    hub._turn = counted  # type: ignore[method-assign]
    hub.start()
    try:
        time.sleep(2.0)
    finally:
        hub.close()
        # its waiter threads end with their waits: none logs into the next test
        wait_until(
            lambda: not [t for t in threading.enumerate() if t.name.startswith("idle-wait")],
            5,
            "the waiter threads ended",
        )
    # a quiet loop turns a few times a second (its tick, timers, answers from the pools);
    # the spin was some 400,000 turns a second
    assert 0 < turns < 200, f"{turns} turns of the loop in 2 s"


def test_untagged_news_before_idles_plus_is_news_not_a_lost_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """RFC 3501 lets a server send untagged data before it answers IDLE with "+" (mail that
    came meanwhile: "* 2 EXISTS", then "+ idling"); Dovecot does not, others may.  The
    renewal took it for an error: the connection was dropped and logged in again."""

    def on_idle(connection: int, idle: int, send: Callable[[bytes], None]) -> None:
        send(b"* 2 EXISTS\r\n+ idling\r\n" if (connection, idle) == (1, 2) else b"+ idling\r\n")

    caplog.set_level(logging.DEBUG, logger="postvakt")
    server = ScriptedImap(on_idle)
    settings = ImapSettings(
        host="127.0.0.1",
        port=server.port,
        security="none",
        username="kontakt",
        password_env="PV_SCRIPTED_PASSWORD",
        timeout_seconds=5,
    )
    passes: list[str] = []
    hub = IdleHub(passes.append, policy=SHORT, renew=1.0, stand=0.2)
    hub.add(
        "kontakt@testby.se", ImapConnector("kontakt@testby.se", settings, "pw"), lambda: "INBOX"
    )
    hub.start()
    try:
        wait_until(lambda: server.idles >= 2, 10, "the renewal")
        wait_until(lambda: len(passes) == 2, 2, "a pass for the news")
    finally:
        hub.close()
        server.close()
    assert server.accepted == 1  # the same connection: no new login
    assert not [r for r in caplog.records if " lost" in r.getMessage()]
