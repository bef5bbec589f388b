"""The Registrator page with the diary's own numbers (issue 17): the typed number becomes the
case's number, a number another case has is refused, and the documents on their way to the
diary are listed with failures highlighted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.clock import fixed_clock
from postvakt.config import load_config
from postvakt.registry.documents import DeliveryStatus, DiaryEntry
from postvakt.registry.models import Case
from postvakt.web import create_app
from tests.web.support import NOW, add_cases, ctx_of, make_config, sign_in


@pytest.fixture
def diary_app(tmp_path: Path) -> Iterator[FastAPI]:
    config = make_config(tmp_path / "ws")
    path = config.base_dir / "postvakt.toml"
    path.write_text(path.read_text() + '\n[registry]\nnumbering = "diary"\n', encoding="utf-8")
    app = create_app(load_config(path), clock=fixed_clock(NOW), environ={})
    try:
        yield app
    finally:
        app.state.ctx.close()


def test_the_typed_number_becomes_the_cases_number(diary_app: FastAPI) -> None:
    cases = add_cases(diary_app)
    assert cases.kontakt_ref.startswith("PV-") and cases.bygglov_ref.startswith("PV-")
    with TestClient(diary_app) as client:
        csrf = sign_in(client, "registrator@testby.se")
        page = client.get("/registrator").text
        assert cases.kontakt_ref in page and "Till diariet" in page
        assert "Inkommande synpunkt/klagomål" in page  # the documents waiting for the diary
        done = client.post(
            f"/registrator/{cases.kontakt}/infort",
            data={"csrf": csrf, "diary_number": "KS 2026/88"},
        )
        assert "infört i diariet som KS 2026/88" in done.text
        refused = client.post(
            f"/registrator/{cases.bygglov}/infort",
            data={"csrf": csrf, "diary_number": "KS 2026/88"},
        )
        assert "redan diarienummer för ett annat ärende" in refused.text
        with ctx_of(diary_app).sessions() as session:
            numbers = {c.id: (c.diary_number, c.label) for c in session.scalars(select(Case))}
        assert numbers[cases.kontakt] == ("KS 2026/88", "KS 2026/88")
        assert numbers[cases.bygglov] == (None, cases.bygglov_ref)
        case_page = client.get(f"/arenden/{cases.kontakt}").text
        assert "KS 2026/88" in case_page

        # A document the diary refused is highlighted, with the diary's words.
        with ctx_of(diary_app).sessions() as session, session.begin():
            entry = session.scalars(select(DiaryEntry).order_by(DiaryEntry.id)).first()
            assert entry is not None
            entry.status, entry.last_error = DeliveryStatus.FAILED, "Ärendet är avslutat i diariet"
        page = client.get("/registrator").text
        assert "misslyckades" in page and "Ärendet är avslutat i diariet" in page
