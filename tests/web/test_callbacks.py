"""Återuppringningar on the dashboard: a message taken for someone who was not there, the
deadline on the Översikt page, marked done with a note; the rights checked server-side, the
session's CSRF token on every form — on SQLite and PostgreSQL, with a real SMTP server."""

from __future__ import annotations

import html as html_text
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.config import Config, load_config
from postvakt.registry.absences import add_absence
from postvakt.registry.callbacks import CallbackRequest
from postvakt.registry.models import EventKind
from tests.support.smtp import SmtpServer
from tests.web.support import NOW, Cases, ctx_of, make_config, sign_in

PATH = "/aterringningar"


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


def _flash(html: str) -> str:
    match = re.search(r'<div class="flash [a-z]+" role="(?:status|alert)">(.*?)</div>', html, re.S)
    assert match, "no message on the page"
    return " ".join(html_text.unescape(re.sub(r"<[^>]+>", "", match.group(1))).split())


def _text(html: str) -> str:
    return " ".join(html_text.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _take(client: TestClient, csrf: str, **values: str) -> object:
    form = {
        "for_address": "anna@testby.se",
        "name": "Karin Ek",
        "phone": "070-123 45 67",
        "about": "Undrar när snön röjs på Storgatan",
        "csrf": csrf,
        **values,
    }
    return client.post(PATH, data=form, follow_redirects=False)


def _rows(app: FastAPI) -> list[CallbackRequest]:
    with ctx_of(app).sessions() as session:
        rows = list(session.scalars(select(CallbackRequest).order_by(CallbackRequest.id)))
        session.expunge_all()
        return rows


def _section(html: str, heading: str) -> str:
    """The page's text from ``heading`` to the next heading."""
    text = _text(html)
    start = text.index(heading)
    rest = text[start + len(heading) :]
    end = min((rest.find(h) for h in (" Snart försenat", " Ta emot ett meddelande") if h in rest),
              default=len(rest))  # fmt: skip
    return rest[:end]


def test_a_message_taken_at_the_reception_is_called_back_in_time(
    client: TestClient, app: FastAPI, smtp: SmtpServer
) -> None:
    # Not signed in: to the sign-in page.
    assert client.get(PATH, follow_redirects=False).headers["location"] == "/logga-in"

    csrf = sign_in(client, "cecilia@testby.se")
    page = client.get(PATH)
    assert page.status_code == 200 and "Ta emot ett meddelande" in page.text
    assert "inom 2 arbetsdagar" in _text(page.text)
    response = _take(client, csrf)
    assert response.status_code == 303 and response.headers["location"] == PATH
    assert _flash(client.get(PATH).text) == (
        "Återuppringning 1: Anna Berg ringer Karin Ek senast torsdag 26 november 2026. "
        "Anna Berg har fått meddelandet med e-post."
    )
    (told,) = smtp.to("anna@testby.se")
    assert "ring Karin Ek på 070-123 45 67 senast 26 november 2026" in told.text
    (row,) = _rows(app)
    assert (row.for_address, row.requested_by, row.due) == (
        "anna@testby.se",
        "cecilia@testby.se",
        date(2026, 11, 26),  # two working days from Tuesday 24 November
    )
    # Cecilia took it: she sees it, but the call is Anna's.
    listed = client.get(PATH).text
    assert "Karin Ek" in listed and "görs av Anna Berg" in listed
    refused = client.post(
        f"{PATH}/1/klar", data={"note": "Ringt", "csrf": csrf}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert "Återuppringningen görs av Anna Berg" in _text(refused.text)

    # Anna sees the deadline on her Översikt page.
    client.cookies.clear()
    csrf = sign_in(client, "anna@testby.se")
    overview = client.get("/").text
    waiting = _section(overview, "Att ringa upp")
    assert "26 november 2026" in waiting and "Karin Ek, 070-123 45 67" in waiting
    assert "Undrar när snön röjs på Storgatan" in waiting

    # Without the form's token nothing happens.
    forged = client.post(f"{PATH}/1/klar", data={"note": "Ringt"}, follow_redirects=False)
    assert forged.status_code == 403 and _rows(app)[0].done_at is None
    # Done without a note is refused; with one it is done.
    empty = client.post(f"{PATH}/1/klar", data={"note": " ", "csrf": csrf})
    assert "Skriv vad som kom ut av samtalet" in _flash(empty.text)
    done = client.post(
        f"{PATH}/1/klar",
        data={"note": "Snön röjs i morgon förmiddag", "csrf": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _flash(client.get(PATH).text) == "Återuppringning 1 är klar."
    (row,) = _rows(app)
    assert row.done_by == "anna@testby.se" and row.note == "Snön röjs i morgon förmiddag"
    assert "Ingen väntar på att bli uppringd." in _section(client.get("/").text, "Att ringa upp")
    assert "Snön röjs i morgon förmiddag" in _section(client.get(PATH).text, "Nyss klara")


def test_who_sees_it_and_who_may_mark_it_done(
    client: TestClient, app: FastAPI, smtp: SmtpServer
) -> None:
    csrf = sign_in(client, "cecilia@testby.se")
    assert _take(client, csrf).status_code == 303
    # Another unit's staff and head neither see it nor may mark it done.
    for outsider in ("bo@testby.se", "bchef@testby.se"):
        client.cookies.clear()
        csrf = sign_in(client, outsider)
        assert "Karin Ek" not in client.get(PATH).text
        assert "Karin Ek" not in client.get("/").text
        response = client.post(
            f"{PATH}/1/klar", data={"note": "x", "csrf": csrf}, follow_redirects=False
        )
        assert response.status_code == 403
    # The head of Anna's unit sees it in red once the deadline has passed, and may do it.
    ctx = ctx_of(app)
    ctx.service.clock = lambda: NOW + timedelta(days=3)  # Friday 27 November
    ctx.service.callbacks.clock = ctx.service.clock  # type: ignore[union-attr]
    client.cookies.clear()
    csrf = sign_in(client, "chef@testby.se")
    page = client.get(PATH).text
    assert re.search(r'<tr class="broken" id="aterringning-1">', page)
    assert "försenad" in _text(page)
    assert "försenat" in _section(client.get("/").text, "Att ringa upp")
    done = client.post(
        f"{PATH}/1/klar", data={"note": "Chefen ringde", "csrf": csrf}, follow_redirects=False
    )
    assert done.status_code == 303 and _rows(app)[0].done_by == "chef@testby.se"
    # A request that does not exist.
    missing = client.post(f"{PATH}/99/klar", data={"note": "x", "csrf": csrf})
    assert missing.status_code == 404


def test_whoever_covers_an_absent_colleague_may_call_back(
    client: TestClient, app: FastAPI, smtp: SmtpServer
) -> None:
    ctx = ctx_of(app)
    with ctx.sessions() as session, session.begin():
        add_absence(
            session,
            ctx.config,
            person="anna@testby.se",
            kind="semester",
            start=NOW.date(),
            end=NOW.date() + timedelta(days=7),
            substitutes=["cecilia@testby.se"],
            actor="chef@testby.se",
            now=NOW,
        )
    csrf = sign_in(client, "bo@testby.se")  # at Bygglov's reception
    assert _take(client, csrf).status_code == 303
    assert _flash(client.get(PATH).text).endswith(
        "Anna Berg är borta; cecilia@testby.se har fått meddelandet med e-post."
    )
    (told,) = smtp.received
    assert told.recipients == ["cecilia@testby.se"]
    client.cookies.clear()
    csrf = sign_in(client, "cecilia@testby.se")
    assert "Karin Ek" in _section(client.get("/").text, "Att ringa upp")
    done = client.post(
        f"{PATH}/1/klar", data={"note": "Ringde åt Anna", "csrf": csrf}, follow_redirects=False
    )
    assert done.status_code == 303 and _rows(app)[0].done_by == "cecilia@testby.se"


def test_a_wrong_phone_number_is_told_and_the_form_kept(client: TestClient, app: FastAPI) -> None:
    csrf = sign_in(client, "cecilia@testby.se")
    response = _take(client, csrf, phone="ring mig")
    assert response.status_code == 400
    text = _text(response.text)
    assert "Telefon: 'ring mig' är inget telefonnummer; skriv t.ex. 070-123 45 67" in text
    assert 'value="Karin Ek"' in response.text and "Undrar när snön röjs" in response.text
    response = _take(client, csrf, for_address="")
    assert response.status_code == 400 and "Välj vem som ska ringa upp." in response.text
    assert _rows(app) == []


def test_a_callback_tied_to_a_case_is_noted_on_it(
    client: TestClient, app: FastAPI, cases: Cases, smtp: SmtpServer
) -> None:
    ctx = ctx_of(app)
    callbacks = ctx.service.callbacks
    assert callbacks is not None
    # A phone case asking to be called back (as 'cases add --channel phone' makes it).
    done = ctx.casework.add(
        kind="complaint",
        channel="phone",
        summary="Hemtjänsten kom inte i dag",
        unit="Kontaktcenter",
        actor="anna@testby.se",
        contact="070-765 43 21",
        name="Sven Sten",
    )
    made = callbacks.from_case(
        done.case, by="anna@testby.se", summary="Vill att ni ringer tillbaka"
    )
    assert made.made is not None
    csrf = sign_in(client, "anna@testby.se")
    page = client.get(PATH).text
    assert re.search(r'<a href="/arenden/\d+">' + re.escape(done.case) + "</a>", page)
    response = client.post(
        f"{PATH}/{made.made.view.id}/klar",
        data={"note": "Lovade besök i morgon", "csrf": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert f"samtalet är antecknat i ärende {done.case}" in _flash(client.get(PATH).text)
    with ctx.sessions() as session:
        from postvakt.registry.cases import find_case

        case = find_case(session, done.case)
        (event,) = [e for e in case.events if e.kind is EventKind.CALLBACK]
        assert event.detail == "Ringde upp Sven Sten: Lovade besök i morgon"


def test_in_the_browser_taken_seen_and_done(page, app: FastAPI, smtp: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    from tests.web.browser import axe_violations, screenshot
    from tests.web.support import PASSWORD, add_accounts

    def sign_in_as(address: str) -> None:
        add_accounts(app, (address,))
        page.context.clear_cookies()
        page.goto("/logga-in")
        page.get_by_label("E-postadress").fill(address)
        page.get_by_label("Lösenord").fill(PASSWORD)
        page.get_by_role("button", name="Logga in").click()
        page.wait_for_url("**/uppgifter")  # Mina uppgifter, where sign-in lands
        page.goto("/")  # the callback is seen on Översikt

    sign_in_as("cecilia@testby.se")
    page.get_by_role("navigation").get_by_role("link", name="Återuppringningar").click()
    page.get_by_label("Vem ska ringa upp?").select_option(label="Anna Berg (anna@testby.se)")
    page.get_by_label("Medborgarens namn").fill("Karin Ek")
    page.get_by_label("Telefon").fill("070-123 45 67")
    page.get_by_label("Vad gäller det?").fill("Undrar när snön röjs på Storgatan")
    page.get_by_role("button", name="Lägg in återuppringningen").click()
    assert "Anna Berg ringer Karin Ek senast torsdag 26 november 2026" in (
        page.get_by_role("status").inner_text()
    )
    assert axe_violations(page) == []  # WCAG 2.2 A and AA, with a row waiting
    screenshot(page, "callbacks")

    sign_in_as("anna@testby.se")
    row = page.get_by_role("row", name="Karin Ek")
    assert "26 november 2026" in row.inner_text()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Markera som klar eller ta emot ett nytt meddelande").click()
    page.get_by_label("Vad kom ut av samtalet?").fill("Snön röjs i morgon")
    page.get_by_role("button", name="Klar med återuppringning 1 till Karin Ek").click()
    assert page.get_by_role("status").inner_text() == "Återuppringning 1 är klar."
    screenshot(page, "callbacks-done")
    assert _rows(app)[0].note == "Snön röjs i morgon"
