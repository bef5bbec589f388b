"""Logging set-up: one handler on the root logger, with a filter that keeps personal data out.

Postvakt's own code logs ids — the mailbox, the message record, the case reference — and
never an address, a name, a subject, a body, a password or a token above DEBUG.  The
filter is the last line of defence for what reaches a log through a library, an exception
or a mistake, on every record that goes through Postvakt's handler (its own loggers and
every library's, uvicorn's too):

- at every level: personnummer, ``password=…``-style secrets, Authorization headers and
  the OIDC code and tokens in a query string are masked;
- at INFO and above: e-mail addresses are masked (one the config knows becomes its config
  key, ``mailboxes[1]`` or ``people[3]``, so the operator still knows which); an exception
  passed as an argument is told by :func:`describe`; a traceback keeps its frames, but an
  exception's text only when it is one of Postvakt's own errors — a database driver's
  error can quote the row it failed on, a mail library's the header it choked on.

The whole text stays available at DEBUG, and a message's failure is kept with its full
traceback in the failed store.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pythonjsonlogger.json import JsonFormatter

from postvakt.privacy import ADDRESS_MASK, EMAIL_ADDRESS, mask_personnummer

if TYPE_CHECKING:
    from postvakt.config import Config

__all__ = [
    "JsonLines",
    "RedactingFilter",
    "address_labels",
    "configure_logging",
    "describe",
    "redact",
]

_SECRET = re.compile(r"(?i)\b(password|passwd|lösenord|token|secret)(\s*[=:]\s*)(\S+)")
# An Authorization header's value is a scheme and a credential: mask the rest of the line.
_AUTHORIZATION = re.compile(r"(?i)\b(authorization)(\s*[=:]\s*)([^\r\n]+)")
# The OIDC provider's redirect back carries a one-time code (uvicorn logs the path).
_QUERY_SECRET = re.compile(
    r"(?i)([?&](?:code|state|session_state|id_token|access_token|refresh_token)=)[^&\s\"']+"
)
# A server's reply quoted by imapclient (``BAD [b'…']``) can echo what we sent it.
_BYTES_LITERAL = re.compile(r"""\bb'(?:[^'\\\n]|\\.)*'|\bb"(?:[^"\\\n]|\\.)*\"""")
_PACKAGE = Path(__file__).resolve().parent
_MAX_TEXT = 500


def redact(text: str, *, addresses: bool = False, labels: Mapping[str, str] | None = None) -> str:
    """Mask personnummer and secrets in ``text``; with ``addresses`` also e-mail addresses
    (those in ``labels`` — lower-case address to label — by their label)."""
    text = mask_personnummer(text)
    text = _AUTHORIZATION.sub(r"\1\2***", text)
    text = _QUERY_SECRET.sub(r"\1***", text)
    text = _SECRET.sub(r"\1\2***", text)
    if addresses:
        known = labels or {}
        text = EMAIL_ADDRESS.sub(lambda m: known.get(m.group().lower(), ADDRESS_MASK), text)
    return text


def _where(tb: TracebackType | None) -> str | None:
    """The innermost frame in Postvakt's own code: ``intake/drafts.py:120``."""
    for frame in reversed(traceback.extract_tb(tb)):
        path = Path(frame.filename)
        if _PACKAGE in path.parents:
            return f"{path.relative_to(_PACKAGE).as_posix()}:{frame.lineno}"
    return None


def _kind(exc: BaseException) -> str:
    """The exception's class, with the driver's error under SQLAlchemy's and its code."""
    name = type(exc).__name__
    orig = getattr(exc, "orig", None)  # sqlalchemy.exc.DBAPIError wraps the driver's error
    if isinstance(orig, BaseException):
        code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
        name += f" ({type(orig).__name__}{f', {code}' if code else ''})"
    return name


def describe(exc: BaseException) -> str:
    """``exc`` told in one line fit for a log above DEBUG.

    Postvakt's own errors keep their message (written to say what to do), with addresses
    and personnummer masked and a server's quoted reply left out; any other exception is
    told by its class and the place in Postvakt's code it came through, never its text.
    """
    from postvakt.errors import PostvaktError

    if isinstance(exc, PostvaktError):
        text = " | ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        text = redact(_BYTES_LITERAL.sub("b'…'", text), addresses=True)
        if len(text) > _MAX_TEXT:
            text = text[:_MAX_TEXT] + " …"
        return f"{type(exc).__name__}: {text}"
    where = _where(exc.__traceback__)
    return f"{_kind(exc)} i {where}" if where else _kind(exc)


def _safe_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` and the exceptions it came from, each told by :func:`describe`."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not e for e in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    parts = []
    for i, item in enumerate(reversed(chain)):
        if i:
            parts.append("\nvilket ledde till:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_list(traceback.extract_tb(item.__traceback__)))
        parts.append(describe(item) + "\n")
    return "".join(parts).rstrip("\n")


class RedactingFilter(logging.Filter):
    """Masks personal data and secrets in every record it sees (see the module docstring).

    ``labels`` maps lower-case addresses that may be named to what to call them instead
    (see :func:`address_labels`).
    """

    def __init__(self, labels: Mapping[str, str] | None = None, *, from_level: int = logging.INFO):
        super().__init__()
        self.labels = dict(labels or {})
        self.from_level = from_level

    def filter(self, record: logging.LogRecord) -> bool:
        strict = record.levelno >= self.from_level
        args = record.args
        if strict and args:
            if isinstance(args, Mapping):
                args = {
                    k: describe(v) if isinstance(v, BaseException) else v for k, v in args.items()
                }
            elif isinstance(args, tuple):
                args = tuple(describe(v) if isinstance(v, BaseException) else v for v in args)
            record.args = args
        try:
            message = record.getMessage()
        except Exception:
            message = f"{record.msg} (argumenten gick inte att sätta in)"
        record.msg, record.args = redact(message, addresses=strict, labels=self.labels), None
        if record.exc_info and record.exc_info[1] is not None:
            if strict:
                record.exc_text = redact(
                    _safe_traceback(record.exc_info[1]), addresses=True, labels=self.labels
                )
            else:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text, addresses=strict, labels=self.labels)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, addresses=strict, labels=self.labels)
        return True


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (a redirect is followed)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def address_labels(config: Config) -> dict[str, str]:
    """What logs call the addresses the config knows: a mailbox by its config key (with the
    name of a function mailbox; a personal mailbox's name is a person's), a person by theirs,
    the registrar by the key; any other address is only masked."""
    labels = {}
    if config.organisation.registrar:
        labels[config.organisation.registrar.lower()] = "organisation.registrar"
    for i, person in enumerate(config.people):
        labels[person.address.lower()] = f"people[{i}]"
    for i, mailbox in enumerate(config.mailboxes):
        label = f"mailboxes[{i}]"
        if mailbox.kind == "function" and mailbox.name:
            label += f" ({mailbox.name})"
        labels[mailbox.address.lower()] = label
    return labels


class JsonLines(JsonFormatter):
    """One JSON object per record: ``time``, ``level``, ``logger``, ``message`` and, when
    there is one, ``exc_info`` — the text :class:`RedactingFilter` left, nothing else.

    A library's ``extra`` fields are left out (the filter masks only the message and the
    traceback), and the traceback is the filter's masked one, never formatted anew here.
    """

    FIELDS = frozenset({"time", "level", "logger", "message", "exc_info", "stack_info"})

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )

    def format(self, record: logging.LogRecord) -> str:
        exc_info = record.exc_info
        record.exc_info = None  # the filter's masked text is in exc_text
        try:
            return super().format(record)
        finally:
            record.exc_info = exc_info

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for key in [k for k in log_data if k not in self.FIELDS]:
            del log_data[key]


def configure_logging(level: str = "INFO", *, config: Config | None = None) -> logging.Handler:
    """Send every log record through one redacting handler on stderr.

    Postvakt's loggers log from ``level``; libraries from WARNING.  Lines are text, or JSON
    objects (:class:`JsonLines`) when the config says ``service.log_format = "json"``.
    Calling it again replaces the handler (other handlers on the root logger, such as a
    test's, are left alone).
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(old)
    handler = _Stderr()
    if config is not None and config.service.log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(address_labels(config) if config is not None else None))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.captureWarnings(True)  # a library's warning can quote its input: through the filter
    own = logging.getLogger("postvakt")
    own.handlers.clear()
    own.setLevel(level)
    own.propagate = True
    return handler
