"""``postvakt web serve`` as a real process: it listens where it is told, serves the login page,
lets a local account sign in, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from tests.support.ports import free_port
from tests.support.workspace import make_workspace

PASSWORD = "ett långt lösenord 123"


def _environ(**extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k != "POSTVAKT_CONFIG"}
    environ.update(extra)
    return environ


def _wait_until_up(url: str, server: subprocess.Popen[str], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            _out, err = server.communicate()
            raise AssertionError(f"web serve ended with {server.returncode}: {err}")
        try:
            httpx2.get(url, timeout=2)
            return
        except httpx2.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered on {url} in {seconds} s")


def test_web_serve_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    config = str(ws.config_path)
    adduser = subprocess.run(
        [sys.executable, "-m", "postvakt", "--config", config, "web", "adduser",
         "anna@testby.se", "--password-env", "PV_TEST_WEB_PASSWORD"],
        env=_environ(PV_TEST_WEB_PASSWORD=PASSWORD), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert adduser.returncode == 0, adduser.stderr

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "postvakt", "--config", config, "web", "serve", "--port", str(port)],
        env=_environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until_up(f"{base}/logga-in", server)
        with httpx2.Client(base_url=base, timeout=10) as client:
            page = client.get("/logga-in")
            assert page.status_code == 200
            assert '<html lang="sv"' in page.text and "Logga in" in page.text
            first = client.get("/", follow_redirects=False)
            assert first.status_code == 303 and first.headers["location"] == "/logga-in"

            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf, "no CSRF field on the login page"
            signed = client.post(
                "/logga-in",
                data={"address": "anna@testby.se", "password": PASSWORD, "csrf": csrf[1]},
                follow_redirects=False,
            )
            assert signed.status_code == 303, signed.text
            overview = client.get("/")
            assert overview.status_code == 200 and "kontakt@testby.se" in overview.text
            search = client.get("/arenden", params={"q": "hemlig.avsandare@example.net"})
            assert search.status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            out, err = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            out, err = server.communicate()
            raise AssertionError(f"web serve did not stop on SIGTERM: {err}") from None
    assert server.returncode == 0, err
    assert f"Postvakts webbpanel: http://127.0.0.1:{port}/" in out
    assert "Traceback" not in err
    # The access log names the client and the path, never who signed in.
    assert "GET /logga-in" in err and "anna@testby.se" not in err
    # A search is a GET: the access log has its path, never its query string.
    assert '"GET /arenden HTTP/1.1" 200' in err and "hemlig" not in err and "?q=" not in err
