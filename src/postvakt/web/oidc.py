"""Sign-in with OpenID Connect (Entra ID, Keycloak, …) through Authlib.

Postvakt is a confidential client using the authorization code flow with PKCE, state and
nonce.  The provider's endpoints and keys come from ``<issuer>/.well-known/openid-configuration``.
The ID token's ``web.oidc.address_claim`` (``email`` by default) is the person's address:
it must be one the config gives a role, or the sign-in is refused.  Nothing from the
token but the address is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from postvakt.config import Config
from postvakt.registry.db import database_errors
from postvakt.web.auth import start_session
from postvakt.web.deps import context, flash
from postvakt.web.roles import user_for

__all__ = ["client", "router"]

log = logging.getLogger("postvakt.web.oidc")

router = APIRouter()


def client(config: Config, environ: Mapping[str, str]) -> StarletteOAuth2App:
    settings = config.web.oidc
    assert settings is not None
    oauth = OAuth()
    oauth.register(
        name="postvakt",
        client_id=settings.client_id,
        client_secret=environ.get(settings.client_secret_env, ""),
        server_metadata_url=settings.issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": " ".join(settings.scopes), "code_challenge_method": "S256"},
    )
    app = oauth.create_client("postvakt")
    assert isinstance(app, StarletteOAuth2App)
    return app


def _oidc(request: Request) -> StarletteOAuth2App:
    app = request.app.state.oidc
    if app is None:
        raise HTTPException(status_code=404)
    return app


@router.get("/logga-in/oidc")
async def start(request: Request) -> Response:
    app = _oidc(request)
    base = context(request).config.web.base_url
    callback = (
        f"{base.rstrip('/')}/logga-in/oidc/klar" if base else str(request.url_for("oidc_done"))
    )
    try:
        return await app.authorize_redirect(request, callback)
    except Exception as exc:  # the provider is down or its metadata broken: say so, not 500
        log.error("OIDC provider unreachable: %s", type(exc).__name__)
        flash(request, "Inloggningstjänsten svarar inte. Försök igen om en stund.", "fel")
        return RedirectResponse("/logga-in", status_code=303)


@router.get("/logga-in/oidc/klar", name="oidc_done")
async def done(request: Request) -> Response:
    app = _oidc(request)
    ctx = context(request)
    settings = ctx.config.web.oidc
    assert settings is not None
    try:
        token = await app.authorize_access_token(request)
    except OAuthError as exc:
        log.warning("OIDC sign-in refused: %s", exc.error)
        flash(request, "Inloggningen avbröts eller gick inte att bekräfta. Försök igen.", "fel")
        return RedirectResponse("/logga-in", status_code=303)
    except Exception as exc:  # the token endpoint failed or sent a token that does not verify
        log.error("OIDC token exchange failed: %s", type(exc).__name__)
        flash(
            request, "Inloggningstjänsten svarade inte som väntat. Försök igen om en stund.", "fel"
        )
        return RedirectResponse("/logga-in", status_code=303)
    claims = token.get("userinfo") or {}
    address = claims.get(settings.address_claim)
    if claims.get("email_verified") is False or not isinstance(address, str):
        flash(request, "Kontot saknar en bekräftad e-postadress.", "fel")
        return RedirectResponse("/logga-in", status_code=303)
    if user_for(ctx.config, address) is None:
        log.info("OIDC sign-in by an address without a role")
        flash(
            request,
            "Ditt konto har ingen roll i Postvakt. Be den som förvaltar Postvakt att lägga in dig.",
            "fel",
        )
        return RedirectResponse("/logga-in", status_code=303)
    with ctx.sessions() as session, database_errors(), session.begin():
        start_session(request, session, ctx.config, address, via="oidc", now=ctx.now())
    return RedirectResponse("/uppgifter", status_code=303)  # Mina uppgifter
