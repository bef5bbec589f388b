"""Every page and action checks the role and the person's units, server-side, by direct
requests (no browser): what each role may open, do and download."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.registry.export import EXPORT_FIELDS, EXPORT_HEADERS_SV
from postvakt.registry.models import Case, CaseStatus, Draft
from tests.web.support import PASSWORD, Cases, add_accounts, csrf_of, ctx_of, sign_in

PAGES = ("/uppgifter", "/", "/arenden", "/granska", "/franvaro", "/registrator", "/sammanstallning")


def _case(app: FastAPI, case_id: int) -> Case:
    with ctx_of(app).sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case


def test_every_page_needs_a_sign_in(client: TestClient, cases: Cases) -> None:
    for path in (
        *PAGES,
        f"/arenden/{cases.kontakt}",
        f"/arenden/{cases.kontakt}/bilaga/0",
        f"/arenden/{cases.kontakt}/original",
        "/sammanstallning/2026.xlsx",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/logga-in"


def test_actions_need_a_sign_in(client: TestClient, cases: Cases) -> None:
    csrf = csrf_of(client.get("/logga-in").text)
    response = client.post(
        f"/arenden/{cases.kontakt}/svara",
        data={"csrf": csrf, "text": "Hej"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/logga-in"
    assert _case(client.app, cases.kontakt).status is CaseStatus.REGISTERED  # type: ignore[arg-type]


def test_wrong_password_is_refused_and_told_in_swedish(client: TestClient) -> None:
    add_accounts(client.app, ("anna@testby.se",))  # type: ignore[arg-type]
    page = client.get("/logga-in")
    response = client.post(
        "/logga-in",
        data={"address": "anna@testby.se", "password": "fel lösenord", "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert "Fel e-postadress eller lösenord." in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_repeated_failures_hold_sign_in_back(client: TestClient) -> None:
    """Five failures, then a wait (more in test_door.py)."""
    add_accounts(client.app, ("anna@testby.se",))  # type: ignore[arg-type]
    csrf = csrf_of(client.get("/logga-in").text)
    for _ in range(5):
        client.post(
            "/logga-in", data={"address": "anna@testby.se", "password": "gissning", "csrf": csrf}
        )
    response = client.post(
        "/logga-in", data={"address": "anna@testby.se", "password": PASSWORD, "csrf": csrf}
    )
    assert response.status_code == 429 and "För många misslyckade inloggningar" in response.text


def test_an_address_without_an_account_cannot_sign_in(client: TestClient) -> None:
    csrf = csrf_of(client.get("/logga-in").text)
    response = client.post(
        "/logga-in", data={"address": "okand@example.net", "password": PASSWORD, "csrf": csrf}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("anna@testby.se", {"/uppgifter", "/", "/arenden", "/granska", "/franvaro"}),
        ("bo@testby.se", {"/uppgifter", "/", "/arenden", "/granska", "/franvaro"}),
        (
            "chef@testby.se",
            {"/uppgifter", "/", "/arenden", "/granska", "/franvaro", "/sammanstallning"},
        ),
        (
            "kd@testby.se",
            {"/uppgifter", "/", "/arenden", "/granska", "/franvaro", "/sammanstallning"},
        ),
        (
            "registrator@testby.se",
            {"/uppgifter", "/", "/arenden", "/granska", "/franvaro", "/registrator"},
        ),
        ("admin@testby.se", set(PAGES)),
    ],
)
def test_pages_by_role(client: TestClient, address: str, allowed: set[str]) -> None:
    sign_in(client, address)
    for path in PAGES:
        response = client.get(path)
        expected = 200 if path in allowed else 403
        assert response.status_code == expected, (address, path, response.status_code)
        if expected == 403:
            assert "Ingen behörighet" in response.text


@pytest.mark.parametrize(
    ("address", "sees_kontakt", "sees_bygglov"),
    [
        ("anna@testby.se", True, False),  # staff and owner in Kontaktcenter
        ("cecilia@testby.se", True, False),
        ("chef@testby.se", True, False),  # head of Kontaktcenter
        ("bo@testby.se", False, True),
        ("bchef@testby.se", False, True),
        ("kd@testby.se", True, True),  # head of the unit above both
        ("registrator@testby.se", True, True),  # enters every case in the diary
        ("admin@testby.se", True, True),
    ],
)
def test_cases_by_unit(
    client: TestClient, cases: Cases, address: str, sees_kontakt: bool, sees_bygglov: bool
) -> None:
    sign_in(client, address)
    for case_id, reference, sees in (
        (cases.kontakt, cases.kontakt_ref, sees_kontakt),
        (cases.bygglov, cases.bygglov_ref, sees_bygglov),
    ):
        page = client.get(f"/arenden/{case_id}")
        assert page.status_code == (200 if sees else 404), (address, reference)
        if not sees:
            assert reference not in page.text
        listed = client.get("/arenden").text
        assert (f'href="/arenden/{case_id}"' in listed) is sees
        csrf = csrf_of(listed)
        found = client.post("/arenden", data={"csrf": csrf, "q": reference, "status": "all"}).text
        assert (f'href="/arenden/{case_id}"' in found) is sees


def test_staff_cannot_act_on_another_units_case(
    client: TestClient, app: FastAPI, cases: Cases
) -> None:
    csrf = sign_in(client, "bo@testby.se")
    for path, data in (
        ("svara", {"text": "Vi har röjt nu."}),
        ("avsluta", {"action": "Röjt"}),
        ("overlamna", {"to": "Bygglov"}),
        ("ny-provning", {"reason": "x"}),
        ("vanta", {"note": "x"}),
    ):
        response = client.post(f"/arenden/{cases.kontakt}/{path}", data={"csrf": csrf, **data})
        assert response.status_code == 404, path
    assert _case(app, cases.kontakt).status is CaseStatus.REGISTERED
    with ctx_of(app).sessions() as session:
        draft = session.scalars(select(Draft).where(Draft.case_id == cases.kontakt)).first()
        assert draft is not None
    assert client.get(f"/arenden/{cases.kontakt}/brev/{draft.id}").status_code == 404


def test_the_registrar_reads_every_case_but_acts_on_none(
    client: TestClient, app: FastAPI, cases: Cases
) -> None:
    csrf = sign_in(client, "registrator@testby.se")
    page = client.get(f"/arenden/{cases.kontakt}")
    assert "Du kan läsa ärendet men inte handlägga det; du kan rätta Postvakts" in page.text
    for action in ("svara", "avsluta", "overlamna", "ny-provning", "vanta"):
        assert f'action="/arenden/{cases.kontakt}/{action}"' not in page.text
    # The registrar corrects the machine's decisions (confirm, change kind, withdraw).
    assert f'action="/arenden/{cases.kontakt}/bekrafta"' in page.text
    response = client.post(
        f"/arenden/{cases.kontakt}/svara", data={"csrf": csrf, "text": "Svar från registratorn"}
    )
    assert response.status_code == 403
    assert _case(app, cases.kontakt).status is CaseStatus.REGISTERED


def test_staff_answers_their_units_case_with_the_same_operation_as_the_cli(
    client: TestClient, app: FastAPI, cases: Cases
) -> None:
    csrf = sign_in(client, "anna@testby.se")
    response = client.post(
        f"/arenden/{cases.kontakt}/svara",
        data={"csrf": csrf, "text": "Storgatan röjdes i morse. Tack för att du hörde av dig."},
    )
    assert response.status_code == 200  # followed the redirect to the case page
    assert "besvarat" in response.text and "Svar: utkast i kontakt@testby.se" in response.text
    case = _case(app, cases.kontakt)
    assert case.status is CaseStatus.ANSWERED and case.answer_text.startswith("Storgatan")
    with ctx_of(app).sessions() as session:
        letters = list(session.scalars(select(Draft).where(Draft.case_id == cases.kontakt)))
    assert [d.attachment_name for d in letters] == [
        "Mottagningsbekräftelse KS 2026-1.docx",
        "Svar KS 2026-1.docx",
    ]
    download = client.get(f"/arenden/{cases.kontakt}/brev/{letters[1].id}")
    assert download.status_code == 200 and download.content[:2] == b"PK"  # a .docx (zip)
    assert "Svar%20KS%202026-1.docx" in download.headers["content-disposition"]


def test_a_refused_transition_is_told_on_the_case_page(client: TestClient, cases: Cases) -> None:
    csrf = sign_in(client, "anna@testby.se")
    page = client.post(f"/arenden/{cases.kontakt}/avsluta", data={"csrf": csrf, "action": "x"})
    assert page.status_code == 200
    assert "kan inte avslutas" in page.text and 'role="alert"' in page.text


def test_the_head_of_the_unit_above_reviews_anew(
    client: TestClient, app: FastAPI, cases: Cases
) -> None:
    csrf = sign_in(client, "bchef@testby.se")
    client.post(f"/arenden/{cases.bygglov}/svara", data={"csrf": csrf, "text": "Beslut i dag."})
    client.post(f"/arenden/{cases.bygglov}/avsluta", data={"csrf": csrf, "action": "Beslutat."})
    assert _case(app, cases.bygglov).status is CaseStatus.CLOSED
    client.post(f"/arenden/{cases.bygglov}/ny-provning", data={"csrf": csrf, "reason": "Inte nöjd"})
    case = _case(app, cases.bygglov)
    assert case.status is CaseStatus.REOPENED and case.handler == "kd@testby.se"


def test_wait_and_forward(client: TestClient, app: FastAPI, cases: Cases) -> None:
    csrf = sign_in(client, "chef@testby.se")
    client.post(f"/arenden/{cases.kontakt}/vanta", data={"csrf": csrf, "note": "Vilken gata?"})
    assert _case(app, cases.kontakt).status is CaseStatus.WAITING
    client.post(f"/arenden/{cases.kontakt}/overlamna", data={"csrf": csrf, "to": "Bygglov"})
    case = _case(app, cases.kontakt)
    assert case.unit_id is not None and case.handler == "bchef@testby.se"
    assert client.get(f"/arenden/{cases.kontakt}").status_code == 404  # no longer her unit's


def test_the_registrar_marks_a_case_entered(client: TestClient, app: FastAPI, cases: Cases) -> None:
    csrf = sign_in(client, "registrator@testby.se")
    page = client.get("/registrator")
    assert cases.kontakt_ref in page.text and cases.bygglov_ref in page.text
    response = client.post(
        f"/registrator/{cases.kontakt}/infort",
        data={"csrf": csrf, "diary_number": " KS-2026-0417 "},
    )
    assert "är markerat som infört i diariet som KS-2026-0417" in response.text
    case = _case(app, cases.kontakt)
    assert case.diary_entered_number == "KS-2026-0417"
    assert case.diary_entered_by == "registrator@testby.se"
    assert case.diary_entered_at == ctx_of(app).now()
    waiting = client.get("/registrator").text.split("Till diariet")[0]
    assert cases.kontakt_ref not in waiting and cases.bygglov_ref in waiting
    again = client.post(
        f"/registrator/{cases.kontakt}/infort", data={"csrf": csrf, "diary_number": "X"}
    )
    assert "redan infört som KS-2026-0417" in again.text
    assert _case(app, cases.kontakt).diary_entered_number == "KS-2026-0417"


def test_the_registrars_export_is_the_cli_export(client: TestClient, cases: Cases) -> None:
    csrf = sign_in(client, "registrator@testby.se")
    response = client.post(
        "/registrator/export", data={"csrf": csrf, "since": "2026-01-01", "only_waiting": "1"}
    )
    assert response.status_code == 200
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Nummer;Diarienummer;Delnummer (anonymt);Typ;Rubrik;Ämnesrad")
    assert "Svar senast;Bekräftat;Besvarat;Avslutat;Svar;Vidtagna åtgärder" in lines[0]
    assert lines[0].split(";") == [EXPORT_HEADERS_SV[f] for f in EXPORT_FIELDS]  # each column
    assert [line.split(";")[0] for line in lines[1:]] == [cases.kontakt_ref, cases.bygglov_ref]


def test_only_the_registrar_marks_cases_entered(
    client: TestClient, app: FastAPI, cases: Cases
) -> None:
    for address in ("anna@testby.se", "chef@testby.se", "kd@testby.se"):
        csrf = sign_in(client, address)
        response = client.post(
            f"/registrator/{cases.kontakt}/infort", data={"csrf": csrf, "diary_number": "X"}
        )
        assert response.status_code == 403
        assert client.post("/registrator/export", data={"csrf": csrf}).status_code == 403
    assert _case(app, cases.kontakt).diary_entered_at is None


def test_compilation_per_unit_for_its_head(client: TestClient, cases: Cases) -> None:
    sign_in(client, "chef@testby.se")
    page = client.get("/sammanstallning?year=2026")
    assert "Kontaktcenter" in page.text and "Bygglov" not in page.text
    docx = client.get("/sammanstallning/2026/Kontaktcenter.docx")
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    assert client.get("/sammanstallning/2026/Bygglov.docx").status_code == 403
    xlsx = client.get("/sammanstallning/2026.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    from io import BytesIO

    from openpyxl import load_workbook

    book = load_workbook(BytesIO(xlsx.content))
    assert book.sheetnames[:4] == ["Organisation", "Förvaltningar", "Enheter", "Ärenden"]
    assert [c.value for c in book["Enheter"]["B"]] == ["Enhet", "Kontaktcenter"]
    assert [c.value for c in book["Ärenden"]["C"]] == ["Ärende", cases.kontakt_ref]


def test_the_head_above_compiles_every_unit_below(client: TestClient, cases: Cases) -> None:
    sign_in(client, "kd@testby.se")
    for unit in ("Kommunledningen", "Kontaktcenter", "Bygglov"):
        assert client.get(f"/sammanstallning/2026/{unit}.docx").status_code == 200


def test_a_changed_password_ends_older_sessions(
    client: TestClient, app: FastAPI, cases: Cases
) -> None:
    from datetime import timedelta

    from postvakt.registry.models import WebUser

    sign_in(client, "anna@testby.se")
    assert client.get("/").status_code == 200
    with ctx_of(app).sessions() as session, session.begin():
        account = session.scalars(select(WebUser).where(WebUser.address == "anna@testby.se")).one()
        account.password_changed_at = ctx_of(app).now() + timedelta(seconds=1)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_person_removed_from_the_config_loses_access(
    client: TestClient, app: FastAPI, cases: Cases
) -> None:
    sign_in(client, "bo@testby.se")
    ctx = ctx_of(app)
    config = ctx.config
    smaller = config.model_copy(
        update={
            "people": tuple(p for p in config.people if p.address != "bo@testby.se"),
            "mailboxes": tuple(m for m in config.mailboxes if m.address != "bygglov@testby.se"),
        }
    )
    ctx.service.config = smaller
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session(client: TestClient) -> None:
    csrf = sign_in(client, "anna@testby.se")
    client.post("/logga-ut", data={"csrf": csrf})
    assert client.get("/", follow_redirects=False).status_code == 303


def test_no_password_or_address_in_the_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    add_accounts(client.app, ("anna@testby.se",))  # type: ignore[arg-type]
    caplog.set_level(logging.DEBUG)
    csrf = csrf_of(client.get("/logga-in").text)
    client.post(
        "/logga-in", data={"address": "anna@testby.se", "password": "hemligt!", "csrf": csrf}
    )
    text = caplog.text
    assert "failed sign-in" in text
    assert "anna@testby.se" not in text and "hemligt!" not in text


def _post_paths(app: FastAPI, case_id: int) -> list[str]:
    """Every POST route the app has (every page's router), with its ids filled in."""
    from fastapi.routing import APIRoute

    def walk(routes: list) -> list[APIRoute]:  # type: ignore[type-arg]
        found: list[APIRoute] = []
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route)
            inner = getattr(route, "original_router", None) or getattr(route, "router", None)
            if inner is not None and inner is not route:
                found += walk(inner.routes)
        return found

    paths = []
    for route in walk(app.routes):
        if "POST" in route.methods:
            paths.append(re.sub(r"\{case_id\}", str(case_id), route.path))
    return [re.sub(r"\{[a-z_]+_id\}", "1", p) for p in paths]


def test_every_form_is_refused_without_the_csrf_token(
    client: TestClient, app: FastAPI, cases: Cases
) -> None:
    sign_in(client, "admin@testby.se")
    paths = _post_paths(app, cases.kontakt)
    assert len(paths) >= 19  # every action of every page, the corrections too
    for path in paths:
        for data in ({}, {"csrf": "a forged token"}):
            response = client.post(path, data=data)
            assert response.status_code == 403, path
            assert "Formuläret har gått ut" in response.text
    assert _case(app, cases.kontakt).status is CaseStatus.REGISTERED


def test_a_form_posted_from_another_site_is_refused(client: TestClient, cases: Cases) -> None:
    csrf = sign_in(client, "anna@testby.se")
    response = client.post(
        f"/arenden/{cases.kontakt}/vanta",
        data={"csrf": csrf, "note": "x"},
        headers={"Origin": "https://elak.example"},
    )
    assert response.status_code == 403


def test_session_cookie_and_security_headers(client: TestClient) -> None:
    response = client.get("/logga-in")
    cookie = response.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_the_cookie_is_secure_unless_on_loopback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from postvakt.clock import fixed_clock
    from postvakt.web import create_app
    from tests.web.support import NOW, make_config

    config = make_config(tmp_path / "ws")
    exposed = config.model_copy(
        update={"web": config.web.model_copy(update={"base_url": "https://postvakt.testby.se"})}
    )
    app = create_app(exposed, clock=fixed_clock(NOW), environ={})
    with TestClient(app, base_url="https://testserver") as client:
        assert "secure" in client.get("/logga-in").headers["set-cookie"].lower()


def test_no_citizen_data_in_addresses(client: TestClient, cases: Cases) -> None:
    import re

    sign_in(client, "admin@testby.se")
    for path in ("/", "/arenden", f"/arenden/{cases.kontakt}", "/registrator"):
        page = client.get(path).text
        for url in re.findall(r'(?:href|action)="([^"]*)"', page):
            assert "@" not in url and "karin" not in url.lower() and "KS" not in url, url


def test_an_unexpected_error_is_a_swedish_page_without_a_traceback(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    from postvakt.errors import DatabaseLockedError

    def broken() -> None:
        raise RuntimeError("karin.ek@example.net: something deep down")

    def locked() -> None:
        raise DatabaseLockedError("Databasen är låst av en annan process.")

    app.add_api_route("/prov/trasig", broken)
    app.add_api_route("/prov/last", locked)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/prov/trasig")
        assert response.status_code == 500
        assert "<h1>Något gick fel</h1>" in response.text
        assert "Ett oväntat fel inträffade." in response.text
        assert "Traceback" not in response.text and "karin" not in response.text
        response = client.get("/prov/last")
        assert response.status_code == 503
        assert "Databasen är låst av en annan process. Försök igen om en stund." in response.text
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelname != "DEBUG")
    assert "GET /prov/trasig failed: RuntimeError" in logged
    assert "karin" not in logged
