"""A server with no room for another connection, told as such — never as a wrong password.

At about a thousand mailboxes a Dovecot with its default settings runs out of room, and each
of its limits shows differently to a client (checked against Dovecot 2.3):

- ``mail_max_userip_connections`` (per user and IP, default 10): the login is refused with
  ``NO [LIMIT] Maximum number of connections from user+IP exceeded``;
- ``process_limit`` of ``service imap``: the login hangs until the login process gives up,
  then the server closes the connection (imapclient says ``LOGIN => socket error: EOF``,
  as a *login* error);
- ``process_limit``/``client_limit`` of ``service imap-login``, ``default_client_limit``:
  new connections wait unanswered (no greeting), or are closed at the greeting.

So a hang-up or a silence while a connection is being opened (after the TCP connection
stood) and a login refused with ``[LIMIT]`` become :class:`ConnectionLimitError`, naming
the setting to raise.  Our own process out of file descriptors (``EMFILE``) has a message of
its own naming ``LimitNOFILE`` and ``ulimit -n``.
"""

from __future__ import annotations

import re
from typing import Literal

from imapclient.exceptions import IMAPClientAbortError

from postvakt.errors import ConnectionLimitError

__all__ = ["OUT_OF_FILES", "login_refused_for_limit", "server_full", "while_connecting"]

OUT_OF_FILES = (
    "Postvakt har slut på fildeskriptorer och kan inte öppna fler anslutningar (för många "
    "öppna filer, EMFILE). Höj gränsen för processen: LimitNOFILE= i systemd-enheten, eller "
    "ulimit -n innan postvakt startas (varje brevlåda behöver en eller två anslutningar)."
)
_LIMIT = re.compile(r"\[LIMIT\]|maximum number of connections|too many connections", re.I)
_HUNG_UP = re.compile(r"socket error|EOF|BYE", re.I)
_HANG_UPS = (EOFError, IMAPClientAbortError, ConnectionResetError, BrokenPipeError)
_RAISE_PROCESSES = (
    "Höj process_limit för service imap, process_limit och client_limit för service "
    "imap-login samt default_client_limit i Dovecot (och LimitNOFILE för Dovecot) så att "
    "alla brevlådor ryms, eller bevaka färre brevlådor med IDLE."
)


def login_refused_for_limit(where: str, text: str, mailbox: str) -> ConnectionLimitError | None:
    """The error for a refused login that was a connection limit, or None (a real refusal).

    The login name is not in the text: it is logged, and a login may be a person's name."""
    if _LIMIT.search(text):
        return ConnectionLimitError(
            f"servern {where} tar inte emot fler anslutningar för den här inloggningen "
            f"({_clean(text)}). "
            "Höj mail_max_userip_connections i avsnittet protocol imap i Dovecot (Postvakt "
            "använder två anslutningar per brevlåda som bevakas med IDLE, annars en), eller "
            "stäng andra anslutningar för samma användare.",
            mailbox=mailbox,
            code="mail_max_userip_connections",
        )
    if _HUNG_UP.search(text):
        return ConnectionLimitError(
            f"servern {where} tar inte emot fler anslutningar: den stängde förbindelsen under "
            f"inloggningen ({_clean(text)}). {_RAISE_PROCESSES}",
            mailbox=mailbox,
            code="process_limit",
        )
    return None


def server_full(
    where: str,
    stage: Literal["greeting", "login"],
    exc: BaseException,
    timeout: float,
    mailbox: str,
) -> ConnectionLimitError | None:
    """The error for a silence or a hang-up while a connection was being opened, or None
    (another failure: a reset, a TLS error)."""
    if isinstance(exc, TimeoutError):
        what = (
            f"hälsade inte inom {timeout:.0f} s"
            if stage == "greeting"
            else f"svarade inte på inloggningen inom {timeout:.0f} s"
        )
    elif isinstance(exc, _HANG_UPS) or _HUNG_UP.search(str(exc)):
        what = (
            "stängde förbindelsen innan den hälsade"
            if stage == "greeting"
            else "stängde förbindelsen under inloggningen"
        )
    else:
        return None
    return ConnectionLimitError(
        f"servern {where} tar inte emot fler anslutningar: den {what}. {_RAISE_PROCESSES}",
        mailbox=mailbox,
        code="process_limit",
    )


def while_connecting(exc: BaseException) -> bool:
    """Whether ``exc`` came from the TCP connect itself (an unreachable host times out
    there too), not from a server that accepted the connection."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "create_connection":
            return True
        tb = tb.tb_next
    return False


def _clean(text: str) -> str:
    """The server's text without imapclient's bytes repr (``b'...'``)."""
    found = re.fullmatch(r"b(['\"])(.*)\1", text.strip())
    return found.group(2) if found else text.strip()
