"""A decision is taken once, also for the commands ``tests/test_decide_once.py`` leaves out: a
second ``callbacks done`` and a second ``cases flag`` (on the command line and on a case's
page) change nothing and say, in Swedish, who already did it and when, with exit status 0 —
and ``cases review --limit N`` says how many rows it left out.  Real database (SQLite; the flag
also on PostgreSQL), the CLI's ``main`` with a clock passed in, the real web app."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.registry.callbacks import CallbackRequest
from postvakt.registry.models import Case, MessageRecord
from postvakt.service import Service
from tests.support.workspace import Workspace
from tests.test_corrections import NOW, service, ws  # noqa: F401 - fixtures
from tests.test_decide_once import _in_review, _thanks
from tests.test_review_reasons_cleared import app  # noqa: F401 - fixture
from tests.web.support import sign_in
from tests.web.test_review_queue_stale import _click

LATER = datetime(2026, 11, 19, 14, 30, tzinfo=STOCKHOLM)  # the Thursday after NOW


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite, unless a test asks for PostgreSQL (``indirect`` parametrisation)."""
    if getattr(request, "param", "sqlite") == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'postvakt.db'}"


def run(ws: Workspace, when: datetime, *args: str) -> int:  # noqa: F811
    return main(["--config", str(ws.config_path), *args], clock=fixed_clock(when))


def _record(service: Service, record_id: int) -> MessageRecord:  # noqa: F811
    assert service.sessions is not None
    with service.sessions() as session:
        found = session.get(MessageRecord, record_id)
        assert found is not None
        session.expunge(found)
        return found


# ----------------------------------------------------------------------- callbacks done


def _callback(ws: Workspace) -> int:  # noqa: F811
    """Anna's own note to call a citizen back (nobody to tell by e-mail); its number."""
    who = ("--for", "anna@testby.se", "--name", "Karin Ek", "--phone", "070-123 45 67")
    what = ("--about", "Frågar om snöröjningen", "--by", "anna@testby.se")
    assert run(ws, NOW, "callbacks", "add", *who, *what) == 0
    return 1  # the first request in a new database


def test_a_second_callbacks_done_changes_nothing_and_says_who_and_when(
    ws: Workspace,  # noqa: F811
    service: Service,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    number = _callback(ws)
    capsys.readouterr()
    done = ("callbacks", "done", str(number))
    assert run(ws, NOW, *done, "--note", "Snön röjs i morgon", "--by", "anna@testby.se") == 0
    assert f"Återuppringning {number} är klar." in capsys.readouterr().out

    told = []
    for who in ("anna@testby.se", "chef@testby.se"):  # a second run, or the head after
        assert run(ws, LATER, *done, "--note", "Ringde igen", "--by", who) == 0
        out, err = capsys.readouterr()
        assert err == ""
        told.append(out)

    assert all(
        f"Återuppringning {number} är redan markerad som klar av anna@testby.se "
        "2026-11-18 10:00; inget ändrat." in out
        for out in told
    ), told
    assert service.sessions is not None
    with service.sessions() as session:
        row = session.get(CallbackRequest, number)
        assert row is not None
        assert (row.done_by, row.note) == ("anna@testby.se", "Snön röjs i morgon")
        assert row.done_at == NOW


# --------------------------------------------------------------------------- cases flag


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_a_second_cases_flag_keeps_who_flagged_it_and_says_so(
    ws: Workspace,  # noqa: F811
    service: Service,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert service.sessions is not None
    with service.sessions() as session:
        record_id = session.scalars(
            select(MessageRecord.id).where(MessageRecord.message_id == "t1@example.net")
        ).one()
    flag = ("cases", "flag", "--record", str(record_id))
    assert run(ws, NOW, *flag, "--by", "anna@testby.se") == 0
    assert "står nu i granskningskön." in capsys.readouterr().out

    for who in ("anna@testby.se", "registrator@testby.se"):  # a second run, or a colleague
        assert run(ws, LATER, *flag, "--by", who) == 0
        out, err = capsys.readouterr()
        assert err == ""
        assert (
            f"Meddelande nr {record_id} är redan flaggat för granskning av anna@testby.se "
            "2026-11-18 10:00 och står i granskningskön; inget ändrat." in out
        ), out

    record = _record(service, record_id)
    assert (record.flagged_by, record.flagged_at) == ("anna@testby.se", NOW)
    assert record.reviewed_at is None


def test_a_message_set_aside_may_be_flagged_again(
    ws: Workspace,  # noqa: F811
    service: Service,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Set aside after the flag, it has left the queue: a new flag is a new decision."""
    record_id = _thanks(service)
    assert (
        run(ws, NOW, "cases", "dismiss", "--record", str(record_id), "--by", "anna@testby.se") == 0
    )
    capsys.readouterr()
    by = "registrator@testby.se"
    assert run(ws, LATER, "cases", "flag", "--record", str(record_id), "--by", by) == 0
    assert "står nu i granskningskön." in capsys.readouterr().out
    record = _record(service, record_id)
    assert (record.flagged_by, record.flagged_at, record.reviewed_at) == (by, LATER, None)


def test_a_second_flag_on_a_withdrawn_cases_page_keeps_the_first(
    ws: Workspace,  # noqa: F811
    service: Service,  # noqa: F811
    app: FastAPI,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    reason = ("--reason", "Trodde det var en fråga")
    assert run(ws, NOW, "cases", "withdraw", "KS 2026/2", *reason, "--by", "anna@testby.se") == 0
    assert service.sessions is not None
    with service.sessions() as session:
        case_id = session.scalars(select(Case.id).where(Case.reference == "KS 2026/2")).one()
        record_id = session.scalars(
            select(MessageRecord.id).where(MessageRecord.case_id == case_id)
        ).one()
    page = f"/arenden/{case_id}"
    action = f"{page}/meddelanden/{record_id}/flagga"
    with TestClient(app) as anna, TestClient(app) as registrar:
        sign_in(anna, "anna@testby.se")
        sign_in(registrar, "registrator@testby.se")
        theirs = registrar.get(page).text  # loaded before Anna flags it
        assert _click(anna, anna.get(page).text, action).status_code == 303
        assert _click(registrar, theirs, action).status_code == 303
        shown = registrar.get(page).text
    record = _record(service, record_id)
    assert (record.flagged_by, record.flagged_at) == ("anna@testby.se", NOW)
    assert (
        f"Meddelande nr {record_id} är redan flaggat för granskning av anna@testby.se "
        "2026-11-18 10:00 och står i granskningskön; inget ändrat." in shown
    )


# ------------------------------------------------------------------- cases review --limit


def test_review_with_a_limit_says_how_many_were_left_out(
    ws: Workspace,  # noqa: F811
    service: Service,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    _in_review(service, "KS 2026/1")
    _in_review(service, "KS 2026/2")
    _thanks(service)  # three to review: two cases and a message
    review = ("cases", "review", "--by", "anna@testby.se")

    assert run(ws, NOW, *review, "--limit", "1") == 0
    out = capsys.readouterr().out
    assert "KS 2026/1" in out and "KS 2026/2" not in out
    assert "… och 2 till; visa alla med --limit 3 eller utan --limit." in out

    assert run(ws, NOW, *review, "--limit", "1", "--json") == 0
    out, err = capsys.readouterr()
    assert [r["number"] for r in json.loads(out)] == ["KS 2026/1"]  # still JSON, and only it
    assert "… och 2 till; visa alla med --limit 3 eller utan --limit." in err

    for enough in (("--limit", "3"), ()):  # nothing left out: nothing said
        assert run(ws, NOW, *review, *enough) == 0
        out = capsys.readouterr().out
        assert "KS 2026/2" in out and "till; visa" not in out
