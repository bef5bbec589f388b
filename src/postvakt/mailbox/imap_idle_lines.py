"""Reading an IDLE connection a whole response at a time, however the network cut it.

imapclient's ``idle_check`` reads lines from a non-blocking socket, and imaplib takes a line
without its CRLF for a broken connection: a response that came in two reads ("* 3 EXI",
then "STS\\r\\n") made it raise "unterminated line", and the IDLE connection was dropped and
logged in again — at 1,000 mailboxes, logins for nothing.  Here the bytes read are kept on
the connection (:class:`Responses`) until their response is whole: up to a CRLF, or, after
a literal ``{n}``, past its n bytes to the CRLF after them (literals are not expected during
IDLE, but must neither hang the loop nor be taken for the end of a line).

:func:`read_now` reads what has come without waiting; :func:`finish` waits for the rest of
a response begun, before DONE: imaplib would read that rest as a response of its own.
Both return raw responses (bytes, without the CRLF); :func:`parsed` gives them the shape of
imapclient's (``(3, b"EXISTS")`` as ``(b"3", b"EXISTS")``: the words that tell news).
"""

from __future__ import annotations

import re
import ssl
from typing import Any

from imapclient.exceptions import IMAPClientError

__all__ = ["MAX_RESPONSE", "Responses", "finish", "parsed", "read_now"]

MAX_RESPONSE = 64 * 1024
"""Bytes an IDLE response may have (an EXISTS has a dozen); more is no IMAP server talking."""
_CHUNK = 4096
_LITERAL = re.compile(rb"\{(\d+)\}\Z")


class Responses:
    """The bytes read from one IDLE connection, cut into whole responses."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._line = 0
        """Where the line being read starts (after the literals of the response so far)."""

    @property
    def begun(self) -> bool:
        """Part of a response has been read and the rest has not."""
        return bool(self._data)

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data``; the responses it made whole.  Raises :class:`IMAPClientError` for
        a response longer than :data:`MAX_RESPONSE`."""
        self._data += data
        whole: list[bytes] = []
        while (end := self._data.find(b"\r\n", self._line)) >= 0:
            literal = _LITERAL.search(self._data, self._line, end)
            if literal is None:
                whole.append(bytes(self._data[:end]))
                del self._data[: end + 2]
                self._line = 0
                continue
            size = int(literal[1])
            if size > MAX_RESPONSE:
                raise IMAPClientError(f"a literal of {size} bytes during IDLE")
            if len(self._data) < end + 2 + size:
                break  # the literal's bytes are still on their way
            self._line = end + 2 + size
        if len(self._data) > MAX_RESPONSE:
            raise IMAPClientError(f"a response of more than {MAX_RESPONSE} bytes during IDLE")
        return whole


def responses_of(client: Any) -> Responses:
    """The :class:`Responses` of ``client``'s IDLE: they live and die with the connection."""
    kept = getattr(client, "idle_responses", None)
    if kept is None:
        kept = client.idle_responses = Responses()
    return kept


def read_now(client: Any) -> list[bytes] | None:
    """The whole responses the server has sent, read without waiting: imaplib's buffer
    first, then the socket until it has nothing more.  An empty list when only part of
    a response has come; None when nothing could be read from it (the end of the stream,
    or TLS bytes that are no data yet)."""
    responses = responses_of(client)
    reader = client._imap.file
    sock = client.socket()
    sock.setblocking(False)
    read = False
    whole: list[bytes] = []
    try:
        while True:
            try:
                data = reader.read1(_CHUNK)
            except (BlockingIOError, ssl.SSLWantReadError):
                break
            if not data:  # nothing more now, or the end of the stream: the caller tells
                break
            read = True
            whole += responses.feed(data)
    finally:
        sock.setblocking(True)
        client._set_read_timeout()
    return whole if read else None


def finish(client: Any) -> list[bytes]:
    """Wait (up to the read timeout) for the rest of a response begun; the responses made
    whole meanwhile.  Raises :class:`EOFError` if the server closes first."""
    responses = responses_of(client)
    whole: list[bytes] = []
    while responses.begun:
        data = client._imap.file.read1(_CHUNK)
        if not data:
            raise EOFError("the server closed the connection in the middle of a response")
        whole += responses.feed(data)
    return whole


def parsed(responses: list[bytes]) -> list[tuple[bytes, ...]]:
    """Untagged responses as their first words (the rest of the line in the third).
    Anything else during IDLE raises :class:`IMAPClientError`, as imapclient did."""
    words = []
    for response in responses:
        if not response.startswith(b"* "):
            raise IMAPClientError("a response during IDLE that is not untagged")
        words.append(tuple(response[2:].split(b" ", 2)))
    return words
