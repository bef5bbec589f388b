"""Two people in Granska at once: a decision sent from a page loaded before someone else
decided the same case or message is refused with who changed it and when — never done over
the first decision, nor twice — and the choice the person made is shown again.  Every action
form in Granska carries ``loaded_at`` (:mod:`postvakt.web.pages.case_watch`)."""

from __future__ import annotations

import html as html_text
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from postvakt.clock import STOCKHOLM
from postvakt.config import Config
from postvakt.registry.models import (
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    Correction,
    Disposition,
    EventKind,
    MessageRecord,
)
from tests.web.mail import Mail, mailed_config
from tests.web.support import ctx_of, sign_in
from tests.web.test_case_workspace import Clock, clock, moving_app  # noqa: F401 - fixtures
from tests.web.test_review import mail  # noqa: F401 - fixture

LOADED = datetime(2026, 11, 24, 10, 1, tzinfo=STOCKHOLM)
"""When both open Granska (after the fixture flagged the question, at ten)."""
FIRST = datetime(2026, 11, 24, 10, 5, tzinfo=STOCKHOLM)
"""When Anna Berg decides."""
STALE = datetime(2026, 11, 24, 10, 7, tzinfo=STOCKHOLM)
"""When Cecilia Ek, on the page she loaded before, clicks another decision."""


@pytest.fixture
def web_config(tmp_path: Path) -> Config:  # mail read by the intake, on SQLite
    return mailed_config(tmp_path / "ws")


@pytest.fixture
def app(moving_app: FastAPI) -> FastAPI:  # noqa: F811 - the moving clock's app serves `mail`
    return moving_app


@pytest.fixture
def two(app: FastAPI, mail: Mail, clock: Clock) -> Iterator[tuple[TestClient, TestClient]]:  # noqa: F811
    """Anna Berg and Cecilia Ek, both owners of kontakt@, signed in."""
    with TestClient(app) as anna, TestClient(app) as cecilia:
        sign_in(anna, "anna@testby.se")
        sign_in(cecilia, "cecilia@testby.se")
        clock.at = LOADED
        yield anna, cecilia


def _form(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to ``action``: what the page sends with a click."""
    match = re.search(
        rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S
    )
    assert match, f"no form for {action} on the page"
    return {
        name: html_text.unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)">', match.group(1)
        )
    }


def _click(client: TestClient, page: str, action: str, **choice: str):  # type: ignore[no-untyped-def]
    """Send the form of ``action`` as it is on ``page``, with what the person chose or typed."""
    return client.post(action, data={**_form(page, action), **choice}, follow_redirects=False)


def _alert(html: str) -> str:
    match = re.search(r'<div class="flash error" role="alert" id="andrat">(.*?)</div>', html, re.S)
    assert match, "no warning on the page"
    return " ".join(html_text.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def _events(app: FastAPI, case_id: int, *kinds: EventKind) -> list[str]:
    with ctx_of(app).sessions() as session:
        return list(
            session.scalars(
                select(CaseEvent.actor)
                .where(CaseEvent.case_id == case_id, CaseEvent.kind.in_(kinds))
                .order_by(CaseEvent.id)
            )
        )


def test_every_action_form_in_granska_carries_when_the_page_was_loaded(
    two: tuple[TestClient, TestClient],
    mail: Mail,  # noqa: F811
) -> None:
    page = two[0].get("/granska").text
    forms = re.findall(r'<form method="post" action="([^"]+)"', page)
    assert f"/arenden/{mail.complaint}/bekrafta" in forms
    assert f"/granska/meddelanden/{mail.question}/inte-arende" in forms
    for action in forms:
        assert _form(page, action).get("loaded_at") == LOADED.isoformat(), action


@pytest.mark.parametrize(
    ("action", "choice", "shown"),
    [
        ("bekrafta", {}, "Bekräfta bedömningen"),
        ("andra-typ", {"kind": "synpunkt"}, "Ändra till synpunkt"),
        ("andra-typ", {"kind": "annat"}, "Annat: makulera"),
        ("makulera", {"reason": "Dubblett av samtalet"}, "Makulera"),
    ],
)
def test_a_stale_decision_on_a_case_in_granska_is_refused(
    app: FastAPI,
    two: tuple[TestClient, TestClient],
    mail: Mail,  # noqa: F811
    clock: Clock,  # noqa: F811
    action: str,
    choice: dict[str, str],
    shown: str,
) -> None:
    anna, cecilia = two
    anna_page, cecilia_page = anna.get("/granska").text, cecilia.get("/granska").text
    clock.at = FIRST
    confirmed = _click(anna, anna_page, f"/arenden/{mail.complaint}/bekrafta")
    assert confirmed.status_code == 303

    clock.at = STALE
    stopped = _click(cecilia, cecilia_page, f"/arenden/{mail.complaint}/{action}", **choice)

    assert stopped.status_code == 409, stopped.headers.get("location")
    alert = _alert(stopped.text)
    assert (
        "Anna Berg har ändrat ärendet kl. 10:05 sedan du öppnade sidan — se händelserna och "
        "försök igen." in alert
    )
    assert f"Ditt val har inte utförts: {shown} ({mail.complaint_ref})." in alert
    assert f'<a href="/arenden/{mail.complaint}">Öppna {mail.complaint_ref}</a>' in stopped.text
    if "reason" in choice:
        assert f"Det du skrev har inte sparats: {choice['reason']}" in alert
    assert "<h1>Granska</h1>" in stopped.text  # Granska again, not the case's page
    # Anna's decision stands, done once; nothing of Cecilia's was done.
    with ctx_of(app).sessions() as session:
        case = session.get_one(Case, mail.complaint)
        assert (case.kind, case.status) == (CaseKind.COMPLAINT, CaseStatus.REGISTERED)
        assert case.corrected_by == "anna@testby.se"
        assert (
            session.scalar(
                select(func.count()).select_from(Correction).where(Correction.case_id == case.id)
            )
            == 1
        )
    assert _events(app, mail.complaint, EventKind.CONFIRMED) == ["anna@testby.se"]
    assert _events(app, mail.complaint, EventKind.RECLASSIFIED, EventKind.WITHDRAWN) == []

    # The page shown again was loaded now: its forms say so.
    assert _form(stopped.text, f"/arenden/{mail.opinion}/bekrafta")["loaded_at"] == (
        STALE.isoformat()
    )


@pytest.mark.parametrize(
    ("action", "choice", "shown"),
    [
        ("registrera", {"kind": "klagomal"}, "Registrera som klagomål"),
        ("knyt", {"to": "{complaint}"}, "Knyt till ärendet {complaint}"),
        ("inte-arende", {}, "Inte ett ärende"),
    ],
)
def test_a_stale_decision_on_a_message_in_granska_is_refused(
    app: FastAPI,
    two: tuple[TestClient, TestClient],
    mail: Mail,  # noqa: F811
    clock: Clock,  # noqa: F811
    action: str,
    choice: dict[str, str],
    shown: str,
) -> None:
    anna, cecilia = two
    choice = {k: v.format(complaint=mail.complaint_ref) for k, v in choice.items()}
    shown = shown.format(complaint=mail.complaint_ref)
    anna_page, cecilia_page = anna.get("/granska").text, cecilia.get("/granska").text
    clock.at = FIRST
    dismissed = _click(anna, anna_page, f"/granska/meddelanden/{mail.question}/inte-arende")
    assert dismissed.status_code == 303

    clock.at = STALE
    stopped = _click(
        cecilia, cecilia_page, f"/granska/meddelanden/{mail.question}/{action}", **choice
    )

    assert stopped.status_code == 409, stopped.headers.get("location")
    alert = _alert(stopped.text)
    assert (
        f"Anna Berg har ändrat meddelande nr {mail.question} kl. 10:05 sedan du öppnade sidan"
        in alert
    )
    assert f"Ditt val har inte utförts: {shown} (meddelande nr {mail.question})." in alert
    with ctx_of(app).sessions() as session:
        record = session.get_one(MessageRecord, mail.question)
        assert (record.disposition, record.case_id) == (Disposition.NOT_CASE, None)
        assert record.reviewed_by == "anna@testby.se"
        assert session.scalar(select(func.count()).select_from(Case)) == 3  # none registered
        assert (
            session.scalar(
                select(func.count())
                .select_from(Correction)
                .where(Correction.message_record_id == record.id)
            )
            == 1
        )  # not set aside twice
    assert _events(app, mail.complaint, EventKind.NOTE) == []  # not attached to the case


def test_a_stale_form_tells_nothing_to_someone_who_may_not_correct(
    app: FastAPI,
    two: tuple[TestClient, TestClient],
    mail: Mail,  # noqa: F811
    clock: Clock,  # noqa: F811
) -> None:
    """Bo Bygg (another unit) sends a Granska form of a Kontaktcenter case with an old
    loaded_at: he is refused as ever, and not told who changed the case."""
    anna, _ = two
    anna_page = anna.get("/granska").text
    clock.at = FIRST
    _click(anna, anna_page, f"/arenden/{mail.complaint}/bekrafta")
    clock.at = STALE
    with TestClient(app) as bo:
        csrf = sign_in(bo, "bo@testby.se")
        stopped = bo.post(
            f"/arenden/{mail.complaint}/andra-typ",
            data={
                "csrf": csrf,
                "loaded_at": LOADED.isoformat(),
                "tillbaka": "granska",
                "kind": "synpunkt",
            },
            follow_redirects=False,
        )
    assert stopped.status_code == 403
    assert "Anna Berg" not in stopped.text
    assert _events(app, mail.complaint, EventKind.RECLASSIFIED) == []


def test_what_was_typed_is_put_back_in_the_row_still_in_the_queue(
    app: FastAPI,
    two: tuple[TestClient, TestClient],
    mail: Mail,  # noqa: F811
    clock: Clock,  # noqa: F811
) -> None:
    """Anna Berg notes something on the case (it stays in the queue); Cecilia Ek's stale
    withdrawal is stopped, and her reason waits in the row's open form, to be sent again."""
    anna, cecilia = two
    cecilia_page = cecilia.get("/granska").text
    clock.at = FIRST
    case_page = anna.get(f"/arenden/{mail.opinion}").text
    noted = _click(anna, case_page, f"/arenden/{mail.opinion}/anteckning", text="Ringer upp.")
    assert noted.status_code == 303

    clock.at = STALE
    action = f"/arenden/{mail.opinion}/makulera"
    stopped = _click(cecilia, cecilia_page, action, reason="Dubblett av samtalet")

    assert stopped.status_code == 409
    assert "Anna Berg har ändrat ärendet kl. 10:05" in _alert(stopped.text)
    row = stopped.text.split(f'action="{action}"')[0].rpartition("<details")[2]
    assert row.startswith(' class="correction" open>')
    assert ">Dubblett av samtalet</textarea>" in stopped.text.split(f'action="{action}"')[1]
    again = _click(cecilia, stopped.text, action, reason="Dubblett av samtalet")
    assert again.status_code == 303
    assert _events(app, mail.opinion, EventKind.WITHDRAWN) == ["cecilia@testby.se"]
