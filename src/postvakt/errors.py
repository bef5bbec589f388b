"""Every error Postvakt raises on purpose, in one tree.

Each error says who must act: the operator (fix the config, start the server, set the
password), the sender (nothing Postvakt can do about their broken mail; it is kept), or
the programmer (a bug: the traceback goes to the failed store).  Outcomes of processing —
"not a case", "automatic reply", "needs review" — are *not* errors and never raised.

    PostvaktError                     base; never raised itself
    ├── ConfigError                   the config file is missing, unreadable or invalid
    │                                 (carries every problem, each with the key that caused it)
    ├── DatabaseError                 the database cannot be used
    │   ├── DatabaseLockedError       another process holds the lock for too long
    │   └── SchemaTooNewError         the schema was written by a newer Postvakt
    ├── ConnectorError                a mail system answered badly; raised by mailbox/ only,
    │   │                             chained (``raise … from exc``) to the library's error
    │   ├── AuthenticationError       login refused: check user name and password variable
    │   ├── UnavailableError          cannot reach the server, or it dropped us: retried
    │   │   └── ConnectionLimitError  the server takes no more connections: raise its limit
    │   ├── ProtocolError             the server said something we did not expect
    │   ├── ThrottledError            the server asks us to slow down (carries retry_after)
    │   └── MailboxNotFoundError      the folder or mailbox does not exist
    ├── TemplateError                 a Word template is missing, broken or has unknown variables
    └── RequestError                  what the user asked for (command line, form) cannot be
        │                             done as asked: they must change the request
        ├── InvalidInputError         a value given is wrong (carries the argument's name)
        ├── NotFoundError             a case, failed message or person named on the command line
        │                             does not exist
        ├── InvalidTransitionError    a case cannot go from its state to the one asked for
        └── PermissionDeniedError     the person named (--by, the signed-in user) has no right
                                      to do it: says who has

The command line maps ``ConfigError`` and ``RequestError`` to exit code 2 and every other
``PostvaktError`` to exit code 1, printing the message (which says what to do); anything else
is a bug, told in one Swedish line with the traceback kept in a crash file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConfigProblem",
    "ConnectionLimitError",
    "ConnectorError",
    "DatabaseError",
    "DatabaseLockedError",
    "InvalidInputError",
    "InvalidTransitionError",
    "MailboxNotFoundError",
    "NotFoundError",
    "PermissionDeniedError",
    "PostvaktError",
    "ProtocolError",
    "RequestError",
    "SchemaTooNewError",
    "TemplateError",
    "ThrottledError",
    "UnavailableError",
]


class PostvaktError(Exception):
    """Base of every error Postvakt raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in the config: the dotted key (``mailboxes[1].imap.port``) and why."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}" if self.key else self.message


class ConfigError(PostvaktError):
    """The configuration cannot be used. ``problems`` lists every one found, not just the first."""

    def __init__(self, problems: Sequence[ConfigProblem] | str, *, source: str | None = None):
        if isinstance(problems, str):
            problems = [ConfigProblem("", problems)]
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        self.source = source
        where = f" i {source}" if source else ""
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Konfigurationen{where} har {len(self.problems)} fel:\n{lines}")


class DatabaseError(PostvaktError):
    """The database cannot be used (unreachable, wrong schema, disk full)."""


class DatabaseLockedError(DatabaseError):
    """Another process kept the SQLite database locked longer than the busy timeout."""


class SchemaTooNewError(DatabaseError):
    """The database's schema revision is unknown to this Postvakt (a newer one wrote it)."""


class ConnectorError(PostvaktError):
    """A mail system failed us. ``mailbox`` names the mailbox, ``code`` keeps a vendor code."""

    def __init__(self, message: str, *, mailbox: str | None = None, code: str | None = None):
        self.mailbox = mailbox
        self.code = code
        prefix = f"{mailbox}: " if mailbox else ""
        super().__init__(prefix + message)


class AuthenticationError(ConnectorError):
    """The server refused the login."""


class UnavailableError(ConnectorError):
    """The server could not be reached or dropped the connection; worth retrying later."""


class ConnectionLimitError(UnavailableError):
    """The server has no room for another connection (Dovecot's ``mail_max_userip_connections``,
    ``process_limit``, ``client_limit``); the message names the setting to raise.  Retried
    like any unavailable server, never taken for a wrong password."""


class ProtocolError(ConnectorError):
    """The server answered something the connector does not understand."""


class ThrottledError(UnavailableError):
    """The server asked us to slow down; ``retry_after`` is in seconds when it said."""

    def __init__(
        self,
        message: str,
        *,
        mailbox: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ):
        self.retry_after = retry_after
        super().__init__(message, mailbox=mailbox, code=code)


class MailboxNotFoundError(ConnectorError):
    """The mailbox or folder does not exist on the server."""


class TemplateError(PostvaktError):
    """A letter template cannot be used; the message names the template and what is wrong."""


class RequestError(PostvaktError):
    """What the user asked for cannot be done as asked; the message says what to change."""


class InvalidInputError(RequestError):
    """A value the user gave is wrong. ``argument`` names it (``--year``, ``PERSON``)."""

    def __init__(self, message: str, *, argument: str | None = None):
        self.argument = argument
        super().__init__(f"{argument}: {message}" if argument else message)


class NotFoundError(RequestError):
    """Something named by the user (a case number, a failed-message id) does not exist."""


class InvalidTransitionError(RequestError):
    """A case was asked to move to a state its current state does not allow."""


class PermissionDeniedError(RequestError):
    """The person asking may not do this; the message says who may."""
