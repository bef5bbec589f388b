"""Vård och omsorg on the case page: a button behind a confirmation, with the session's CSRF
token, the corrections' right checked server-side; setting the mark sends the case card to
the deviation function and tells the unit's head, clearing it tells the function — on SQLite
and PostgreSQL, with a real SMTP server (aiosmtpd)."""

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
from postvakt.registry.models import Case, Draft, DraftStatus, EventKind
from tests.support.smtp import SmtpServer
from tests.web.support import Cases, ctx_of, make_config, sign_in

DEVIATION = "avvikelse@testby.se"


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
    text = path.read_text().replace(
        'registrar = "registrator@testby.se"\n',
        f'registrar = "registrator@testby.se"\ncare_deviation = "{DEVIATION}"\n',
    )
    path.write_text(text + smtp.config())
    return load_config(path)


def _case(app: FastAPI, case_id: int) -> Case:
    with ctx_of(app).sessions() as session:
        case = session.get_one(Case, case_id)
        _ = case.events
        session.expunge_all()
        return case


def _status(html: str) -> str:
    match = re.search(r'<div class="flash [a-z]+" role="(?:status|alert)">(.*?)</div>', html, re.S)
    assert match, "no message on the page"
    return html_text.unescape(re.sub(r"<[^>]+>", "", match.group(1)))


def test_the_handler_marks_a_case_from_its_page_and_the_head_clears_it(
    app: FastAPI, client: TestClient, cases: Cases, smtp: SmtpServer
) -> None:
    csrf = sign_in(client, "anna@testby.se")
    page = client.get(f"/arenden/{cases.kontakt}").text
    assert f'action="/arenden/{cases.kontakt}/omsorg"' in page
    assert "Markera: rör enskilds vård och omsorg" in page

    # Without the session's token: refused, nothing changes, nothing is sent.
    refused = client.post(f"/arenden/{cases.kontakt}/omsorg", data={"omsorg": "ja"})
    assert refused.status_code == 403 and "Ladda om sidan" in refused.text
    assert _case(app, cases.kontakt).individual_care is False and smtp.to(DEVIATION) == []

    response = client.post(
        f"/arenden/{cases.kontakt}/omsorg",
        data={"csrf": csrf, "omsorg": "ja"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/arenden/{cases.kontakt}"
    page = client.get(f"/arenden/{cases.kontakt}").text
    assert _status(page) == (
        f"{cases.kontakt_ref} är markerat som ett ärende som rör enskilds vård och omsorg. "
        "Ärendekortet har skickats till avvikelsefunktionen, och "
        "enhetens chef får besked."
    )
    assert "skickat till avvikelsefunktionen" in page
    assert "Ta bort markeringen för vård och omsorg" in page
    (card,) = smtp.to(DEVIATION)
    assert card.message["Subject"] == (
        f"Klagomål som rör enskilds vård och omsorg – {cases.kontakt_ref}"
    )
    (notice,) = smtp.to("chef@testby.se")
    assert "lex Sarah" in notice.text and cases.kontakt_ref in notice.text
    marked = _case(app, cases.kontakt)
    assert marked.individual_care and marked.care_routed_at is not None
    by_hand = [e for e in marked.events if e.kind is EventKind.CARE and e.actor != "postvakt"]
    assert [(e.actor, e.at) for e in by_hand] == [("anna@testby.se", ctx_of(app).now())] * 2
    assert by_hand[0].detail.startswith("Markerat av anna@testby.se")
    assert by_hand[1].detail.startswith("Mottagningsbekräftelsen som väntade som utkast byts")
    with ctx_of(app).sessions() as session:
        drafts = session.scalars(
            select(Draft).where(Draft.case_id == cases.kontakt).order_by(Draft.id)
        ).all()
        assert [(d.status, d.subject) for d in drafts] == [
            (DraftStatus.REMOVED, drafts[0].subject),
            (DraftStatus.PENDING, f"Ditt ärende {cases.kontakt_ref}"),
        ]
        assert "Snön" in drafts[0].subject  # the ordinary one named the matter

    # A form without its choice (a stale page, a hand-made request) changes nothing.
    for data in ({"csrf": csrf}, {"csrf": csrf, "omsorg": "kanske"}):
        blank = client.post(f"/arenden/{cases.kontakt}/omsorg", data=data)
        assert blank.status_code == 400
    with ctx_of(app).sessions() as session:
        assert session.get(Case, cases.kontakt).individual_care is True

    # Pressed again (a second tab): nothing is sent twice.
    again = client.post(f"/arenden/{cases.kontakt}/omsorg", data={"csrf": csrf, "omsorg": "ja"})
    assert "redan markerat" in _status(again.text)
    assert len(smtp.to(DEVIATION)) == 1

    # The compilation counts it in its own group.
    head = TestClient(app)
    head_csrf = sign_in(head, "chef@testby.se")
    compiled = head.get("/sammanstallning?year=2026").text
    assert "Vård och omsorg (avvikelsemodulen)" in compiled
    row = re.search(r"<th scope=\"row\">Kontaktcenter</th>(.*?)</tr>", compiled, re.S)
    assert row and re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row.group(1))[:3] == [
        "0",
        "0",
        "1",
    ]

    # The head clears it: the deviation function is told.
    cleared = head.post(
        f"/arenden/{cases.kontakt}/omsorg", data={"csrf": head_csrf, "omsorg": "nej"}
    )
    assert _status(cleared.text).endswith("Avvikelsefunktionen har fått besked.")
    _card, word = smtp.to(DEVIATION)
    assert word.message["Subject"].startswith("Rör inte längre enskilds vård och omsorg")
    assert _case(app, cases.kontakt).individual_care is False


def test_someone_without_the_right_is_refused_server_side(
    app: FastAPI, client: TestClient, cases: Cases, smtp: SmtpServer
) -> None:
    csrf = sign_in(client, "bo@testby.se")  # Bygglov: may not correct Kontaktcenter's case
    response = client.post(
        f"/arenden/{cases.kontakt}/omsorg",
        data={"csrf": csrf, "omsorg": "ja"},
        follow_redirects=False,
    )
    assert response.status_code == 403 and "Du får inte rätta det här ärendet" in response.text
    assert _case(app, cases.kontakt).individual_care is False
    assert smtp.received == []
    # On his own unit's case he may.
    client.post(f"/arenden/{cases.bygglov}/omsorg", data={"csrf": csrf, "omsorg": "ja"})
    assert _case(app, cases.bygglov).individual_care is True
    (card,) = smtp.to(DEVIATION)
    assert (
        card.message["Subject"]
        == f"Synpunkt som rör enskilds vård och omsorg – {cases.bygglov_ref}"
    )
