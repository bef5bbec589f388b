"""Sign-in and sign-out with a local account, with failed attempts slowed down
(:mod:`postvakt.web.throttle`)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from postvakt.clock import STOCKHOLM
from postvakt.registry.db import database_errors
from postvakt.registry.models import WebUser
from postvakt.web.auth import (
    authenticate,
    client_of,
    end_session,
    session_user,
    start_session,
)
from postvakt.web.deps import context, render
from postvakt.web.throttle import LoginThrottle, Verdict

__all__ = ["router"]

log = logging.getLogger("postvakt.web.auth")

router = APIRouter()

START = "/uppgifter"
"""Where a signed-in person lands: Mina uppgifter."""


@router.get("/logga-in")
def login_page(request: Request) -> Response:
    ctx = context(request)
    with ctx.sessions() as session:
        if session_user(request, ctx.config, session, ctx.now()) is not None:
            return RedirectResponse(START, status_code=303)
    return render(request, "login.html", None, web=ctx.config.web)


def _account_ref(account_id: int | None, address: str) -> str:
    """The account as the log may name it: its id, or a hash of an address without one."""
    if account_id is not None:
        return f"account {account_id}"
    return "unknown account " + hashlib.sha256(address.encode()).hexdigest()[:12]


def _wait_text(verdict: Verdict, now: datetime) -> str:
    assert verdict.retry_at is not None
    seconds = max(1, int((verdict.retry_at - now).total_seconds() + 0.999))
    if seconds < 60:
        wait = f"{seconds} sekund{'' if seconds == 1 else 'er'}"
    else:
        minutes = (seconds + 59) // 60
        wait = f"{minutes} minut{'' if minutes == 1 else 'er'}"
    at = verdict.retry_at.astimezone(STOCKHOLM).strftime("%H:%M:%S")
    return (
        "För många misslyckade inloggningar härifrån eller till kontot. "
        f"Försök igen om {wait} (klockan {at}). Lösenordet prövades inte den här gången."
    )


@router.post("/logga-in")
def login(request: Request, address: str = Form(""), password: str = Form("")) -> Response:
    ctx = context(request)
    throttle: LoginThrottle = request.app.state.throttle
    now = ctx.now()
    address = address.strip().lower()[:320]
    client = client_of(request)
    if not ctx.config.web.local_accounts:
        return _refused(request, "Inloggning med lösenord är avstängd här.", address)
    with ctx.sessions() as session, database_errors(), session.begin():
        verdict = throttle.check(session, client, address, now)
    if not verdict.allowed:
        assert verdict.retry_at is not None
        log.info(
            "sign-in from %s held back (%s: %d failures) until %s; password not checked",
            client,
            verdict.scope,
            verdict.failures,
            verdict.retry_at.isoformat(timespec="seconds"),
        )
        retry = max(1, int((verdict.retry_at - now).total_seconds() + 0.999))
        response = _refused(request, _wait_text(verdict, now), address, status_code=429)
        response.headers["Retry-After"] = str(retry)
        return response
    with ctx.sessions() as session, database_errors(), session.begin():
        ok = bool(address and password) and authenticate(session, address, password, now=now)
    with ctx.sessions() as session, database_errors(), session.begin():
        failures = throttle.record(session, client, address, success=ok, now=now)
        account_id = session.scalar(select(WebUser.id).where(WebUser.address == address))
        if ok:
            start_session(request, session, ctx.config, address, via="local", now=now)
            log.info("sign-in from %s to %s", client, _account_ref(account_id, address))
            return RedirectResponse(START, status_code=303)
    # The client's network address is the guesser's, not a citizen's; the account only by id.
    log.warning(
        "failed sign-in from %s to %s (%d failures from that client in %d min)",
        client,
        _account_ref(account_id, address),
        failures,
        int(throttle.policy.window.total_seconds() // 60),
    )
    return _refused(request, "Fel e-postadress eller lösenord.", address)


def _refused(request: Request, error: str, address: str, *, status_code: int = 400) -> Response:
    return render(
        request,
        "login.html",
        None,
        status_code=status_code,
        web=context(request).config.web,
        error=error,
        address=address,
    )


@router.post("/logga-ut")
def logout(request: Request) -> Response:
    ctx = context(request)
    with ctx.sessions() as session, database_errors(), session.begin():
        end_session(request, session, ctx.now())
    return RedirectResponse("/logga-in", status_code=303)
