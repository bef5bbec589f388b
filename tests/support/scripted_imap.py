"""A tiny IMAP server (plain TCP) that says what a test scripts after each IDLE: for what real
servers may send and Dovecot never does (untagged data before IDLE's "+", a line in two
writes).  It knows LOGIN, CAPABILITY, EXAMINE/SELECT, IDLE/DONE and LOGOUT, and answers
anything else OK."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

CAPABILITIES = b"IMAP4rev1 IDLE UNSELECT"

Send = Callable[[bytes], None]
OnIdle = Callable[[int, int, Send], None]
"""(connection number, IDLE number on it, send): what the server says to that IDLE."""


def plus_idling(_connection: int, _idle: int, send: Send) -> None:
    send(b"+ idling\r\n")


class ScriptedImap:
    def __init__(self, on_idle: OnIdle = plus_idling) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.on_idle = on_idle
        self.accepted = 0
        self.idles = 0
        self._connections: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, name="scripted-imap", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                connection, _address = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            self._connections.append(connection)
            threading.Thread(
                target=self._serve, args=(connection, self.accepted), daemon=True
            ).start()

    def _serve(self, connection: socket.socket, number: int) -> None:
        reader = connection.makefile("rb")
        send = connection.sendall
        idle_tag: bytes | None = None
        idles = 0
        try:
            send(b"* OK [CAPABILITY " + CAPABILITIES + b"] ready\r\n")
            while line := reader.readline():
                if idle_tag is not None and line.strip().upper() == b"DONE":
                    send(idle_tag + b" OK Idle completed\r\n")
                    idle_tag = None
                    continue
                tag, _, rest = line.strip().partition(b" ")
                command = rest.split(b" ")[0].upper()
                if command == b"LOGIN":
                    send(tag + b" OK [CAPABILITY " + CAPABILITIES + b"] Logged in\r\n")
                elif command == b"CAPABILITY":
                    send(b"* CAPABILITY " + CAPABILITIES + b"\r\n" + tag + b" OK done\r\n")
                elif command in (b"EXAMINE", b"SELECT"):
                    send(
                        b"* FLAGS (\\Seen)\r\n* 1 EXISTS\r\n* 0 RECENT\r\n"
                        b"* OK [UIDVALIDITY 1] x\r\n* OK [UIDNEXT 2] x\r\n"
                        + tag
                        + b" OK [READ-ONLY] done\r\n"
                    )
                elif command == b"IDLE":
                    idles += 1
                    self.idles += 1
                    idle_tag = tag
                    self.on_idle(number, idles, send)
                elif command == b"LOGOUT":
                    send(b"* BYE\r\n" + tag + b" OK\r\n")
                    return
                else:
                    send(tag + b" OK done\r\n")
        except OSError:
            return
        finally:
            connection.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for connection in self._connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
