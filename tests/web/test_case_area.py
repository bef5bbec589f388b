"""The service area (verksamhetsområde) on a case's page: shown with who or what chose it,
and corrected by those who may correct the case (``set_area``, as ``postvakt cases area``)."""

from __future__ import annotations

import html as html_text
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.config import Config, load_config
from postvakt.registry.models import Case, CaseEvent, EventKind
from postvakt.registry.notes import write_note
from postvakt.web import create_app
from tests.web.support import NOW, Cases, ctx_of, make_config, sign_in

AREAS = {  # the test municipality's units, with service areas
    'name = "Kontaktcenter"\nhead = "chef@testby.se"\n': 'areas = ["medborgarservice"]\n',
    'name = "Bygglov"\nhead = "bchef@testby.se"\n': 'areas = ["bygglov", "gatudrift"]\n',
}


class Clock:
    """A clock the test moves forward."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _config(root: Path) -> Config:
    make_config(root)
    path = root / "postvakt.toml"
    text = path.read_text(encoding="utf-8")
    for unit, areas in AREAS.items():
        assert unit in text
        text = text.replace(unit, unit + areas)
    path.write_text(text, encoding="utf-8")
    return load_config(path)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Iterator[FastAPI]:
    app = create_app(_config(tmp_path / "ws"), clock=clock, environ={})
    try:
        yield app
    finally:
        app.state.ctx.close()


# ``cases`` and ``client`` are tests/web/conftest.py's, on this module's ``app``.


def _value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} on the page"
    return match.group(1)


def _flash(html: str) -> str:
    match = re.search(r'<div class="flash [a-z]+" role="(?:status|alert)">(.*?)</div>', html, re.S)
    return html_text.unescape(re.sub(r"<[^>]+>", "", match.group(1))) if match else ""


def _area_row(html: str) -> str:
    """The Verksamhetsområde row of the facts, as text."""
    start = html.index('id="verksamhetsomrade"')
    row = html[start : html.index("<dt>", start)]
    return " ".join(html_text.unescape(re.sub(r"<[^>]+>", " ", row)).split())


def _case(app: FastAPI, case_id: int) -> Case:
    with ctx_of(app).sessions() as session:
        case = session.scalars(select(Case).where(Case.id == case_id)).one()
        _ = case.unit, case.events
        return case


def _area_events(app: FastAPI, case_id: int) -> list[CaseEvent]:
    with ctx_of(app).sessions() as session:
        return [
            e
            for e in session.scalars(
                select(CaseEvent).where(
                    CaseEvent.case_id == case_id, CaseEvent.kind == EventKind.ASSIGNED
                )
            )
            if "verksamhetsområde" in (e.detail or "")
        ]


def _form_action(case_id: int) -> str:
    return f'action="/arenden/{case_id}/verksamhetsomrade"'


def test_the_area_and_who_chose_it_are_shown(
    app: FastAPI, cases: Cases, client: TestClient
) -> None:
    sign_in(client, "chef@testby.se")  # Lena Holm, head of Kontaktcenter
    html = client.get(f"/arenden/{cases.kontakt}").text
    row = _area_row(html)
    # Registered by hand: Postvakt took the unit's only area.
    assert "medborgarservice (Kontaktcenter svarar för området)" in row
    assert "Valt av Postvakt när ärendet registrerades" in row
    # The form offers the other configured areas, by unit, not the case's own.
    assert _form_action(cases.kontakt) in html
    assert '<optgroup label="Bygglov"><option value="bygglov">bygglov</option>' in html
    assert '<option value="medborgarservice">' not in html

    # From a message: Postvakt's reason is shown.
    with ctx_of(app).sessions() as session, session.begin():
        case = session.get_one(Case, cases.kontakt)
        case.service_area = "gatudrift"
        case.classifier_reasons = ["verksamhetsområde gatudrift: orden snön (2), gatan i texten"]
    row = _area_row(client.get(f"/arenden/{cases.kontakt}").text)
    assert "gatudrift (Bygglov svarar för området)" in row
    assert "Valt av Postvakt: verksamhetsområde gatudrift: orden snön (2), gatan i texten." in row

    # An area no unit has, and none at all.
    with ctx_of(app).sessions() as session, session.begin():
        case = session.get_one(Case, cases.kontakt)
        case.service_area = "badplatser"
        case.classifier_reasons = [
            *case.classifier_reasons,
            'verksamhetsområde från webbformulärets fält Verksamhet ("Badplatser"); ingen enhet '
            "har det området",
        ]
    row = _area_row(client.get(f"/arenden/{cases.kontakt}").text)
    assert "badplatser (ingen enhet har området i konfigurationen)" in row
    assert (
        'Valt av Postvakt: verksamhetsområde från webbformulärets fält Verksamhet ("Badplatser")'
        in row
    )
    assert "gatudrift" not in row.partition("Ändra verksamhetsområde")[0]  # not the old reason
    with ctx_of(app).sessions() as session, session.begin():
        session.get_one(Case, cases.kontakt).service_area = None
    assert "Postvakt hittade inget verksamhetsområde" in _area_row(
        client.get(f"/arenden/{cases.kontakt}").text
    )


def test_a_permitted_user_changes_the_area_and_the_case_goes_to_its_unit(
    app: FastAPI, cases: Cases, client: TestClient
) -> None:
    csrf = sign_in(client, "bchef@testby.se")  # Britt Lund, head of Bygglov
    html = client.get(f"/arenden/{cases.bygglov}").text
    assert "bygglov (Bygglov svarar för området)" in _area_row(html)

    # A value the configuration does not have: a Swedish sentence, nothing changed.
    bad = client.post(
        f"/arenden/{cases.bygglov}/verksamhetsomrade",
        data={"csrf": csrf, "loaded_at": _value(html, "loaded_at"), "area": "skolor"},
    )
    assert bad.status_code == 200
    assert _flash(bad.text) == (
        "”skolor” är inget verksamhetsområde i konfigurationen; välj ett i listan. "
        "Verksamhetsområden: medborgarservice, bygglov, gatudrift."
    )
    empty = client.post(
        f"/arenden/{cases.bygglov}/verksamhetsomrade",
        data={"csrf": csrf, "loaded_at": _value(html, "loaded_at"), "area": " "},
    )
    assert _flash(empty.text) == "Välj ett verksamhetsområde i listan."
    assert _case(app, cases.bygglov).service_area == "bygglov"
    assert not _area_events(app, cases.bygglov)

    # Within the unit: the area changes, the unit stays.
    done = client.post(
        f"/arenden/{cases.bygglov}/verksamhetsomrade",
        data={"csrf": csrf, "loaded_at": _value(html, "loaded_at"), "area": "gatudrift"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/arenden/{cases.bygglov}"
    page = client.get(done.headers["location"]).text
    assert _flash(page) == f"{cases.bygglov_ref}: verksamhetsområde gatudrift."
    assert "Ändrat av Britt Lund" in _area_row(page)
    case = _case(app, cases.bygglov)
    assert case.service_area == "gatudrift" and case.unit.name == "Bygglov"

    # To another unit's area: the case goes there, its head the handler, an event says so.
    done = client.post(
        f"/arenden/{cases.bygglov}/verksamhetsomrade",
        data={"csrf": csrf, "loaded_at": _value(page, "loaded_at"), "area": "medborgarservice"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    case = _case(app, cases.bygglov)
    assert case.service_area == "medborgarservice"
    assert case.unit.name == "Kontaktcenter" and case.handler == "chef@testby.se"
    events = _area_events(app, cases.bygglov)
    assert [e.actor for e in events] == ["bchef@testby.se", "bchef@testby.se"]
    assert events[-1].detail == (
        "bchef@testby.se ändrade verksamhetsområde från gatudrift till medborgarservice; "
        "ärendet lämnat till Kontaktcenter, handläggare chef@testby.se."
    )
    # Britt no longer sees the case (it is Kontaktcenter's now): she is told, not sent to 404.
    assert done.headers["location"] == "/arenden"
    assert "Du kan inte längre öppna ärendet" in _flash(client.get("/arenden").text)

    with TestClient(app) as lena:  # the new unit's head sees who chose the area
        sign_in(lena, "chef@testby.se")
        row = _area_row(lena.get(f"/arenden/{cases.bygglov}").text)
    assert "medborgarservice (Kontaktcenter svarar för området)" in row
    assert "Ändrat av Britt Lund" in row


def test_one_who_may_not_correct_the_case_is_refused(
    app: FastAPI, cases: Cases, client: TestClient
) -> None:
    # Cecilia reads Kontaktcenter's cases but is neither their handler nor the unit's head.
    csrf = sign_in(client, "cecilia@testby.se")
    html = client.get(f"/arenden/{cases.kontakt}").text
    assert "medborgarservice" in _area_row(html)  # she sees the area …
    assert _form_action(cases.kontakt) not in html  # … but gets no form to change it
    refused = client.post(
        f"/arenden/{cases.kontakt}/verksamhetsomrade",
        data={"csrf": csrf, "loaded_at": _value(html, "loaded_at"), "area": "gatudrift"},
    )
    assert refused.status_code == 403
    assert "Du får inte rätta det här ärendet" in refused.text
    # Bo (Bygglov) may not even see the case: the same refusal.
    with TestClient(app) as bo:
        bo_csrf = sign_in(bo, "bo@testby.se")
        other = bo.post(
            f"/arenden/{cases.kontakt}/verksamhetsomrade",
            data={"csrf": bo_csrf, "area": "gatudrift"},
        )
    assert other.status_code == 403
    case = _case(app, cases.kontakt)
    assert case.service_area == "medborgarservice" and case.unit.name == "Kontaktcenter"
    assert not _area_events(app, cases.kontakt)


def test_a_stale_form_is_refused(
    app: FastAPI, cases: Cases, client: TestClient, clock: Clock
) -> None:
    csrf = sign_in(client, "chef@testby.se")
    html = client.get(f"/arenden/{cases.kontakt}").text
    assert _form_action(cases.kontakt) in html
    loaded_at = _value(html, "loaded_at")
    clock.at = NOW + timedelta(minutes=5)  # Anna, the handler, writes on the case meanwhile
    ctx = ctx_of(app)
    write_note(
        ctx.config,
        ctx.sessions,
        ctx.clock,
        cases.kontakt_ref,
        text="Ringt Karin.",
        by="anna@testby.se",
    )
    clock.at = NOW + timedelta(minutes=7)
    stopped = client.post(
        f"/arenden/{cases.kontakt}/verksamhetsomrade",
        data={"csrf": csrf, "loaded_at": loaded_at, "area": "gatudrift"},
        follow_redirects=False,
    )
    assert stopped.status_code == 409
    assert "Anna Berg har ändrat ärendet kl. 10:05 sedan du öppnade sidan" in stopped.text
    # what the person chose is still chosen, in the form left open
    assert '<option value="gatudrift" selected>gatudrift</option>' in stopped.text
    case = _case(app, cases.kontakt)
    assert case.service_area == "medborgarservice" and case.unit.name == "Kontaktcenter"
    assert not _area_events(app, cases.kontakt)


def test_a_form_without_the_csrf_token_is_refused(
    app: FastAPI, cases: Cases, client: TestClient
) -> None:
    sign_in(client, "chef@testby.se")
    html = client.get(f"/arenden/{cases.kontakt}").text
    form = html[html.index(_form_action(cases.kontakt)) :]
    assert 'name="csrf"' in form[: form.index("</form>")]  # the page's form carries it
    for data in (
        {"loaded_at": _value(html, "loaded_at"), "area": "gatudrift"},
        {"csrf": "fel-token", "loaded_at": _value(html, "loaded_at"), "area": "gatudrift"},
    ):
        refused = client.post(f"/arenden/{cases.kontakt}/verksamhetsomrade", data=data)
        assert refused.status_code == 403
        assert "Formuläret har gått ut eller kom inte från Postvakt" in refused.text
    case = _case(app, cases.kontakt)
    assert case.service_area == "medborgarservice" and case.unit.name == "Kontaktcenter"
    assert not _area_events(app, cases.kontakt)
