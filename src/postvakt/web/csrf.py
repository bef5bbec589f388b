"""Cross-site request forgery: a random token per session in every form, checked on every POST.

The token lives in the signed session cookie and in a hidden field ``csrf`` of each form;
:func:`check_csrf` runs for every request (an app-wide dependency) and refuses any unsafe
method whose form does not carry the session's token, or whose ``Origin`` is another site.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

__all__ = ["FIELD", "check_csrf", "csrf_token", "new_token"]

FIELD = "csrf"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def new_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    """The session's token, made on first use (also for the sign-in form)."""
    token = request.session.get(FIELD)
    if not isinstance(token, str) or not token:
        token = new_token()
        request.session[FIELD] = token
    return token


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None  # "null" comes from sandboxed or privacy-stripped contexts
    parts = urlsplit(origin)
    host = request.headers.get("host", "")
    return parts.netloc == host


async def check_csrf(request: Request) -> None:
    if request.method in _SAFE:
        return
    expected = request.session.get(FIELD)
    form = await request.form()  # Starlette keeps the parsed form: the endpoint reuses it
    given = form.get(FIELD)
    if (
        not isinstance(expected, str)
        or not isinstance(given, str)
        or not hmac.compare_digest(expected.encode(), given.encode())
        or not _same_origin(request)
    ):
        raise HTTPException(
            status_code=403,
            detail="Formuläret har gått ut eller kom inte från Postvakt. Ladda om sidan och försök igen.",
        )
