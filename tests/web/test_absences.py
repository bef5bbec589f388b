"""Frånvaro by direct requests: who may set, change and end whose absence; the reply text."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.registry.models import Absence
from tests.web.support import ctx_of, sign_in

FORM = {
    "person": "anna@testby.se",
    "kind": "semester",
    "start": "2026-11-30",
    "end": "2026-12-11",
    "substitute1": "cecilia@testby.se",
    "substitute2": "",
    "subject": "",
    "text": "",
    "generated": "",
}


def _absences(app: FastAPI) -> list[Absence]:
    with ctx_of(app).sessions() as session:
        return list(session.scalars(select(Absence).order_by(Absence.id)))


def test_the_head_sets_an_absence_for_their_staff(client: TestClient, app: FastAPI) -> None:
    csrf = sign_in(client, "chef@testby.se")
    preview = client.post("/franvaro", data={**FORM, "csrf": csrf, "step": "preview"})
    assert preview.status_code == 200
    assert "Jag är på semester till och med 11 december" in preview.text
    assert _absences(app) == []  # a preview saves nothing
    saved = client.post("/franvaro", data={**FORM, "csrf": csrf, "step": "save"})
    assert "Frånvaron för Anna Berg är sparad." in saved.text
    (absence,) = _absences(app)
    assert (absence.person, absence.created_by, absence.substitutes) == (
        "anna@testby.se",
        "chef@testby.se",
        ["cecilia@testby.se"],
    )
    assert absence.reply_text is None  # not typed: generated when it starts


def test_an_edited_reply_text_is_kept(client: TestClient, app: FastAPI) -> None:
    csrf = sign_in(client, "chef@testby.se")
    own = "Hej! Jag är ledig. Ring växeln, 0123-45 67 00."
    client.post(
        "/franvaro",
        data={**FORM, "csrf": csrf, "step": "save", "subject": "Ledig", "text": own},
    )
    (absence,) = _absences(app)
    assert (absence.reply_subject, absence.reply_text) == ("Ledig", own)


def test_staff_cannot_set_an_absence_for_a_colleague(client: TestClient, app: FastAPI) -> None:
    csrf = sign_in(client, "bo@testby.se")
    page = client.get("/franvaro").text
    assert "Anna Berg (Kontaktcenter)</option>" not in page.split('id="substitute1"')[0]
    response = client.post("/franvaro", data={**FORM, "csrf": csrf, "step": "save"})
    assert response.status_code == 400
    assert "får inte lägga in eller ändra frånvaro för anna@testby.se" in response.text
    assert _absences(app) == []


def test_another_units_head_cannot_change_or_end_it(client: TestClient, app: FastAPI) -> None:
    csrf = sign_in(client, "chef@testby.se")
    client.post("/franvaro", data={**FORM, "csrf": csrf, "step": "save"})
    (absence,) = _absences(app)
    csrf = sign_in(client, "bchef@testby.se")
    assert client.get(f"/franvaro/{absence.id}").status_code == 404
    changed = {**FORM, "csrf": csrf, "step": "save", "end": "2026-12-31"}
    assert client.post(f"/franvaro/{absence.id}", data=changed).status_code == 404
    assert client.post(f"/franvaro/{absence.id}/avsluta", data={"csrf": csrf}).status_code == 404
    (after,) = _absences(app)
    assert after.end.isoformat() == "2026-12-11" and after.ended_at is None


def test_the_head_changes_and_ends_it(client: TestClient, app: FastAPI) -> None:
    csrf = sign_in(client, "chef@testby.se")
    client.post("/franvaro", data={**FORM, "csrf": csrf, "step": "save"})
    (absence,) = _absences(app)
    form = client.get(f"/franvaro/{absence.id}")
    assert "Ändra frånvaro för Anna Berg" in form.text
    client.post(
        f"/franvaro/{absence.id}",
        data={**FORM, "csrf": csrf, "step": "save", "end": "2026-12-18", "person": "bo@testby.se"},
    )
    (changed,) = _absences(app)
    assert changed.person == "anna@testby.se"  # the person of an absence does not change
    assert changed.end.isoformat() == "2026-12-18"
    ended = client.post(f"/franvaro/{absence.id}/avsluta", data={"csrf": csrf})
    assert "Frånvaron för Anna Berg är avslutad från i dag." in ended.text
    (after,) = _absences(app)
    assert after.ended_by == "chef@testby.se"


def test_a_person_sets_their_own_absence(client: TestClient, app: FastAPI) -> None:
    csrf = sign_in(client, "bo@testby.se")
    data = {**FORM, "person": "bo@testby.se", "substitute1": "bchef@testby.se"}
    client.post("/franvaro", data={**data, "csrf": csrf, "step": "save"})
    (absence,) = _absences(app)
    assert absence.person == "bo@testby.se"


def test_refused_substitutes_are_told(client: TestClient, app: FastAPI) -> None:
    csrf = sign_in(client, "chef@testby.se")
    data = {**FORM, "csrf": csrf, "step": "save", "substitute1": "anna@testby.se"}
    response = client.post("/franvaro", data=data)
    assert response.status_code == 400
    assert "kan inte vara sin egen ersättare" in response.text
