"""A person's decision takes care of what a case was to be looked at for: confirmed in
Granska (or its kind changed, or withdrawn), the case's review reasons are gone from the case
— its page and ``cases show`` no longer ask for them, and a later reason is not shown beside
old ones — while the decision's event keeps which reasons were decided on, and by whom
(SQLite; real Service, CLI and web app)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.classifier.limits import TEXT_CUT_REASON
from postvakt.clock import fixed_clock
from postvakt.config import load_config
from postvakt.corrections.messages import AFTER_THE_ANSWER, OTHER_SENDER
from postvakt.registry.cases import mark_for_review
from postvakt.registry.models import Case, EventKind
from postvakt.service import Service
from postvakt.web import create_app
from tests.support.workspace import Workspace
from tests.test_corrections import NOW, case, cli, service, ws  # noqa: F401 - fixtures
from tests.test_corrections_state import db_url  # noqa: F401 - fixture: SQLite
from tests.web.support import sign_in

REASONS = (OTHER_SENDER, TEXT_CUT_REASON)
"""Real reasons the intake and the corrections put on a case."""


def _mark(service: Service, reference: str, *reasons: str) -> int:  # noqa: F811
    """Put ``reasons`` on the case as the intake does; its id."""
    assert service.sessions is not None
    with service.sessions.begin() as session:
        found = session.scalars(select(Case).where(Case.reference == reference)).one()
        for reason in reasons:
            mark_for_review(found, reason)
        return found.id


@pytest.fixture
def app(ws: Workspace, service: Service) -> Iterator[FastAPI]:  # noqa: F811
    app = create_app(load_config(ws.config_path), clock=fixed_clock(NOW), environ={})
    try:
        yield app
    finally:
        app.state.ctx.close()


def _show(ws: Workspace, capsys: pytest.CaptureFixture[str], reference: str) -> str:  # noqa: F811
    capsys.readouterr()
    assert cli(ws, "cases", "show", reference, "--by", "anna@testby.se") == 0
    return capsys.readouterr().out


def _decided_on(detail: str) -> bool:
    return all(reason.rstrip(".") in detail for reason in REASONS)


def test_confirmed_in_granska_the_reasons_leave_the_case_and_stay_in_its_event(
    ws: Workspace,  # noqa: F811
    service: Service,  # noqa: F811
    app: FastAPI,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case_id = _mark(service, "KS 2026/1", *REASONS)
    assert f"  Granska:      {OTHER_SENDER}" in _show(ws, capsys, "KS 2026/1")
    with TestClient(app) as client:
        csrf = sign_in(client, "anna@testby.se")
        assert OTHER_SENDER in client.get("/granska").text
        done = client.post(
            f"/arenden/{case_id}/bekrafta",
            data={"csrf": csrf, "tillbaka": "granska"},
            follow_redirects=False,
        )
        assert done.status_code == 303
        page = client.get(f"/arenden/{case_id}").text

    confirmed = case(service, "KS 2026/1")
    assert not confirmed.needs_review
    assert confirmed.review_reasons == []
    event = confirmed.events[-1]
    assert (event.kind, event.actor) == (EventKind.CONFIRMED, "anna@testby.se")
    assert _decided_on(event.detail), event.detail
    # The case page no longer asks for them; its events say what was decided on.
    assert 'id="granska">Att granska' not in page and "behöver granskas" not in page
    events = page[page.index('id="handelser"') :]
    assert OTHER_SENDER in events
    # So does 'cases show'.
    shown = _show(ws, capsys, "KS 2026/1")
    assert "Granska:" not in shown and "(behöver granskas)" not in shown
    assert OTHER_SENDER in shown[shown.index("Händelser:") :]

    # Something new to look at later: the queue shows that, not what was decided before.
    _mark(service, "KS 2026/1", AFTER_THE_ANSWER)
    capsys.readouterr()
    assert cli(ws, "cases", "review", "--by", "anna@testby.se", "--json") == 0
    (row,) = [r for r in json.loads(capsys.readouterr().out) if r["number"] == "KS 2026/1"]
    assert AFTER_THE_ANSWER in " ".join(row["reasons"])
    assert not any(r in " ".join(row["reasons"]) for r in REASONS)


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        (("reclassify", "KS 2026/1", "--kind", "synpunkt"), EventKind.RECLASSIFIED),
        (("reclassify", "KS 2026/1", "--kind", "annat"), EventKind.WITHDRAWN),
        (("withdraw", "KS 2026/1", "--reason", "Dubblett"), EventKind.WITHDRAWN),
        (("merge", "KS 2026/1", "--into", "KS 2026/2"), EventKind.WITHDRAWN),
    ],
)
def test_every_decision_on_the_case_takes_care_of_its_reasons(
    ws: Workspace,  # noqa: F811
    service: Service,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    kind: EventKind,
) -> None:
    _mark(service, "KS 2026/1", *REASONS)
    assert cli(ws, "cases", *args, "--by", "anna@testby.se") == 0
    decided = case(service, "KS 2026/1")
    assert decided.review_reasons == [] and not decided.needs_review
    (event,) = [e for e in decided.events if e.kind is kind]
    assert event.actor == "anna@testby.se" and _decided_on(event.detail), event.detail
    assert not re.search(r"^  Granska:", _show(ws, capsys, "KS 2026/1"), re.M)
