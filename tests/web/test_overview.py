"""Översikt: each person sees their mailboxes; red where a rule is broken."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.registry.absences import add_absence
from postvakt.registry.cases import add_event
from postvakt.registry.models import (
    Case,
    CaseStatus,
    Disposition,
    EventKind,
    Mailbox,
    MessageRecord,
)
from tests.web.support import NOW, Cases, ctx_of, sign_in


def _row(html: str, address: str) -> str:
    """The mailbox table's row of ``address`` (its first cell shows the name beside it)."""
    table = html[html.index('id="brevlador"') :]
    start = table.index(f'<span class="addr">{address}</span>')
    return table[table.rindex("<tr", 0, start) : table.index("</tr>", start)]


@pytest.mark.parametrize(
    ("address", "kontakt", "bygglov"),
    [
        ("anna@testby.se", True, False),  # owner of kontakt@
        ("bo@testby.se", False, True),  # owner of bygglov@
        ("chef@testby.se", True, False),  # head of Kontaktcenter
        ("kd@testby.se", True, True),  # head above both
        ("registrator@testby.se", False, False),
    ],
)
def test_each_sees_their_mailboxes(
    client: TestClient, address: str, kontakt: bool, bygglov: bool
) -> None:
    sign_in(client, address)
    page = client.get("/").text
    assert ("kontakt@testby.se" in page) is kontakt
    assert ("bygglov@testby.se" in page) is bygglov


def test_an_overdue_case_makes_its_mailbox_red(
    client: TestClient, app: FastAPI, cases: Cases
) -> None:
    with ctx_of(app).sessions() as session, session.begin():
        case = session.get(Case, cases.kontakt)
        assert case is not None
        case.mailbox_id = session.scalars(
            select(Mailbox.id).where(Mailbox.address == "kontakt@testby.se")
        ).one()
        case.answer_due = case.ack_due = date(2026, 11, 23)
    sign_in(client, "chef@testby.se")
    page = client.get("/").text
    row = _row(page, "kontakt@testby.se")
    assert 'class="broken"' in row and "Regel bruten" in row
    assert 'data-count="overdue" class="bad-text">1</a>' in row  # one case, two deadlines
    assert "23 november 2026" in row
    soon = page.split('id="snart-forsenat"')[1].split("</table>")[0]
    assert cases.kontakt_ref in soon and "försenat" in soon
    assert "tidsgräns inom 1 arbetsdag</h2>" in page  # the noun in the right number
    assert "Visa det försenade ärendet (1)" in page and "Visa alla 1" not in page


def test_nobody_present_is_a_coverage_gap(client: TestClient, app: FastAPI) -> None:
    ctx = ctx_of(app)
    with ctx.sessions() as session, session.begin():
        for person, substitute in (
            ("anna@testby.se", "bo@testby.se"),
            ("cecilia@testby.se", "bo@testby.se"),
        ):
            add_absence(
                session,
                ctx.config,
                person=person,
                kind="sjukdom",
                start=date(2026, 11, 24),
                end=date(2026, 11, 27),
                substitutes=[substitute],
                actor="chef@testby.se",
                now=ctx.now(),
            )
    sign_in(client, "chef@testby.se")
    row = _row(client.get("/").text, "kontakt@testby.se")
    assert "Ingen ansvarig är på plats i dag." in row and "Regel bruten" in row
    assert row.count('täcks av <span class="who">Bo Bygg') == 2


def _after_the_answer(app: FastAPI, cases: Cases) -> list[int]:
    """Each case's citizen writes again after its answer, to kontakt@ (the second case
    private): the messages' numbers."""
    ids = []
    with ctx_of(app).sessions() as session, session.begin():
        kontakt = session.scalars(
            select(Mailbox).where(Mailbox.address == "kontakt@testby.se")
        ).one()
        for number, (case_id, private) in enumerate(
            ((cases.kontakt, False), (cases.bygglov, True))
        ):
            case = session.get(Case, case_id)
            assert case is not None
            case.status, case.private = CaseStatus.ANSWERED, private
            add_event(
                session,
                case,
                EventKind.ANSWERED,
                actor="anna@testby.se",
                at=NOW - timedelta(days=2),
                detail="Svar",
            )
            record = MessageRecord(
                mailbox_id=kontakt.id,
                folder="INBOX",
                message_key=f"later-{number}",
                subject=f"Fråga {number} efter svaret",
                sender_address=case.sender_address,
                received_at=NOW - timedelta(days=1),
                processed_at=NOW - timedelta(days=1),
                disposition=Disposition.FOLLOWUP,
                reply_due=date(2026, 11, 30),
                case_id=case_id,
            )
            session.add(record)
            session.flush()
            ids.append(record.id)
    return ids


def test_a_message_after_the_answer_is_listed_with_its_case_unless_private(
    client: TestClient, app: FastAPI, cases: Cases
) -> None:
    """A citizen who writes again after the answer waits for a reply: Översikt lists the
    message with a link to its case; a private case's message is left to its handler."""
    later, private = _after_the_answer(app, cases)
    sign_in(client, "kd@testby.se")  # sees both units' mailboxes
    page = client.get("/").text
    listed = page.split('id="meddelanden"')[1]
    assert (
        f'<a href="/arenden/{cases.kontakt}">Nytt meddelande i {cases.kontakt_ref} efter svaret: '
        f"Fråga 0 efter svaret från karin.ek@example.net</a> (nr {later})" in listed
    )
    # the private case's is listed (the row counts it) by its number only, with no link
    assert (
        f'<td data-label="Meddelande">Nytt meddelande i {cases.bygglov_ref} efter svaret (nr {private})</td>'
        in listed
    )
    assert "Fråga 1" not in page and f'href="/arenden/{cases.bygglov}"' not in listed
    row = _row(page, "kontakt@testby.se")
    assert "2 obesvarade meddelanden" in listed and ">2<" in row


def _flash(html: str) -> str:
    match = re.search(r'<div class="flash [a-z]+" role="(?:status|alert)">(.*?)</div>', html, re.S)
    assert match, "no message on the page"
    return match.group(1)


def test_a_message_answered_by_telephone_is_marked_so_from_the_overview(
    client: TestClient, app: FastAPI, cases: Cases
) -> None:
    later, private = _after_the_answer(app, cases)
    action = f"/meddelanden/{later}/besvarat"
    csrf = sign_in(client, "bo@testby.se")  # Bygglov's: no right to kontakt@'s case
    refused = client.post(action, data={"csrf": csrf, "how": "x"}, follow_redirects=False)
    assert refused.status_code == 403
    csrf = sign_in(client, "registrator@testby.se")  # reads every case, answers none
    refused = client.post(action, data={"csrf": csrf, "how": "x"}, follow_redirects=False)
    assert refused.status_code == 403
    csrf = sign_in(client, "anna@testby.se")
    page = client.get("/").text
    # offered by the rule the action keeps: not for the private case she may not open
    assert f'action="{action}"' in page
    assert f'action="/meddelanden/{private}/besvarat"' not in page
    empty = client.post(action, data={"csrf": csrf, "how": " "})
    assert _flash(empty.text).startswith("Skriv hur meddelandet besvarades")
    page = client.post(action, data={"csrf": csrf, "how": "besvarat per telefon"}).text
    assert f"Meddelande nr {later} i {cases.kontakt_ref} räknas som besvarat" in _flash(page)
    assert f'action="{action}"' not in page and "Fråga 0" not in page
    with ctx_of(app).sessions() as session:
        record = session.get_one(MessageRecord, later)
        assert (record.answered_by, record.answered_note) == (
            "anna@testby.se",
            "besvarat per telefon",
        )
        assert record.answered_at == NOW
        handler = session.get_one(Case, cases.bygglov).handler
    assert handler == "bo@testby.se"


def test_the_handler_stops_the_clock_from_the_case_page(
    client: TestClient, app: FastAPI, cases: Cases
) -> None:
    """The handler is reminded with a link to the case: its page offers the same, though the
    message came to a mailbox they do not read."""
    _later, private = _after_the_answer(app, cases)
    csrf = sign_in(client, "bo@testby.se")
    page = client.get(f"/arenden/{cases.bygglov}").text
    waiting = page.split('id="vantar-svar"')[1].split("</section>")[0]
    assert f"Nr {private}" in waiting and "Fråga 1 efter svaret" in waiting
    assert f'action="/meddelanden/{private}/besvarat"' in waiting
    done = client.post(
        f"/meddelanden/{private}/besvarat",
        data={"csrf": csrf, "how": "ett tack, behöver inget svar", "case": str(cases.bygglov)},
    )
    assert str(done.url).endswith(f"/arenden/{cases.bygglov}")
    assert f"Meddelande nr {private} i {cases.bygglov_ref} räknas som besvarat" in _flash(done.text)
    assert 'id="vantar-svar"' not in done.text
    assert "räknas som besvarat: ett tack, behöver inget svar" in done.text  # the events


def test_a_withdrawn_cases_message_is_a_message_again_not_one_waiting_in_the_case(
    client: TestClient, app: FastAPI, cases: Cases
) -> None:
    with ctx_of(app).sessions() as session, session.begin():
        case = session.get_one(Case, cases.kontakt)
        case.status = CaseStatus.WITHDRAWN
        record = MessageRecord(
            mailbox_id=session.scalars(
                select(Mailbox.id).where(Mailbox.address == "kontakt@testby.se")
            ).one(),
            folder="INBOX",
            message_key="own",
            subject="Snön på Storgatan",
            sender_address=case.sender_address,
            received_at=NOW - timedelta(days=1),
            processed_at=NOW - timedelta(days=1),
            disposition=Disposition.NOT_CASE,  # as withdrawing leaves it, its case's id kept
            reply_due=date(2026, 11, 30),
            case_id=case.id,
        )
        session.add(record)
        session.flush()
        number = record.id
    sign_in(client, "anna@testby.se")
    assert 'id="vantar-svar"' not in client.get(f"/arenden/{cases.kontakt}").text
    listed = client.get("/").text.split('id="meddelanden"')[1]
    assert f"Snön på Storgatan från karin.ek@example.net (nr {number})" in listed
    assert f'action="/meddelanden/{number}/besvarat"' in listed
