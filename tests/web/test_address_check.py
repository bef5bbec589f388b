"""The case page tells when the citizen's address must be checked by a person."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.registry.models import Case, Draft
from tests.web.support import ctx_of, sign_in


def test_the_case_page_asks_for_the_address_to_be_checked(app: FastAPI, client: TestClient) -> None:
    ctx = ctx_of(app)
    done = ctx.casework.add(
        kind="complaint",
        channel="phone",
        summary="Snön är inte röjd på Storgatan",
        unit="Kontaktcenter",
        actor="anna@testby.se",
        email="källe@exempel.se",  # a UTF-8 local part: no header can hold it
        name="Kalle Ek",
    )
    with ctx.sessions() as session:
        case = session.scalars(select(Case).where(Case.reference == done.case)).one()
        case_id = case.id
        assert case.address_check and case.needs_review
        assert session.scalars(select(Draft)).one().to_address == ""

    sign_in(client, "anna@testby.se")
    page = client.get(f"/arenden/{case_id}")
    assert page.status_code == 200
    assert "Att granska" in page.text
    assert "Kontrollera avsändarens adress: utkastet har ingen mottagare." in page.text
    assert "Avsändarens adress kan inte användas i ett brevhuvud (källe@exempel.se)" in page.text
    assert "utan mottagare" in page.text
