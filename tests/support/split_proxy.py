"""A TCP relay that hands on what a server writes in two pieces, a pause between them, so
the client reads every response split at a point the test chooses (a line cut in the middle,
as a slow network or a busy server may cut it).  What the client writes goes through as is.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class SplitProxy:
    """Listens on loopback (``port``) and relays every connection to ``upstream``; each
    chunk the server writes reaches the client as its first ``cut`` bytes, then the rest
    ``pause`` seconds later."""

    def __init__(self, upstream: tuple[str, int], *, cut: int = 7, pause: float = 0.05) -> None:
        self.upstream = upstream
        self.cut = cut
        self.pause = pause
        self.accepted = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name="split-proxy", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            server = socket.create_connection(self.upstream)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._sockets.append(sock)
            threading.Thread(target=self._pump, args=(client, server, 0), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(server, client, self.cut), daemon=True
            ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, cut: int) -> None:
        try:
            while data := source.recv(65536):
                if 0 < cut < len(data):
                    sink.sendall(data[:cut])
                    if self._closed.wait(self.pause):
                        return
                    data = data[cut:]
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
