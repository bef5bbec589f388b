"""Waiting for new mail on IMAP with IDLE (RFC 2177), on a connection of its own.

Two ways to wait: :meth:`ImapIdle.wait_for_new` blocks a thread (the connector protocol's
:class:`~postvakt.mailbox.base.SupportsIdle`), and ``idle_open``/``idle_read``/
``idle_renew``/``idle_close`` let one event loop watch the IDLE connections of every
mailbox (:class:`~postvakt.mailbox.base.SupportsIdleSocket`, used by
:mod:`postvakt.watch`): the loop selects on the descriptors and reads only what is there.
The IDLE is renewed before the 29 minutes the RFC allows.  A response is read only when
it is whole, however the network cut it (:mod:`postvakt.mailbox.imap_idle_lines`), and
``idle_close`` may be called from another thread to break off an ``idle_open`` or
``idle_renew`` that waits for a silent server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from postvakt.errors import ConnectorError, UnavailableError
from postvakt.mailbox.imap_connection import (
    Opening,
    as_text,
    drop_nothing,
    read_ahead,
    shut_down,
    socket_readable,
)
from postvakt.mailbox.imap_idle_lines import finish, parsed, read_now

if TYPE_CHECKING:
    from postvakt.mailbox.imap_connection import ImapConnection

    _Base = ImapConnection
else:
    _Base = object

__all__ = ["IDLE_RENEW", "ImapIdle"]

IDLE_RENEW = 25 * 60  # seconds; RFC 2177 asks for a new IDLE at least every 29 minutes


class ImapIdle(_Base):
    """IDLE for the IMAP connector, on ``self._idle_client`` beside the pass connection."""

    def wait_for_new(self, folder: str, timeout: float) -> bool:
        """Wait up to ``timeout`` s for new mail with IDLE, on a connection of its own.

        The IDLE command stays open between calls (so waiting costs no round trips) and is
        renewed after 25 minutes, before the 29 the RFC allows (RFC 2177).

        A connection the server has closed raises :class:`UnavailableError` at once, and the
        next call opens a new one.  A server that stops says ``* BYE`` and closes; after that
        imapclient's ``idle_check`` would return nothing at once, call after call, because
        it takes the end of the stream for "no news" — so a wait that read nothing from a
        socket that is still readable ends the IDLE to see which it was: a live server
        answers DONE, a gone one does not.  Opening is not held back by the pass
        connection's back-off: the caller paces these attempts (the service's watcher).
        """
        if self._idle_client is None:
            client = self._open(gated=False)
            try:
                with self._errors(f"öppna {folder} för IDLE", drop=drop_nothing):
                    client.select_folder(folder, readonly=True)
            except ConnectorError:
                shut_down(client)
                raise
            self._idle_client, self._idle_since = client, None
        client = self._idle_client
        try:
            with self._errors("vänta på ny post (IDLE)", drop=self._drop_idle):
                now = self._monotonic()
                if self._idle_since is not None and now - self._idle_since > IDLE_RENEW:
                    _done(client)
                    self._idle_since = None
                if self._idle_since is None:
                    client.idle()
                    self._idle_since = now
                    self.commands += 1
                early = _early(client)
                if early:  # sent before "+ idling": news already
                    responses = early
                elif read_ahead(client):  # sent with "+ idling": no poll sees it; DONE reads it
                    responses = _done(client)
                    self._idle_since = None
                else:
                    responses = _check(client, timeout)
                if not responses and socket_readable(client):
                    responses = _done(client)
                    self._idle_since = None
                if any(r[:1] == (b"BYE",) for r in responses):
                    raise UnavailableError(
                        f"{self.settings.host}:{self.port} avslutade förbindelsen under IDLE "
                        f"({as_text(b' '.join(r for r in responses[-1] if isinstance(r, bytes)))}). "
                        "Postvakt försöker igen.",
                        mailbox=self.address,
                    )
                new = any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)
                if new and self._idle_since is not None:
                    client.idle_done()
                    self._idle_since = None
        except ConnectorError:
            self._drop_idle()  # whatever went wrong, the next call starts on a fresh connection
            raise
        return new

    # -- IDLE for an event loop (one loop watches every mailbox) ------------------------

    def idle_open(self, folder: str) -> int:
        """Open a fresh IDLE connection on ``folder`` (connect, log in, EXAMINE, IDLE) and
        return its file descriptor, readable when the server says something.  Blocks for
        the round trips (``idle_close`` from another thread breaks them off); an IDLE
        connection already open is closed first."""
        self._drop_idle()
        opening = Opening()
        with self._idle_lock:
            self._idle_opening = opening
        try:
            client = self._open(gated=False, on_socket=opening.track)
            try:
                with self._errors(f"öppna {folder} för IDLE", drop=drop_nothing):
                    client.select_folder(folder, readonly=True)
                    client.idle()
                    self.commands += 2
                    fileno = client.socket().fileno()
            except ConnectorError:
                shut_down(client)
                raise
            with self._idle_lock:
                if not opening.broken_off:
                    self._idle_client, self._idle_since = client, self._monotonic()
                    return fileno
            shut_down(client)
            raise UnavailableError(
                "IDLE-förbindelsen stängdes medan den öppnades", mailbox=self.address
            )
        finally:
            with self._idle_lock:
                self._idle_opening = None
            opening.close()

    def idle_read(self) -> bool | None:
        """What the server sent on the IDLE connection, read without waiting (call it when
        the descriptor is readable): True for new mail, False for other news (a keep-alive,
        a flag change).  None when nothing could be read from a readable socket: the end of
        the stream, or a line not yet whole — :meth:`idle_renew` tells which.  ``* BYE``
        raises :class:`UnavailableError` and closes the connection."""
        client = self._idle_client
        if client is None:
            raise UnavailableError("ingen IDLE-förbindelse är öppen", mailbox=self.address)
        try:
            with self._errors("vänta på ny post (IDLE)", drop=self._drop_idle):
                whole = read_now(client)  # part of a response stays until the rest comes
                responses = parsed(whole or [])
        except ConnectorError:
            self._drop_idle()
            raise
        if whole is None:
            return None
        return self._idle_news(responses)

    def idle_renew(self) -> bool:
        """End the IDLE and start it again (DONE, IDLE: one round trip), as RFC 2177 asks
        at least every 29 minutes; also the test of a connection that read as readable with
        nothing in it (a gone server does not answer DONE).  True when the server reported
        new mail meanwhile.  Raises :class:`UnavailableError` (connection closed) on failure."""
        client = self._idle_client
        if client is None:
            raise UnavailableError("ingen IDLE-förbindelse är öppen", mailbox=self.address)
        try:
            with self._errors("förnya IDLE", drop=self._drop_idle):
                responses = _done(client)
                new = self._idle_news(responses)
                client.idle()
                self._idle_since = self._monotonic()
                self.commands += 2
                # Mail between DONE and IDLE comes with "+ idling", read into the buffer
                # with it: the loop's select would not hear of it until the next renewal.
                # Told as news (a pass looks); the next read or renewal reads the line.
                new = self._idle_news(_early(client)) or new or read_ahead(client)
        except ConnectorError:
            self._drop_idle()
            raise
        return new

    def idle_close(self) -> None:
        """Close the IDLE connection (without a word to the server: it may be gone).  Safe
        from another thread: an ``idle_open`` or ``idle_renew`` waiting there for the server
        then raises :class:`UnavailableError` at once (stopping need not wait out the
        timeout of a login that hangs)."""
        with self._idle_lock:
            opening = self._idle_opening
        if opening is not None:
            opening.break_off()
        self._drop_idle()

    def _idle_news(self, responses: list[Any]) -> bool:
        """Whether ``responses`` report new mail; ``* BYE`` closes the connection and raises."""
        if any(r[:1] == (b"BYE",) for r in responses):
            self._drop_idle()
            raise UnavailableError(
                f"{self.settings.host}:{self.port} avslutade förbindelsen under IDLE "
                f"({as_text(b' '.join(r for r in responses[-1] if isinstance(r, bytes)))}). "
                "Postvakt försöker igen.",
                mailbox=self.address,
            )
        return any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)


def _done(client: Any) -> list[Any]:
    """End the IDLE (DONE): the responses since the last read, the rest of one that had
    begun first (imaplib would take that rest for a response of its own)."""
    return parsed(finish(client)) + client.idle_done()[1]


def _check(client: Any, timeout: float) -> list[Any]:
    """imapclient's ``idle_check``, but a response cut in two is kept, not an error."""
    if not socket_readable(client, timeout):
        return []
    return parsed(read_now(client) or [])


def _early(client: Any) -> list[Any]:
    """What the server said before its "+" to the last IDLE (:class:`LeanIMAPClient` keeps
    it), taken once."""
    early = getattr(client, "idle_early", None) or []
    if early:
        client.idle_early = []
    return list(early)
