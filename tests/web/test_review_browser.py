"""Granska in a real browser, by keyboard alone: confirm, change kind, withdraw and register
with Tab, Enter and Space (no mouse), and axe-core finding no WCAG 2.2 A/AA violation on the
review queue and on the case page in each new state.  Debian's Chromium driven by
Playwright against the dashboard on loopback; screenshots under test-artifacts/web/."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from postvakt.config import Config
from postvakt.registry.models import Case, CaseKind, CaseStatus, Disposition, MessageRecord
from tests.web.browser import axe_violations, focused_text, screenshot, tab_to
from tests.web.mail import Mail, mail_of, mailed_config, put_in_review
from tests.web.support import PASSWORD, add_accounts, ctx_of


@pytest.fixture
def web_config(tmp_path: Path) -> Config:
    return mailed_config(tmp_path / "ws")


@pytest.fixture
def mail(app: FastAPI) -> Mail:
    found = mail_of(ctx_of(app).sessions)
    put_in_review(app, found)
    return found


def _sign_in_by_keyboard(page, app: FastAPI, address: str) -> None:  # type: ignore[no-untyped-def]
    add_accounts(app, (address,))
    page.goto("/logga-in")
    tab_to(page, page.get_by_label("E-postadress"))
    page.keyboard.type(address)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/uppgifter")  # Mina uppgifter, where sign-in lands


def _to_granska(page) -> None:  # type: ignore[no-untyped-def]
    tab_to(page, page.get_by_role("navigation").get_by_role("link", name="Granska"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/granska")


def _submit(page, key: str) -> None:  # type: ignore[no-untyped-def]
    """Press ``key`` on a form's button (or field) and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press(key)


def _row(page, name: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("article", name=name)


def _case(app: FastAPI, case_id: int) -> Case:
    with ctx_of(app).sessions() as session:
        case = session.get_one(Case, case_id)
        session.expunge_all()
        return case


def _no_violations(page, what: str) -> None:  # type: ignore[no-untyped-def]
    found = axe_violations(page)
    assert found == [], f"{what}: {found}"


def test_confirm_and_change_kind_from_granska_by_keyboard(
    page,  # type: ignore[no-untyped-def]
    app: FastAPI,
    mail: Mail,
) -> None:
    _sign_in_by_keyboard(page, app, "anna@testby.se")
    _to_granska(page)
    assert page.get_by_role("heading", level=1).inner_text() == "Granska"
    assert page.get_by_role("article").count() == 3
    _no_violations(page, "Granska")
    screenshot(page, "granska")

    # Confirm the complaint: the summary opens on Enter, the next Tab is the button.
    row = _row(page, mail.complaint_ref)
    tab_to(page, row.locator("summary", has_text="Bekräfta"))
    page.keyboard.press("Enter")
    assert row.locator("details", has_text="Bekräfta som klagomål").get_attribute("open") == ""
    _no_violations(page, "Granska, a confirmation open")
    screenshot(page, "granska-confirm-open")
    page.keyboard.press("Tab")
    assert focused_text(page) == "Bekräfta som klagomål"
    _submit(page, "Enter")
    status = page.get_by_role("status")
    assert status.inner_text().startswith(f"{mail.complaint_ref}: bekräftat som klagomål.")
    assert _row(page, mail.complaint_ref).count() == 0
    case = _case(app, mail.complaint)
    assert not case.needs_review and case.corrected_by == "anna@testby.se"
    _no_violations(page, "Granska after a confirmation")

    # Change the opinion into a complaint: this time Space opens the summary.
    row = _row(page, mail.opinion_ref)
    tab_to(page, row.locator("summary", has_text="Ändra typ"))
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert focused_text(page) == "Ändra till klagomål"
    _submit(page, "Enter")
    assert (
        page.get_by_role("status")
        .inner_text()
        .startswith(f"{mail.opinion_ref}: nu klagomål; svar senast")
    )
    assert _case(app, mail.opinion).kind is CaseKind.COMPLAINT
    screenshot(page, "granska-after-reclassify")

    # The flash's link leads to the case, which shows who corrected it.
    tab_to(page, page.get_by_role("status").get_by_role("link"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/arenden/{mail.opinion}")
    assert "Rättat av Anna Berg anna@testby.se" in page.get_by_role("main").inner_text()
    _no_violations(page, "a reclassified case")
    screenshot(page, "case-reclassified")


def test_withdraw_and_register_from_granska_by_keyboard(
    page,  # type: ignore[no-untyped-def]
    app: FastAPI,
    mail: Mail,
) -> None:
    _sign_in_by_keyboard(page, app, "chef@testby.se")
    _to_granska(page)

    # Withdraw the complaint with a reason typed in the opened form.
    row = _row(page, mail.complaint_ref)
    tab_to(page, row.locator("summary", has_text="Makulera"))
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "reason"
    page.keyboard.type("Skickat två gånger; samma sak som telefonsamtalet")
    page.keyboard.press("Tab")
    assert focused_text(page) == f"Makulera {mail.complaint_ref}"
    screenshot(page, "granska-withdraw-open")
    _submit(page, "Enter")
    assert (
        page.get_by_role("status")
        .inner_text()
        .startswith(
            f"{mail.complaint_ref}: makulerat (Skickat två gånger; samma sak som telefonsamtalet)."
        )
    )
    case = _case(app, mail.complaint)
    assert case.status is CaseStatus.WITHDRAWN and case.corrected_by == "chef@testby.se"

    # Register the flagged question as an opinion.
    row = _row(page, f"Meddelande nr {mail.question}")
    tab_to(page, row.locator("summary", has_text="Registrera som ärende"))
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert focused_text(page) == "Registrera som klagomål"
    page.keyboard.press("Tab")
    assert focused_text(page) == "Registrera som synpunkt"
    _submit(page, "Space")
    status = page.get_by_role("status").inner_text()
    assert "registrerat som synpunkt" in status
    with ctx_of(app).sessions() as session:
        record = session.get_one(MessageRecord, mail.question)
        assert record.disposition is Disposition.CASE and record.case_id is not None
        registered = session.get_one(Case, record.case_id)
        assert registered.kind is CaseKind.OPINION and status.startswith(registered.reference)
        new_id = registered.id
    assert _row(page, f"Meddelande nr {mail.question}").count() == 0
    _no_violations(page, "Granska after withdraw and register")
    screenshot(page, "granska-after-register")

    # The case pages in their new states: withdrawn, and registered by hand from a message.
    page.goto(f"/arenden/{mail.complaint}")
    assert "Makulerat" in page.get_by_role("main").inner_text()
    _no_violations(page, "a withdrawn case")
    screenshot(page, "case-withdrawn")
    page.goto(f"/arenden/{new_id}")
    assert "Hej, när har ni öppet på kommunhuset i jul?" in page.get_by_role("main").inner_text()
    _no_violations(page, "a case registered from the queue")
    screenshot(page, "case-registered")


def test_the_case_page_with_the_citizens_text_and_every_correction_open(
    page,  # type: ignore[no-untyped-def]
    app: FastAPI,
    mail: Mail,
) -> None:
    _sign_in_by_keyboard(page, app, "chef@testby.se")
    page.goto(f"/arenden/{mail.complaint}")
    main = page.get_by_role("main")
    text = main.get_by_role("region", name="Medborgarens text")
    assert "<script>alert(1)</script>" in text.inner_text()  # typed by the citizen, as text
    assert page.title() != "stulen"  # the script in the message never ran
    assert main.get_by_role("link", name="Foto av gatan.pdf").count() == 1
    assert main.get_by_role("link", name="Originalmeddelandet (.eml)").count() == 1
    _no_violations(page, "the case page")
    for summary in main.locator("summary").all():  # every confirmation open at once
        tab_to(page, summary)
        page.keyboard.press("Enter")
    # confirm, change kind, withdraw, assign, vård och omsorg, merge
    assert main.locator("details[open]").count() == 6
    _no_violations(page, "the case page with every correction open")
    screenshot(page, "case-corrections-open")

    # Merge the opinion into the complaint (typed by keyboard), then look at both pages.
    page.goto(f"/arenden/{mail.opinion}")
    tab_to(page, main.locator("summary", has_text="Sammanför"))
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type(mail.complaint_ref)
    _submit(page, "Enter")  # submits the form from its text field
    assert "sammanfört med" in page.get_by_role("status").inner_text()
    assert main.get_by_role("link", name=mail.complaint_ref).count() >= 1
    _no_violations(page, "a merged case")
    screenshot(page, "case-merged")


def test_axe_finds_what_it_should(page, app: FastAPI, mail: Mail) -> None:  # type: ignore[no-untyped-def]
    """The check above is not empty: a control without a name and an image without a text
    on the same page are reported."""
    _sign_in_by_keyboard(page, app, "anna@testby.se")
    page.goto("/granska")
    page.evaluate(
        """() => {
            const main = document.querySelector('main');
            main.insertAdjacentHTML('beforeend', '<img src="/static/x.png"><button></button>');
        }"""
    )
    found = " ".join(axe_violations(page))
    assert "image-alt" in found and "button-name" in found
