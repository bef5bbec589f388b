"""Holes in the IDLE watch a review named (:mod:`postvakt.idle_hub`,
:mod:`postvakt.mailbox.imap_idle`): a response line that came in two reads dropped the
connection, stopping waited out the IMAP timeout of a login that hung, and an opener job
that was just starting when the hub closed still logged in."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from imapclient.exceptions import IMAPClientError

from postvakt.config import ImapSettings
from postvakt.idle_hub import IdleHub
from postvakt.mailbox.imap import ImapConnector
from postvakt.mailbox.imap_idle_lines import MAX_RESPONSE, Responses
from tests.support.dovecot import DovecotServer
from tests.support.scripted_imap import ScriptedImap, Send
from tests.support.split_proxy import SplitProxy
from tests.support.workspace import citizen_mail
from tests.test_idle_hub import COMPLAINT, QUICK_CHECKS, SHORT, imap_settings, wait_until

ADDRESS = "kontakt@testby.se"
STOP_BOUND = 5.0
"""Seconds stopping may take (it takes well under one); the IMAP timeout here is 30."""


def settings(port: int, timeout: float = 5) -> ImapSettings:
    return ImapSettings(
        host="127.0.0.1",
        port=port,
        security="none",
        username="kontakt",
        password_env="PV_SCRIPTED_PASSWORD",
        timeout_seconds=timeout,
    )


@contextlib.contextmanager
def watching(
    port: int,
    *,
    timeout: float = 5,
    folder: Callable[[], str] = lambda: "INBOX",
    stop: threading.Event | None = None,
    **options: float,
) -> Iterator[tuple[IdleHub, list[str]]]:
    """A hub watching one IMAP mailbox on ``port``; the passes it ran, by address."""
    passes: list[str] = []
    hub = IdleHub(passes.append, stop=stop, policy=SHORT, **options)  # type: ignore[arg-type]
    hub.add(ADDRESS, ImapConnector(ADDRESS, settings(port, timeout), "pw"), folder)
    hub.start()
    try:
        yield hub, passes
    finally:
        hub.close()


def complaints(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("postvakt") and r.levelno >= logging.WARNING
    ]


# ------------------------------------------------------------------ a line in two reads

SPLITS = {
    "in-a-word": [b"* 3 EXI", b"STS\r\n"],
    "inside-crlf": [b"* 3 EXISTS\r", b"\n"],
    "after-the-star": [b"*", b" 3 EXISTS\r\n"],
    "several-responses-in-one-read": [b"* 2 EXPUNGE\r\n* OK Still here\r\n* 3 EX", b"ISTS\r\n"],
    "byte-by-byte": [bytes([byte]) for byte in b"* 3 EXISTS\r\n"],
    "a-literal": [
        b"* 2 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {1",
        b"4}\r\nSubject: h",
        b"ej\r\n)\r\n* 3 EX",
        b"ISTS\r\n",
    ],
}


def in_pieces(pieces: list[bytes], sent: threading.Event, *, later: float = 0.0) -> Callable:
    """The first IDLE is answered "+ idling", then ``pieces`` come one by one, 50 ms apart;
    ``later`` holds the last piece back that long (past a renewal, say)."""

    def on_idle(connection: int, idle: int, send: Send) -> None:
        send(b"+ idling\r\n")
        if (connection, idle) != (1, 1):
            return
        for number, piece in enumerate(pieces, 1):
            time.sleep(later if number == len(pieces) and later else 0.05)
            send(piece)
        sent.set()

    return on_idle


@pytest.mark.parametrize("pieces", SPLITS.values(), ids=SPLITS.keys())
def test_news_split_across_reads_is_heard_on_the_same_connection(
    pieces: list[bytes], caplog: pytest.LogCaptureFixture
) -> None:
    """The hub read half a line, imaplib raised "unterminated line", and the connection was
    dropped and logged in again: at 1,000 mailboxes, logins for nothing."""
    caplog.set_level(logging.DEBUG, logger="postvakt")
    sent = threading.Event()
    server = ScriptedImap(in_pieces(pieces, sent))
    try:
        with watching(server.port, stand=0.2) as (hub, passes):
            assert sent.wait(5), "the server sent every piece"
            wait_until(lambda: len(passes) >= 2, 5, "a pass for the news")
            time.sleep(0.3)  # a reconnect after a dropped connection would be seen by now
            logins = hub.logins
    finally:
        server.close()
    assert (server.accepted, logins) == (1, 1), "the same connection, no new login"
    assert complaints(caplog) == []


def test_half_a_line_still_open_when_the_idle_is_renewed_is_finished_first(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The line's start was read by the loop; its end comes while the renewal waits for
    DONE's answer: the renewal must read the rest as that line, not as a response of its
    own (imaplib: "unexpected response")."""
    caplog.set_level(logging.DEBUG, logger="postvakt")
    sent = threading.Event()
    server = ScriptedImap(in_pieces([b"* 3 EXI", b"STS\r\n"], sent, later=1.0))
    try:
        with watching(server.port, stand=0.2, renew=0.5) as (hub, passes):
            assert sent.wait(5), "the server sent every piece"
            wait_until(lambda: server.idles >= 2, 5, "the renewal")
            wait_until(lambda: len(passes) >= 2, 5, "a pass for the news")
            logins = hub.logins
    finally:
        server.close()
    assert (server.accepted, logins) == (1, 1)
    assert complaints(caplog) == []


def test_a_real_dovecot_whose_every_write_is_cut_in_two_keeps_its_idle() -> None:
    """The same with Dovecot's own responses ("* 1 EXISTS\\r\\n* 1 RECENT\\r\\n" arrives as
    "* 1 EXI", then the rest), through a relay that cuts each write after 7 bytes."""
    server = DovecotServer.start(extra_config=QUICK_CHECKS)
    proxy = SplitProxy((server.host, server.imap_port))
    try:
        user = server.add_user()
        address = server.address(user)
        ours = imap_settings(server, user).model_copy(update={"port": proxy.port})
        imap = ImapConnector(address, ours, server.master_password)
        passes: list[float] = []
        hub = IdleHub(lambda _a: passes.append(time.monotonic()), policy=SHORT, stand=0.2)
        hub.add(address, imap, folder=lambda: "INBOX")
        hub.start()
        try:
            wait_until(lambda: hub.standing() == 1 and passes, 10, "the IDLE stands")
            server.deliver(user, citizen_mail(COMPLAINT, to=address))
            wait_until(lambda: len(passes) >= 2, 8, "a pass for the new mail")
            time.sleep(0.3)
        finally:
            hub.close()
    finally:
        proxy.close()
        server.stop()
    assert (proxy.accepted, imap.logins) == (1, 1)


# ------------------------------------------------------------------ stopping while a login hangs


class Silent:
    """Accepts TCP connections and then says nothing (or only its greeting): a server whose
    imap processes are all busy, or one that hangs.  Notes when the client hangs up."""

    def __init__(self, greeting: bytes = b"") -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.greeting = greeting
        self.accepted = threading.Event()
        self.hung_up = threading.Event()
        self._connections: list[socket.socket] = []
        threading.Thread(target=self._accept, name="silent-imap", daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            connection, _address = self._listener.accept()
            self._connections.append(connection)
            connection.sendall(self.greeting)
            self.accepted.set()
            while connection.recv(4096):  # the LOGIN, unanswered
                pass
            self.hung_up.set()

    def close(self) -> None:
        self._listener.close()
        for connection in self._connections:
            connection.close()


def new_threads(before: set[threading.Thread]) -> list[str]:
    """The hub's threads (loop, pools) started since ``before`` and still alive."""
    return [
        t.name
        for t in threading.enumerate()
        if t not in before and t.name.startswith("idle-") and t.is_alive()
    ]


@pytest.mark.parametrize("greeting", [b"", b"* OK ready\r\n"], ids=["no-greeting", "no-login"])
@pytest.mark.parametrize("how", ["close", "stop-then-close"])
def test_stopping_while_a_login_hangs_takes_no_time(greeting: bytes, how: str) -> None:
    """The opener thread waited for the server up to ``timeout_seconds`` (60 s by default):
    ``close`` returned, but the thread, and the connection, lived on, and the process could
    not end before them (Python joins a pool's threads at exit)."""
    server = Silent(greeting)
    before = set(threading.enumerate())
    stop = threading.Event()
    try:
        with watching(server.port, timeout=30, stop=stop) as (hub, _passes):
            assert server.accepted.wait(5), "the hub connected"
            time.sleep(0.2)  # the LOGIN is sent (or the greeting awaited)
            started = time.monotonic()
            if how == "stop-then-close":
                stop.set()  # as `postvakt run` does on SIGTERM: close() comes after the passes
                assert server.hung_up.wait(STOP_BOUND), "the stop event alone broke it off"
            hub.close()
        wait_until(lambda: not new_threads(before), STOP_BOUND, "the hub's threads ended")
        took = time.monotonic() - started
    finally:
        server.close()
    assert took < STOP_BOUND, f"stopping took {took:.1f} s"
    assert server.hung_up.is_set(), "the connection was closed"


def test_stopping_while_a_renewal_hangs_takes_no_time() -> None:
    """The same for a renewal: the server answered DONE and then never the new IDLE."""
    release = threading.Event()

    def on_idle(_connection: int, idle: int, send: Send) -> None:
        if idle >= 2:
            release.wait(30)  # no "+ idling": the renewal waits for it
        send(b"+ idling\r\n")

    server = ScriptedImap(on_idle)
    before = set(threading.enumerate())
    try:
        with watching(server.port, timeout=30, renew=0.3) as (hub, _passes):
            wait_until(lambda: server.idles >= 2, 5, "the renewal")
            time.sleep(0.2)
            started = time.monotonic()
            hub.close()
        wait_until(lambda: not new_threads(before), STOP_BOUND, "the hub's threads ended")
        took = time.monotonic() - started
    finally:
        release.set()
        server.close()
    assert took < STOP_BOUND, f"stopping took {took:.1f} s"


# ------------------------------------------------------------------ a job starting at close


def test_an_opener_job_starting_as_the_hub_closes_does_not_log_in() -> None:
    """``close`` shut the opener pool down without waiting: a job already taken by a pool
    thread went on, logged in after ``close`` had returned and only then closed again."""
    asked, go = threading.Event(), threading.Event()

    def folder() -> str:  # the job has started; hold it there while the hub closes
        asked.set()
        go.wait(5)
        return "INBOX"

    server = ScriptedImap()
    before = set(threading.enumerate())
    try:
        with watching(server.port, folder=folder) as (_hub, passes):
            assert asked.wait(5), "the opener job started"
        go.set()
        wait_until(lambda: not new_threads(before), STOP_BOUND, "the hub's threads ended")
    finally:
        go.set()
        server.close()
    assert server.accepted == 0, "a login after close"
    assert passes == []


# ------------------------------------------------------------------ what is kept stays bounded


def test_a_response_that_never_ends_is_refused_not_kept_for_ever() -> None:
    """Half a response is kept until its end comes: a server that sends no CRLF, or
    announces a literal of a gigabyte, is refused at once instead of filling the memory."""
    with pytest.raises(IMAPClientError):
        Responses().feed(b"* 1 FETCH (BODY[] {1000000000}\r\n")
    endless = Responses()
    endless.feed(b"* OK " + b"x" * (MAX_RESPONSE - 10))
    with pytest.raises(IMAPClientError):
        endless.feed(b"x" * 20)
    split = Responses()
    assert split.feed(b"* 3 FETCH (BODY[] {5}\r\na\r\n") == []
    assert split.feed(b"bc)\r\n* 4 EXISTS\r\n* 5 EX") == [
        b"* 3 FETCH (BODY[] {5}\r\na\r\nbc)",
        b"* 4 EXISTS",
    ]
    assert split.begun
