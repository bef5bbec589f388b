"""Granska och rätta on the web: confirm, change kind, withdraw, assign and merge from the
case page and the review queue, register, attach to its case or set aside a message that was
not made a case —
each a CSRF-protected POST, checked server-side, answered with a Swedish message after a
redirect; on SQLite and PostgreSQL, with mail read by the real intake."""

from __future__ import annotations

import html as html_text
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.config import Config
from postvakt.corrections.messages import OTHER_SENDER
from postvakt.registry.models import (
    Case,
    CaseKind,
    CaseStatus,
    Correction,
    Disposition,
    Draft,
    DraftStatus,
    EventKind,
    Mailbox,
    MessageRecord,
)
from tests.web.mail import ARRIVED, Mail, mail_of, mailed_config, put_in_review
from tests.web.support import ctx_of, sign_in


@pytest.fixture
def web_config(db_url: str, tmp_path: Path) -> Config:
    return mailed_config(tmp_path / "ws", db_url)


@pytest.fixture
def mail(app: FastAPI) -> Mail:
    found = mail_of(ctx_of(app).sessions)
    put_in_review(app, found)
    return found


def _case(app: FastAPI, case_id: int) -> Case:
    with ctx_of(app).sessions() as session:
        case = session.get_one(Case, case_id)
        _ = case.events, case.merged_into
        session.expunge_all()
        return case


def _record(app: FastAPI, record_id: int) -> MessageRecord:
    with ctx_of(app).sessions() as session:
        record = session.get_one(MessageRecord, record_id)
        session.expunge_all()
        return record


def _status(html: str) -> str:
    """The one-time message at the top of the page (role=status or alert)."""
    match = re.search(r'<div class="flash [a-z]+" role="(?:status|alert)">(.*?)</div>', html, re.S)
    assert match, "no message on the page"
    return html_text.unescape(re.sub(r"<[^>]+>", "", match.group(1)))


def _post(client: TestClient, path: str, csrf: str, **form: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf": csrf, **form}, follow_redirects=False)


def _queue(client: TestClient) -> list[str]:
    """The rows of Granska, in order: case numbers and 'nr N' for messages."""
    html = client.get("/granska").text
    return re.findall(r'<h2 id="rad-[a-z]+-\d+">(?:<a href="[^"]+">)?([^<]+)', html)


# ------------------------------------------------------------------------------- the queue


def test_the_queue_lists_what_each_person_may_correct_oldest_first(
    client: TestClient, mail: Mail
) -> None:
    sign_in(client, "anna@testby.se")
    assert _queue(client) == [
        mail.complaint_ref,
        mail.opinion_ref,
        f"Meddelande nr {mail.question} ",
    ]
    html = client.get("/granska").text
    assert "3 att granska." in html
    assert 'href="/granska" aria-current="page">Granska</a>' in html
    # The deadline that runs, the label, the probability, the reasons and the text's start.
    assert "26 november 2026" in html
    assert "klagomål, " in html and "\u00a0% säker" in html
    assert "för klagomål eller synpunkt" in html
    assert "Flaggat av</dt><dd>anna@testby.se" in html
    assert "Hej, när har ni öppet på kommunhuset i jul?" in html
    assert "Jag vill klaga på snöröjningen på Björkvägen." in html  # the citizen's words
    assert f'action="/arenden/{mail.complaint}/bekrafta"' in html
    assert f'action="/granska/meddelanden/{mail.question}/registrera"' in html
    assert f'action="/granska/meddelanden/{mail.question}/inte-arende"' in html
    assert f"/arenden/{mail.bygg}" not in html  # another unit's

    client.post("/logga-ut", data={"csrf": re.search(r'name="csrf" value="([^"]+)"', html)[1]})
    sign_in(client, "bo@testby.se")
    assert _queue(client) == [mail.bygg_ref]

    client.cookies.clear()
    sign_in(client, "registrator@testby.se")
    assert _queue(client) == [
        mail.complaint_ref,
        mail.opinion_ref,
        f"Meddelande nr {mail.question} ",
        mail.bygg_ref,
    ]

    client.cookies.clear()
    sign_in(client, "dan@testby.se")  # reads the unit's cases, corrects none
    assert _queue(client) == []
    assert "Inget att granska just nu." in client.get("/granska").text


def test_a_queue_longer_than_the_page_says_how_long_it_is(
    app: FastAPI, client: TestClient, mail: Mail
) -> None:
    """More to review than the page shows: the count is of them all, and the line says the
    page holds the oldest (it was counted after the cut, and so never said it)."""
    ctx = ctx_of(app)
    with ctx.sessions() as session, session.begin():
        kontakt = session.scalars(
            select(Mailbox.id).where(Mailbox.address == "kontakt@testby.se")
        ).one()
        session.add_all(  # flagged messages straight into the table: 2 cases + 1 + 198 = 201
            MessageRecord(
                mailbox_id=kontakt,
                folder="INBOX",
                message_key=f"flaggat-{n}",
                message_id=f"flaggat-{n}@example.org",
                sender_address=f"person{n}@example.org",
                subject=f"Fråga {n}",
                received_at=ARRIVED + timedelta(hours=1, minutes=n),
                processed_at=ARRIVED,
                disposition=Disposition.NOT_CASE,
                flagged_by="anna@testby.se",
                flagged_at=ARRIVED,
            )
            for n in range(198)
        )
    sign_in(client, "anna@testby.se")
    count = re.search(r'<p class="count">(.*?)</p>', client.get("/granska").text)
    assert count and count[1] == "201 att granska; här de 200 äldsta."
    rows = _queue(client)
    assert len(rows) == 200
    assert rows[:2] == [mail.complaint_ref, mail.opinion_ref]


# ------------------------------------------------------------------- corrections of a case


def test_a_handler_confirms_and_the_case_leaves_the_queue(
    app: FastAPI, client: TestClient, mail: Mail
) -> None:
    csrf = sign_in(client, "anna@testby.se")
    response = _post(client, f"/arenden/{mail.complaint}/bekrafta", csrf, tillbaka="granska")
    assert response.status_code == 303 and response.headers["location"] == "/granska"
    page = client.get("/granska").text
    assert (
        _status(page) == f"{mail.complaint_ref}: bekräftat som klagomål. Öppna {mail.complaint_ref}"
    )
    assert f'<a href="/arenden/{mail.complaint}">Öppna {mail.complaint_ref}</a>' in page
    assert mail.complaint_ref not in _queue(client)
    case = _case(app, mail.complaint)
    assert not case.needs_review and case.corrected_by == "anna@testby.se"
    assert case.events[-1].kind is EventKind.CONFIRMED
    # The case page says who corrected it.
    assert (
        'Rättat av <span class="who">Anna Berg <span class="addr">anna@testby.se</span></span>'
        in client.get(f"/arenden/{mail.complaint}").text
    )


def test_change_kind_acts_at_once_and_annat_withdraws(
    app: FastAPI, client: TestClient, mail: Mail
) -> None:
    csrf = sign_in(client, "chef@testby.se")
    response = _post(client, f"/arenden/{mail.complaint}/andra-typ", csrf, kind="synpunkt")
    assert response.headers["location"] == f"/arenden/{mail.complaint}"
    page = client.get(f"/arenden/{mail.complaint}").text
    assert _status(page).startswith(f"{mail.complaint_ref}: nu synpunkt; svar senast 2026-")
    case = _case(app, mail.complaint)
    assert case.kind is CaseKind.OPINION and case.ack_due is None
    # The page offers the kinds it is not: klagomål and annat, not synpunkt again.
    assert 'value="klagomal">Ändra till klagomål' in page
    assert 'value="synpunkt">Ändra till synpunkt' not in page

    _post(client, f"/arenden/{mail.complaint}/andra-typ", csrf, kind="annat")
    page = client.get(f"/arenden/{mail.complaint}").text
    assert _status(page).startswith(f"{mail.complaint_ref}: inte klagomål eller synpunkt")
    assert "tas bort ur Utkast-mappen vid nästa läsning" in _status(page)
    case = _case(app, mail.complaint)
    assert case.status is CaseStatus.WITHDRAWN
    assert case.withdrawn_reason == "inte klagomål eller synpunkt"
    assert "<strong>Makulerat</strong>" in page and "används aldrig igen" in page
    assert "Rätta bedömningen" not in page  # a withdrawn case is not corrected again
    with ctx_of(app).sessions() as session:
        drafts = session.scalars(select(Draft.status).where(Draft.case_id == mail.complaint))
        assert set(drafts) == {DraftStatus.REMOVE}
        record = session.scalars(
            select(MessageRecord).where(MessageRecord.case_id == mail.complaint)
        ).one()
        assert record.disposition is Disposition.NOT_CASE  # still watched as any message


def test_withdraw_needs_a_reason_and_then_keeps_the_number(
    app: FastAPI, client: TestClient, mail: Mail
) -> None:
    csrf = sign_in(client, "anna@testby.se")
    _post(client, f"/arenden/{mail.opinion}/makulera", csrf, reason="  ")
    page = client.get(f"/arenden/{mail.opinion}").text
    assert _status(page) == "Ange varför ärendet makuleras"
    assert 'role="alert"' in page
    assert _case(app, mail.opinion).status is CaseStatus.REGISTERED

    response = _post(
        client, f"/arenden/{mail.opinion}/makulera", csrf, reason="Dubblett av telefonsamtal"
    )
    assert response.status_code == 303
    page = client.get(f"/arenden/{mail.opinion}").text
    assert _status(page).startswith(f"{mail.opinion_ref}: makulerat (Dubblett av telefonsamtal).")
    case = _case(app, mail.opinion)
    assert case.status is CaseStatus.WITHDRAWN and case.reference == mail.opinion_ref
    assert "Dubblett av telefonsamtal" in page and "Makulerat" in page
    # Neither the case nor its message comes back to the queue: a person has decided.
    assert _queue(client) == [mail.complaint_ref, f"Meddelande nr {mail.question} "]


def test_assign_and_merge_from_the_case_page(app: FastAPI, client: TestClient, mail: Mail) -> None:
    csrf = sign_in(client, "chef@testby.se")
    page = client.get(f"/arenden/{mail.complaint}").text
    assert '<option value="cecilia@testby.se">Cecilia Ek (Kontaktcenter)</option>' in page
    _post(client, f"/arenden/{mail.complaint}/tilldela", csrf, to="cecilia@testby.se")
    assert _status(client.get(f"/arenden/{mail.complaint}").text) == (
        f"{mail.complaint_ref}: handläggare cecilia@testby.se."
    )
    assert _case(app, mail.complaint).handler == "cecilia@testby.se"

    _post(client, f"/arenden/{mail.opinion}/sammanfor", csrf, into="KS 2026/99")
    assert "Det finns inget ärende med nummer 'KS 2026/99'" in _status(
        client.get(f"/arenden/{mail.opinion}").text
    )
    _post(client, f"/arenden/{mail.opinion}/sammanfor", csrf, into=mail.complaint_ref)
    page = client.get(f"/arenden/{mail.opinion}").text
    assert _status(page) == (
        f"{mail.opinion_ref}: makulerat och sammanfört med {mail.complaint_ref}."
        " Postvakts utkast för ärendet tas bort ur Utkast-mappen vid nästa läsning av brevlådan."
    )
    assert f'Sammanfört med <a href="/arenden/{mail.complaint}">{mail.complaint_ref}</a>' in page
    target = client.get(f"/arenden/{mail.complaint}").text
    assert f'Sammanfört hit: <a href="/arenden/{mail.opinion}">{mail.opinion_ref}</a>' in target
    assert _case(app, mail.opinion).merged_into_id == mail.complaint


def test_staff_of_another_unit_and_readers_are_refused(
    app: FastAPI, client: TestClient, mail: Mail
) -> None:
    before = _case(app, mail.complaint)
    for address in ("bo@testby.se", "dan@testby.se"):
        client.cookies.clear()
        csrf = sign_in(client, address)
        if address == "dan@testby.se":  # reads the case, but is shown no correction
            page = client.get(f"/arenden/{mail.complaint}").text
            assert "Jag vill klaga" in page and "Rätta bedömningen" not in page
            assert f"/arenden/{mail.complaint}/bekrafta" not in page
        for path, form in (
            ("bekrafta", {}),
            ("andra-typ", {"kind": "synpunkt"}),
            ("makulera", {"reason": "Fel"}),
            ("tilldela", {"to": address}),
            ("sammanfor", {"into": mail.opinion_ref}),
        ):
            response = _post(client, f"/arenden/{mail.complaint}/{path}", csrf, **form)
            assert response.status_code == 403, (address, path)
            assert "Du får inte rätta det här ärendet." in response.text
            assert "<h1>Ingen behörighet</h1>" in response.text
        # A case that does not exist gets the same answer.
        assert _post(client, "/arenden/9999/bekrafta", csrf).status_code == 403
    after = _case(app, mail.complaint)
    assert (after.status, after.kind, after.needs_review, after.handler) == (
        before.status,
        before.kind,
        True,
        before.handler,
    )
    with ctx_of(app).sessions() as session:
        assert session.scalars(select(Correction)).all() == []


def test_merging_into_a_case_one_may_not_correct_is_refused(
    app: FastAPI, client: TestClient, mail: Mail
) -> None:
    csrf = sign_in(client, "anna@testby.se")
    response = _post(client, f"/arenden/{mail.opinion}/sammanfor", csrf, into=mail.bygg_ref)
    assert response.status_code == 403
    assert "får inte sammanföra ett ärende med" in response.text
    assert _case(app, mail.opinion).status is CaseStatus.REGISTERED


def test_the_way_back_is_never_taken_from_the_form(client: TestClient, mail: Mail) -> None:
    csrf = sign_in(client, "anna@testby.se")
    response = _post(
        client, f"/arenden/{mail.complaint}/bekrafta", csrf, tillbaka="https://elak.example/"
    )
    assert response.headers["location"] == f"/arenden/{mail.complaint}"


# ---------------------------------------------------------------- messages not made cases


def test_the_registrar_registers_a_message_with_deadlines_from_its_arrival(
    app: FastAPI, client: TestClient, mail: Mail
) -> None:
    csrf = sign_in(client, "registrator@testby.se")
    response = _post(
        client, f"/granska/meddelanden/{mail.question}/registrera", csrf, kind="synpunkt"
    )
    assert response.status_code == 303 and response.headers["location"] == "/granska"
    page = client.get("/granska").text
    record = _record(app, mail.question)
    assert record.disposition is Disposition.CASE and record.case_id is not None
    case = _case(app, record.case_id)
    assert case.kind is CaseKind.OPINION and case.corrected_by == "registrator@testby.se"
    assert case.received_at == ARRIVED.replace(minute=2)  # counted from arrival
    assert _status(page).startswith(f"{case.reference}: registrerat som synpunkt; svar senast")
    assert "Brevet läggs som utkast i brevlådan vid nästa läsning." in _status(page)
    assert f'<a href="/arenden/{case.id}">Öppna {case.reference}</a>' in page
    assert f"Meddelande nr {mail.question} " not in _queue(client)
    # The new case shows the citizen's text, read again from the mailbox.
    assert "Hej, när har ni öppet på kommunhuset i jul?" in client.get(f"/arenden/{case.id}").text


def test_a_message_that_is_not_a_case_leaves_the_queue(
    app: FastAPI, client: TestClient, mail: Mail
) -> None:
    csrf = sign_in(client, "anna@testby.se")
    _post(client, f"/granska/meddelanden/{mail.question}/inte-arende", csrf)
    page = client.get("/granska").text
    assert _status(page) == (
        f"Meddelande nr {mail.question}: inte klagomål eller synpunkt; borta ur kön. Det "
        "bevakas som vanligt med svarstiden för alla meddelanden."
    )
    record = _record(app, mail.question)
    assert record.reviewed_by == "anna@testby.se" and record.disposition is Disposition.NOT_CASE
    assert f"Meddelande nr {mail.question} " not in _queue(client)
    with ctx_of(app).sessions() as session:
        kept = session.scalars(select(Correction)).one()
        assert (kept.action, kept.label, kept.by) == ("confirm", "other", "anna@testby.se")


def test_a_message_that_belongs_to_a_case_is_attached_to_it(
    app: FastAPI, client: TestClient, mail: Mail
) -> None:
    csrf = sign_in(client, "anna@testby.se")
    assert f'action="/granska/meddelanden/{mail.question}/knyt"' in client.get("/granska").text
    # no number: told, nothing moves
    _post(client, f"/granska/meddelanden/{mail.question}/knyt", csrf, to=" ")
    assert _status(client.get("/granska").text).startswith("Skriv numret på ärendet")
    # a case of another unit, which anna may not correct: refused
    response = _post(client, f"/granska/meddelanden/{mail.question}/knyt", csrf, to=mail.bygg_ref)
    assert response.status_code == 403
    assert _record(app, mail.question).disposition is Disposition.NOT_CASE
    # her own mailbox's case
    _post(client, f"/granska/meddelanden/{mail.question}/knyt", csrf, to=mail.opinion_ref)
    page = client.get("/granska").text
    assert _status(page).startswith(
        f"Meddelande nr {mail.question} hör nu till {mail.opinion_ref}."
    )
    assert f'<a href="/arenden/{mail.opinion}">Öppna {mail.opinion_ref}</a>' in page
    assert f"Meddelande nr {mail.question} " not in _queue(client)
    record = _record(app, mail.question)
    assert record.disposition is Disposition.FOLLOWUP and record.case_id == mail.opinion
    assert record.reviewed_by == "anna@testby.se"
    # Sara's question on Per's case: not from a party to it, so someone looks again
    assert OTHER_SENDER in (_case(app, mail.opinion).review_reasons or [])
    notes = [e.detail for e in _case(app, mail.opinion).events if e.kind is EventKind.NOTE]
    assert f"Meddelande nr {mail.question} (Öppettider i jul) knöts till ärendet av " in " ".join(
        notes
    )
    # on the case's page it can be taken off again, back to the queue
    page = client.get(f"/arenden/{mail.opinion}").text
    assert "Senare meddelanden i ärendet" in page
    detach = f"/arenden/{mail.opinion}/meddelanden/{mail.question}/lossa"
    assert f'action="{detach}"' in page
    _post(client, detach, csrf)
    page = client.get(f"/arenden/{mail.opinion}").text
    assert _status(page) == (
        f"Meddelande nr {mail.question} hör inte längre till {mail.opinion_ref} och står i "
        "granskningskön."
    )
    assert "Senare meddelanden i ärendet" not in page
    record = _record(app, mail.question)
    assert record.disposition is Disposition.NOT_CASE and record.case_id is None
    assert f"Meddelande nr {mail.question} " in " ".join(_queue(client))


def test_messages_of_another_units_mailbox_are_refused(
    app: FastAPI, client: TestClient, mail: Mail
) -> None:
    for address in ("bo@testby.se", "dan@testby.se"):
        client.cookies.clear()
        csrf = sign_in(client, address)
        for path, form in (
            ("registrera", {"kind": "klagomal"}),
            ("knyt", {"to": mail.opinion_ref}),
            ("inte-arende", {}),
        ):
            response = _post(client, f"/granska/meddelanden/{mail.question}/{path}", csrf, **form)
            assert response.status_code == 403, (address, path)
            assert "Du får inte granska meddelanden i den brevlådan." in response.text
        assert _post(client, "/granska/meddelanden/9999/inte-arende", csrf).status_code == 403
    record = _record(app, mail.question)
    assert record.disposition is Disposition.NOT_CASE and record.reviewed_at is None


def test_a_kind_that_is_not_offered_is_told(app: FastAPI, client: TestClient, mail: Mail) -> None:
    csrf = sign_in(client, "anna@testby.se")
    _post(client, f"/granska/meddelanden/{mail.question}/registrera", csrf, kind="annat")
    assert _status(client.get("/granska").text) == "Välj klagomål eller synpunkt."
    _post(client, f"/arenden/{mail.complaint}/andra-typ", csrf, kind="fel")
    assert "'fel' är ingen typ" in _status(client.get(f"/arenden/{mail.complaint}").text)
    assert _record(app, mail.question).disposition is Disposition.NOT_CASE
    assert _case(app, mail.complaint).kind is CaseKind.COMPLAINT


def test_a_withdrawn_cases_message_is_flagged_for_review_again(
    app: FastAPI, client: TestClient, mail: Mail
) -> None:
    csrf = sign_in(client, "anna@testby.se")
    _post(client, f"/arenden/{mail.opinion}/makulera", csrf, reason="Trodde det var en fråga")
    with ctx_of(app).sessions() as session:
        record_id = session.scalars(
            select(MessageRecord.id).where(MessageRecord.case_id == mail.opinion)
        ).one()
    page = client.get(f"/arenden/{mail.opinion}").text
    flag = f"/arenden/{mail.opinion}/meddelanden/{record_id}/flagga"
    assert f'action="{flag}"' in page
    response = _post(client, flag, csrf)
    assert response.headers["location"] == f"/arenden/{mail.opinion}"
    page = client.get(f"/arenden/{mail.opinion}").text
    assert _status(page) == (
        f"Meddelande nr {record_id} står nu i granskningskön, där det kan registreras på nytt."
    )
    assert (
        'Meddelandet står i granskningskön (flaggat av <span class="who">Anna Berg <span class="addr">anna@testby.se</span></span>)'
        in page
    )
    assert f"Meddelande nr {record_id} " in _queue(client)
    record = _record(app, record_id)
    assert record.flagged_by == "anna@testby.se" and record.reviewed_at is None

    client.cookies.clear()
    csrf = sign_in(client, "bo@testby.se")
    assert _post(client, flag, csrf).status_code == 403


def test_a_message_the_dashboard_cannot_read_again_is_told_not_registered(
    tmp_path: Path, db_url: str
) -> None:
    """The dashboard logs into no mailbox until it must; when the mailbox's secret is not in
    its environment it says so in Swedish, and nothing changes."""
    from postvakt.clock import fixed_clock
    from postvakt.config import load_config
    from postvakt.web import create_app
    from tests.web.support import NOW

    root = tmp_path / "ws"
    mailed_config(root, db_url)
    path = root / "postvakt.toml"
    text = path.read_text(encoding="utf-8")
    # The same mailbox, now read over IMAP with a password the dashboard was not given.
    text = text.replace(
        'connector = "maildir"\n\n[mailboxes.maildir]\npath = "mail/kontakt"',
        'connector = "imap"\n\n[mailboxes.imap]\nhost = "imap.testby.se"\nusername = "kontakt"\n'
        'password_env = "PV_TEST_IMAP_PASSWORD"',
    )
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    app = create_app(config, clock=fixed_clock(NOW), environ={})
    try:
        mail = mail_of(ctx_of(app).sessions)
        put_in_review(app, mail)
        with TestClient(app) as client:
            csrf = sign_in(client, "anna@testby.se")
            response = _post(
                client, f"/granska/meddelanden/{mail.question}/registrera", csrf, kind="klagomal"
            )
            assert response.headers["location"] == "/granska"
            page = client.get("/granska").text
            assert _status(page) == (
                "Webbpanelen kan inte läsa kontakt@testby.se (miljövariabeln "
                "PV_TEST_IMAP_PASSWORD är inte satt; sätt den innan Postvakt startas). "
                "Be den som sköter Postvakt att registrera meddelandet."
            )
            assert 'role="alert"' in page
        assert _record(app, mail.question).disposition is Disposition.NOT_CASE
        assert ctx_of(app).service.connectors == {}
    finally:
        app.state.ctx.close()
