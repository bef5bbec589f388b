"""Every page on a phone and on a desktop, in Debian's Chromium: at 390×844 no page scrolls
sideways (``document.documentElement.scrollWidth <= 390``) and tables are cards, and axe-core
finds no WCAG 2.2 A/AA violation at 390 px or at 1280 px.

The pages are listed once, in tests/web/phone_pages.py; the workspace holds what makes pages
wide (long subjects, names and addresses, 60+ cases).  One browser, one tab per person,
each page loaded once and looked at in both widths."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from postvakt.clock import fixed_clock
from postvakt.web import create_app
from tests.web.browser import LiveServer, axe_violations, screenshot
from tests.web.phone_pages import NOT_PAGES, PAGES, UNEXPECTED, Seeded, Shown, long_config, seed
from tests.web.support import NOW, PASSWORD, add_accounts

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "postvakt" / "web" / "templates"


@pytest.fixture(scope="module")
def phone_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    config = long_config(tmp_path_factory.mktemp("phone") / "ws")
    app = create_app(config, clock=fixed_clock(NOW), environ={})

    def fails() -> None:
        raise RuntimeError("a fault deep down")

    app.add_api_route(UNEXPECTED, fails)
    add_accounts(app, tuple({shown.who for shown in PAGES if shown.who}))
    try:
        yield app
    finally:
        app.state.ctx.close()


@pytest.fixture(scope="module")
def seeded(phone_app: FastAPI) -> Seeded:
    return seed(phone_app)


@pytest.fixture(scope="module")
def server(phone_app: FastAPI) -> Iterator[LiveServer]:
    live = LiveServer(phone_app).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def tabs(chromium, server: LiveServer):  # type: ignore[no-untyped-def]
    """A tab per person (signed in on first use), reused by every page they look at."""
    opened: dict[str, object] = {}
    contexts = []

    def tab(who: str):  # type: ignore[no-untyped-def]
        if who not in opened:
            context = chromium.new_context(base_url=server.url, locale="sv-SE", viewport=PHONE)
            contexts.append(context)
            page = context.new_page()
            page.set_default_timeout(10_000)
            if who:
                page.goto("/logga-in")
                page.get_by_label("E-postadress").fill(who)
                page.get_by_label("Lösenord").fill(PASSWORD)
                with page.expect_navigation():
                    page.get_by_role("button", name="Logga in").click()
            opened[who] = page
        return opened[who]

    yield tab
    for context in contexts:
        context.close()


def _wide(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The visible elements that reach past the right edge (what to fix)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(el => el.getBoundingClientRect().right > innerWidth + 1 && el.checkVisibility())
            .slice(0, 5)
            .map(el => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}px`)"""
    )


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower().translate(str.maketrans("åäö", "aao"))).strip(
        "-"
    )


@pytest.mark.parametrize("shown", PAGES, ids=[_slug(s.name) for s in PAGES])
def test_the_page_fits_a_phone_and_passes_axe_in_both_widths(
    tabs,  # type: ignore[no-untyped-def]
    seeded: Seeded,
    shown: Shown,
) -> None:
    page = tabs(shown.who)
    page.set_viewport_size(PHONE)
    response = page.goto(shown.url(seeded))
    assert response is not None and response.status == shown.status, shown.name
    if shown.then is not None:
        shown.then(page)
    assert "<" not in page.title() and page.title().endswith("– Postvakt"), page.title()

    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, f"phone-{_slug(shown.name)}")
    assert width <= PHONE["width"], f"{shown.name}: {width} px wide: {_wide(page)}"
    # Tables are cards: no cell sits beside another one of the same row.
    beside = page.evaluate(
        """() => [...document.querySelectorAll('table.grid tbody tr')].filter(tr => {
            const cells = [...tr.children].filter(c => c.checkVisibility());
            return cells.some((c, i) => i > 0 &&
                c.getBoundingClientRect().top < cells[i - 1].getBoundingClientRect().bottom - 1);
        }).length"""
    )
    assert beside == 0, f"{shown.name}: {beside} table rows are not cards"
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('table.grid tbody td:not([data-label]):not([colspan])')]
            .map(td => td.textContent.trim().slice(0, 40))"""
    )
    assert unlabelled == [], f"{shown.name}: cells without data-label: {unlabelled}"
    found = axe_violations(page)
    assert found == [], f"{shown.name} at 390 px: {found}"

    page.set_viewport_size(DESKTOP)
    found = axe_violations(page)
    screenshot(page, f"desktop-{_slug(shown.name)}")
    assert found == [], f"{shown.name} at 1280 px: {found}"


def test_the_width_check_sees_a_page_that_is_too_wide(tabs, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """The measure is not empty: an unbreakable line makes the page wider than the phone."""
    page = tabs(PAGES[1].who)
    page.set_viewport_size(PHONE)
    page.goto("/uppgifter")
    page.evaluate(  # through the CSSOM: the page's CSP refuses style attributes
        """() => {
            const line = document.createElement('p');
            line.textContent = 'ett mycket långt ord '.repeat(20);
            line.style.whiteSpace = 'nowrap';
            document.querySelector('main').append(line);
        }"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") > PHONE["width"]


def _get_routes(app: FastAPI) -> set[str]:
    def walk(routes: list) -> list[APIRoute]:  # type: ignore[type-arg]
        found: list[APIRoute] = []
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route)
            inner = getattr(route, "original_router", None) or getattr(route, "router", None)
            if inner is not None and inner is not route:
                found += walk(inner.routes)
        return found

    return {r.path for r in walk(app.routes) if "GET" in r.methods}


def test_every_page_is_in_the_list(phone_app: FastAPI) -> None:
    """A new page (a GET route or a page template) must be added to phone_pages.PAGES (or,
    for a download or redirect, to NOT_PAGES) to be checked on a phone."""
    routes = _get_routes(phone_app) - {UNEXPECTED}
    covered = set()
    for route in routes:
        pattern = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(route)) + "$"
        if any(
            re.match(pattern, s.path.format(brev=1, lang=2, franvaro=3).split("?")[0])
            for s in PAGES
        ):
            covered.add(route)
    assert routes - covered - set(NOT_PAGES) == set()
    assert set(NOT_PAGES) <= routes  # no stale entries
    templates = {p.name for p in TEMPLATES.glob("*.html")} - {"base.html", "_chart.html"}
    assert templates - {s.template for s in PAGES} == set()


def test_the_readme_shows_the_screenshots() -> None:
    """scripts/screenshots.py's pictures are in docs/screenshots/, small, in both widths, and
    the README's Webbpanelen section shows each by a relative link with a text."""
    from PIL import Image

    root = TEMPLATES.parents[3]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Webbpanelen") :]
    linked = re.findall(r"!\[([^\]]+)\]\((docs/screenshots/[^)]+\.png)\)", section)
    names = {Path(path).name for _, path in linked}
    expected = {
        f"{page}-{width}.png"
        for page in ("mina-uppgifter", "arende", "sammanstallning")
        for width in ("dator", "telefon")
    }
    assert names == expected
    for text, path in linked:
        file = root / path
        assert text.strip() and file.stat().st_size < 200_000, path
        with Image.open(file) as image:
            assert image.width == (1280 if "dator" in path else 390), path
