"""One IMAP account's connections: opening, noticing a closed one, and mapping errors.

:class:`ImapConnection` is what :class:`~postvakt.mailbox.imap.ImapConnector` is built on: the
pass connection (opened when needed, replaced when the server has closed it since the last
pass) and the IDLE connection beside it, the login (LOGIN, or AUTHENTICATE PLAIN for UTF-8
passwords; with a master user as ``user*master``), TLS or STARTTLS with the configured CA,
and CONDSTORE when the server has it.

Connections are kept open between passes.  A dropped connection is closed and the error
raised as :class:`~postvakt.errors.UnavailableError`; the next pass reconnects after the
back-off in :mod:`postvakt.retry` and resumes from the saved state.  Every ``imapclient``,
``imaplib``, ``socket`` and ``ssl`` exception is mapped to :mod:`postvakt.errors` by
:meth:`ImapConnection._errors`, with what to check.
"""

from __future__ import annotations

import errno
import logging
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Literal, Self

from imapclient import IMAPClient
from imapclient.exceptions import (
    CapabilityError,
    IMAPClientAbortError,
    IMAPClientError,
    LoginError,
)
from imapclient.imapclient import SocketTimeout

from postvakt.clock import Clock, system_clock
from postvakt.config import ImapSettings
from postvakt.errors import (
    AuthenticationError,
    ConnectorError,
    MailboxNotFoundError,
    ProtocolError,
    UnavailableError,
)
from postvakt.mailbox.imap_lean import LeanIMAPClient
from postvakt.mailbox.imap_limits import (
    OUT_OF_FILES,
    login_refused_for_limit,
    server_full,
    while_connecting,
)
from postvakt.retry import Backoff, RetryPolicy

__all__ = [
    "ImapConnection",
    "Opening",
    "as_text",
    "drop_nothing",
    "read_ahead",
    "shut_down",
    "socket_readable",
]

log = logging.getLogger("postvakt.mailbox.imap")


class ImapConnection:
    """The connections of one IMAP mailbox and the mapping of their errors.

    Not thread-safe on its own: one pass at a time; the IDLE connection is separate so a
    watcher can wait on it while a pass runs.
    """

    def __init__(
        self,
        address: str,
        settings: ImapSettings,
        password: str,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        backoff: Backoff | None = None,
    ):
        self.address = address
        self.settings = settings
        self._password = password
        self.clock = clock or system_clock()
        self._backoff = backoff or Backoff(retry or RetryPolicy())
        self._client: IMAPClient | None = None
        self._idle_client: IMAPClient | None = None
        self._idle_since: float | None = None
        self._idle_lock = threading.Lock()  # idle_close may come from another thread
        self._idle_opening: Opening | None = None
        self._selected: str | None = None
        self._monotonic = self._backoff.monotonic
        self._condstore = False
        self._special: dict[bytes, str | None] = {}
        self.commands = 0
        """IMAP commands sent since start (for the idle-cost benchmark)."""
        self.logins = 0
        """Connections opened since start."""

    # -- connecting ---------------------------------------------------------------

    @property
    def port(self) -> int:
        if self.settings.port:
            return self.settings.port
        return 993 if self.settings.security == "tls" else 143

    @property
    def login_name(self) -> str:
        if self.settings.master_user:
            return f"{self.settings.username}*{self.settings.master_user}"
        return self.settings.username

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(
            cafile=str(self.settings.ca_file) if self.settings.ca_file else None
        )
        if not self.settings.verify_certificate:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _open(
        self, *, gated: bool = True, on_socket: Callable[[socket.socket], None] | None = None
    ) -> IMAPClient:
        """A new logged-in connection.  A failure is recorded in the back-off; while it runs,
        a ``gated`` open refuses at once (the pass connection).  The IDLE connection is not
        gated: its caller paces its own attempts (the service's watcher backs off).
        ``on_socket`` is given the socket as soon as it is connected (see :class:`Opening`)."""
        wait = self._backoff.wait_left()
        if gated and wait > 0:
            raise UnavailableError(
                f"servern {self.settings.host} svarade inte nyss; nästa försök om {wait:.0f} s",
                mailbox=self.address,
            )
        timeout = SocketTimeout(
            connect=min(15.0, self.settings.timeout_seconds), read=self.settings.timeout_seconds
        )
        client: IMAPClient | None = None
        try:
            # a failed open leaves the other connection alone (another thread may use it)
            with self._errors("ansluta", drop=drop_nothing, stage="greeting"):
                client = LeanIMAPClient(  # 2 KiB read buffer: one connection per mailbox
                    self.settings.host,
                    port=self.port,
                    ssl=self.settings.security == "tls",
                    ssl_context=self._ssl_context() if self.settings.security == "tls" else None,
                    timeout=timeout,
                    on_socket=on_socket,
                )
            client.normalise_times = False  # keep INTERNALDATE's zone
            self.logins += 1
            with self._errors("logga in", drop=drop_nothing, stage="login"):
                if self.settings.security == "starttls":
                    client.starttls(self._ssl_context())
                if (self.login_name + self._password).isascii():
                    client.login(self.login_name, self._password)
                else:
                    # LOGIN is ASCII-only; AUTHENTICATE PLAIN carries UTF-8 (å, ä, ö).
                    client.plain_login(self.login_name, self._password)
                capabilities = client.capabilities()
                self._condstore = b"CONDSTORE" in capabilities
                if self._condstore:
                    client.enable("CONDSTORE")
                self.commands += 3 + self._condstore
        except ConnectorError:
            shut_down(client)  # a half-open one (refused login, failed STARTTLS)
            self._backoff.failed()
            raise
        self._backoff.succeeded()
        return client

    def _connection(self) -> IMAPClient:
        """The pass connection, opened when needed.

        One the server has closed since the last pass (a restart, an idle timeout) is noticed
        before use and replaced: between commands an IMAP server sends nothing, so a socket
        that reads as ready holds the end of the stream (or a ``* BYE``).  Without this the
        first pass after a restart would fail on the old connection.
        """
        if self._client is not None and socket_readable(self._client):
            log.debug("%s closed the connection since the last pass", self.settings.host)
            self._drop()
        if self._client is None:
            self._client = self._open()
        return self._client

    def _drop(self) -> None:
        client, self._client = self._client, None
        self._selected = None
        shut_down(client)

    def _drop_idle(self) -> None:
        with self._idle_lock:
            client, self._idle_client, self._idle_since = self._idle_client, None, None
        shut_down(client)

    @contextmanager
    def _errors(
        self,
        action: str,
        drop: Callable[[], None] | None = None,
        *,
        stage: Literal["greeting", "login"] | None = None,
    ) -> Iterator[None]:
        """Map imapclient, socket and ssl errors to Postvakt's, with what to check.

        A broken connection is dropped with ``drop`` (default: the pass connection).
        ``stage`` says the connection is being opened (waiting for the server's greeting, or
        logging in): a server that hangs up or stays silent then has no room for another
        connection, which is reported as such (:class:`ConnectionLimitError`), never as a
        wrong password; so is a login the server refuses with ``[LIMIT]``."""
        where = f"{self.settings.host}:{self.port}"
        lost = drop or self._drop
        try:
            yield
        except LoginError as exc:
            lost()
            refused = login_refused_for_limit(where, str(exc), self.address)
            if refused is not None:
                raise refused from exc
            raise AuthenticationError(
                f"inloggningen nekades av {where}. Kontrollera användarnamnet "
                "och lösenordet i miljövariabeln som password_env anger.",
                mailbox=self.address,
            ) from exc
        except UnicodeError as exc:
            lost()
            raise AuthenticationError(
                f"användarnamnet eller lösenordet innehåller tecken som {where} inte tar emot. "
                "Byt till ett lösenord med bara A–Z, 0–9 och vanliga tecken.",
                mailbox=self.address,
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            lost()
            raise UnavailableError(
                f"certifikatet från {where} kunde inte verifieras ({exc.verify_message}). Ange "
                "ca_file med organisationens CA, eller rätt värdnamn.",
                mailbox=self.address,
            ) from exc
        except (IMAPClientAbortError, OSError, EOFError) as exc:
            # Connection refused/reset, timeouts, TLS errors, or the server hung up.
            lost()
            if isinstance(exc, OSError) and exc.errno == errno.EMFILE:
                raise UnavailableError(OUT_OF_FILES, mailbox=self.address, code="EMFILE") from exc
            if stage is not None and not while_connecting(exc):
                full = server_full(where, stage, exc, self.settings.timeout_seconds, self.address)
                if full is not None:
                    raise full from exc
            raise UnavailableError(
                f"förbindelsen med {where} bröts eller kunde inte öppnas när Postvakt skulle {action} "
                f"({type(exc).__name__}: {exc}). Postvakt försöker igen.",
                mailbox=self.address,
            ) from exc
        except CapabilityError as exc:
            raise ProtocolError(
                f"{where} saknar en funktion som behövs för att {action}: {exc}",
                mailbox=self.address,
            ) from exc
        except IMAPClientError as exc:
            text = str(exc)
            if "NONEXISTENT" in text or "doesn't exist" in text or "Mailbox doesn't exist" in text:
                raise MailboxNotFoundError(
                    f"mappen finns inte på {where} ({text}). Kontrollera folders i konfigurationen.",
                    mailbox=self.address,
                ) from exc
            raise ProtocolError(
                f"{where} svarade med fel när Postvakt skulle {action}: {text}",
                mailbox=self.address,
            ) from exc

    def companion(self) -> Self:
        """A second connector to the same account with a connection of its own: a pass
        places drafts on it while this one reads on (:mod:`postvakt.intake.placer`).

        It knows the folders this one found (no second LIST) and opens its connection on
        first use; the caller closes it.  Its own back-off: a companion refused a login
        (the server's connection limit, say) does not hold up this connector's pass.
        """
        other = type(self)(self.address, self.settings, self._password, clock=self.clock)
        other._special = dict(self._special)
        return other

    def close(self) -> None:
        self._drop()
        self._drop_idle()


def as_text(value: bytes | str) -> str:
    """A value from a server response as text (bytes read as UTF-8, bad bytes replaced)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def drop_nothing() -> None:
    """No connection to drop (see ``ImapConnection._errors``)."""


def socket_readable(client: IMAPClient, timeout: float = 0.0) -> bool:
    """Whether the socket has something to read (data, the end of the stream, an error) now,
    or within ``timeout`` seconds."""
    try:
        sock = client.socket()
        fileno = sock.fileno()
        if fileno < 0:
            return True  # closed on our side
        poller = select.poll()
        poller.register(fileno, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(timeout * 1000))
    except (OSError, ValueError, AttributeError):
        return True


def read_ahead(client: IMAPClient) -> bool:
    """Whether the server sent something that is already read into imaplib's buffer, or is
    on the socket now, without waiting for it.

    imaplib reads through a buffered file: IDLE's "+ idling" and a "* 3 EXISTS" the server
    sent with it in one write are read together, and the socket, empty, is never readable
    for that line: a loop that selects on it would not hear of that mail until its next
    renewal.  (A socket at its end reads as nothing here; a poll on it says so.)"""
    reader = getattr(getattr(client, "_imap", None), "file", None)
    if reader is None or not hasattr(reader, "peek"):
        return False
    try:
        sock = client.socket()
        sock.setblocking(False)
    except (OSError, ValueError, AttributeError):
        return False
    try:
        return bool(reader.peek(1))  # the buffer, else one read that does not wait
    except (OSError, ValueError):  # nothing there (would block; TLS wants more), or closed
        return False
    finally:
        with suppress(OSError, ValueError, AttributeError):
            sock.setblocking(True)
            client._set_read_timeout()


def shut_down(client: IMAPClient | None) -> None:
    """Close a connection that may already be gone, without a word.  The socket is shut
    down first: a thread blocked reading from it then wakes at once (imaplib closes its
    reader first, which waits for that read to end: up to the whole timeout)."""
    if client is not None:
        with suppress(OSError, IMAPClientError, AttributeError):
            client.socket().shutdown(socket.SHUT_RDWR)
        with suppress(OSError, IMAPClientError):
            client.shutdown()


class Opening:
    """A connection being opened, which another thread may break off (the IDLE watch,
    stopping while a server leaves the greeting or the login unanswered).

    :meth:`track` is given the socket as soon as it is connected and keeps a duplicate of
    it: TLS takes the original's descriptor over, and shutting the duplicate down still
    ends the connection, plain or TLS, in any state.  A :meth:`break_off` before that
    ends the connection as soon as it is tracked."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self.broken_off = False

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._socket = sock.dup()
            if self.broken_off:
                self._shut()

    def break_off(self) -> None:
        with self._lock:
            self.broken_off = True
            self._shut()

    def close(self) -> None:
        """Let go of the duplicate (the connection itself is its client's)."""
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None

    def _shut(self) -> None:
        if self._socket is not None:
            with suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
