"""The case page shows what the citizen wrote — the text escaped, never raw HTML — the
attachments (downloaded safely, logged), the classifier's judgment, and the original .eml
only to the registrar, the mailbox's owners, the unit's head and admins; on SQLite and
PostgreSQL, with mail read by the real intake."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.config import Config
from postvakt.registry.models import CaseAccess
from tests.web.mail import HOSTILE_PAGE, PDF, Mail, mail_of, mailed_config
from tests.web.support import ctx_of, sign_in


@pytest.fixture
def web_config(db_url: str, tmp_path: Path) -> Config:
    return mailed_config(tmp_path / "ws", db_url)


@pytest.fixture
def mail(app: FastAPI) -> Mail:
    return mail_of(ctx_of(app).sessions)


def _accesses(app: FastAPI, case_id: int) -> list[tuple[str, str]]:
    with ctx_of(app).sessions() as session:
        return [
            (a.actor, a.what)
            for a in session.scalars(
                select(CaseAccess).where(CaseAccess.case_id == case_id).order_by(CaseAccess.id)
            )
        ]


def test_the_citizens_text_is_shown_as_text_never_as_html(client: TestClient, mail: Mail) -> None:
    sign_in(client, "anna@testby.se")
    page = client.get(f"/arenden/{mail.complaint}")
    assert page.status_code == 200
    html = page.text
    assert "Jag vill klaga på snöröjningen på Björkvägen." in html
    # The script element of the HTML part is not in the page, and what the citizen typed
    # that looks like a tag is shown as the characters they typed.
    assert 'document.title="stulen"' not in html and "document.title" not in html
    assert "<script>alert(1)</script>" not in html
    assert "skrev jag &lt;script&gt;alert(1)&lt;/script&gt; av misstag." in html
    assert "Meddelandet kom som HTML och visas här som text." in html
    assert "(texten kortades)" not in html
    # Beside it: the classifier's label, its probability and its reasons, in Swedish.
    assert "Postvakts bedömning" in html
    assert "<dt>Bedömning</dt><dd>klagomål</dd>" in html
    assert "\u00a0%</dd>" in html  # "99 %"
    assert "talar för klagomål" in html


def test_a_long_text_is_cut_and_says_so(app: FastAPI, client: TestClient, mail: Mail) -> None:
    from postvakt.registry.models import Case
    from postvakt.registry.original import TEXT_SHOWN
    from tests.web.mail import plain

    long = "Snön ligger kvar. " * (TEXT_SHOWN // 10)
    with ctx_of(app).sessions() as session, session.begin():
        case = session.get_one(Case, mail.opinion)
        case.original = plain(
            long,
            sender="Per Holm <per.holm@example.org>",
            to="kontakt@testby.se",
            subject="Lång text",
            message_id="<long@example.org>",
        )
    sign_in(client, "anna@testby.se")
    html = client.get(f"/arenden/{mail.opinion}").text
    assert "(texten kortades)" in html
    assert html.count("Snön ligger kvar.") < len(long) // len("Snön ligger kvar. ")


def test_attachments_are_listed_downloaded_safely_and_logged(
    app: FastAPI, client: TestClient, mail: Mail
) -> None:
    sign_in(client, "dan@testby.se")  # staff of the unit: reads the case, no original
    html = client.get(f"/arenden/{mail.complaint}").text
    assert f'href="/arenden/{mail.complaint}/bilaga/0"' in html
    assert "Foto av gatan.pdf" in html
    assert "kvitto &lt;b&gt;.html" in html  # the name as text, escaped

    pdf = client.get(f"/arenden/{mail.complaint}/bilaga/0")
    assert pdf.status_code == 200 and pdf.content == PDF
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert 'filename="Foto av gatan.pdf"' in pdf.headers["content-disposition"]

    page = client.get(f"/arenden/{mail.complaint}/bilaga/1")
    assert page.status_code == 200 and page.content == HOSTILE_PAGE
    # An HTML attachment is never served as HTML, and its name cannot leave the folder.
    assert page.headers["content-type"] == "application/octet-stream"
    assert page.headers["x-content-type-options"] == "nosniff"
    disposition = page.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    name = disposition.split('filename="')[1].split('"')[0]
    assert "/" not in name and "\\" not in name and "<" not in name
    assert not name.startswith(".") and name.endswith(".html")

    assert client.get(f"/arenden/{mail.complaint}/bilaga/2").status_code == 404
    assert client.get(f"/arenden/{mail.complaint}/bilaga/-1").status_code == 404
    assert _accesses(app, mail.complaint) == [
        ("dan@testby.se", "visa"),
        ("dan@testby.se", "bilaga"),
        ("dan@testby.se", "bilaga"),
    ]


def test_attachments_of_another_units_case_are_not_found_nor_logged(
    app: FastAPI, client: TestClient, mail: Mail
) -> None:
    sign_in(client, "bo@testby.se")
    response = client.get(f"/arenden/{mail.complaint}/bilaga/0")
    assert response.status_code == 404
    assert PDF not in response.content
    assert _accesses(app, mail.complaint) == []


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("anna@testby.se", True),  # owner of the function mailbox
        ("cecilia@testby.se", True),  # owner too
        ("chef@testby.se", True),  # head of the unit
        ("kd@testby.se", True),  # head of the unit above
        ("registrator@testby.se", True),
        ("admin@testby.se", True),
        ("dan@testby.se", False),  # staff of the unit: reads the case, not the .eml
    ],
)
def test_the_original_is_for_the_registrar_owners_head_and_admins(
    app: FastAPI, client: TestClient, mail: Mail, address: str, allowed: bool
) -> None:
    sign_in(client, address)
    html = client.get(f"/arenden/{mail.complaint}").text
    assert "Jag vill klaga på snöröjningen" in html  # everyone here reads the text
    link = f'href="/arenden/{mail.complaint}/original"'
    response = client.get(f"/arenden/{mail.complaint}/original")
    if allowed:
        assert link in html
        assert response.status_code == 200
        assert response.headers["content-type"] == "message/rfc822"
        assert b"Message-ID: <html-complaint@example.net>" in response.content
        assert (address, "original") in _accesses(app, mail.complaint)
    else:
        assert link not in html
        assert response.status_code == 403
        assert "Originalmeddelandet (.eml) får bara registratorn" in response.text
        assert b"html-complaint@example.net" not in response.content
        assert (address, "original") not in _accesses(app, mail.complaint)


def test_a_handler_from_another_unit_reads_the_text_but_not_the_original(
    app: FastAPI, client: TestClient, mail: Mail
) -> None:
    ctx_of(app).corrections.assign(mail.complaint_ref, to="bo@testby.se", by="chef@testby.se")
    sign_in(client, "bo@testby.se")
    html = client.get(f"/arenden/{mail.complaint}").text
    assert "Jag vill klaga på snöröjningen" in html
    assert client.get(f"/arenden/{mail.complaint}/bilaga/0").status_code == 200
    assert client.get(f"/arenden/{mail.complaint}/original").status_code == 403
    assert client.get(f"/arenden/{mail.bygg}/original").status_code == 200  # his own mailbox


def test_a_case_registered_by_hand_has_no_message_to_show(app: FastAPI, client: TestClient) -> None:
    done = ctx_of(app).casework.add(
        kind="complaint",
        channel="phone",
        summary="Gatlampan är trasig",
        unit="Kontaktcenter",
        actor="anna@testby.se",
    )
    from postvakt.registry.models import Case

    with ctx_of(app).sessions() as session:
        case_id = session.scalars(select(Case.id).where(Case.reference == done.case)).one()
    sign_in(client, "anna@testby.se")
    html = client.get(f"/arenden/{case_id}").text
    assert "Ärendet registrerades för hand (telefon); det finns inget e-postmeddelande." in html
    assert "Ingen maskinbedömning" in html
    assert f"/arenden/{case_id}/original" not in html
    assert client.get(f"/arenden/{case_id}/original").status_code == 404
    assert client.get(f"/arenden/{case_id}/bilaga/0").status_code == 404
