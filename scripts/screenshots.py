"""Screenshots of the web panel for the README: Mina uppgifter, a case page and
Sammanställning, on a desktop (1280 px) and a phone (390 px), from the demo workspace.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Builds a fresh demo (``postvakt demo``) in a temporary folder, starts ``postvakt web`` on a
free loopback port, signs in with the demo accounts in Debian's Chromium (Playwright) and
saves one screen of each page as PNG, reduced to a palette so each file stays under 200 kB.
Needs the test extras (``pip install -e '.[test]'``) and /usr/bin/chromium
(scripts/install-system-deps.sh).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "postvakt-demo"  # noqa: S105 - the demo accounts' published password
HANDLER = "anna.berg@exempel.se"
HEAD = "lena.chef@exempel.se"
MAX_BYTES = 200_000
WIDTHS = {"dator": (1280, 900), "telefon": (390, 844)}
SHOTS = (
    # (file name, who signs in, path or how to find it)
    ("mina-uppgifter", HANDLER, "/uppgifter"),
    ("arende", HANDLER, "case"),
    ("sammanstallning", HEAD, "/sammanstallning"),
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postvakt() -> list[str]:
    found = shutil.which("postvakt", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "postvakt"]


def _wait(port: int, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("postvakt web stopped before it answered")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"postvakt web did not answer on port {port} in {seconds:.0f} s")


def _small_png(path: Path) -> int:
    """Reduce ``path`` to a 256-colour palette (UI screenshots lose nothing visible)."""
    from PIL import Image

    with Image.open(path) as image:
        reduced = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    reduced.save(path, optimize=True)
    return path.stat().st_size


def _case_path(page) -> str:  # type: ignore[no-untyped-def]
    """The case with the most events among the first on Ärenden (a full case page)."""
    page.goto("/arenden?status=all")
    links = page.locator("table.grid tbody th a[href^='/arenden/']")
    hrefs = [links.nth(i).get_attribute("href") for i in range(min(links.count(), 8))]
    best, most = hrefs[0], -1
    for href in hrefs:
        page.goto(href)
        events = page.locator("h2:has-text('Händelser') + div table tbody tr").count()
        if events > most:
            best, most = href, events
    return best


def take(out: Path) -> list[tuple[Path, int]]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise SystemExit("/usr/bin/chromium saknas: kör scripts/install-system-deps.sh")
    out.mkdir(parents=True, exist_ok=True)
    saved: list[tuple[Path, int]] = []
    with tempfile.TemporaryDirectory(prefix="postvakt-bilder-") as tmp:
        workdir = Path(tmp) / "demo"
        env = {**os.environ, "POSTVAKT_CONFIG": ""}
        subprocess.run(
            [*_postvakt(), "demo", "--dir", str(workdir)],
            check=True,
            stdout=subprocess.DEVNULL,
            env=env,
        )
        port = _free_port()
        server = subprocess.Popen(
            [*_postvakt(), "--config", str(workdir / "postvakt.toml"), "web", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        base = f"http://127.0.0.1:{port}/"
        try:
            _wait(port, server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM),
                    headless=True,
                    args=["--headless", "--no-sandbox", "--disable-gpu"],
                )
                for width_name, (width, height) in WIDTHS.items():
                    for name, who, where in SHOTS:
                        context = browser.new_context(
                            base_url=base,
                            locale="sv-SE",
                            viewport={"width": width, "height": height},
                        )
                        page = context.new_page()
                        page.goto("/logga-in")
                        page.get_by_label("E-postadress").fill(who)
                        page.get_by_label("Lösenord").fill(PASSWORD)
                        with page.expect_navigation():
                            page.get_by_role("button", name="Logga in").click()
                        page.goto(_case_path(page) if where == "case" else where)
                        path = out / f"{name}-{width_name}.png"
                        page.screenshot(path=str(path))  # one screen, as someone first sees it
                        saved.append((path, _small_png(path)))
                        context.close()
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    too_big = [f"{p.name} ({size} byte)" for p, size in saved if size > MAX_BYTES]
    if too_big:
        raise SystemExit(f"för stora bilder: {', '.join(too_big)}")
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    for path, size in take(args.out):
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {size // 1000} kB")


if __name__ == "__main__":
    main()
