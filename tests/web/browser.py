"""The dashboard on loopback and Debian's Chromium driven by Playwright.

Playwright's own browser download does not work everywhere (and is not needed): Debian's
``chromium`` package is launched with ``executable_path``.  When it is missing the set-up
installs it with the project's own script, as ``make test`` does.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def ensure_chromium() -> Path:
    if not CHROMIUM.exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "install-system-deps.sh")], check=True)
    assert CHROMIUM.exists(), "Debian's chromium package did not install /usr/bin/chromium"
    return CHROMIUM


class LiveServer:
    """``app`` served by uvicorn in a thread on a free loopback port."""

    def __init__(self, app: FastAPI):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
            )
        )
        self.thread = threading.Thread(target=self.server.run, name="web-test", daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the dashboard did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    server = LiveServer(app).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chromium():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    with sync_playwright() as playwright:  # Playwright gives each launch a new empty profile
        browser = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium, live_server: LiveServer):  # type: ignore[no-untyped-def]
    context = chromium.new_context(
        base_url=live_server.url, locale="sv-SE", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    """Save the whole page as test-artifacts/web/<name>.png (git-ignored) to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
"""axe-core's tags for every WCAG 2.0, 2.1 and 2.2 success criterion of levels A and AA."""


def axe_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's WCAG 2.2 A/AA violations on the page as it is now, one line each (the rule,
    its impact and the elements), an empty list when there are none."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={
            "runOnly": {"type": "tag", "values": WCAG_22_AA},
            "resultTypes": ["violations"],
        },
    )
    version = tuple(int(n) for n in results.response["testEngine"]["version"].split(".")[:2])
    assert version >= (4, 5), "axe-core knows WCAG 2.2 from 4.5"
    return [
        f"{v['id']} ({v['impact']}): {', '.join(str(n['target']) for n in v['nodes'])}"
        for v in results.response["violations"]
    ]


def tab_to(page, target, limit: int = 150) -> None:  # type: ignore[no-untyped-def]
    """Press Tab until ``target`` (a locator) has the keyboard focus: the way someone without
    a mouse gets there.  Fails if it is not reached in ``limit`` presses."""
    handle = target.element_handle()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("el => document.activeElement === el", handle):
            return
    raise AssertionError(f"Tab never reached {target}")


def focused_text(page) -> str:  # type: ignore[no-untyped-def]
    """The visible words of what has the focus (without the words only a screen reader
    reads, such as the case number a row's buttons repeat)."""
    return page.evaluate(
        """() => {
            const copy = document.activeElement.cloneNode(true);
            copy.querySelectorAll('.sr-only').forEach(el => el.remove());
            return copy.textContent.replace(/\\s+/g, ' ').trim();
        }"""
    )
