"""Logging set-up with a filter that keeps personal identity numbers out of every log line.

Postvakt's own code never logs message text, subjects, passwords or tokens; the filter is a
second line of defence for text that reaches a log through a library or an exception.
"""

from __future__ import annotations

import logging
import re
import sys

from postvakt.privacy import mask_personnummer

__all__ = ["RedactingFilter", "configure_logging", "redact"]

_SECRET = re.compile(r"(?i)\b(password|passwd|lösenord|token|secret)(\s*[=:]\s*)(\S+)")
# An Authorization header's value is a scheme and a credential: mask the rest of the line.
_AUTHORIZATION = re.compile(r"(?i)\b(authorization)(\s*[=:]\s*)([^\r\n]+)")


def redact(text: str) -> str:
    """Mask personnummer and key=value secrets in ``text``."""
    text = mask_personnummer(text)
    text = _AUTHORIZATION.sub(r"\1\2***", text)
    return _SECRET.sub(r"\1\2***", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger("postvakt")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
