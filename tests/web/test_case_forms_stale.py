"""The message forms on a case's page — "Hör inte till ärendet" on a later message and
"Flagga för granskning" on a withdrawn case's message — are checked as every other action on
the case: sent from a page loaded before someone else changed the case, the action is not
done, and the page is shown again with who changed it and when
(:mod:`postvakt.web.pages.case_watch`).  Mail read by the real intake, on SQLite."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.registry.models import Disposition, EventKind, MessageRecord
from tests.web.mail import Mail
from tests.web.support import NOW, ctx_of
from tests.web.test_case_workspace import Clock, clock, moving_app  # noqa: F401 - fixtures
from tests.web.test_review import mail  # noqa: F401 - fixture
from tests.web.test_review_queue_stale import (  # noqa: F401 - fixtures
    FIRST,
    LOADED,
    STALE,
    _alert,
    _click,
    _events,
    _form,
    app,
    two,
    web_config,
)

CHANGED = "Cecilia Ek har ändrat ärendet kl. 10:05 sedan du öppnade sidan — se händelserna och försök igen."


def _action(page: str, record_id: int, verb: str) -> str:
    """Where the page's form for message nr ``record_id`` posts ``verb`` to."""
    found = re.findall(
        rf'<form method="post" action="([^"]*/meddelanden/{record_id}/{verb})"', page
    )
    assert len(found) == 1, found
    return found[0]


def _record(app: FastAPI, record_id: int) -> MessageRecord:  # noqa: F811
    with ctx_of(app).sessions() as session:
        record = session.get_one(MessageRecord, record_id)
        session.expunge_all()
        return record


def _later_message(app: FastAPI, mail: Mail, clock: Clock) -> None:  # noqa: F811
    """Sara's question joins Per's opinion as a later message (before the pages are loaded)."""
    clock.at = NOW
    ctx_of(app).corrections.attach(mail.question, to=mail.opinion_ref, by="anna@testby.se")
    clock.at = LOADED


def _withdrawn(app: FastAPI, mail: Mail, clock: Clock) -> int:  # noqa: F811
    """Per's opinion withdrawn by Anna (before the pages are loaded); its message's number."""
    clock.at = NOW
    ctx = ctx_of(app)
    ctx.corrections.withdraw(
        mail.opinion_ref, reason="Trodde det var en fråga", by="anna@testby.se"
    )
    clock.at = LOADED
    with ctx.sessions() as session:
        return session.scalars(
            select(MessageRecord.id).where(MessageRecord.message_id == "opinion@example.org")
        ).one()


def _note(cecilia: TestClient, case_id: int) -> None:
    """Cecilia Ek writes a note on the case at ten past five: someone else changed it."""
    page = cecilia.get(f"/arenden/{case_id}").text
    noted = _click(cecilia, page, f"/arenden/{case_id}/anteckning", text="Ringer Per i morgon.")
    assert noted.status_code == 303


def test_every_form_on_the_case_page_carries_when_the_page_was_loaded(
    app: FastAPI,  # noqa: F811
    two: tuple[TestClient, TestClient],  # noqa: F811
    mail: Mail,  # noqa: F811
    clock: Clock,  # noqa: F811
) -> None:
    """Every form acting on the case (the page's own, under /arenden/ID/) says when the page
    was loaded: a later message's and a withdrawn case's message's too."""
    _later_message(app, mail, clock)
    anna = two[0]
    for page in (
        anna.get(f"/arenden/{mail.opinion}").text,
        anna.get(f"/arenden/{mail.complaint}").text,
    ):
        forms = re.findall(r'<form method="post" action="([^"]+)"', page)
        assert any(a.endswith(f"/meddelanden/{mail.question}/lossa") for a in forms) or (
            f"/arenden/{mail.complaint}/bekrafta" in forms
        )
        for action in forms:
            if action.startswith(("/logga-ut", "/meddelanden/")):
                continue  # not the case's: signing out, a message's own reply clock
            assert _form(page, action).get("loaded_at") == LOADED.isoformat(), action
    withdrawn = _withdrawn(app, mail, clock)
    page = anna.get(f"/arenden/{mail.opinion}").text
    flag = _action(page, withdrawn, "flagga")
    assert _form(page, flag).get("loaded_at") == LOADED.isoformat()


def test_a_stale_detach_is_refused_after_someone_else_changed_the_case(
    app: FastAPI,  # noqa: F811
    two: tuple[TestClient, TestClient],  # noqa: F811
    mail: Mail,  # noqa: F811
    clock: Clock,  # noqa: F811
) -> None:
    _later_message(app, mail, clock)
    anna, cecilia = two
    anna_page = anna.get(f"/arenden/{mail.opinion}").text
    clock.at = FIRST
    _note(cecilia, mail.opinion)

    clock.at = STALE
    stopped = _click(anna, anna_page, _action(anna_page, mail.question, "lossa"))

    record = _record(app, mail.question)
    assert (record.disposition, record.case_id) == (Disposition.FOLLOWUP, mail.opinion)
    assert stopped.status_code == 409, stopped.headers.get("location")
    assert CHANGED in _alert(stopped.text)
    assert "Senare meddelanden i ärendet" in stopped.text  # the case's page, as it is now

    # From the page shown again (loaded now), it goes through.
    again = _click(anna, stopped.text, _action(stopped.text, mail.question, "lossa"))
    assert again.status_code == 303
    assert again.headers["location"] == f"/arenden/{mail.opinion}"
    record = _record(app, mail.question)
    assert (record.disposition, record.case_id) == (Disposition.NOT_CASE, None)


def test_a_stale_flag_is_refused_after_someone_else_changed_the_case(
    app: FastAPI,  # noqa: F811
    two: tuple[TestClient, TestClient],  # noqa: F811
    mail: Mail,  # noqa: F811
    clock: Clock,  # noqa: F811
) -> None:
    record_id = _withdrawn(app, mail, clock)
    anna, cecilia = two
    anna_page = anna.get(f"/arenden/{mail.opinion}").text
    clock.at = FIRST
    _note(cecilia, mail.opinion)

    clock.at = STALE
    stopped = _click(anna, anna_page, _action(anna_page, record_id, "flagga"))

    record = _record(app, record_id)
    assert (record.flagged_by, record.reviewed_by) == (None, "anna@testby.se")
    assert stopped.status_code == 409, stopped.headers.get("location")
    assert CHANGED in _alert(stopped.text)

    again = _click(anna, stopped.text, _action(stopped.text, record_id, "flagga"))
    assert again.status_code == 303
    assert again.headers["location"] == f"/arenden/{mail.opinion}"
    record = _record(app, record_id)
    assert (record.flagged_by, record.reviewed_by) == ("anna@testby.se", None)


def test_a_form_for_a_message_of_another_case_is_not_done(
    app: FastAPI,  # noqa: F811
    two: tuple[TestClient, TestClient],  # noqa: F811
    mail: Mail,  # noqa: F811
    clock: Clock,  # noqa: F811
) -> None:
    """The form names the case its page showed: a message that is not in that case is not
    taken off whatever case it is in."""
    _later_message(app, mail, clock)
    anna = two[0]
    page = anna.get(f"/arenden/{mail.opinion}").text
    action = _action(page, mail.question, "lossa")
    if not action.startswith(f"/arenden/{mail.opinion}/"):
        raise AssertionError(f"the form does not name the case: {action}")
    wrong = action.replace(f"/arenden/{mail.opinion}/", f"/arenden/{mail.complaint}/")
    response = anna.post(wrong, data=_form(page, action), follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/arenden/{mail.complaint}"
    record = _record(app, mail.question)
    assert (record.disposition, record.case_id) == (Disposition.FOLLOWUP, mail.opinion)
    assert _events(app, mail.opinion, EventKind.NOTE) == ["anna@testby.se"]  # the attach only
