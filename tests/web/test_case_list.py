"""The case list (/arenden) on 500 cases, on SQLite and PostgreSQL: its counts agree with
:mod:`postvakt.registry.case_query`, ``postvakt report counts --json`` and the yearly
compilation; the SQL scope is exactly :func:`~postvakt.roles.can_view_case`; paging, sorting
and GET filters (bookmarkable, old POSTs redirected); bulk actions with a confirmation step;
and a search never reaches the server's access log."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.registry.case_query import (
    CaseFilter,
    CaseScope,
    answered_in_time,
    count_cases,
    running_due,
    select_cases,
)
from postvakt.registry.models import Case, CaseAccess, CaseStatus, EventKind
from postvakt.registry.report import annual_report
from postvakt.roles import can_view_case, user_for
from postvakt.web import create_app
from tests.web.many_cases import seed_cases
from tests.web.support import EVERYONE, NOW, add_accounts, csrf_of, ctx_of, make_config

TODAY = NOW.astimezone(STOCKHOLM).date()
NUMBER = re.compile(r'<a href="/arenden/(\d+)">([^<]+)</a>')


@pytest.fixture
def many(tmp_path: Path, db_url: str) -> Iterator[tuple[FastAPI, Path]]:
    config = make_config(tmp_path / "ws", db_url)
    app = create_app(config, clock=fixed_clock(NOW), environ={})
    try:
        seed_cases(app)
        yield app, tmp_path / "ws" / "postvakt.toml"
    finally:
        ctx_of(app).close()


def signed_in(app: FastAPI, address: str) -> tuple[TestClient, str]:
    client = TestClient(app)
    add_accounts(app, (address,))
    page = client.get("/logga-in")
    response = client.post(
        "/logga-in",
        data={"address": address, "password": "ett långt lösenord 123", "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client, csrf_of(client.get("/arenden").text)


def total_on_page(client: TestClient, url: str) -> int:
    page = client.get(url)
    assert page.status_code == 200, page.text
    shown = re.search(r"Visar \d+–\d+ av (\d+) ärend", page.text)
    if shown is None:
        assert "Inga ärenden" in page.text or "inga öppna ärenden" in page.text
        return 0
    return int(shown[1])


def report_counts(config: Path, *extra: str, capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    capsys.readouterr()
    argv = ["--config", str(config), "report", "counts", "--json", *extra]
    assert main(clock=fixed_clock(NOW), argv=argv) == 0
    return json.loads(capsys.readouterr().out)


FILTERS = [
    ({}, "/arenden?status=all", ()),
    ({"unit": "Kontaktcenter"}, "/arenden?status=all&enhet=Kontaktcenter", ("--unit", "Kontaktcenter")),
    ({"mailbox": "bygglov@testby.se"}, "/arenden?status=all&brevlada=bygglov@testby.se", ("--mailbox", "bygglov@testby.se")),
    ({"kind": "complaint"}, "/arenden?status=all&typ=complaint", ("--kind", "complaint")),
    ({"handler": "anna@testby.se"}, "/arenden?status=all&handlaggare=anna@testby.se", ("--handler", "anna@testby.se")),
]  # fmt: skip


def test_the_list_the_counting_functions_and_report_json_agree(
    many: tuple[FastAPI, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    app, config = many
    ctx = ctx_of(app)
    client, _csrf = signed_in(app, "registrator@testby.se")  # sees every case
    everything = CaseScope.everything()

    def counted(wanted: CaseFilter) -> int:
        with ctx.sessions() as session:  # closed before the page is asked (SQLite's lock)
            return count_cases(session, everything, wanted, TODAY)

    def judged(wanted: CaseFilter):  # type: ignore[no-untyped-def]
        with ctx.sessions() as session:
            return answered_in_time(session, everything, wanted, TODAY)

    for fields, url, argv in FILTERS:
        total = counted(CaseFilter(status="all", **fields))
        opened = counted(CaseFilter(**fields))
        late = counted(CaseFilter(overdue=True, **fields))
        assert 0 < late < opened < total  # the seed gives every filter all three
        assert total_on_page(client, url) == total
        assert total_on_page(client, url.replace("status=all", "status=open")) == opened
        assert total_on_page(client, url.replace("status=all", "forsenat=1")) == late
        data = report_counts(config, *argv, capsys=capsys)
        assert data["cases"] == {"total": total, "open": opened, "overdue": late}
        in_time = judged(CaseFilter(status="all", **fields))
        assert data["answered_in_time"]["in_time"] == in_time.in_time
        assert data["answered_in_time"]["judged"] == in_time.judged > in_time.in_time > 0

    with ctx.sessions() as session:
        every_case = list(session.scalars(select(Case).options(selectinload(Case.events))))
        assert len(every_case) == 500
        # The rule in Python, case by case, gives what the SQL counted.
        overdue = [c for c in every_case if (d := running_due(c)) is not None and d < TODAY]
        assert count_cases(session, everything, CaseFilter(overdue=True), TODAY) == len(overdue)
        assert len({c.id for c in overdue}) == len(overdue)  # cases, not deadlines
        assert all(c.status is not CaseStatus.CLOSED for c in overdue)
        years = sorted({c.received_at.astimezone(STOCKHOLM).year for c in every_case})

    # The compilation judges every row by the same rule (events read in Python).
    for year in years:
        with ctx.sessions() as session:
            whole = annual_report(session, year, TODAY, as_of=TODAY).organisation("Testby")
        in_year = CaseFilter(
            status="all",
            since=TODAY.replace(year=year, month=1, day=1),
            until=TODAY.replace(year=year, month=12, day=31),
        )
        same = judged(in_year)
        assert (whole.answered_in_time, whole.judged, whole.not_yet_due) == (
            same.in_time,
            same.judged,
            same.not_yet_due,
        )
        data = report_counts(
            config, "--since", f"{year}-01-01", "--until", f"{year}-12-31", capsys=capsys
        )
        assert data["answered_in_time"]["judged"] == whole.judged


def test_each_persons_list_holds_exactly_the_cases_they_may_open(
    many: tuple[FastAPI, Path],
) -> None:
    app, _config = many
    ctx = ctx_of(app)
    with ctx.sessions() as session:
        every_case = list(
            session.scalars(
                select(Case).options(selectinload(Case.unit), selectinload(Case.mailbox))
            )
        )
        for address in EVERYONE:
            user = user_for(ctx.config, address)
            assert user is not None
            scope = CaseScope.of(user)
            listed = set(session.scalars(select_cases(scope, CaseFilter(status="all"), TODAY)))
            allowed = {c for c in every_case if can_view_case(user, c)}
            assert {c.id for c in listed} == {c.id for c in allowed}, address
            assert count_cases(session, scope, CaseFilter(status="all"), TODAY) == len(allowed)
    client, _csrf = signed_in(app, "bo@testby.se")
    bo = user_for(ctx.config, "bo@testby.se")
    assert bo is not None
    with ctx.sessions() as session:
        mine = count_cases(session, CaseScope.of(bo), CaseFilter(status="all"), TODAY)
    assert 0 < mine < 500 and total_on_page(client, "/arenden?status=all") == mine


def test_paging_sorting_and_bookmarkable_filters(many: tuple[FastAPI, Path]) -> None:
    app, _config = many
    client, csrf = signed_in(app, "registrator@testby.se")
    first = client.get("/arenden?status=all")
    assert "Visar 1–50 av 500 ärenden" in first.text
    assert 'href="/arenden?status=all&amp;sida=2"' in first.text and "Sida 1 av 10" in first.text
    second = client.get("/arenden?status=all&sida=2")
    assert "Visar 51–100 av 500 ärenden" in second.text
    one = [n for _, n in NUMBER.findall(first.text)]
    two = [n for _, n in NUMBER.findall(second.text)]
    assert len(one) == len(two) == 50 and not set(one) & set(two)
    last = client.get("/arenden?status=all&sida=99")  # past the end: the last page
    assert "Visar 451–500 av 500 ärenden" in last.text
    assert client.get("/arenden?status=all&sida=2").text.count("<tr") == second.text.count("<tr")

    # Sorted by number, both ways; the column says so (aria-sort) and links to the other way.
    up = client.get("/arenden?status=all&sortera=nummer")
    assert (
        'aria-sort="ascending"' in up.text
        and 'href="/arenden?status=all&amp;sortera=-nummer"' in up.text
    )
    numbers = [int(n.rsplit("/", 1)[1]) for _, n in NUMBER.findall(up.text)]
    assert numbers == sorted(numbers) and numbers[0] == 1
    down = client.get("/arenden?status=all&sortera=-nummer")
    assert 'aria-sort="descending"' in down.text
    assert next(int(n.rsplit("/", 1)[1]) for _, n in NUMBER.findall(down.text)) == 500
    assert "aria-sort" not in re.sub(
        r'<th scope="col" aria-sort="\w+"><a href="[^"]*">Nummer', "", down.text
    )

    # An old bookmark or form that POSTs a search lands on the same list by GET.
    moved = client.post(
        "/arenden",
        data={"csrf": csrf, "unit": "Bygglov", "status": "all", "overdue": "1"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert moved.headers["location"] == "/arenden?enhet=Bygglov&status=all&forsenat=1"
    assert client.get(moved.headers["location"]).text == client.get(moved.headers["location"]).text

    empty = client.get("/arenden?q=finns+inte+alls")
    assert "Inga ärenden passar urvalet" in empty.text and "<table" not in empty.text


def test_bulk_actions_are_confirmed_checked_per_case_and_said(many: tuple[FastAPI, Path]) -> None:
    app, _config = many
    ctx = ctx_of(app)
    with ctx.sessions() as session:
        open_ = CaseFilter(status="acknowledged")
        rows = list(session.scalars(select_cases(CaseScope.everything(), open_, TODAY)))
        ours = [c for c in rows if c.unit and c.unit.name == "Bygglov" and not c.private][:2]
        theirs = next(
            c
            for c in rows
            if c.unit
            and c.unit.name == "Kontaktcenter"
            and c.mailbox is None
            and c.handler != "bchef@testby.se"
        )
        ids = [ours[0].id, ours[1].id, theirs.id]
        labels = [ours[0].label, ours[1].label, theirs.label]
    client, csrf = signed_in(app, "bchef@testby.se")  # Bygglov's head: not Kontaktcenter's
    form = {"csrf": csrf, "arende": [str(i) for i in ids], "atgard": "tilldela", "till": "bo@testby.se",
            "tillbaka": "/arenden?enhet=Bygglov"}  # fmt: skip

    # Without the session's token nothing happens.
    refused = client.post("/arenden/markerade/utfor", data={**form, "csrf": "fel"})
    assert refused.status_code == 403

    confirm = client.post("/arenden/markerade", data=form)
    assert confirm.status_code == 200
    assert (
        "Inget är gjort ännu" in confirm.text and "Tilldela handläggare (2 ärenden)" in confirm.text
    )
    for label in labels[:2]:
        assert label in confirm.text
    with ctx.sessions() as session:  # the confirmation page changed nothing
        assert [session.get(Case, i).handler for i in ids] == [
            ours[0].handler,
            ours[1].handler,
            theirs.handler,
        ]  # type: ignore[union-attr]

    done = client.post("/arenden/markerade/utfor", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/arenden?enhet=Bygglov"
    said = client.get(done.headers["location"]).text
    assert "gavs till Bo Bygg" in said and "Hoppade över" in said
    with ctx.sessions() as session:
        cases = [session.get(Case, i) for i in ids]
        assert [c.handler for c in cases] == ["bo@testby.se", "bo@testby.se", theirs.handler]  # type: ignore[union-attr]
        events = (
            session.scalars(
                select(Case).where(Case.id == ids[0]).options(selectinload(Case.events))
            )
            .one()
            .events
        )
        assert events[-1].kind is EventKind.ASSIGNED and events[-1].actor == "bchef@testby.se"

    # Mark read: the 'oläst' marker goes, and the access log says so.
    page = client.get("/arenden?enhet=Bygglov&sortera=nummer")
    first_id = NUMBER.findall(page.text)[0][0]
    row = re.search(rf'href="/arenden/{first_id}">[^<]+</a>(.{{0,60}})', page.text)
    assert row and "oläst" in row[1]
    mark = {
        "csrf": csrf,
        "arende": [first_id],
        "atgard": "last",
        "tillbaka": "/arenden?enhet=Bygglov&sortera=nummer",
    }
    assert client.post("/arenden/markerade", data=mark).status_code == 200
    client.post("/arenden/markerade/utfor", data=mark)
    page = client.get("/arenden?enhet=Bygglov&sortera=nummer")
    row = re.search(rf'href="/arenden/{first_id}">[^<]+</a>(.{{0,60}})', page.text)
    assert row and "oläst" not in row[1]
    with ctx.sessions() as session:
        log = session.scalars(select(CaseAccess).where(CaseAccess.case_id == int(first_id))).all()
        assert [(a.actor, a.what) for a in log] == [("bchef@testby.se", "markerade som läst")]


def test_searches_stay_out_of_referrers(many: tuple[FastAPI, Path]) -> None:
    app, _config = many
    client, _csrf = signed_in(app, "registrator@testby.se")
    page = client.get("/arenden?q=person7%40example.net")
    # Never sent to another site; our own server logs no query string (test_web_serve).
    assert page.headers["referrer-policy"] == "same-origin"
    assert "KS " in page.text and "person7@example.net" not in page.text.split("<main", 1)[0]


def test_an_empty_registry_says_so(tmp_path: Path) -> None:
    app = create_app(make_config(tmp_path / "ws"), clock=fixed_clock(NOW), environ={})
    try:
        client, _csrf = signed_in(app, "registrator@testby.se")
        page = client.get("/arenden").text
        assert "Det finns inga öppna ärenden som du kan se" in page and "<table" not in page
    finally:
        ctx_of(app).close()
