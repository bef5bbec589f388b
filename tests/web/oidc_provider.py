"""A small OpenID Connect provider on loopback for the sign-in tests: discovery, keys and a
token endpoint that checks the client secret and PKCE, and signs real RS256 ID tokens.

The browser's visit to the provider's login page is played by :meth:`FakeProvider.grant`:
it issues a code for a person, as the provider would after they signed in."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.support.ports import free_port

CLIENT_ID = "postvakt-test"
CLIENT_SECRET = "test-client-secret-0123456789"


@dataclass
class FakeProvider:
    port: int = field(default_factory=free_port)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: int = 0

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}/realms/testby"

    def grant(self, authorize_params: dict[str, str], claims: dict[str, Any]) -> str:
        """The person signed in at the provider: a code bound to the request's PKCE and nonce."""
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"params": authorize_params, "claims": claims}
        return code

    def app(self) -> FastAPI:
        app = FastAPI()
        base = "/realms/testby"

        @app.get(base + "/.well-known/openid-configuration")
        def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": self.issuer + "/auth",
                "token_endpoint": self.issuer + "/token",
                "jwks_uri": self.issuer + "/certs",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }

        @app.get(base + "/certs")
        def certs() -> dict[str, Any]:
            return {"keys": [self.key.as_dict(private=False)]}

        @app.post(base + "/token")
        async def token(request: Request) -> Any:
            self.token_requests += 1
            form = {k: str(v) for k, v in (await request.form()).items()}

            def error(code: str, status: int = 400) -> JSONResponse:
                return JSONResponse({"error": code}, status_code=status)

            # client_secret_basic
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            user, _, password = base64.b64decode(value or "").decode().partition(":")
            if scheme != "Basic" or (user, password) != (
                CLIENT_ID,
                CLIENT_SECRET,
            ):
                return error("invalid_client", 401)
            grant = self.codes.pop(form.get("code", ""), None)
            if grant is None or form.get("grant_type") != "authorization_code":
                return error("invalid_grant")
            params = grant["params"]
            challenge = (
                base64.urlsafe_b64encode(
                    hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                )
                .rstrip(b"=")
                .decode()
            )
            if challenge != params["code_challenge"]:
                return error("invalid_grant")
            if form.get("redirect_uri") != params["redirect_uri"]:
                return error("invalid_grant")
            now = int(time.time())
            claims = {
                "iss": self.issuer,
                "aud": CLIENT_ID,
                "sub": secrets.token_hex(8),
                "iat": now,
                "exp": now + 300,
                "nonce": params["nonce"],
                **grant["claims"],
            }
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)
            return {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            }

        return app

    def start(self) -> tuple[uvicorn.Server, threading.Thread]:
        server = uvicorn.Server(
            uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return server, thread
