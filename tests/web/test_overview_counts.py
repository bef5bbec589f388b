"""Översikt counts cases, not deadlines, and every count links to the list that shows them.

Seeded so that deadlines and cases differ: a complaint with both its acknowledgement and its
answer overdue is one overdue case.  Each figure on Översikt is followed to /arenden and the
list's total must be the figure.  The charts: as many bars as non-zero figures, no script,
the figures in a table beside them, and the same charts as pictures in the yearly .docx.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from html import unescape

import docx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.charts import Chart, Series
from postvakt.charts.render import svg
from postvakt.registry.models import Case, CaseStatus, Mailbox
from postvakt.web.pages.overview import SOON_SHOWN
from tests.web.support import NOW, PASSWORD, add_accounts, ctx_of, sign_in

TODAY = NOW.date()
PAST = TODAY - timedelta(days=3)
LATER = TODAY + timedelta(days=20)


@dataclass(frozen=True)
class Seed:
    kind: str
    mailbox: str
    ack_due: date | None
    answer_due: date | None
    status: CaseStatus = CaseStatus.REGISTERED


SEEDS = (
    # Both deadlines passed: one overdue case (the old Översikt counted two).
    Seed("complaint", "kontakt@testby.se", PAST, PAST),
    # Only the acknowledgement is late: overdue.
    Seed("complaint", "kontakt@testby.se", PAST, LATER),
    # Nothing due yet: open, not overdue.
    Seed("opinion", "kontakt@testby.se", None, LATER),
    # Answered (its deadline passed, but no clock runs): open, not overdue.
    Seed("opinion", "kontakt@testby.se", None, PAST, CaseStatus.ANSWERED),
    # Closed: neither open nor overdue.
    Seed("opinion", "kontakt@testby.se", None, PAST, CaseStatus.CLOSED),
    # The other mailbox: one overdue complaint.
    Seed("complaint", "bygglov@testby.se", PAST, PAST),
)


def _seed(app: FastAPI, seeds: tuple[Seed, ...] = SEEDS) -> list[int]:
    """The cases of ``seeds``, registered today by hand and then put in their mailbox with
    their deadlines and status."""
    ctx = ctx_of(app)
    refs = [
        ctx.casework.add(
            kind=s.kind,
            channel="phone",
            summary=f"Ärende {i} om gatubelysningen",
            unit="Kontaktcenter" if s.mailbox.startswith("kontakt") else "Bygglov",
            actor="anna@testby.se",
            email=f"medborgare{i}@example.net",  # someone to answer: the clocks run
            name=f"Medborgare {i}",
        ).case
        for i, s in enumerate(seeds)
    ]
    ids = []
    with ctx.sessions() as session, session.begin():
        boxes = {m.address: m.id for m in session.scalars(select(Mailbox))}
        for ref, s in zip(refs, seeds, strict=True):
            case = session.scalars(select(Case).where(Case.reference == ref)).one()
            case.mailbox_id = boxes[s.mailbox]
            case.ack_due, case.answer_due, case.status = s.ack_due, s.answer_due, s.status
            ids.append(case.id)
    return ids


def _row(html: str, address: str) -> str:
    table = html[html.index('id="brevlador"') :]
    start = table.index(f'<span class="addr">{address}</span>')
    return table[table.rindex("<tr", 0, start) : table.index("</tr>", start)]


def _counts(row: str) -> dict[str, tuple[int, str]]:
    """Each figure of a mailbox row: its name → (number, the link behind it)."""
    return {
        name: (int(number), unescape(href))
        for href, name, number in re.findall(
            r'<a href="([^"]+)" data-count="([a-z-]+)"[^>]*>(\d+)</a>', row
        )
    }


def _total(client: TestClient, url: str) -> int:
    """The total the case list at ``url`` says it shows."""
    page = client.get(url)
    assert page.status_code == 200, url
    found = re.search(r"Visar \d+–\d+ av (\d+) ärende", page.text)
    return int(found.group(1)) if found else 0


def test_a_case_with_two_overdue_deadlines_counts_once(client: TestClient, app: FastAPI) -> None:
    _seed(app)
    sign_in(client, "chef@testby.se")
    page = client.get("/").text
    kontakt = [s for s in SEEDS if s.mailbox == "kontakt@testby.se"]
    counts = _counts(_row(page, "kontakt@testby.se"))
    open_ = [s for s in kontakt if s.status is not CaseStatus.CLOSED]
    late = [
        s
        for s in open_
        if s.status is CaseStatus.REGISTERED
        and any(d is not None and d < TODAY for d in (s.ack_due, s.answer_due))
    ]
    deadlines = sum(
        1 for s in late for d in (s.ack_due, s.answer_due) if d is not None and d < TODAY
    )
    assert deadlines > len(late)  # the seed is one where deadlines and cases differ
    assert counts["overdue"][0] == len(late) == 2
    assert counts["open"][0] == len(open_)
    assert counts["new"][0] == len(kontakt)  # all came in today, closed or not
    # The soon-due list is of cases: the doubly late complaint is one row.
    soon = page[page.index('id="snart-forsenat"') :].split("</table>")[0]
    assert soon.count("<tr class=") == len(late)
    assert f"Visa alla {len(late)} försenade ärenden" in soon


def test_every_figure_is_the_total_of_the_list_it_links_to(
    client: TestClient, app: FastAPI
) -> None:
    _seed(app)
    sign_in(client, "kd@testby.se")  # head above both units: both mailboxes
    page = client.get("/").text
    followed = 0
    for address in ("kontakt@testby.se", "bygglov@testby.se"):
        counts = _counts(_row(page, address))
        assert set(counts) == {"new", "open", "overdue"}
        for name, (number, href) in counts.items():
            assert (
                href.startswith("/arenden?") and "brevlada=" + address.replace("@", "%40") in href
            )
            assert _total(client, href) == number, (address, name, href)
            followed += 1
    overall = re.search(r'<a href="([^"]+)" data-count="overdue-total">Visa [^<]*?(\d+)', page)
    assert overall is not None and "forsenat=1" in overall.group(1)
    assert _total(client, unescape(overall.group(1))) == int(overall.group(2)) == 3
    assert followed == 6


def test_the_soon_list_shows_twenty_and_links_to_all(client: TestClient, app: FastAPI) -> None:
    many = SOON_SHOWN + 3
    _seed(app, tuple(Seed("complaint", "kontakt@testby.se", PAST, PAST) for _ in range(many)))
    sign_in(client, "chef@testby.se")
    page = client.get("/").text
    soon = page[page.index('id="snart-forsenat"') :].split("</table>")[0]
    assert soon.count("<tr class=") == SOON_SHOWN
    assert f"av {many} ärenden" in soon and f"Visa alla {many} försenade ärenden" in soon
    assert _counts(_row(page, "kontakt@testby.se"))["overdue"][0] == many


def _figure(html: str, key: str) -> str:
    start = html.index(f'id="diagram-{key}"')
    return html[start : html.index("</figure>", start)]


def _table_figures(figure: str) -> list[int]:
    table = figure[figure.index("<table") :]
    return [
        int(n)
        for n in re.findall(r'<td class="num"[^>]*>(?:<a href="[^"]+">)?(\d+)(?:</a>)?<', table)
    ]


def test_the_charts_on_oversikt_have_a_bar_per_figure_and_a_table(
    client: TestClient, app: FastAPI
) -> None:
    _seed(app)
    sign_in(client, "chef@testby.se")
    page = client.get("/").text
    assert "<script" not in page.lower()
    for key in ("per-manad", "per-enhet", "alder"):
        figure = _figure(page, key)
        picture = figure[figure.index("<svg") : figure.index("</svg>")]
        assert 'role="img"' in picture and "aria-label=" in picture
        assert "style=" not in picture  # the page's CSP refuses inline styles
        figures = _table_figures(figure)
        bars = re.findall(rf'<g id="{key}-bar-\d+-\d+">\s*<title>([^<]+)</title>', picture)
        assert len(bars) == sum(1 for n in figures if n) > 0, key
        assert sorted(int(b.rsplit(": ", 1)[1]) for b in bars) == sorted(n for n in figures if n)
    # Chef sees the Kontaktcenter cases: all came in today, so all five are 0–7 days old…
    ages = _table_figures(_figure(page, "alder"))
    assert ages[0] == 4 and sum(ages) == 4  # …and four of them are open
    age_link = re.search(r'<a href="([^"]+)">4</a>', _figure(page, "alder"))
    assert age_link is not None and _total(client, unescape(age_link.group(1))) == 4


def test_a_chart_draws_one_bar_per_non_zero_figure() -> None:
    chart = Chart(
        "prov",
        "Prov",
        "Månad",
        ("januari", "februari", "mars"),
        (Series("Klagomål", (3, 0, 5)), Series("Synpunkter", (None, 2, 1))),
    )
    picture = str(svg(chart))
    titles = re.findall(r'<g id="prov-bar-\d+-\d+">\s*<title>([^<]+)</title>', picture)
    assert titles == [
        "Klagomål, januari: 3",
        "Klagomål, mars: 5",
        "Synpunkter, februari: 2",
        "Synpunkter, mars: 1",
    ]
    assert "<script" not in picture and "style=" not in picture
    assert picture.startswith("<svg") and "<title>Prov</title>" in picture
    assert re.search(r'\bid="(?!prov-)', picture) is None  # every id carries the chart's key


def test_the_compilation_docx_has_the_charts_as_pictures(client: TestClient, app: FastAPI) -> None:
    _seed(app)
    sign_in(client, "admin@testby.se")
    page = client.get("/sammanstallning?year=2026").text
    keys = re.findall(r'<figure class="chart" id="diagram-([a-z-]+)"', page)
    shown = [k for k in keys if "Inget att visa" not in _figure(page, k)]
    assert shown and "<script" not in page.lower()
    data = client.get("/sammanstallning/2026.docx").content
    document = docx.Document(io.BytesIO(data))
    shapes = document.inline_shapes
    assert len(shapes) == len(shown)
    described = [s._inline.docPr.get("descr") for s in shapes]
    month = _figure(page, "ar-per-manad")
    november = re.search(r"november</th>\s*<td[^>]*>(?:<a[^>]*>)?(\d+)", month)
    assert november is not None
    assert f"november {november.group(1)}" in described[0]


def _sign_in_browser(page, app: FastAPI, address: str) -> None:  # type: ignore[no-untyped-def]
    add_accounts(app, (address,))
    page.goto("/logga-in")
    page.get_by_label("E-postadress").fill(address)
    page.get_by_label("Lösenord").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Logga in").click()


def test_axe_on_oversikt_and_sammanstallning_with_charts(page, app: FastAPI) -> None:  # type: ignore[no-untyped-def]
    from tests.web.browser import axe_violations, screenshot

    _seed(app)
    _sign_in_browser(page, app, "admin@testby.se")
    for path in ("/", "/sammanstallning?year=2026"):
        page.goto(path)
        for summary in page.locator("details.chart-table > summary").all():
            summary.click()  # the tables open, so that axe checks them too
        bar = page.locator("svg.chart-picture g[id*='-bar-'] path").first
        # The bars keep their colour under the page's Content-Security-Policy.
        assert bar.evaluate("e => getComputedStyle(e).fill") != "rgb(0, 0, 0)"
        screenshot(page, "overview-charts" if path == "/" else "compilation-charts")
        assert axe_violations(page) == [], path
