"""What the correction pages take from a request before they act: a number in the address
the database cannot hold is a page that does not exist, a form text with a control
character is refused in Swedish, and a private message is kept from the mailbox's other
owners (FastAPI TestClient, the real app and database; SQLite and PostgreSQL)."""

from __future__ import annotations

import html as html_text
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from postvakt.clock import fixed_clock
from postvakt.config import Config
from postvakt.registry.models import Case, CaseStatus, MessageRecord
from postvakt.web import create_app
from postvakt.web.error_pages import NOT_FOUND
from postvakt.web.input_check import BAD_TEXT
from tests.web.mail import Mail, mail_of, mailed_config, put_in_review
from tests.web.support import NOW, Cases, add_cases, ctx_of, make_config, sign_in


def _app(config: Config) -> Iterator[FastAPI]:
    app = create_app(config, clock=fixed_clock(NOW), environ={})
    try:
        yield app
    finally:
        app.state.ctx.close()


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    yield from _app(make_config(tmp_path / "ws", db_url))


@pytest.fixture
def cases(app: FastAPI) -> Cases:
    return add_cases(app)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _detail(html: str) -> str:
    """The error page's text: its <main>, tags taken out, spaces joined."""
    main = re.search(r"<main[^>]*>(.*?)</main>", html, re.S)
    text = html_text.unescape(re.sub(r"<[^>]+>", " ", main.group(1) if main else html))
    return " ".join(text.split())


def _case(app: FastAPI, case_id: int) -> Case:
    with ctx_of(app).sessions() as session:
        case = session.get_one(Case, case_id)
        session.expunge(case)
        return case


# ------------------------------------------------------------------------ control characters


@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\x0b"])
def test_a_control_character_in_a_form_text_is_refused_in_swedish(
    app: FastAPI, cases: Cases, client: TestClient, bad: str
) -> None:
    """A reason pasted with a NUL (or sent by a script): on PostgreSQL it was a DataError,
    the 'unexpected error' page; on SQLite it was stored.  Now the form is refused with a
    Swedish sentence before anything is written; a reason on several lines is taken."""
    csrf = sign_in(client, "anna@testby.se")
    response = client.post(
        f"/arenden/{cases.kontakt}/makulera",
        data={"csrf": csrf, "reason": f"Dubblett{bad} av KS 2026/2"},
        follow_redirects=False,
    )
    assert response.status_code == 422, (response.status_code, response.text[:300])
    assert BAD_TEXT in _detail(response.text)
    assert "Traceback" not in response.text
    assert _case(app, cases.kontakt).status is not CaseStatus.WITHDRAWN
    response = client.post(
        f"/arenden/{cases.kontakt}/makulera",
        data={"csrf": csrf, "reason": "Dubblett\r\n\tav KS 2026/2"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    withdrawn = _case(app, cases.kontakt)
    assert withdrawn.status is CaseStatus.WITHDRAWN
    assert withdrawn.withdrawn_reason == "Dubblett\r\n\tav KS 2026/2"


# ---------------------------------------------------------------- numbers too big for an id


@pytest.mark.parametrize(
    "path",
    [
        "/arenden/{id}/bekrafta",
        "/arenden/{id}/andra-typ",
        "/arenden/{id}/makulera",
        "/arenden/{id}/sammanfor",
        "/arenden/{id}/meddelanden/{id}/flagga",
        "/arenden/{id}/meddelanden/{id}/lossa",
        "/granska/meddelanden/{id}/registrera",
        "/granska/meddelanden/{id}/inte-arende",
        "/meddelanden/{id}/besvarat",
    ],
)
def test_a_number_too_big_for_the_database_is_a_page_that_does_not_exist(
    app: FastAPI, cases: Cases, client: TestClient, path: str
) -> None:
    """An id in the address past what an id column holds (a mistyped or crafted address):
    PostgreSQL refused the query past 32 bits (DataError) and SQLite could not even be
    asked past 64 (OverflowError), the 'unexpected error' page.  Now it is the page that
    does not exist, as for a number nothing has; the largest id is asked as any other
    that is not there."""
    csrf = sign_in(client, "registrator@testby.se")
    form = {"csrf": csrf, "kind": "synpunkt", "how": "per telefon", "reason": "x", "into": "x"}
    for big in (2**31, 2**63, -(2**31) - 1):
        response = client.post(path.format(id=big), data=form, follow_redirects=False)
        assert response.status_code == 404, (big, response.status_code, response.text[:300])
        assert NOT_FOUND in _detail(response.text)
    largest = client.post(path.format(id=2**31 - 1), data=form, follow_redirects=False)
    assert largest.status_code in (303, 403), largest.status_code


# ----------------------------------------------------------------------- a private message


@pytest.fixture
def mailed(tmp_path: Path) -> Iterator[FastAPI]:
    yield from _app(mailed_config(tmp_path / "mailed"))


def test_a_private_message_is_kept_from_the_other_owners_of_its_mailbox(
    mailed: FastAPI,
) -> None:
    """The question to kontakt@ (owners Anna, then Cecilia) was not made a case; marked
    private, it is Anna's (a case of it would be hers) and the head's: Cecilia no longer
    sees it in Granska nor may flag it, set it aside or register it by its number."""
    mail: Mail = mail_of(ctx_of(mailed).sessions)
    put_in_review(mailed, mail)
    with ctx_of(mailed).sessions() as session, session.begin():
        session.get_one(MessageRecord, mail.question).private = True
    row = f'id="rad-message-{mail.question}"'
    with TestClient(mailed, raise_server_exceptions=False) as client:
        csrf = sign_in(client, "cecilia@testby.se")
        assert row not in client.get("/granska").text
        assert "Öppettider i jul" not in client.get("/granska").text
        for action in (
            f"/arenden/{mail.complaint}/meddelanden/{mail.question}/flagga",
            *(
                f"/granska/meddelanden/{mail.question}/{a}"
                for a in ("inte-arende", "registrera", "knyt")
            ),
        ):
            response = client.post(
                action,
                data={"csrf": csrf, "kind": "synpunkt", "to": mail.complaint_ref},
                follow_redirects=False,
            )
            assert response.status_code == 403, (action, response.status_code)
    for who in ("anna@testby.se", "chef@testby.se"):
        with TestClient(mailed, raise_server_exceptions=False) as client:
            sign_in(client, who)
            assert row in client.get("/granska").text, who
    with ctx_of(mailed).sessions() as session:
        record = session.get_one(MessageRecord, mail.question)
        assert record.reviewed_by is None and record.case_id is None
        assert record.flagged_by == "anna@testby.se"
