"""Every page of the dashboard, in every state worth looking at, in one list — for the phone
and accessibility checks in test_phone.py (and anything else that should walk them all).

A new page gets a line in :data:`PAGES`; ``test_every_page_is_in_the_list`` fails while a GET
route or a page template is missing from it.  :func:`seed` fills the test municipality with
what makes pages wide on a phone: long subjects and compound words, long names and
addresses, 60+ cases, a case with its letters, attachments and events, callbacks, absences
and a review queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import select

from postvakt.config import Config, load_config
from postvakt.delegation import emergency
from postvakt.registry.absences import add_absence
from postvakt.registry.callbacks import CallbackRequest
from postvakt.registry.models import Case, Mailbox
from tests.web.mail import mail_of, mailed_config, put_in_review
from tests.web.support import NOW, ctx_of

CHEF = "chef@testby.se"
REGISTRAR = "registrator@testby.se"
LONG_PERSON = "maria-josefina.andersson-lindqvist@socialforvaltningen.testby.se"
LONG_MAILBOX = "synpunkter-och-klagomal.kontaktcenter.exempelby@testby.se"
LONG_CITIZEN = (
    "kristina.lindqvist-oskarsson.bostadsanpassning@kommunforbundet-exempellan.example.org"
)
LONG_SUBJECT = (
    "Återkommande problem med snöröjningen och halkbekämpningen på gång- och cykelvägen "
    "mellan Norra Exempelbyskolan och idrottsplatsen – bostadsanpassningsbidragshandläggningen "
    "tar också orimligt lång tid (ärende 2026-000123-BAB-ÖVERKLAGANDE)"
)
TODAY = NOW.date()

LONG_CONFIG = f"""
[[people]]
name = "Maria-Josefina Andersson-Lindqvist"
address = "{LONG_PERSON}"
unit = "Kontaktcenter"
title = "Handläggare för bostadsanpassningsbidrag och färdtjänstärenden"

[[mailboxes]]
address = "{LONG_MAILBOX}"
start_from = 2026-01-01
name = "Synpunkter och klagomål, Kontaktcenter Exempelby"
kind = "function"
unit = "Kontaktcenter"
owners = ["{CHEF}", "{LONG_PERSON}"]
connector = "maildir"

[mailboxes.maildir]
path = "mail/synpunkter"
"""


def long_config(root: Path) -> Config:
    """The test municipality with its mail read, a person and a mailbox with long names."""
    mailed_config(root)
    for sub in ("cur", "new", "tmp"):
        (root / "mail" / "synpunkter" / sub).mkdir(parents=True, exist_ok=True)
    with (root / "postvakt.toml").open("a", encoding="utf-8") as file:
        file.write(LONG_CONFIG)
    return load_config(root / "postvakt.toml")


@dataclass(frozen=True)
class Seeded:
    ids: dict[str, int] = field(default_factory=dict)
    """What the page paths name: 'brev' (a case with letters, attachments and events),
    'lang' (a case with a long subject and address), 'franvaro' (an absence)."""


SUBJECTS = (
    "Snöröjningen på Björkvägen",
    "Felaktig parkeringsbot på Kyrkogatan trots giltigt parkeringstillstånd",
    "Synpunkt på skolmaten – mer vegetariskt?",
    "Potthål på cykelvägen längs Åvägen",
    "Bygglovshandläggningstiderna och kommunikationen med sökande",
    "Trasig gatubelysning vid busshållplatsen Centralstationsgatan",
    LONG_SUBJECT,
)
HANDLERS = (CHEF, "anna@testby.se", LONG_PERSON, None)


def seed(app: FastAPI, n: int = 64) -> Seeded:
    """``n`` registered cases besides the test mail, every third one overdue."""
    ctx = ctx_of(app)
    mail = mail_of(ctx.sessions)
    put_in_review(app, mail)
    made: list[str] = []
    for i in range(n):
        done = ctx.casework.add(
            kind="complaint" if i % 2 else "opinion",
            channel=("phone", "letter", "visit")[i % 3],
            summary=f"{SUBJECTS[i % len(SUBJECTS)]} ({i + 1})",
            unit="Bygglov" if i % 9 == 8 else "Kontaktcenter",
            actor=CHEF,
            email=LONG_CITIZEN if i % 4 == 0 else f"medborgare{i}@example.net",
            name="Kristina Lindqvist-Oskarsson" if i % 4 == 0 else None,
            received_at=NOW - timedelta(days=i % 40, hours=i % 7),
        )
        made.append(done.case)
    with ctx.sessions() as session, session.begin():
        long_box = session.scalars(select(Mailbox).where(Mailbox.address == LONG_MAILBOX)).one()
        cases = {c.reference: c for c in session.scalars(select(Case))}
        for i, reference in enumerate(made):
            case = cases[reference]
            case.handler = (
                HANDLERS[i % len(HANDLERS)] if case.unit.name == "Kontaktcenter" else None
            )
            if i % 5 == 0:
                case.mailbox_id = long_box.id
            if i % 3 == 0:
                case.answer_due = TODAY - timedelta(days=1 + i % 10)
            if i % 11 == 0:
                case.needs_review = True
        long_case = cases[made[len(SUBJECTS) - 1]].id
        absence = add_absence(
            session,
            ctx.config,
            person="cecilia@testby.se",
            kind="sjukdom",
            start=TODAY,
            end=TODAY + timedelta(days=10),
            substitutes=[LONG_PERSON],
            actor=CHEF,
            now=NOW,
        )
        emergency.order(ctx.config, absence, actor=CHEF, now=NOW)
        absence_id = absence.id
        add_absence(
            session,
            ctx.config,
            person="anna@testby.se",
            kind="semester",
            start=TODAY + timedelta(days=3),
            end=date(2026, 12, 18),
            substitutes=[LONG_PERSON, "cecilia@testby.se"],
            actor=CHEF,
            now=NOW,
        )
    callbacks = ctx.service.callbacks
    assert callbacks is not None
    for i, about in enumerate(
        (
            "Vill prata om beslutet om bostadsanpassningsbidraget och överklagandetiden",
            "Frågar om bygglovet",
            LONG_SUBJECT,
        )
    ):
        view = callbacks.add(
            for_address=(CHEF, LONG_PERSON, "anna@testby.se")[i],
            phone="+46 70-123 45 67",
            about=about,
            by="cecilia@testby.se",
            name="Kristina Lindqvist-Oskarsson",
        ).view
        with ctx.sessions() as session, session.begin():
            session.get_one(CallbackRequest, view.id).due = TODAY - timedelta(days=i - 1)
    # The mail complaint gets an answer (a letter) and a note: its page has every part.
    ctx.casework.answer(
        mail.complaint_ref,
        actor=CHEF,
        text="Tack för att du hörde av dig. Vi har pratat med entreprenören om snöröjningen "
        "och plogningen på Björkvägen prioriteras från och med nu.",
    )
    return Seeded({"brev": mail.complaint, "lang": long_case, "franvaro": absence_id})


@dataclass(frozen=True)
class Shown:
    """One page in one state: who looks (an address, or '' signed out), the path (with
    ``{brev}``-style names from :class:`Seeded`), the status it answers with, the template
    that draws it, and what to do on it first (e.g. tick cases and go on)."""

    name: str
    path: str
    who: str
    template: str
    status: int = 200
    then: Callable[..., None] | None = None

    def url(self, seeded: Seeded) -> str:
        return self.path.format(**seeded.ids)


def _bulk_confirmation(page) -> None:  # type: ignore[no-untyped-def]
    """Tick the first three cases on the list and ask to confirm them: the confirmation page."""
    for box in page.get_by_role("checkbox", name="Markera").all()[:3]:
        box.check()
    page.get_by_label("Åtgärd").select_option(label="Bekräfta bedömningen")
    with page.expect_navigation():
        page.get_by_role("button", name="Fortsätt").click()


def _absence_preview(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Person").select_option(label="Anna Berg (Kontaktcenter)")
    page.get_by_label("Sorts frånvaro").select_option(label="Semester")
    page.get_by_label("Första dagen borta").fill(TODAY.isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Förhandsgranska").click()


def _every_correction_open(page) -> None:  # type: ignore[no-untyped-def]
    for summary in page.get_by_role("main").locator("summary").all():
        summary.click()


UNEXPECTED = "/prov/ovantat-fel"
"""A route test_phone adds that fails: the 500 page."""

PAGES: tuple[Shown, ...] = (
    Shown("Logga in", "/logga-in", "", "login.html"),
    Shown("Mina uppgifter", "/uppgifter", CHEF, "tasks.html"),
    Shown("Översikt", "/", CHEF, "overview.html"),
    Shown(
        "Översikt, besvarat på annat sätt öppet",
        "/",
        CHEF,
        "_answered_otherwise.html",
        then=_every_correction_open,
    ),
    Shown("Ärenden", "/arenden", CHEF, "cases.html"),
    Shown("Ärenden, alla, sida 2", "/arenden?status=all&sida=2&sortera=svar", CHEF, "cases.html"),
    Shown("Ärenden, ingen träff", "/arenden?q=finns-inte-alls", CHEF, "cases.html"),
    Shown("Markerade ärenden", "/arenden", CHEF, "case_bulk.html", then=_bulk_confirmation),
    Shown("Ärende med brev och händelser", "/arenden/{brev}", CHEF, "case.html"),
    Shown(
        "Ärende, alla rättelser öppna",
        "/arenden/{brev}",
        CHEF,
        "_case_corrections.html",
        then=_every_correction_open,
    ),
    Shown("Ärende med lång rubrik och adress", "/arenden/{lang}", CHEF, "case.html"),
    Shown("Granska", "/granska", CHEF, "review.html"),
    Shown("Frånvaro", "/franvaro", CHEF, "absences.html"),
    Shown(
        "Frånvaro, förhandsgranskning", "/franvaro", CHEF, "absences.html", then=_absence_preview
    ),
    Shown("Frånvaro, ändra", "/franvaro/{franvaro}", CHEF, "absences.html"),
    Shown("Återuppringningar", "/aterringningar", CHEF, "callbacks.html"),
    Shown("Registrator", "/registrator", REGISTRAR, "registrar.html"),
    Shown("Sammanställning", "/sammanstallning", CHEF, "compilation.html"),
    Shown("Sidan finns inte", "/finns/inte", CHEF, "error.html", 404),
    Shown("Sidan finns inte, utloggad", "/finns-inte", "", "error.html", 404),
    Shown("Felaktigt värde i adressen", "/sammanstallning?year=förra", CHEF, "error.html", 422),
    Shown("Ingen behörighet", "/registrator", CHEF, "error.html", 403),
    Shown("Oväntat fel", UNEXPECTED, CHEF, "error.html", 500),
)

NOT_PAGES = {
    "/logga-in/oidc": "a redirect to the OpenID provider",
    "/logga-in/oidc/klar": "the OpenID provider's way back: a redirect",
    "/arenden/{case_id}/brev/{draft_id}": "a .docx download",
    "/arenden/{case_id}/original": "an .eml download",
    "/arenden/{case_id}/bilaga/{index}": "an attachment download",
    "/arenden/{case_id}/dokument/{event_id}": "a saved letter's download",
    "/sammanstallning/{year}.xlsx": "a spreadsheet download",
    "/sammanstallning/{year}.docx": "a .docx download",
    "/sammanstallning/{year}/{unit}.docx": "a .docx download",
    "/healthz": "a probe for the service manager: plain text",
    "/readyz": "a probe for the load balancer: plain text",
    "/metrics": "Prometheus's text format",
}
"""GET routes that are no page (downloads, redirects), each with why."""
