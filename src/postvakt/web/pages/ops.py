"""For the machines that watch Postvakt: ``/healthz``, ``/readyz`` and ``/metrics``.

None needs a sign-in.  ``/healthz`` says the process answers; ``/readyz`` that the database
answers and some mailbox had a good pass lately (read from the database, so no mail server
is logged in to for a probe, and a web process on another machine knows too); ``/metrics``
is Prometheus's text, only to the clients ``web.metrics_from`` allows (loopback by default)
— it holds no personal data, but it tells how busy the organisation's mailboxes are.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from postvakt.config import Config
from postvakt.errors import PostvaktError
from postvakt.metrics import CONTENT_TYPE, exposition, registry_for
from postvakt.registry.passes import last_pass
from postvakt.web.context import WebContext
from postvakt.wording import count

__all__ = ["readiness", "ready_within", "router"]

log = logging.getLogger("postvakt.web")

router = APIRouter()

MIN_READY_WITHIN = timedelta(minutes=10)


def ready_within(config: Config) -> timedelta:
    """How recent a good pass must be for ``/readyz``: three poll intervals, at least 10 min
    (a pass over many mailboxes, or a long first one, takes a while)."""
    return max(MIN_READY_WITHIN, 3 * timedelta(seconds=config.service.poll_interval_seconds))


def readiness(sessions: sessionmaker[Session], now: datetime, within: timedelta) -> str | None:
    """None when ready; else why not, in Swedish, saying what to look at."""
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
            last = last_pass(session)
    except (SQLAlchemyError, PostvaktError) as exc:
        log.warning("readyz: the database did not answer (%s)", type(exc).__name__)
        return "databasen svarar inte; kontrollera att databasservern är igång och nåbar"
    if last is None:
        return (
            "ingen brevlåda har lästs klart ännu; kontrollera att 'postvakt run' (eller "
            "'postvakt worker') är igång och når e-postservern"
        )
    if now - last > within:
        minutes = int((now - last).total_seconds() // 60)
        return (
            f"ingen brevlåda har lästs utan fel på {count(minutes, 'minut', 'minuter')}; "
            "kontrollera att 'postvakt run' (eller 'postvakt worker') är igång och når "
            "e-postservern (se loggen)"
        )
    return None


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


@router.get("/healthz", include_in_schema=False)
def healthz() -> PlainTextResponse:
    return PlainTextResponse("ok")


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> PlainTextResponse:
    ctx = _ctx(request)
    reason = readiness(ctx.sessions, ctx.now(), ready_within(ctx.config))
    if reason is not None:
        return PlainTextResponse(f"inte redo: {reason}\n", status_code=503)
    return PlainTextResponse("redo\n")


def _allowed(config: Config, host: str | None) -> bool:
    if not host:
        return False
    try:
        client = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(n, strict=False) for n in config.web.metrics_from)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    ctx = _ctx(request)
    if not _allowed(ctx.config, request.client.host if request.client else None):
        return PlainTextResponse(
            "Mätvärdena visas bara för de adresser som anges i web.metrics_from.\n",
            status_code=403,
        )
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = request.app.state.metrics_registry = registry_for(
            ctx.config, ctx.sessions, ctx.clock
        )
    return Response(exposition(registry), media_type=CONTENT_TYPE)
