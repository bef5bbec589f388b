"""Swedish error pages on every route (404, 405, a bad address or form, a refused request, a
failure) — a page for a browser, JSON only for a client that asked for it — and no command
line wording ("--by", "'postvakt cases …'") in what an error shows on a page."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from fastapi import FastAPI, Form
from fastapi.testclient import TestClient

from postvakt.errors import InvalidTransitionError
from postvakt.web.wording import web_words
from tests.web.support import Cases, sign_in

SRC = Path(__file__).resolve().parents[2] / "src" / "postvakt"
JSON = {"accept": "application/json"}
CLI_WORDS = re.compile(r"'postvakt |(?:^|[\s(])--[a-z]")


def _main(html: str) -> str:
    """The page's main content as text, tags removed."""
    body = html[html.index("<main") : html.index("</main>")]
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def test_an_unknown_page_is_a_swedish_page_signed_in_or_not(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="sv">' in response.text
    text = _main(response.text)
    assert text.startswith("Sidan finns inte Sidan finns inte, eller så får du inte se den.")
    assert "Logga in" in text and "Not Found" not in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'self'")

    sign_in(client, "anna@testby.se")
    response = client.get("/arenden/nej/inte/har")
    assert response.status_code == 404
    assert "Till ärendelistan" in _main(response.text)
    assert 'aria-label="Huvudmeny"' in response.text  # the menu, to go on from


def test_a_script_that_asks_for_json_gets_swedish_json(client: TestClient) -> None:
    response = client.get("/no-such-page", headers=JSON)
    assert response.status_code == 404
    assert response.json() == {"detail": response.json()["detail"]}
    assert response.json()["detail"].startswith("Sidan finns inte")
    # A browser asks for HTML first (and */*): it gets the page.
    browser = {"accept": "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8"}
    assert client.get("/no-such-page", headers=browser).text.lstrip().startswith("<!doctype")
    assert client.get("/arenden", headers=JSON).status_code == 401  # not a sign-in page


def test_a_wrong_method_is_a_swedish_405(client: TestClient) -> None:
    response = client.get("/logga-ut")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    text = _main(response.text)
    assert text.startswith("Sidan kan inte användas så Adressen tar bara emot")
    assert "Method Not Allowed" not in response.text


def test_a_bad_value_in_the_address_is_named_and_a_bad_path_is_no_page(
    client: TestClient, cases: Cases
) -> None:
    sign_in(client, "kd@testby.se")
    response = client.get("/sammanstallning?year=förra")
    assert response.status_code == 422
    text = _main(response.text)
    assert text.startswith(
        "Felaktig uppgift Adressen har ett värde som inte går att använda (”år”)"
    )
    assert "int_parsing" not in response.text and "valid integer" not in response.text
    response = client.get("/arenden/KS-2026-1")  # an id that is not a number: no such page
    assert response.status_code == 404
    assert _main(response.text).startswith("Sidan finns inte")


def test_a_form_without_a_field_it_needs_is_named(app: FastAPI, client: TestClient) -> None:
    def needs(year: int = Form(...), reason: str = Form(...)) -> str:
        return "ok"

    app.add_api_route("/prov/formular", needs, methods=["POST"])
    csrf = sign_in(client, "anna@testby.se")
    response = client.post("/prov/formular", data={"csrf": csrf, "year": "i fjol"})
    assert response.status_code == 422
    text = _main(response.text)
    assert "Formuläret saknade något eller hade ett värde som inte går att använda" in text
    assert "(”år”, ”skäl”)" in text and "Field required" not in response.text
    response = client.post("/prov/formular", data={"csrf": csrf}, headers=JSON)
    assert response.json()["detail"].startswith("Formuläret saknade något")


def test_an_error_that_reaches_the_page_speaks_the_pages_words(app: FastAPI) -> None:
    def answered_again() -> None:
        raise InvalidTransitionError(
            "Ärendet KS 2026/1 kan inte besvaras: det är avslutat. Ett avslutat ärende öppnas "
            "med 'postvakt cases reopen'."
        )

    app.add_api_route("/prov/avslutat", answered_again)
    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client, "anna@testby.se")
        response = client.get("/prov/avslutat")
    assert response.status_code == 400
    text = _main(response.text)
    assert "Ett avslutat ärende öppnas igen med Ny prövning på ärendesidan." in text
    assert "postvakt cases" not in text


def test_a_failure_is_a_page_with_the_security_headers(app: FastAPI) -> None:
    def fails() -> None:
        raise RuntimeError("a fault deep down")

    app.add_api_route("/prov/fel", fails)
    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client, "anna@testby.se")
        response = client.get("/prov/fel")
    assert response.status_code == 500
    assert _main(response.text).startswith("Något gick fel Ett oväntat fel inträffade.")
    assert "Till startsidan" in response.text and "Logga in" not in _main(response.text)
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_a_refused_correction_is_told_without_the_command_line(
    client: TestClient, cases: Cases
) -> None:
    csrf = sign_in(client, "anna@testby.se")
    response = client.post(
        f"/arenden/{cases.kontakt}/andra-typ", data={"csrf": csrf, "kind": "klagomal"}
    )
    flash = re.search(r'<div class="flash error"[^>]*>(.*?)</div>', response.text, re.S)
    assert flash, "no error shown"
    assert flash.group(1).startswith(f"Ärendet {cases.kontakt_ref} är redan klagomål.")
    assert "Bekräfta bedömningen i stället." in flash.group(1)
    assert not CLI_WORDS.search(flash.group(1))


def _text_of(node: ast.expr) -> str | None:
    """A string literal or f-string as text, each interpolation as 'X'."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "X" for part in node.values
        )
    return None


def _error_messages() -> list[tuple[str, str]]:
    """(where, text) of every message an error is raised with outside the command line, the
    lifecycle's advice, a callback's why-not, and every sentence of the web's own pages."""
    found: list[tuple[str, str]] = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith("cli/") or relative in (
            "web/commands.py",
            "web/wording.py",
            "demo.py",
        ):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            texts: list[ast.expr] = []
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                texts = list(node.exc.args)
            elif isinstance(node, ast.keyword) and node.arg == "why_not":
                texts = [node.value]
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and "ADVICE" in t.id for t in node.targets
            ):
                texts = list(node.value.values) if isinstance(node.value, ast.Dict) else []
            elif relative.startswith("web/") and isinstance(node, ast.Constant | ast.JoinedStr):
                texts = [node]
            for expr in texts:
                text = _text_of(expr)
                if text and " " in text:
                    found.append((f"{relative}:{getattr(expr, 'lineno', '?')}", text))
    return found


def test_no_command_line_words_reach_a_page() -> None:
    messages = _error_messages()
    assert len(messages) > 100  # the scan found the messages it is about
    with_cli = [(where, text) for where, text in messages if CLI_WORDS.search(text)]
    assert len(with_cli) >= 15, with_cli  # and the ones written for the command line
    left = [
        f"{where}: {web_words(text)}"
        for where, text in with_cli
        if CLI_WORDS.search(web_words(text))
    ]
    assert left == []


@pytest.mark.parametrize(
    ("cli", "web"),
    [
        (
            "nisse@testby.se finns inte i konfigurationen som person, ägare, chef, registrator "
            "eller administratör och får inte rätta ärenden. Ange din egen adress med --by.",
            "nisse@testby.se finns inte i konfigurationen som person, ägare, chef, registrator "
            "eller administratör och får inte rätta ärenden.",
        ),
        (
            "Det finns inget ärende med nummer 'KS 9'. Se 'postvakt cases list' för alla ärenden.",
            "Det finns inget ärende med nummer 'KS 9'. Se listan under Ärenden.",
        ),
        ("--phone: Skriv ett telefonnummer.", "Skriv ett telefonnummer."),
        (  # a summary that cut the sentence's stop off
            "Hoppade över KS 2026/1 (Ärendet KS 2026/1 är redan klagomål. Använd 'postvakt "
            "cases confirm' för att bekräfta bedömningen).",
            "Hoppade över KS 2026/1 (Ärendet KS 2026/1 är redan klagomål. Bekräfta bedömningen "
            "i stället.).",
        ),
        ("ange klagomal eller synpunkt", "Välj klagomål eller synpunkt."),
        (
            "Något helt nytt. Kör 'postvakt något nytt --by X' först.",
            "Något helt nytt.",
        ),
    ],
)
def test_web_words(cli: str, web: str) -> None:
    assert web_words(cli) == web
