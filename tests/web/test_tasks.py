"""Mina uppgifter (/uppgifter): each person's own cases and callbacks by deadline, their
unopened mailboxes, their review queue, the delegations waiting for their approval and the
registrar's diary — every row a link that opens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.clock import STOCKHOLM
from postvakt.delegation import emergency
from postvakt.registry.absences import add_absence
from postvakt.registry.callbacks import CallbackRequest
from postvakt.registry.cases import add_event
from postvakt.registry.models import (
    Case,
    CaseStatus,
    Disposition,
    EventKind,
    Mailbox,
    MessageRecord,
)
from postvakt.rules.daily_open import record_check
from tests.web.support import NOW, PASSWORD, add_accounts, csrf_of, ctx_of, sign_in

TODAY = NOW.date()  # Tuesday 24 November 2026


@dataclass(frozen=True)
class Seeded:
    late: int
    today: int
    week: int
    later: int
    standing_in: int
    cecilias: int
    unhandled: int
    review: int
    callback_late: int
    callback_today: int
    absence: int


def _case(
    app: FastAPI,
    summary: str,
    *,
    kind: str = "opinion",
    unit: str = "Kontaktcenter",
    actor: str = "anna@testby.se",
) -> int:
    ctx = ctx_of(app)
    made = ctx.casework.add(
        kind=kind,
        channel="letter",
        summary=summary,
        unit=unit,
        actor=actor,
        email="medborgare@example.net",
        name="Karin Ek",
    )
    with ctx.sessions() as session:
        return session.scalars(select(Case.id).where(Case.reference == made.case)).one()


def _set(app: FastAPI, case_id: int, **values: object) -> None:
    with ctx_of(app).sessions() as session, session.begin():
        case = session.get_one(Case, case_id)
        for key, value in values.items():
            setattr(case, key, value)


def _callback(app: FastAPI, about: str, due: date) -> int:
    ctx = ctx_of(app)
    callbacks = ctx.service.callbacks
    assert callbacks is not None
    made = callbacks.add(
        for_address="anna@testby.se", phone="070-123 45 67", about=about, by="cecilia@testby.se"
    )
    with ctx.sessions() as session, session.begin():
        session.get_one(CallbackRequest, made.view.id).due = due
    return made.view.id


@pytest.fixture
def seeded(app: FastAPI) -> Seeded:
    late = _case(app, "Försenat klagomål om gatlyktor", kind="complaint")
    _set(app, late, ack_due=date(2026, 11, 20), answer_due=date(2026, 12, 1))
    today = _case(app, "Svar i dag om parkering")
    _set(app, today, answer_due=TODAY)
    week = _case(app, "Svar på torsdag om bibliotekets öppettider")
    _set(app, week, answer_due=date(2026, 11, 26))
    later = _case(app, "Svar nästa vecka om skolskjuts")
    _set(app, later, answer_due=date(2026, 12, 3))
    standing_in = _case(
        app, "Cecilias ärende som Anna tar under frånvaron", actor="cecilia@testby.se"
    )
    _set(
        app,
        standing_in,
        handler="anna@testby.se",
        regular_handler="cecilia@testby.se",
        answer_due=date(2026, 11, 25),
    )
    cecilias = _case(app, "Cecilias eget ärende", actor="cecilia@testby.se")
    _set(app, cecilias, handler="cecilia@testby.se", answer_due=date(2026, 11, 25))
    unhandled = _case(app, "Ärende i kontaktcenters brevlåda utan handläggare")
    review = _case(app, "Osäkert ärende om bygglov", unit="Bygglov", actor="bo@testby.se")
    ctx = ctx_of(app)
    with ctx.sessions() as session, session.begin():
        kontakt = session.scalars(
            select(Mailbox).where(Mailbox.address == "kontakt@testby.se")
        ).one()
        bygglov = session.scalars(
            select(Mailbox).where(Mailbox.address == "bygglov@testby.se")
        ).one()
        case = session.get_one(Case, unhandled)
        case.handler, case.mailbox_id, case.answer_due = None, kontakt.id, date(2026, 11, 27)
        session.get_one(Case, review).needs_review = True
        record_check(session, kontakt, TODAY, False, "inget läst sedan i går", NOW)
        record_check(session, bygglov, TODAY, True, "öppnad 08:12", NOW)
        absence = add_absence(
            session,
            ctx.config,
            person="cecilia@testby.se",
            kind="sjukdom",
            start=TODAY,
            end=date(2026, 11, 27),
            substitutes=["anna@testby.se"],
            actor="kd@testby.se",
            now=NOW,
        )
        emergency.order(ctx.config, absence, actor="kd@testby.se", now=NOW)
        absence_id = absence.id
    return Seeded(
        late=late,
        today=today,
        week=week,
        later=later,
        standing_in=standing_in,
        cecilias=cecilias,
        unhandled=unhandled,
        review=review,
        callback_late=_callback(app, "Ville prata om sophämtningen", date(2026, 11, 23)),
        callback_today=_callback(app, "Frågar om bygglovet", TODAY),
        absence=absence_id,
    )


def _main(html: str) -> str:
    match = re.search(r"<main.*?</main>", html, re.S)
    assert match
    return match.group(0)


def _section(html: str, gid: str) -> str:
    """The group's table, from its heading to the end of its table."""
    match = re.search(rf'<h3 id="{gid}">.*?</table>', html, re.S)
    assert match, f"no group {gid}"
    return match.group(0)


def _links(html: str) -> list[str]:
    return re.findall(r'href="(/[^"]*)"', _main(html))


def _opens(client: TestClient, html: str) -> None:
    """Every link on the page opens (200) for the person who sees it."""
    for link in dict.fromkeys(_links(html)):
        response = client.get(link.partition("#")[0])
        assert response.status_code == 200, (link, response.status_code)


def test_sign_in_lands_on_mina_uppgifter(client: TestClient) -> None:
    add_accounts(client.app, ("anna@testby.se",))  # type: ignore[arg-type]
    csrf = csrf_of(client.get("/logga-in").text)
    response = client.post(
        "/logga-in",
        data={"address": "anna@testby.se", "password": PASSWORD, "csrf": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/uppgifter"
    assert client.get("/logga-in", follow_redirects=False).headers["location"] == "/uppgifter"
    page = client.get("/uppgifter")
    nav = re.search(r'<nav aria-label="Huvudmeny">.*?</nav>', page.text, re.S)
    assert nav
    items = re.findall(r"<li><a href=\"([^\"]+)\"", nav.group(0))
    assert items[:2] == ["/uppgifter", "/"]  # first in the menu; Översikt stays reachable
    assert 'href="/uppgifter" aria-current="page"' in nav.group(0)


def test_a_handler_sees_their_cases_and_callbacks_grouped_by_deadline(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, "anna@testby.se")
    html = client.get("/uppgifter").text
    main = _main(html)
    headings = re.findall(r'<h3 id="(\w+)">', main)
    assert headings == ["late", "today", "week", "later"]

    def ids(gid: str) -> list[str]:
        return re.findall(r'href="(/[^"]+)"', _section(main, gid))

    # The nearest deadline first (20 November before 23 November); on the same day the
    # callback first (a citizen waits by the phone).
    assert ids("late") == [
        f"/arenden/{seeded.late}",
        f"/aterringningar#aterringning-{seeded.callback_late}",
    ]
    assert ids("today") == [
        f"/aterringningar#aterringning-{seeded.callback_today}",
        f"/arenden/{seeded.today}",
    ]
    # This week: Wednesday's case (standing in for Cecilia), then Thursday's, then Friday's
    # case of Anna's function mailbox that nobody handles.
    assert ids("week") == [
        f"/arenden/{seeded.standing_in}",
        f"/arenden/{seeded.week}",
        f"/arenden/{seeded.unhandled}",
    ]
    assert ids("later") == [f"/arenden/{seeded.later}"]
    # Another person's case, and a case of another unit waiting for review, are not Anna's.
    assert f'/arenden/{seeded.cecilias}"' not in main
    # Overdue is said in words, not only in red; the deadline as people write dates.
    late = _section(main, "late")
    assert late.count('class="broken"') == 2
    assert late.count('<span class="badge bad">Försenat</span>') == 2
    assert "20 november 2026" in late and "Bekräftelse till den klagande" in late
    assert "23 november 2026" in late and "Ring upp" in late
    assert "I dag" in _section(main, "today")
    assert 'För <span class="who">Cecilia Ek' in _section(main, "week")
    assert "Synpunkter och klagomål –" not in main  # the headings' common prefix is left out
    assert "Inget att göra i dag" not in main
    # Every cell is labelled for the phone layout, and every table is wrapped.
    assert main.count("<td") == main.count("<td data-label=")
    assert main.count('<div class="table">') == main.count("<table")
    _opens(client, html)


def test_a_mailbox_owner_sees_the_mailbox_not_opened_today(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, "cecilia@testby.se")  # owns kontakt@ with Anna
    html = client.get("/uppgifter").text
    main = _main(html)
    section = re.search(r'<section aria-labelledby="brevlador">.*?</section>', main, re.S)
    assert section, "no unopened mailbox"
    assert 'href="/#brevlada-kontakt@testby.se"' in section.group(0)
    assert "inget läst sedan i går" in section.group(0)
    assert 'id="brevlada-kontakt@testby.se"' in client.get("/").text  # the link lands on the row
    # Cecilia's own case, and the unhandled case of her mailbox; not the one Anna took over.
    assert f'href="/arenden/{seeded.cecilias}"' in main
    assert f'href="/arenden/{seeded.unhandled}"' in main
    assert f'href="/arenden/{seeded.standing_in}"' not in main
    _opens(client, html)

    # Bo's mailbox was opened: nothing about mailboxes for him.
    bo = TestClient(client.app)
    sign_in(bo, "bo@testby.se")
    assert 'aria-labelledby="brevlador"' not in bo.get("/uppgifter").text


def test_a_unit_head_sees_the_review_queue_and_the_approval_waiting(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, "chef@testby.se")  # heads Kontaktcenter: Cecilia's head
    html = client.get("/uppgifter").text
    main = _main(html)
    approval = re.search(r'<section aria-labelledby="godkann">.*?</section>', main, re.S)
    assert approval, "the emergency delegation waiting for the head is not shown"
    assert f'href="/franvaro#franvaro-{seeded.absence}"' in approval.group(0)
    assert "Cecilia Eks e-post" in approval.group(0) and "Gäller inte förrän" in approval.group(0)
    frånvaro = client.get("/franvaro").text
    assert f'id="franvaro-{seeded.absence}"' in frånvaro  # the link lands on the row
    # The review case is in Bygglov: not this head's.
    assert 'aria-labelledby="granska"' not in main
    _opens(client, html)

    head = TestClient(client.app)
    sign_in(head, "bchef@testby.se")  # heads Bygglov
    html = head.get("/uppgifter").text
    review = re.search(r'<section aria-labelledby="granska">.*?</section>', html, re.S)
    assert review, "the Bygglov head's review queue is not shown"
    assert 'href="/granska"' in review.group(0) and "1 ärende eller meddelande" in review.group(0)
    assert f'href="/arenden/{seeded.review}"' in review.group(0)
    assert 'aria-labelledby="godkann"' not in html  # Cecilia's head approves, not Bygglov's
    _opens(head, html)


def test_the_registrar_sees_the_diary_and_everything_to_review(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, "registrator@testby.se")
    html = client.get("/uppgifter").text
    main = _main(html)
    with ctx_of(client.app).sessions() as session:  # type: ignore[arg-type]
        waiting = len(
            list(
                session.scalars(
                    select(Case.id).where(
                        Case.registrar_status != "none", Case.diary_entered_at.is_(None)
                    )
                )
            )
        )
    assert waiting > 0
    diary = re.search(r'<section aria-labelledby="diariet">.*?</section>', main, re.S)
    assert diary and f"{waiting} ärenden väntar" in diary.group(0)
    assert 'href="/registrator"' in diary.group(0)
    assert f'href="/arenden/{seeded.review}"' in main  # the registrar reviews every unit's
    assert 'id="late"' not in main  # handles no case
    _opens(client, html)


def test_nothing_to_do_says_so(client: TestClient) -> None:
    sign_in(client, "bchef@testby.se")
    main = _main(client.get("/uppgifter").text)
    assert "Inget att göra i dag" in main
    assert "<table" not in main


def test_a_callback_overdue_at_midnight_moves_group(app: FastAPI, seeded: Seeded) -> None:
    """The groups follow the clock passed in: the next day, today's items are overdue."""
    from postvakt.clock import fixed_clock
    from postvakt.web import create_app

    later = create_app(
        ctx_of(app).config,
        clock=fixed_clock(datetime(2026, 11, 25, 9, 0, tzinfo=STOCKHOLM)),
        environ={},
    )
    try:
        with TestClient(later) as client:
            sign_in(client, "anna@testby.se")
            late = _section(_main(client.get("/uppgifter").text), "late")
            assert f"/aterringningar#aterringning-{seeded.callback_today}" in late
            assert f"/arenden/{seeded.today}" in late
    finally:
        later.state.ctx.close()


def test_a_question_after_the_answer_is_on_the_handlers_list(
    client: TestClient, app: FastAPI
) -> None:
    """The case is answered and off the list; what its citizen wrote after is the handler's
    to answer, with its own deadline, and links to where it waits on the case's page."""
    answered = _case(app, "Besvarat ärende om snöröjningen")
    others = _case(app, "Cecilias besvarade ärende", actor="cecilia@testby.se")
    with ctx_of(app).sessions() as session, session.begin():
        kontakt = session.scalars(
            select(Mailbox.id).where(Mailbox.address == "kontakt@testby.se")
        ).one()
        for number, (case_id, handler) in enumerate(
            ((answered, "anna@testby.se"), (others, "cecilia@testby.se"))
        ):
            case = session.get_one(Case, case_id)
            case.status, case.handler = CaseStatus.ANSWERED, handler
            add_event(
                session,
                case,
                EventKind.ANSWERED,
                actor=handler,
                at=NOW.replace(hour=8),
                detail="Svar",
            )
            session.add(
                MessageRecord(
                    mailbox_id=kontakt,
                    folder="INBOX",
                    message_key=f"after-{number}",
                    subject=f"En fråga till ({number})",
                    sender_address=case.sender_address,
                    received_at=NOW.replace(hour=9),
                    processed_at=NOW.replace(hour=9),
                    disposition=Disposition.FOLLOWUP,
                    reply_due=date(2026, 12, 1),
                    case_id=case_id,
                )
            )
    sign_in(client, "anna@testby.se")
    html = client.get("/uppgifter").text
    later = _section(_main(html), "later")
    assert f'href="/arenden/{answered}#vantar-svar"' in later
    assert "Svar på nytt meddelande" in later and "En fråga till (0)" in later
    assert "1 december 2026" in later
    assert "En fråga till (1)" not in html  # Cecilia's case: hers
    _opens(client, html)
