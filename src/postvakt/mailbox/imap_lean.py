"""An :class:`~imapclient.IMAPClient` that keeps less memory per connection.

Postvakt keeps one connection open per watched mailbox between passes, so what a connection
holds counts thousands of times.  imaplib reads through ``socket.makefile('rb')`` with the
default 8 KiB buffer, allocated when the connection opens and held while it stays open:
8 MB for 1,000 mailboxes, the largest single item measured.  Here the buffer is
:data:`READ_BUFFER` bytes, set before anything is read (right after the socket opens, and
again after STARTTLS).  Large reads (message bodies) bypass a buffered reader's buffer
anyway, so fetching costs no more round trips.

It also tells an ``on_socket`` callback of the socket as soon as it is connected, before the
TLS handshake and the greeting: another thread can then break off an open that hangs.
"""

from __future__ import annotations

import imaplib
import socket
import ssl
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.imap4 import IMAP4WithTimeout
from imapclient.imapclient import _parse_untagged_response
from imapclient.tls import IMAP4_TLS, wrap_socket

__all__ = ["READ_BUFFER", "LeanIMAPClient"]

READ_BUFFER = 2048
"""Bytes of read buffer per connection (STATUS answers and response lines fit)."""

OnSocket = Callable[[socket.socket], None]


def _lean_file(imap: imaplib.IMAP4) -> None:
    """Replace the connection's reader with one of :data:`READ_BUFFER` bytes.  Only while
    nothing has been read through it.  (From Python 3.14 imaplib keeps its own buffer and
    ``file`` cannot be set: then it stays as it is.)"""
    old = imap.file
    with suppress(AttributeError):
        imap.file = imap.sock.makefile("rb", buffering=READ_BUFFER)
        old.close()  # the socket stays open: the new reader holds it


def _told(sock: socket.socket, on_socket: OnSocket | None) -> socket.socket:
    """``sock``, once ``on_socket`` has it (closed if that fails: nobody else holds it)."""
    if on_socket is not None:
        try:
            on_socket(sock)
        except BaseException:
            sock.close()
            raise
    return sock


class _Plain(IMAP4WithTimeout):
    def __init__(self, host: str, port: int, timeout: Any, on_socket: OnSocket | None) -> None:
        self.on_socket = on_socket  # before imaplib's __init__ connects
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: Any = None) -> socket.socket:
        return _told(super()._create_socket(timeout), self.on_socket)

    def open(self, host: str = "", port: int = imaplib.IMAP4_PORT, timeout: Any = None) -> None:
        super().open(host, port, timeout)
        _lean_file(self)

    def starttls(self, ssl_context: ssl.SSLContext | None = None) -> Any:
        answer = super().starttls(ssl_context)
        _lean_file(self)  # imaplib made a new reader for the TLS socket
        return answer


class _Tls(IMAP4_TLS):
    def __init__(
        self,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None,
        timeout: Any,
        on_socket: OnSocket | None,
    ) -> None:
        self.on_socket = on_socket
        super().__init__(host, port, ssl_context, timeout)

    def _create_socket(self, timeout: Any = None) -> socket.socket:
        """imapclient's, with the plain socket told before the TLS handshake."""
        sock = socket.create_connection(
            (self.host, self.port), timeout=self._timeout if timeout is None else timeout
        )
        return wrap_socket(_told(sock, self.on_socket), self.ssl_context, self.host)

    def open(self, host: str = "", port: int = 993, timeout: Any = None) -> None:
        super().open(host, port, timeout)
        _lean_file(self)


class LeanIMAPClient(IMAPClient):
    """:class:`~imapclient.IMAPClient` with :data:`READ_BUFFER`-byte read buffers, and a
    command with literals written in one piece where the server takes LITERAL+.
    ``on_socket`` is told of the socket as soon as it is connected."""

    def __init__(self, *args: Any, on_socket: OnSocket | None = None, **kwargs: Any) -> None:
        self._on_socket = on_socket  # before imapclient's __init__ connects
        super().__init__(*args, **kwargs)

    def _raw_command(self, command: bytes, args: Any, uid: bool = True) -> Any:
        """imapclient's, but with LITERAL+ the command goes out in one write.

        imapclient writes a command with literals in pieces: its words, then each literal's
        length and bytes.  A MULTIAPPEND of 50 drafts is about 150 writes.  Every write lets
        go of the interpreter's lock and must wait to get it back, up to the switch interval
        (5 ms) when another thread is busy: the draft placer (:mod:`postvakt.intake.placer`)
        would wait most of its time.  Without LITERAL+ every literal waits for the server's
        go-ahead anyway, and imapclient's own way is kept.
        """
        if not self.has_capability("LITERAL+"):
            return super()._raw_command(command, args, uid)
        imap = self._imap
        pieces: list[bytes] = []
        complete = imap._command_complete

        def send_then_complete(name: str, tag: Any) -> Any:
            del imap.send  # the connection's own again
            imap.send(b"".join(pieces))
            return complete(name, tag)

        imap.send = pieces.append
        imap._command_complete = send_then_complete
        try:
            return super()._raw_command(command, args, uid)
        finally:
            vars(imap).pop("send", None)
            vars(imap).pop("_command_complete", None)

    idle_early: list[Any]
    """Untagged responses the server sent before IDLE's "+" (parsed), for the caller to read
    as news; cleared by each IDLE."""

    def idle(self) -> None:
        """imapclient's, but untagged responses before the "+" are kept, not an error.

        RFC 3501 lets a server send untagged data at any time, and one that tells of mail
        that came meanwhile before it answers the IDLE ("* 2 EXISTS", then "+ idling") is
        right to.  imapclient raised "Unexpected IDLE response", and the IDLE connection was
        dropped and logged in again.  A tagged answer (the server refused IDLE) still
        raises."""
        imap = self._imap
        self._idle_tag = imap._command("IDLE")
        self.idle_early = []
        while (line := imap._get_response()) is not None:
            if imap.tagged_commands.get(self._idle_tag) is not None:
                raise IMAPClientError(f"Unexpected IDLE response: {line!r}")
            self.idle_early.append(_parse_untagged_response(line))
        imap.untagged_responses.clear()  # kept above; imaplib's copy would only grow

    def _create_IMAP4(self) -> imaplib.IMAP4:  # imapclient names it so
        if self.stream:
            return super()._create_IMAP4()
        connect_timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            return _Tls(self.host, self.port, self.ssl_context, connect_timeout, self._on_socket)
        return _Plain(self.host, self.port, connect_timeout, self._on_socket)
