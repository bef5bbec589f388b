"""Swedish error pages for every route: 404, 405, a bad address or form, a refusal, a failure.

A browser gets a page in the panel's own layout that says what went wrong and what to do;
a client that asked for JSON (``Accept: application/json`` and not HTML) gets
``{"detail": "<the same Swedish sentence>"}``.  Never a traceback, never English, never
the command line's words.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from postvakt.errors import (
    DatabaseError,
    NotFoundError,
    PermissionDeniedError,
    PostvaktError,
    RequestError,
)
from postvakt.web.auth import NotSignedIn
from postvakt.web.deps import render, signed_in
from postvakt.web.roles import User
from postvakt.web.wording import field_sv, web_words

__all__ = ["install", "wants_json"]

log = logging.getLogger("postvakt.web")

NOT_FOUND = "Sidan finns inte, eller så får du inte se den. Kontrollera adressen, eller gå vidare från menyn."
TITLES = {
    400: "Felaktig begäran",
    403: "Ingen behörighet",
    404: "Sidan finns inte",
    405: "Sidan kan inte användas så",
    413: "För stort",
    422: "Felaktig uppgift",
    429: "För många försök",
}
DETAILS = {
    400: "Begäran gick inte att förstå. Gå tillbaka och försök igen.",
    403: "Du har inte behörighet till den här sidan.",
    404: NOT_FOUND,
    405: "Adressen tar bara emot det som skickas från sidans egna knappar och formulär. Gå "
    "tillbaka till sidan och använd knappen där.",
    413: "Det som skickades var för stort. Försök igen med mindre.",
    429: "För många försök på kort tid. Vänta en stund och försök igen.",
}
UNEXPECTED = (
    "Ett oväntat fel inträffade. Felet är loggat; försök igen, och säg till den som "
    "sköter Postvakt om det händer igen."
)


def wants_json(request: Request) -> bool:
    """True when the client asked for JSON and not for a page (a browser always asks for
    HTML; a script with ``Accept: application/json`` does not)."""
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept and "text/html" not in accept


def _user(request: Request) -> User | None:
    try:
        return signed_in(request)
    except NotSignedIn:
        return None


def error_response(
    request: Request,
    status_code: int,
    detail: str,
    *,
    title: str | None = None,
    user: User | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The error as a page (or JSON, when asked for) with ``status_code``."""
    if wants_json(request):
        return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)
    response = render(
        request,
        "error.html",
        user,
        status_code=status_code,
        title=title or TITLES.get(status_code, "Något gick fel"),
        detail=detail,
        status=status_code,
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _invalid(exc: RequestValidationError) -> tuple[int, str]:
    """(status, sentence) for what did not validate: a bad path is a page that does not
    exist; a bad query value is the address's fault; a bad form field the form's."""
    where: dict[str, list[str]] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        if not loc:
            continue
        names = where.setdefault(loc[0], [])
        name = field_sv(loc[-1]) if len(loc) > 1 else ""
        if name and name not in names:
            names.append(name)
    if "path" in where:
        return 404, NOT_FOUND
    if "body" in where:
        fields = ", ".join(f"”{n}”" for n in where["body"])
        return 422, (
            f"Formuläret saknade något eller hade ett värde som inte går att använda"
            f"{f' ({fields})' if fields else ''}. Gå tillbaka, fyll i fälten och skicka igen."
        )
    fields = ", ".join(f"”{n}”" for n in where.get("query", []))
    return 422, (
        f"Adressen har ett värde som inte går att använda{f' ({fields})' if fields else ''}. "
        "Kontrollera adressen, eller gå till sidan från menyn och välj igen."
    )


def install(app: FastAPI, security_headers: Mapping[str, str]) -> None:
    """Register the error handlers on ``app``.  A failure's page is made outside the
    middleware that sets ``security_headers`` on every other answer: it sets them itself."""

    @app.exception_handler(NotSignedIn)
    async def to_sign_in(request: Request, _exc: NotSignedIn) -> Response:
        if wants_json(request):
            return error_response(request, 401, "Du är inte inloggad. Logga in och försök igen.")
        return RedirectResponse("/logga-in", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Starlette's own 404 (no such route) and 405 say "Not Found" in English: only our own
        # Swedish details are shown, and a 404 never says more than that the page is not there.
        ours = isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase
        detail = exc.detail if ours and exc.status_code != 404 else None
        return error_response(
            request,
            exc.status_code,
            web_words(detail) if detail else DETAILS.get(exc.status_code, DETAILS[400]),
            user=_user(request),
            headers=dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        status_code, detail = _invalid(exc)
        return error_response(request, status_code, detail, user=_user(request))

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, RequestError):  # what was asked cannot be done: say why, not 500
            code = (
                404
                if isinstance(exc, NotFoundError)
                else 403
                if isinstance(exc, PermissionDeniedError)
                else 400
            )
            text = NOT_FOUND if code == 404 else web_words(str(exc))
            response = error_response(request, code, text, user=_user(request))
            response.headers.update({**security_headers, "Cache-Control": "no-store"})
            return response
        # Never a traceback or an English page: the type and the path (ids only) are logged,
        # the traceback at DEBUG (its text may quote what the database was given).
        log.error("%s %s failed: %s", request.method, request.url.path, type(exc).__name__)
        log.debug("the traceback", exc_info=exc)
        if isinstance(exc, PostvaktError):  # e.g. the database is locked or unreachable
            detail = f"{web_words(str(exc))} Försök igen om en stund."
        else:
            detail = UNEXPECTED
        response = error_response(
            request,
            503 if isinstance(exc, DatabaseError) else 500,
            detail,
            title="Något gick fel",
            user=None,  # the database may be what failed: ask it nothing more
        )
        response.headers.update({**security_headers, "Cache-Control": "no-store"})
        return response
