"""Sign-in and sign-out with a local account."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from postvakt.registry.db import database_errors
from postvakt.web.auth import authenticate, end_session, session_user, start_session
from postvakt.web.deps import context, render

__all__ = ["router"]

log = logging.getLogger("postvakt.web.auth")

router = APIRouter()


@router.get("/logga-in")
def login_page(request: Request) -> Response:
    ctx = context(request)
    with ctx.sessions() as session:
        if session_user(request, ctx.config, session, ctx.now()) is not None:
            return RedirectResponse("/", status_code=303)
    return render(request, "login.html", None, web=ctx.config.web)


@router.post("/logga-in")
def login(request: Request, address: str = Form(""), password: str = Form("")) -> Response:
    ctx = context(request)
    throttle = request.app.state.throttle
    now = ctx.now()
    address = address.strip().lower()
    error = None
    if not ctx.config.web.local_accounts:
        error = "Inloggning med lösenord är avstängd här."
    elif throttle.blocked(address, now):
        error = "För många misslyckade försök. Vänta en kvart och försök igen."
    else:
        with ctx.sessions() as session, database_errors(), session.begin():
            ok = bool(address and password) and authenticate(session, address, password, now=now)
        if ok:
            throttle.succeeded(address)
            start_session(request, address, via="local", now=now)
            return RedirectResponse("/", status_code=303)
        throttle.failed(address, now)
        log.info("failed sign-in")  # never the address or the password
        error = "Fel e-postadress eller lösenord."
    return render(
        request,
        "login.html",
        None,
        status_code=400,
        web=ctx.config.web,
        error=error,
        address=address,
    )


@router.post("/logga-ut")
def logout(request: Request) -> Response:
    end_session(request)
    return RedirectResponse("/logga-in", status_code=303)
