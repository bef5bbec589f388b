"""The app factory: routers, sessions, CSRF, security headers, Swedish error pages."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from postvakt.clock import Clock, system_clock
from postvakt.config import Config
from postvakt.errors import ConfigError, ConfigProblem
from postvakt.web.auth import LoginThrottle
from postvakt.web.context import WebContext
from postvakt.web.csrf import check_csrf
from postvakt.web.input_check import checked_input
from postvakt.web.views import filters

__all__ = ["SESSION_COOKIE", "create_app"]

log = logging.getLogger("postvakt.web")

HERE = Path(__file__).parent
SESSION_COOKIE = "postvakt_session"
MIN_SECRET = 32

_HEADERS = {
    # Nothing but our own files: no inline script, no third parties, never in a frame.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # A list's address may hold a search (a sender's address): never sent to another site.
    # Not "no-referrer": with it browsers send "Origin: null" on our own forms' POSTs and
    # the CSRF check's origin test would refuse every one of them.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _session_secret(config: Config, environ: Mapping[str, str]) -> str:
    name = config.web.session_secret_env
    if name is None:
        return secrets.token_urlsafe(48)  # sign-ins end when the process restarts
    value = environ.get(name, "")
    if len(value) < MIN_SECRET:
        raise ConfigError(
            [
                ConfigProblem(
                    "web.session_secret_env",
                    f"miljövariabeln {name} måste vara satt till minst {MIN_SECRET} slumpade tecken "
                    "(t.ex. från 'openssl rand -base64 48')",
                )
            ]
        )
    return value


def create_app(
    config: Config,
    *,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
) -> FastAPI:
    """The dashboard for ``config``; opens (and migrates) the database."""
    from postvakt.web import error_pages, oidc
    from postvakt.web.pages import (
        absences,
        callbacks,
        care,
        case_page,
        cases,
        compilation,
        corrections,
        login,
        message_corrections,
        ops,
        overview,
        registrar,
        tasks,
    )

    environ = os.environ if environ is None else environ
    secret = _session_secret(config, environ)
    ctx = WebContext.open(config, clock=clock or system_clock(), environ=environ)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.close()

    app = FastAPI(
        title="Postvakt",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(check_csrf), Depends(checked_input)],
    )
    app.state.ctx = ctx
    app.state.throttle = LoginThrottle()
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters.update(filters())
    app.state.templates = templates
    app.state.oidc = oidc.client(config, environ) if config.web.oidc else None

    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=int(config.web.session_hours * 3600),
        same_site="lax",  # the OIDC provider's redirect back is a top-level GET
        https_only=config.web.secure_cookie,
    )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for key, value in _HEADERS.items():
            response.headers.setdefault(key, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")  # pages hold citizen data
        return response

    error_pages.install(app, _HEADERS)
    # An action on a case someone else changed since its page was loaded: the page again.
    app.add_exception_handler(case_page.Changed, case_page.changed_page)

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in (
        ops,
        login,
        oidc,
        tasks,
        overview,
        cases,
        case_page,
        corrections,
        message_corrections,
        care,
        absences,
        callbacks,
        registrar,
        compilation,
    ):
        app.include_router(module.router)
    return app
