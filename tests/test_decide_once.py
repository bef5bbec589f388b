"""A decision is taken once: a second ``cases confirm`` of a case a person already decided,
or a second ``cases dismiss`` of a message already set aside, changes nothing — no second
event, no second labelled example for the model — and says so in Swedish, with who decided
and when.  The same on the web, where a double click passes the stale-form check (a person's
own events are left out of it).  SQLite; real Service, CLI and web app."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from postvakt.corrections.messages import OTHER_SENDER
from postvakt.registry.cases import mark_for_review
from postvakt.registry.models import Case, Correction, EventKind, MessageRecord
from postvakt.service import Service
from tests.support.workspace import Workspace
from tests.test_corrections import case, cli, service, ws  # noqa: F401 - fixtures
from tests.test_corrections_state import db_url  # noqa: F401 - fixture: SQLite
from tests.test_review_reasons_cleared import app  # noqa: F401 - fixture
from tests.web.support import sign_in
from tests.web.test_review_queue_stale import _click

ALREADY_CONFIRMED = (
    "KS 2026/1 är redan bekräftat som klagomål av anna@testby.se 2026-11-18 10:00; inget ändrat."
)


def _in_review(service: Service, reference: str, reason: str | None = None) -> int:  # noqa: F811
    """Put the case in the review queue (with ``reason``, as the intake would); its id."""
    assert service.sessions is not None
    with service.sessions.begin() as session:
        found = session.scalars(select(Case).where(Case.reference == reference)).one()
        if reason:
            mark_for_review(found, reason)
        else:
            found.needs_review = True
        return found.id


def _thanks(service: Service) -> int:  # noqa: F811
    """The thank-you to Anna (not a case), flagged for review by her; its number."""
    assert service.sessions is not None
    with service.sessions() as session:
        record_id = session.scalars(
            select(MessageRecord.id).where(MessageRecord.message_id == "t1@example.net")
        ).one()
    assert service.corrections is not None
    service.corrections.flag(record_id, by="anna@testby.se")
    return record_id


def _confirmed(service: Service, reference: str) -> list[str]:  # noqa: F811
    return [e.actor for e in case(service, reference).events if e.kind is EventKind.CONFIRMED]


def _examples(service: Service, **where: int) -> int:  # noqa: F811
    assert service.sessions is not None
    column = {"case_id": Correction.case_id, "record_id": Correction.message_record_id}
    ((name, value),) = where.items()
    with service.sessions() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Correction).where(column[name] == value)
            )
            or 0
        )


# ------------------------------------------------------------------------ the command line


def test_a_second_confirm_on_the_command_line_changes_nothing_and_says_so(
    ws: Workspace,  # noqa: F811
    service: Service,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    case_id = _in_review(service, "KS 2026/1")
    assert cli(ws, "cases", "confirm", "KS 2026/1", "--by", "anna@testby.se") == 0
    assert "KS 2026/1: bekräftat som klagomål." in capsys.readouterr().out

    told = []
    for who in ("anna@testby.se", "chef@testby.se"):  # a second run, or a colleague after
        assert cli(ws, "cases", "confirm", "KS 2026/1", "--by", who) == 0
        told.append(capsys.readouterr().out)

    assert _confirmed(service, "KS 2026/1") == ["anna@testby.se"]
    assert _examples(service, case_id=case_id) == 1
    assert case(service, "KS 2026/1").corrected_by == "anna@testby.se"
    assert all(ALREADY_CONFIRMED in out for out in told), told


def test_a_case_back_in_review_is_confirmed_again(
    ws: Workspace,  # noqa: F811
    service: Service,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Something new to look at after the confirmation: that is a new decision to take."""
    _in_review(service, "KS 2026/1")
    assert cli(ws, "cases", "confirm", "KS 2026/1", "--by", "anna@testby.se") == 0
    _in_review(service, "KS 2026/1", OTHER_SENDER)
    capsys.readouterr()
    assert cli(ws, "cases", "confirm", "KS 2026/1", "--by", "chef@testby.se") == 0
    assert "KS 2026/1: bekräftat som klagomål." in capsys.readouterr().out
    assert _confirmed(service, "KS 2026/1") == ["anna@testby.se", "chef@testby.se"]


def test_a_second_dismiss_on_the_command_line_changes_nothing_and_says_so(
    ws: Workspace,  # noqa: F811
    service: Service,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    record_id = _thanks(service)
    assert cli(ws, "cases", "dismiss", "--record", str(record_id), "--by", "anna@testby.se") == 0
    assert "inte klagomål eller synpunkt; borta ur kön" in capsys.readouterr().out

    assert cli(ws, "cases", "dismiss", "--record", str(record_id), "--by", "anna@testby.se") == 0
    out = capsys.readouterr().out
    assert _examples(service, record_id=record_id) == 1
    assert (
        f"Meddelande nr {record_id} är redan granskat av anna@testby.se 2026-11-18 10:00 och "
        "står inte i granskningskön; inget ändrat." in out
    ), out


# --------------------------------------------------------------------------------- the web


def test_a_double_click_on_confirm_confirms_once(
    service: Service,  # noqa: F811
    app: FastAPI,  # noqa: F811
) -> None:
    case_id = _in_review(service, "KS 2026/1")
    with TestClient(app) as client:
        sign_in(client, "anna@testby.se")
        page = client.get("/granska").text
        first = _click(client, page, f"/arenden/{case_id}/bekrafta")
        second = _click(client, page, f"/arenden/{case_id}/bekrafta")
        assert (first.status_code, second.status_code) == (303, 303)
        shown = client.get("/granska").text
    assert _confirmed(service, "KS 2026/1") == ["anna@testby.se"]
    assert _examples(service, case_id=case_id) == 1
    assert ALREADY_CONFIRMED in shown


def test_a_double_click_on_not_a_case_sets_it_aside_once(
    service: Service,  # noqa: F811
    app: FastAPI,  # noqa: F811
) -> None:
    record_id = _thanks(service)
    with TestClient(app) as client:
        sign_in(client, "anna@testby.se")
        page = client.get("/granska").text
        action = f"/granska/meddelanden/{record_id}/inte-arende"
        first = _click(client, page, action)
        second = _click(client, page, action)
        assert (first.status_code, second.status_code) == (303, 303)
        shown = client.get("/granska").text
    assert _examples(service, record_id=record_id) == 1
    assert f"Meddelande nr {record_id} är redan granskat av anna@testby.se" in shown
