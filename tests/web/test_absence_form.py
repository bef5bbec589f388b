"""The Frånvaro form offers the right substitutes (the person's unit colleagues and standing
delegates; never the person; nobody away in the period) and the auto-reply names an address
once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.clock import fixed_clock
from postvakt.config import load_config
from postvakt.delegation.texts import auto_reply
from postvakt.registry.absences import add_absence
from postvakt.registry.models import Absence
from postvakt.web import create_app
from tests.web.support import NOW, ctx_of, make_config, sign_in

FORM = {
    "person": "anna@testby.se",
    "kind": "semester",
    "start": "2026-12-01",
    "end": "2026-12-04",
    "substitute1": "",
    "substitute2": "",
    "subject": "",
    "text": "",
    "generated": "",
}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    """The test municipality, where Anna's standing delegate is Bo of Bygglov."""
    make_config(tmp_path / "ws")
    path = tmp_path / "ws" / "postvakt.toml"
    toml = path.read_text(encoding="utf-8")
    toml = toml.replace(
        'phone = "0123-456 78"\n',
        'phone = "0123-456 78"\nstanding_delegates = ["bo@testby.se"]\n',
        1,
    )
    path.write_text(toml, encoding="utf-8")
    app = create_app(load_config(path), clock=fixed_clock(NOW), environ={})
    try:
        yield app
    finally:
        app.state.ctx.close()


def _offered(html: str, field: str = "substitute1") -> list[str]:
    select_ = re.search(rf'<select id="{field}".*?</select>', html, re.S)
    assert select_, f"no {field} on the page"
    return [v for v in re.findall(r'<option value="([^"]*)"', select_.group(0)) if v]


def _away(app: FastAPI, person: str, start: date, end: date) -> None:
    ctx = ctx_of(app)
    with ctx.sessions() as session, session.begin():
        add_absence(
            session,
            ctx.config,
            person=person,
            kind="semester",
            start=start,
            end=end,
            substitutes=[],
            actor=person,
            now=NOW,
        )


def test_the_substitutes_are_the_persons_colleagues_and_standing_delegates(
    client: TestClient,
) -> None:
    csrf = sign_in(client, "chef@testby.se")  # Lena Holm heads Kontaktcenter
    # The form first shows Lena herself: her colleagues, not herself, not Bygglov's staff.
    assert sorted(_offered(client.get("/franvaro").text)) == ["anna@testby.se", "cecilia@testby.se"]
    # Anna chosen (without a script: the button posts the form back): Anna's colleagues and
    # her standing delegate from Bygglov — not Anna, not Bygglov's head.
    page = client.post("/franvaro", data={**FORM, "csrf": csrf, "step": "person"})
    assert page.status_code == 200
    assert _offered(page.text) == ["cecilia@testby.se", "chef@testby.se", "bo@testby.se"]
    assert _offered(page.text, "substitute2") == _offered(page.text)
    assert "Så här ser svaret ut" not in page.text  # choosing the person is no preview


def test_someone_away_in_the_period_is_not_offered(client: TestClient, app: FastAPI) -> None:
    _away(app, "cecilia@testby.se", date(2026, 11, 30), date(2026, 12, 2))
    csrf = sign_in(client, "chef@testby.se")
    during = client.post("/franvaro", data={**FORM, "csrf": csrf, "step": "preview"})
    assert "cecilia@testby.se" not in _offered(during.text)
    after = {**FORM, "start": "2026-12-07", "end": "2026-12-11"}
    later = client.post("/franvaro", data={**after, "csrf": csrf, "step": "preview"})
    assert "cecilia@testby.se" in _offered(later.text)
    # Until further notice: any absence of hers from the start on is in the period.
    open_ended = {**FORM, "start": "2026-11-25", "end": ""}
    page = client.post("/franvaro", data={**open_ended, "csrf": csrf, "step": "preview"})
    assert "cecilia@testby.se" not in _offered(page.text)


def test_a_substitute_not_offered_is_refused_in_swedish(client: TestClient, app: FastAPI) -> None:
    csrf = sign_in(client, "chef@testby.se")
    data = {**FORM, "csrf": csrf, "step": "save", "substitute1": "bchef@testby.se"}
    response = client.post("/franvaro", data=data)
    assert response.status_code == 400
    assert "Britt Lund kan inte vara ersättare för Anna Berg" in response.text
    with ctx_of(app).sessions() as session:
        assert session.scalars(select(Absence)).all() == []
    # Her standing delegate is taken.
    data["substitute1"] = "bo@testby.se"
    assert "Frånvaron för Anna Berg är sparad." in client.post("/franvaro", data=data).text


def test_changing_an_absence_keeps_its_substitute(client: TestClient, app: FastAPI) -> None:
    """A substitute who has since gone away stays offered (and kept) when the absence is
    changed: the form never drops what was chosen."""
    csrf = sign_in(client, "chef@testby.se")
    data = {**FORM, "csrf": csrf, "step": "save", "substitute1": "cecilia@testby.se"}
    client.post("/franvaro", data=data)
    _away(app, "cecilia@testby.se", date(2026, 12, 1), date(2026, 12, 3))
    with ctx_of(app).sessions() as session:
        absence = session.scalars(select(Absence).where(Absence.person == "anna@testby.se")).one()
    form = client.get(f"/franvaro/{absence.id}").text
    assert "cecilia@testby.se" in _offered(form)
    changed = client.post(f"/franvaro/{absence.id}", data={**data, "end": "2026-12-05"})
    assert changed.status_code == 200 and "är sparad" in changed.text


def test_the_auto_reply_names_an_address_without_a_name_once(
    client: TestClient, app: FastAPI
) -> None:
    """Lena Holm's cover is the head above her, kd@, whom the config gives no name."""
    csrf = sign_in(client, "kd@testby.se")
    data = {**FORM, "person": "chef@testby.se", "csrf": csrf, "step": "preview"}
    text = client.post("/franvaro", data=data).text
    assert "Ditt meddelande handläggs av kd@testby.se." in text
    assert "Your message is handled by kd@testby.se." in text
    assert "kd@testby.se, kd@testby.se" not in text
    ctx = ctx_of(app)
    named = auto_reply(
        ctx.config,
        ctx.calendar,
        person="cecilia@testby.se",
        kind="semester",
        end=date(2026, 12, 4),
        covered_by="anna@testby.se",
    )
    assert "handläggs av Anna Berg, anna@testby.se, tel. 0123-456 78." in named.text
    nameless = auto_reply(
        ctx.config, ctx.calendar, person="bo@testby.se", kind="slutat", end=None,
        covered_by="kd@testby.se",
    )  # fmt: skip
    assert nameless.text.count("kd@testby.se") == 2  # once in Swedish, once in English
