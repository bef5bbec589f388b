"""Links from mail: every notification, reminder and digest Postvakt mails links to the page it
is about, under ``[web] base_url`` — and following the link, signed in as the one it was sent
to, opens that page.  Without base_url the mail has no link at all (never a broken one)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.compilation import compilation_reminders
from postvakt.config import load_config
from postvakt.delegation import emergency
from postvakt.delegation.emergency_notices import send_due
from postvakt.registry.absences import add_absence
from postvakt.registry.models import Case
from postvakt.rules.jobs import RuleJobs
from postvakt.web import create_app
from tests.support.smtp import SmtpServer
from tests.web.support import NOW, add_cases, ctx_of, make_config, sign_in

BASE = "https://postvakt.testby.se"
LINK = re.compile(re.escape(BASE) + r"(/\S*)")


def _app(root: Path, smtp: SmtpServer, *, base_url: bool, now: datetime = NOW) -> FastAPI:
    make_config(root)
    path = root / "postvakt.toml"
    toml = path.read_text(encoding="utf-8")
    web = '[web]\nbase_url = "' + BASE + '"\n' if base_url else "[web]\n"
    toml = toml.replace("[web]\n", web, 1)
    toml += (
        f'\n[smtp]\nhost = "{smtp.host}"\nport = {smtp.port}\nsecurity = "none"\n'
        'from_address = "postvakt@testby.se"\n'
    )
    path.write_text(toml, encoding="utf-8")
    return create_app(load_config(path), clock=fixed_clock(now), environ={})


@pytest.fixture
def linked(tmp_path: Path, smtp_server: SmtpServer) -> Iterator[FastAPI]:
    app = _app(tmp_path / "ws", smtp_server, base_url=True)
    try:
        yield app
    finally:
        app.state.ctx.close()


def _text(mail: object) -> str:
    """The mail's text part (a diary notice has the documents attached)."""
    message = mail.message  # type: ignore[attr-defined]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return body.get_content().replace("\r\n", "\n")


def _case_id(app: FastAPI, reference: str) -> int:
    with ctx_of(app).sessions() as session:
        return session.scalars(select(Case.id).where(Case.reference == reference)).one()


def _every_kind(app: FastAPI) -> dict[str, int]:
    """Make Postvakt mail every kind of notice it sends; the ids the links should name."""
    ctx = ctx_of(app)
    service = ctx.service
    assert service.callbacks is not None and service.notifier is not None
    cases = add_cases(app)  # the registrar's notices of the two incoming documents
    service.deliver_diary()
    # A reminder and a breach to the handler (and the owners and head at the breach).
    with ctx.sessions() as session, session.begin():
        session.get_one(Case, cases.kontakt).ack_due = NOW.date() - timedelta(days=1)
        session.get_one(Case, cases.bygglov).answer_due = NOW.date() + timedelta(days=1)
    # A callback: told at once; once late, a breach to the person and their head.
    made = service.callbacks.add(
        for_address="anna@testby.se",
        phone="070-123 45 67",
        about="Frågar om snöröjningen",
        by="cecilia@testby.se",
    )
    jobs = RuleJobs(
        ctx.config,
        ctx.sessions,
        {},
        clock=ctx.clock,
        calendar=ctx.calendar,
        policy=ctx.policy,
        notifier=service.notifier,
        absent=lambda address, day: address in ("anna@testby.se", "cecilia@testby.se"),
    )
    jobs.run("reminders", force=True)
    jobs.run("coverage", force=True)  # kontakt@'s owners both away: its head is told
    jobs.run("head-digest", force=True)  # the cases registered since yesterday, to the heads
    # A new handler, a hand-over to another unit, a withdrawal the registrar hears of.
    service.corrections.assign(cases.kontakt_ref, to="cecilia@testby.se", by="chef@testby.se")
    handed = service.casework.add(
        kind="opinion",
        channel="letter",
        summary="Gäller snöröjningen, inte bygglov",
        unit="Bygglov",
        actor="bo@testby.se",
        email="y@example.net",
    )
    service.casework.forward(
        handed.case, actor="bo@testby.se", to="Kontaktcenter", contact="anna@testby.se"
    )
    third = service.casework.add(
        kind="opinion",
        channel="letter",
        summary="Fel registrerat",
        unit="Kontaktcenter",
        actor="anna@testby.se",
        email="x@example.net",
    )
    service.deliver_diary()
    service.corrections.withdraw(third.case, reason="Inte ett ärende", by="chef@testby.se")
    # An emergency delegation: the order to the approver who has not approved.
    with ctx.sessions() as session, session.begin():
        absence = add_absence(
            session,
            ctx.config,
            person="cecilia@testby.se",
            kind="sjukdom",
            start=NOW.date(),
            end=NOW.date() + timedelta(days=3),
            substitutes=["anna@testby.se"],
            actor="kd@testby.se",
            now=NOW,
        )
        emergency.order(ctx.config, absence, actor="kd@testby.se", now=NOW)
        absence_id = absence.id
    assert send_due(ctx.config, ctx.sessions, service.notifier.mailer, absence_id, NOW) == []
    return {
        "kontakt": cases.kontakt,
        "bygglov": cases.bygglov,
        "third": _case_id(app, third.case),
        "handed": _case_id(app, handed.case),
        "callback": made.view.id,
        "absence": absence_id,
    }


def test_every_notice_links_to_its_page_and_the_link_opens(
    linked: FastAPI, smtp_server: SmtpServer
) -> None:
    ids = _every_kind(linked)
    mails = smtp_server.received
    assert mails
    seen: set[str] = set()
    clients: dict[str, TestClient] = {}
    for mail in mails:
        text = _text(mail)
        (to,) = mail.recipients
        links = LINK.findall(text)
        assert links, f"a mail to {to} with no link: {mail.message['Subject']}\n{text}"
        # A person without a name is their address, once: never 'kd@… (kd@…)'.
        assert not re.search(r"([\w.-]+@[\w.-]+) \(\1\)", text), text
        if to not in clients:
            clients[to] = TestClient(linked, base_url=BASE)  # the secure cookie needs https
            sign_in(clients[to], to)
        for link in links:
            path, _, anchor = link.partition("#")
            page = clients[to].get(path)
            assert page.status_code == 200, (to, link, page.status_code)
            if anchor:
                assert f'id="{anchor}"' in page.text, (to, link)
            seen.add(link)
    case = f"/arenden/{ids['kontakt']}"
    expected = {
        case,  # the breach, the reminder's, the head digest's, the assignment's
        f"/arenden/{ids['bygglov']}",  # the reminder
        f"/arenden/{ids['handed']}",  # the hand-over, to the new handler
        f"/arenden/{ids['third']}",  # the registrar told of the withdrawal
        f"/aterringningar#aterringning-{ids['callback']}",  # told at once, and the breach
        f"/franvaro#franvaro-{ids['absence']}",  # the emergency order to the approver
        "/franvaro",  # a function mailbox with nobody there
    }
    assert expected <= seen, expected - seen
    diary = [m for m in mails if m.message["Subject"].startswith(("KS 2026/1 –", "KS 2026/2 –"))]
    assert len(diary) == 2  # the registrar's notice of each incoming document links its case
    assert all(f"I Postvakt: {BASE}/arenden/" in _text(m) for m in diary)
    kinds = " ".join(m.message["Subject"] for m in mails)
    assert "Akut delegering" in kinds and "ring upp" in kinds


def test_compilation_reminders_link_to_sammanstallning(linked: FastAPI) -> None:
    ctx = ctx_of(linked)
    with ctx.sessions() as session:
        planned = compilation_reminders(session, ctx.config, ctx.policy, date(2027, 1, 20))
    assert planned and {p.page for p in planned} == {"/sammanstallning"}


def test_without_base_url_no_link_is_written(tmp_path: Path, smtp_server: SmtpServer) -> None:
    app = _app(tmp_path / "ws", smtp_server, base_url=False)
    try:
        _every_kind(app)
    finally:
        app.state.ctx.close()
    assert len(smtp_server.received) > 5
    for mail in smtp_server.received:
        assert not re.search(r"https?://", _text(mail)), _text(mail)
        assert "\n    \n" not in _text(mail)


def test_a_queued_line_keeps_its_link(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """Outside working time the line waits in the queue; sent the next morning, it still
    links to its page."""
    evening = datetime(2026, 11, 24, 19, 0, tzinfo=STOCKHOLM)
    app = _app(tmp_path / "ws", smtp_server, base_url=True, now=evening)
    try:
        ctx = ctx_of(app)
        assert ctx.service.callbacks is not None and ctx.service.notifier is not None
        made = ctx.service.callbacks.add(
            for_address="anna@testby.se", phone="070-123 45 67", about="Ring", by="bo@testby.se"
        )
        assert smtp_server.received == []
        ctx.service.notifier.flush(datetime(2026, 11, 25, 8, 0, tzinfo=STOCKHOLM))
    finally:
        app.state.ctx.close()
    (mail,) = smtp_server.received
    assert f"{BASE}/aterringningar#aterringning-{made.view.id}" in _text(mail)
