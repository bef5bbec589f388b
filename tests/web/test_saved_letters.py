"""A letter saved for printing (the citizen left no e-mail address) is downloaded from the case
page: ``/arenden/{id}/dokument/{event}``; only by those who may see the case, only from the
letters folder, and the view is written in the case's access log."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.registry.models import Case, CaseAccess, CaseEvent, EventKind
from tests.web.support import ctx_of, sign_in


def test_a_saved_letter_is_downloaded_from_the_case_page(app: FastAPI, client: TestClient) -> None:
    ctx = ctx_of(app)
    done = ctx.casework.add(
        kind="complaint",
        channel="letter",
        summary="Gatlampan på Ekvägen är trasig",
        unit="Kontaktcenter",
        actor="anna@testby.se",
        contact="Ekvägen 3, 123 45 Testby",
        name="Sven Ek",
    )
    folder = ctx.config.path(ctx.config.templates.letters_folder)
    (saved,) = sorted(folder.iterdir())
    with ctx.sessions() as session:
        case = session.scalars(select(Case).where(Case.reference == done.case)).one()
        case_id = case.id
        (event,) = [e for e in case.events if e.kind is EventKind.DRAFTED]
        event_id = event.id
        assert event.document == saved.name

    sign_in(client, "anna@testby.se")
    page = client.get(f"/arenden/{case_id}").text
    assert (
        f'href="/arenden/{case_id}/dokument/{event_id}"' in page and "sparat för utskrift" in page
    )
    letter = client.get(f"/arenden/{case_id}/dokument/{event_id}")
    assert letter.status_code == 200 and letter.content == saved.read_bytes()
    assert letter.content[:2] == b"PK"  # a .docx
    assert "attachment" in letter.headers["content-disposition"]
    with ctx.sessions() as session:
        whats = session.scalars(
            select(CaseAccess.what).where(CaseAccess.case_id == case_id).order_by(CaseAccess.id)
        ).all()
    assert whats[-1] == "brev" and [w for w in whats if w == "brev"] == ["brev"]

    assert client.get(f"/arenden/{case_id}/dokument/{event_id + 999}").status_code == 404

    # A document name pointing out of the letters folder is never served.
    with ctx.sessions() as session, session.begin():
        session.get_one(CaseEvent, event_id).document = "../postvakt.toml"
    assert (folder.parent / "postvakt.toml").is_file()
    assert client.get(f"/arenden/{case_id}/dokument/{event_id}").status_code == 404


def test_someone_outside_the_unit_cannot_fetch_it(app: FastAPI, client: TestClient) -> None:
    ctx = ctx_of(app)
    done = ctx.casework.add(
        kind="complaint",
        channel="visit",
        summary="Gatlampan på Ekvägen är trasig",
        unit="Kontaktcenter",
        actor="anna@testby.se",
        contact="Ekvägen 3, 123 45 Testby",
    )
    with ctx.sessions() as session:
        case = session.scalars(select(Case).where(Case.reference == done.case)).one()
        (event,) = [e for e in case.events if e.kind is EventKind.DRAFTED and e.document]
        case_id, event_id = case.id, event.id
    sign_in(client, "anna@testby.se")
    assert client.get(f"/arenden/{case_id}/dokument/{event_id}").status_code == 200
    client.post(
        "/logga-ut",
        data={"csrf": re.findall(r'name="csrf" value="([^"]+)"', client.get("/").text)[0]},
    )
    sign_in(client, "bo@testby.se")  # Bygglov's staff
    response = client.get(f"/arenden/{case_id}/dokument/{event_id}")
    assert response.status_code == 404  # the same answer as for a case that does not exist
    assert not re.search(rb"PK\x03\x04", response.content)
