"""Sign-in with OpenID Connect against a real provider on loopback (authorization code with
PKCE, state and nonce; the ID token's signature checked against the provider's keys)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from postvakt.clock import fixed_clock
from postvakt.web import create_app
from tests.web.oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider
from tests.web.support import NOW, make_config


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    provider = FakeProvider()
    server, thread = provider.start()
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def oidc_client(tmp_path: Path, provider: FakeProvider) -> Iterator[TestClient]:
    config = make_config(tmp_path / "ws")
    config_path = config.base_dir / "postvakt.toml"
    config_path.write_text(
        config_path.read_text(encoding="utf-8").replace(
            '[web]\nadmins = ["admin@testby.se"]\n',
            '[web]\nadmins = ["admin@testby.se"]\nlocal_accounts = false\n\n[web.oidc]\n'
            f'issuer = "{provider.issuer}"\nclient_id = "{CLIENT_ID}"\n'
            'client_secret_env = "PV_TEST_OIDC_SECRET"\nlabel = "Logga in med kommunens konto"\n',
        ),
        encoding="utf-8",
    )
    from postvakt.config import load_config

    app = create_app(
        load_config(config_path),
        clock=fixed_clock(NOW),
        environ={"PV_TEST_OIDC_SECRET": CLIENT_SECRET},
    )
    with TestClient(app) as client:
        yield client


def _authorize(client: TestClient) -> dict[str, str]:
    page = client.get("/logga-in")
    assert "Logga in med kommunens konto" in page.text
    assert 'name="password"' not in page.text  # local accounts are off
    response = client.get("/logga-in/oidc", follow_redirects=False)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params["client_id"] == CLIENT_ID and params["code_challenge_method"] == "S256"
    assert params["redirect_uri"] == "http://testserver/logga-in/oidc/klar"
    assert {"state", "nonce", "code_challenge"} <= params.keys()
    return params


def test_a_unit_head_signs_in_with_the_organisations_account(
    oidc_client: TestClient, provider: FakeProvider
) -> None:
    params = _authorize(oidc_client)
    code = provider.grant(params, {"email": "Chef@testby.se", "email_verified": True})
    done = oidc_client.get(
        "/logga-in/oidc/klar",
        params={"code": code, "state": params["state"]},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/uppgifter"
    page = oidc_client.get("/")
    assert page.status_code == 200 and "Lena Holm" in page.text and "enhetschef" in page.text
    assert provider.token_requests == 1


def test_an_account_without_a_role_is_refused(
    oidc_client: TestClient, provider: FakeProvider
) -> None:
    params = _authorize(oidc_client)
    code = provider.grant(params, {"email": "besokare@example.net", "email_verified": True})
    done = oidc_client.get("/logga-in/oidc/klar", params={"code": code, "state": params["state"]})
    assert "Ditt konto har ingen roll i Postvakt" in done.text
    assert oidc_client.get("/", follow_redirects=False).status_code == 303


def test_a_forged_state_is_refused(oidc_client: TestClient, provider: FakeProvider) -> None:
    params = _authorize(oidc_client)
    code = provider.grant(params, {"email": "chef@testby.se"})
    done = oidc_client.get("/logga-in/oidc/klar", params={"code": code, "state": "forged"})
    assert "Inloggningen avbröts eller gick inte att bekräfta" in done.text
    assert provider.token_requests == 0
    assert oidc_client.get("/", follow_redirects=False).status_code == 303


def test_local_sign_in_is_off_when_the_config_says_so(oidc_client: TestClient) -> None:
    import base64
    import json

    oidc_client.get("/logga-in")
    cookie = oidc_client.cookies["postvakt_session"]
    data = cookie.split(".")[0]
    csrf = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))["csrf"]
    response = oidc_client.post(
        "/logga-in", data={"csrf": csrf, "address": "chef@testby.se", "password": "x" * 12}
    )
    assert (
        response.status_code == 400 and "Inloggning med lösenord är avstängd här." in response.text
    )


def test_a_wrong_client_secret_is_told_not_crashed(
    oidc_client: TestClient, provider: FakeProvider
) -> None:
    import tests.web.oidc_provider as fake

    params = _authorize(oidc_client)
    code = provider.grant(params, {"email": "chef@testby.se"})
    original, fake.CLIENT_SECRET = fake.CLIENT_SECRET, "another secret"
    try:
        done = oidc_client.get(
            "/logga-in/oidc/klar", params={"code": code, "state": params["state"]}
        )
    finally:
        fake.CLIENT_SECRET = original
    assert done.status_code == 200
    assert "Inloggningen avbröts eller gick inte att bekräfta" in done.text
    assert oidc_client.get("/", follow_redirects=False).status_code == 303
