"""Emergency delegation on the Frånvaro page: the unit head orders it, the head's own nearest
manager approves it with a button (the session's CSRF token, the right checked server-side),
both are told at once, the delegate learns what they may open, and the page shows who
ordered and approved — on SQLite and PostgreSQL, with a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import html as html_text
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.config import Config, load_config
from postvakt.registry.models import Absence
from tests.support.smtp import SmtpServer
from tests.web.support import ctx_of, make_config, sign_in

FORM = {
    "person": "anna@testby.se",
    "kind": "sjukdom",
    "start": "2026-11-24",
    "end": "",
    "substitute1": "cecilia@testby.se",
    "substitute2": "",
    "subject": "",
    "text": "",
    "generated": "",
    "emergency": "1",
    "step": "save",
}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def web_config(db_url: str, tmp_path: Path, smtp: SmtpServer) -> Config:
    make_config(tmp_path / "ws", db_url)
    path = tmp_path / "ws" / "postvakt.toml"
    path.write_text(path.read_text() + smtp.config())
    return load_config(path)


def _absence(app: FastAPI) -> Absence:
    with ctx_of(app).sessions() as session:
        (absence,) = session.scalars(select(Absence)).all()
        session.expunge(absence)
        return absence


def _status(html: str) -> str:
    match = re.search(r'<div class="flash [a-z]+" role="(?:status|alert)">(.*?)</div>', html, re.S)
    assert match, "no message on the page"
    return html_text.unescape(re.sub(r"<[^>]+>", "", match.group(1)))


def _text(html: str) -> str:
    return html_text.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_ordered_by_the_head_approved_by_the_heads_manager(
    app: FastAPI, client: TestClient, smtp: SmtpServer
) -> None:
    csrf = sign_in(client, "chef@testby.se")
    ordered = client.post("/franvaro", data={**FORM, "csrf": csrf})
    assert _status(ordered.text) == (
        "Den akuta delegeringen för Anna Berg är beställd. Den gäller först när kd@testby.se "
        "också har godkänt; båda har fått ett meddelande."
    )
    absence = _absence(app)
    assert absence.emergency and absence.approved_at is None
    (asked,) = smtp.to("kd@testby.se")
    assert "postvakt absence approve" in asked.text and "sidan Frånvaro" in asked.text
    assert len(smtp.to("chef@testby.se")) == 1
    page = _text(client.get("/franvaro").text)
    assert "akut delegering gäller inte förrän kd@testby.se har godkänt" in page
    assert "Lena Holm: beställde akut delegering" in page
    assert "Godkänn den akuta delegeringen" not in page  # the head has approved by ordering

    csrf = sign_in(client, "kd@testby.se")
    page = client.get("/franvaro").text
    assert f'action="/franvaro/{absence.id}/godkann"' in page
    # The form's token is required.
    refused = client.post(f"/franvaro/{absence.id}/godkann", data={})
    assert refused.status_code == 403 and _absence(app).approved_at is None
    approved = client.post(f"/franvaro/{absence.id}/godkann", data={"csrf": csrf})
    assert _status(approved.text) == (
        "Den akuta delegeringen för Anna Berg är godkänd av båda och gäller från nästa körning; "
        "ombudet har fått veta vad hen får öppna."
    )
    assert _absence(app).approved_at == ctx_of(app).now()
    (notice,) = smtp.to("cecilia@testby.se")
    assert "Du får bara öppna e-post som antas röra tjänsteangelägenheter." in notice.text
    assert "Delegeringen beställdes av Lena Holm och godkändes av Lena Holm och kd@testby.se" in (
        notice.text
    )
    page = _text(approved.text)
    assert "godkänd av Lena Holm och kd@testby.se" in page
    assert "kd@testby.se: godkände den akuta delegeringen" in page
    assert f'action="/franvaro/{absence.id}/godkann"' not in approved.text


@pytest.mark.parametrize("who", ["bchef@testby.se", "cecilia@testby.se", "admin@testby.se"])
def test_nobody_else_can_approve(
    app: FastAPI, client: TestClient, smtp: SmtpServer, who: str
) -> None:
    csrf = sign_in(client, "chef@testby.se")
    client.post("/franvaro", data={**FORM, "csrf": csrf})
    absence = _absence(app)
    csrf = sign_in(client, who)
    assert f"/franvaro/{absence.id}/godkann" not in client.get("/franvaro").text
    response = client.post(f"/franvaro/{absence.id}/godkann", data={"csrf": csrf})
    assert response.status_code == 404
    assert _absence(app).approved_at is None
    assert smtp.to("cecilia@testby.se") == []


def test_staff_cannot_order_an_emergency_for_themself(
    app: FastAPI, client: TestClient, smtp: SmtpServer
) -> None:
    csrf = sign_in(client, "anna@testby.se")
    response = client.post("/franvaro", data={**FORM, "csrf": csrf})
    assert response.status_code == 400
    assert "anna@testby.se kan inte beställa en akut delegering" in _text(response.text)
    with ctx_of(app).sessions() as session:
        assert session.scalars(select(Absence)).all() == []
    assert smtp.received == []
