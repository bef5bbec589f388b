"""The Ärenden page's filters, each on a seeded database where it changes the result: unit,
kind, status, overdue, the date range (days in Stockholm, not UTC), the search, paging — and a
mailbox taken out of the config, whose cases stay on the page.  Filters are GET parameters."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.registry.models import Case, CaseKind, CaseStatus, Mailbox, Unit
from postvakt.web import create_app
from postvakt.web.pages.cases import PAGE_SIZE
from tests.web.support import NOW, add_cases, ctx_of, make_config, sign_in

# (number, unit, kind, status, received in Stockholm, answer due, heading)
SEED = (
    (1, "Kontaktcenter", "complaint", "registered", (2026, 11, 2, 9, 0), date(2026, 11, 9), "Snöröjningen"),
    (2, "Kontaktcenter", "opinion", "acknowledged", (2026, 11, 20, 9, 0), date(2026, 11, 27), "Parkering på Storgatan"),
    (3, "Bygglov", "complaint", "registered", (2026, 11, 23, 23, 30), date(2026, 11, 30), "Bygglovets handläggningstid"),
    (4, "Bygglov", "opinion", "closed", (2026, 10, 15, 9, 0), date(2026, 10, 22), "Altanen"),
    (5, "Kontaktcenter", "complaint", "waiting", (2026, 11, 24, 0, 15), date(2026, 12, 1), "Hemtjänsten"),
    (6, None, "complaint", "registered", (2026, 9, 1, 9, 0), date(2026, 9, 8), "Belysningen"),
)  # fmt: skip
"""Today is Tuesday 24 November: KS 2026/1 and /6 are overdue; /4 is closed; /3 came in
late on the 23rd and /5 just after midnight on the 24th (both the 23rd in UTC)."""


def seed(app: FastAPI, extra: int = 0) -> None:
    ctx = ctx_of(app)
    with ctx.sessions() as session, session.begin():
        units = {u.name: u for u in session.scalars(select(Unit))}
        for seq, unit, kind, status, received, due, heading in SEED:
            session.add(
                _case(seq, units[unit] if unit else None, kind, status, received, due, heading)
            )
        for seq in range(100, 100 + extra):  # old, closed, one per day back in time
            when = (2025, 1 + seq % 12, 1 + seq % 28, 9, 0)
            session.add(
                _case(seq, units["Kontaktcenter"], "opinion", "closed", when, None, "Äldre")
            )


def _case(seq, unit, kind, status, received, due, heading):  # type: ignore[no-untyped-def]
    when = datetime(*received, tzinfo=STOCKHOLM)
    number = f"KS {when.year}/{seq}"
    return Case(
        reference=number, number=number, year=when.year, seq=seq, kind=CaseKind(kind),
        status=CaseStatus(status), heading=f"Synpunkter och klagomål – {heading}",
        summary=heading, unit=unit, handler="anna@testby.se", sender_address="k@example.net",
        received_at=when, registered_at=when, answer_due=due, reply_due=due,
        classifier_reasons=[],
    )  # fmt: skip


PARAMS = {"unit": "enhet", "kind": "typ", "overdue": "forsenat", "since": "fran", "until": "till"}


def listed(client: TestClient, csrf: str, **wanted: str) -> list[str]:
    params = {PARAMS.get(k, k): v for k, v in wanted.items()}
    response = client.get("/arenden", params=params)
    assert response.status_code == 200
    return re.findall(r'<a href="/arenden/\d+">([^<]+)</a>', response.text)


def refs(*numbers: int) -> set[str]:
    return {f"KS 2026/{n}" for n in numbers}


def test_each_filter_changes_what_is_listed(app: FastAPI, client: TestClient) -> None:
    seed(app)
    csrf = sign_in(client, "registrator@testby.se")  # the registrar sees every case

    page = client.get("/arenden").text
    shown = re.findall(r'<a href="/arenden/\d+">([^<]+)</a>', page)
    assert set(shown) == refs(1, 2, 3, 5, 6)  # open ones by default: not the closed /4
    assert shown[0] == "KS 2026/5"  # newest first
    assert set(listed(client, csrf, status="all")) == refs(1, 2, 3, 4, 5, 6)
    assert set(listed(client, csrf, status="closed")) == refs(4)
    assert set(listed(client, csrf, status="waiting")) == refs(5)

    assert set(listed(client, csrf, status="all", unit="Bygglov")) == refs(3, 4)
    assert set(listed(client, csrf, status="all", unit="Kontaktcenter")) == refs(1, 2, 5)
    assert set(listed(client, csrf, status="all", kind="opinion")) == refs(2, 4)
    assert set(listed(client, csrf, status="all", kind="complaint")) == refs(1, 3, 5, 6)

    late = client.get("/arenden?forsenat=1").text
    assert set(re.findall(r'<a href="/arenden/\d+">([^<]+)</a>', late)) == refs(1, 6)
    assert late.count("försenat</span>") == 2
    assert set(listed(client, csrf, overdue="1", unit="Kontaktcenter")) == refs(1)

    # Days are Stockholm's: 23:30 on the 23rd is that day, 00:15 on the 24th the next.
    one_day = listed(client, csrf, status="all", since="2026-11-23", until="2026-11-23")
    assert set(one_day) == refs(3)
    assert set(listed(client, csrf, status="all", since="2026-11-24")) == refs(5)
    assert set(listed(client, csrf, status="all", until="2026-10-31")) == refs(4, 6)
    assert set(listed(client, csrf, status="all", since="2026-13-40")) == refs(1, 2, 3, 4, 5, 6)

    assert set(listed(client, csrf, status="all", q="storgatan")) == refs(2)
    assert set(listed(client, csrf, status="all", q="KS 2026/6")) == refs(6)
    assert listed(client, csrf, status="all", q="finns inte") == []


def test_the_list_is_paged_and_says_how_many(app: FastAPI, client: TestClient) -> None:
    seed(app, extra=PAGE_SIZE + 10)
    sign_in(client, "registrator@testby.se")
    response = client.get("/arenden?status=all")
    shown = re.findall(r'<a href="/arenden/\d+">([^<]+)</a>', response.text)
    assert len(shown) == PAGE_SIZE
    total = PAGE_SIZE + 16
    assert f"Visar 1–{PAGE_SIZE} av {total} ärenden" in response.text
    assert set(refs(1, 2, 3, 4, 5, 6)) <= set(shown)  # the newest first
    rest = client.get("/arenden?status=all&sida=2")
    assert f"Visar {PAGE_SIZE + 1}–{total} av {total} ärenden" in rest.text
    narrowed = client.get("/arenden?status=all&enhet=Bygglov")
    assert "Visar 1–2 av 2 ärenden" in narrowed.text and "Sida " not in narrowed.text


def test_cases_of_a_mailbox_taken_out_of_the_config_stay_on_the_page(tmp_path: Path) -> None:
    config = make_config(tmp_path / "ws")
    app = create_app(config, clock=fixed_clock(NOW), environ={})
    try:
        cases = add_cases(app)  # one by hand in each unit; Bygglov's goes via bygglov@
    finally:
        ctx_of(app).close()

    path = tmp_path / "ws" / "postvakt.toml"  # where make_config wrote it
    text = path.read_text(encoding="utf-8")
    start = text.index('[[mailboxes]]\naddress = "bygglov@testby.se"')
    path.write_text(text[:start], encoding="utf-8")
    app = create_app(load_config(path), clock=fixed_clock(NOW), environ={})
    try:
        with ctx_of(app).sessions() as session:
            bygglov = session.scalars(
                select(Mailbox).where(Mailbox.address == "bygglov@testby.se")
            ).one()
            assert bygglov.active is False
        with TestClient(app) as client:
            csrf = sign_in(client, "registrator@testby.se")
            assert cases.bygglov_ref in listed(client, csrf, status="all")
            page = client.get(f"/arenden/{cases.bygglov}")
            assert page.status_code == 200 and cases.bygglov_ref in page.text
        with TestClient(app) as client:  # and its unit's staff still find it
            csrf = sign_in(client, "bo@testby.se")
            assert listed(client, csrf, status="all") == [cases.bygglov_ref]
    finally:
        ctx_of(app).close()
