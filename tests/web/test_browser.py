"""The main flows in a real browser: Debian's Chromium driven by Playwright against the
dashboard on loopback.  Each test saves screenshots under test-artifacts/web/."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import select

from postvakt.registry.models import Absence, Case
from tests.web.browser import axe_violations, screenshot
from tests.web.support import PASSWORD, Cases, add_accounts, ctx_of


def _sign_in(page, app: FastAPI, address: str) -> None:  # type: ignore[no-untyped-def]
    add_accounts(app, (address,))
    page.goto("/logga-in")
    page.get_by_label("E-postadress").fill(address)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url("**/uppgifter")  # Mina uppgifter, where sign-in lands
    page.goto("/")  # these tests start from Översikt


def test_a_unit_head_sets_up_an_absence_that_shows_on_the_coverage_page(
    page,
    app: FastAPI,
    cases: Cases,  # type: ignore[no-untyped-def]
) -> None:
    page.goto("/logga-in")
    screenshot(page, "login")
    _sign_in(page, app, "chef@testby.se")
    row = page.get_by_role("row", name="Kontaktcenter")
    assert row.get_by_text("på plats").count() == 2
    screenshot(page, "overview-before")

    page.get_by_role("navigation").get_by_role("link", name="Frånvaro").click()
    page.get_by_label("Person").select_option(label="Anna Berg (Kontaktcenter)")
    page.get_by_label("Sorts frånvaro").select_option(label="Semester")
    page.get_by_label("Första dagen borta").fill("2026-11-24")
    page.get_by_label("Sista dagen borta").fill("2026-12-04")
    page.get_by_label("Ersättare", exact=True).select_option(label="Cecilia Ek (Kontaktcenter)")
    page.get_by_role("button", name="Förhandsgranska").click()
    preview = page.locator(".preview")
    assert "Jag är på semester till och med 4 december" in preview.inner_text()
    assert "Ditt meddelande handläggs av Cecilia Ek" in preview.inner_text()
    assert "Jag är på semester" in page.locator("#text").input_value()
    screenshot(page, "absence-preview")
    page.get_by_role("button", name="Spara frånvaron").click()
    assert "Frånvaron för Anna Berg är sparad." in page.get_by_role("status").inner_text()
    screenshot(page, "absences")

    page.get_by_role("navigation").get_by_role("link", name="Översikt").click()
    row = page.get_by_role("row", name="Kontaktcenter")
    assert "borta" in row.inner_text() and "täcks av Cecilia Ek" in row.inner_text()
    screenshot(page, "overview-after")
    with ctx_of(app).sessions() as session:
        absence = session.scalars(select(Absence)).one()
    assert (absence.person, absence.substitutes, absence.reply_text) == (
        "anna@testby.se",
        ["cecilia@testby.se"],
        None,  # the generated text, unchanged: delegation writes it when the absence starts
    )


def test_staff_cannot_open_another_units_case(page, app: FastAPI, cases: Cases) -> None:  # type: ignore[no-untyped-def]
    _sign_in(page, app, "bo@testby.se")
    page.get_by_role("navigation").get_by_role("link", name="Ärenden").click()
    assert page.get_by_role("main").get_by_role("link", name=cases.bygglov_ref).count() == 1
    assert page.get_by_role("main").get_by_role("link", name=cases.kontakt_ref).count() == 0
    screenshot(page, "cases")
    page.get_by_role("main").get_by_role("link", name=cases.bygglov_ref).click()
    assert page.get_by_role("heading", level=1).inner_text().startswith(cases.bygglov_ref)
    screenshot(page, "case")
    response = page.goto(f"/arenden/{cases.kontakt}")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="Sidan finns inte").count() == 1
    assert cases.kontakt_ref not in page.content()
    screenshot(page, "case-refused")


def test_the_registrar_marks_a_case_as_entered(page, app: FastAPI, cases: Cases) -> None:  # type: ignore[no-untyped-def]
    _sign_in(page, app, "registrator@testby.se")
    page.get_by_role("navigation").get_by_role("link", name="Registrator").click()
    screenshot(page, "registrar")
    field = page.get_by_label(f"Diariesystemets nummer för {cases.kontakt_ref}")
    field.fill("KS-2026-0417")
    field.press("Enter")  # the keyboard is enough
    status = page.get_by_role("status").inner_text()
    assert f"{cases.kontakt_ref} är markerat som infört i diariet som KS-2026-0417" in status
    assert page.get_by_label(f"Diariesystemets nummer för {cases.kontakt_ref}").count() == 0
    screenshot(page, "registrar-entered")
    with ctx_of(app).sessions() as session:
        case = session.get(Case, cases.kontakt)
        assert case is not None and case.diary_entered_number == "KS-2026-0417"
        assert case.diary_entered_by == "registrator@testby.se"


def test_compilation_page(page, app: FastAPI, cases: Cases) -> None:  # type: ignore[no-untyped-def]
    _sign_in(page, app, "kd@testby.se")
    page.get_by_role("navigation").get_by_role("link", name="Sammanställning").click()
    assert page.get_by_role("row", name="Bygglov").count() == 1
    with page.expect_download() as info:
        page.get_by_role("main").get_by_role("link", name="Hämta .docx för Kontaktcenter").click()
    assert info.value.suggested_filename == "sammanstallning-2026-Kontaktcenter.docx"
    screenshot(page, "compilation")


def test_every_control_has_a_label_and_the_skip_link_comes_first(  # type: ignore[no-untyped-def]
    page, app: FastAPI, cases: Cases
) -> None:
    _sign_in(page, app, "admin@testby.se")
    unlabelled = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label')).map(el => el.name)"""
    for path in (
        "/",
        "/arenden",
        f"/arenden/{cases.kontakt}",
        "/granska",
        "/franvaro",
        "/registrator",
        "/sammanstallning",
    ):
        page.goto(path)
        assert page.evaluate(unlabelled) == [], path
        assert axe_violations(page) == [], path  # WCAG 2.2 A and AA, by axe-core
        assert page.locator("html").get_attribute("lang") == "sv"
        assert page.get_by_role("heading", level=1).count() == 1, path
    page.goto("/arenden")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Hoppa till innehållet"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "innehall"
    screenshot(page, "cases-admin")
