"""The dashboard's door: sessions that end when they should, password guessing slowed without
locking anyone out, and an access log of every view of a case.

Each test runs the real app on SQLite with a clock the test moves; clients are told apart by
their network address, as behind the proxy in production.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.cli import main
from postvakt.config import Config
from postvakt.registry.models import Case, CaseAccess, LoginAttempt, Mailbox, WebSession
from postvakt.web import create_app
from postvakt.web.app import SESSION_COOKIE
from postvakt.web.auth import add_user
from postvakt.web.throttle import LoginPolicy
from tests.web.support import NOW, PASSWORD, Cases, add_accounts, add_cases, csrf_of, ctx_of

GUESSER = ("203.0.113.66", 40000)
OWNER = ("198.51.100.10", 50000)
ELSEWHERE = ("192.0.2.77", 60000)


class MovableClock:
    """A clock the test moves forward."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(NOW)


@pytest.fixture
def door(web_config: Config, clock: MovableClock) -> Iterator[FastAPI]:
    app = create_app(web_config, clock=clock, environ={})
    add_accounts(app, ("anna@testby.se", "bo@testby.se", "admin@testby.se", "chef@testby.se"))
    try:
        yield app
    finally:
        app.state.ctx.close()


def _client(app: FastAPI, where: tuple[str, int] = OWNER) -> TestClient:
    return TestClient(app, client=where)


def _try(client: TestClient, address: str, password: str) -> int:
    csrf = csrf_of(client.get("/logga-in").text)
    response = client.post(
        "/logga-in",
        data={"address": address, "password": password, "csrf": csrf},
        follow_redirects=False,
    )
    return response.status_code


def _retry_after(client: TestClient, address: str) -> int:
    """How long a held-back client is told to wait."""
    csrf = csrf_of(client.get("/logga-in").text)
    response = client.post("/logga-in", data={"address": address, "password": "x", "csrf": csrf})
    assert response.status_code == 429
    return int(response.headers["retry-after"])


def _signed_in(client: TestClient) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200


# ----------------------------------------------------------------------------- sessions


def test_a_copied_cookie_is_refused_after_sign_out(door: FastAPI) -> None:
    with _client(door) as browser, _client(door, ELSEWHERE) as thief:
        assert _try(browser, "anna@testby.se", PASSWORD) == 303
        copied = browser.cookies[SESSION_COOKIE]
        thief.cookies.set(SESSION_COOKIE, copied)
        assert _signed_in(thief)  # the copy works while the session lives

        csrf = csrf_of(browser.get("/").text)
        browser.post("/logga-ut", data={"csrf": csrf})
        assert not _signed_in(browser)
        thief.cookies.set(SESSION_COOKIE, copied)
        assert not _signed_in(thief)  # and not a second after sign-out
    with ctx_of(door).sessions() as session:
        row = session.scalars(select(WebSession)).one()
    assert row.ended_at == NOW and row.address == "anna@testby.se"
    assert row.client == OWNER[0] and len(row.token_hash) == 64
    assert copied not in row.token_hash  # only a hash of the token is stored


def test_a_new_password_from_the_command_line_ends_every_session(
    door: FastAPI, web_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _client(door) as office, _client(door, ELSEWHERE) as home:
        assert _try(office, "anna@testby.se", PASSWORD) == 303
        assert _try(home, "anna@testby.se", PASSWORD) == 303
        copied = home.cookies[SESSION_COOKIE]
        monkeypatch.setenv("PV_TEST_NEW_PASSWORD", "ett annat långt lösenord")
        path = str(web_config.base_dir / "postvakt.toml")
        args = ["--config", path, "web", "adduser", "anna@testby.se"]
        assert main([*args, "--password-env", "PV_TEST_NEW_PASSWORD"]) == 0
        assert not _signed_in(office) and not _signed_in(home)
        home.cookies.set(SESSION_COOKIE, copied)
        assert not _signed_in(home)
    with ctx_of(door).sessions() as session:
        rows = list(session.scalars(select(WebSession)))
    assert len(rows) == 2 and all(r.ended_at is not None for r in rows)


def test_a_new_password_ends_the_sessions_even_signed_in_later(
    door: FastAPI, clock: MovableClock
) -> None:
    """Sessions end by the server's record, not only by comparing times."""
    ctx = ctx_of(door)
    with _client(door) as browser:
        assert _try(browser, "anna@testby.se", PASSWORD) == 303
        with ctx.sessions() as session, session.begin():
            add_user(session, ctx.config, "anna@testby.se", "nytt lösenord 4567", now=NOW)
        clock.advance(seconds=5)
        assert not _signed_in(browser)
        assert _try(browser, "anna@testby.se", PASSWORD) == 400
        assert _try(browser, "anna@testby.se", "nytt lösenord 4567") == 303
        assert _signed_in(browser)


def test_a_session_ends_when_idle(door: FastAPI, clock: MovableClock) -> None:
    with _client(door) as browser:
        assert _try(browser, "anna@testby.se", PASSWORD) == 303
        clock.advance(minutes=59)
        assert _signed_in(browser)  # used within the hour: goes on, counted from now
        clock.advance(minutes=59)
        assert _signed_in(browser)
        clock.advance(minutes=60)
        assert not _signed_in(browser)


def test_a_session_ends_after_its_hours_however_busy(door: FastAPI, clock: MovableClock) -> None:
    with _client(door) as browser:
        assert _try(browser, "anna@testby.se", PASSWORD) == 303
        for _ in range(17):  # every half hour for 8.5 hours
            clock.advance(minutes=30)
            assert _signed_in(browser)
        clock.advance(minutes=30)  # 9 hours after sign-in
        assert not _signed_in(browser)


# ------------------------------------------------------------------------ throttling


def test_failures_from_one_client_slow_it_down_without_checking_the_password(
    door: FastAPI, clock: MovableClock
) -> None:
    with _client(door, GUESSER) as guesser:
        for _ in range(5):
            assert _try(guesser, "anna@testby.se", "gissning") == 400
        csrf = csrf_of(guesser.get("/logga-in").text)
        held = guesser.post(
            "/logga-in", data={"address": "anna@testby.se", "password": PASSWORD, "csrf": csrf}
        )
        assert held.status_code == 429  # even the right password is not tried
        assert held.headers["retry-after"] == "1"
        assert "Försök igen om 1 sekund (klockan 10:00:01)" in held.text
        assert "Lösenordet prövades inte" in held.text
        assert not _signed_in(guesser)

        clock.advance(seconds=1)
        assert _try(guesser, "anna@testby.se", "gissning") == 400  # the 6th failure: wait 2 s
        clock.advance(seconds=1)
        assert _try(guesser, "anna@testby.se", PASSWORD) == 429
        clock.advance(seconds=1)
        assert _try(guesser, "anna@testby.se", "gissning") == 400  # the 7th: wait 4 s
        clock.advance(seconds=3)
        assert _try(guesser, "anna@testby.se", "gissning") == 429
        clock.advance(seconds=1)
        assert _try(guesser, "anna@testby.se", PASSWORD) == 303
    with ctx_of(door).sessions() as session:
        attempts = list(session.scalars(select(LoginAttempt)))
    assert len(attempts) == 8  # the held-back tries are not counted
    assert [a.success for a in attempts].count(True) == 1


def test_the_wait_doubles_up_to_a_quarter_of_an_hour(door: FastAPI, clock: MovableClock) -> None:
    waits = []
    with _client(door, GUESSER) as guesser:
        for _ in range(11):
            while _try(guesser, "anna@testby.se", "gissning") == 429:
                waits.append(_retry_after(guesser, "anna@testby.se"))
                clock.advance(seconds=waits[-1])
    assert waits == [1, 2, 4, 8, 16, 32]
    policy = LoginPolicy()
    assert [policy.wait(n, policy.cap).total_seconds() for n in (4, 5, 9, 14, 15, 60)] == [
        0,
        1,
        16,
        512,
        900,  # 1024 s, capped at 15 minutes
        900,
    ]
    assert policy.wait(60, policy.account_cap).total_seconds() == 60


def test_one_client_trying_many_accounts_is_held_back(door: FastAPI) -> None:
    with _client(door, GUESSER) as guesser:
        for address in (
            "anna@testby.se",
            "bo@testby.se",
            "chef@testby.se",
            "x@testby.se",
            "y@a.se",
        ):
            assert _try(guesser, address, "Sommar2026!") == 400
        assert _try(guesser, "admin@testby.se", "Sommar2026!") == 429


def test_a_guesser_elsewhere_cannot_lock_the_owner_out(door: FastAPI, clock: MovableClock) -> None:
    with _client(door) as owner:  # her own computer: she signed in from it before
        assert _try(owner, "anna@testby.se", PASSWORD) == 303
        owner.post("/logga-ut", data={"csrf": csrf_of(owner.get("/").text)})
    clock.advance(hours=1)
    with _client(door, GUESSER) as guesser:
        failures = 0
        while failures < 20:  # as fast as the back-off lets it
            if _try(guesser, "anna@testby.se", "gissning") == 400:
                failures += 1
            else:
                clock.advance(seconds=_retry_after(guesser, "anna@testby.se"))
        assert _try(guesser, "anna@testby.se", PASSWORD) == 429  # the guesser is held back
    with _client(door, ELSEWHERE) as new_place:  # a computer she never used: a minute at most
        wait = _retry_after(new_place, "anna@testby.se")
        assert 0 < wait <= 60
    with _client(door) as owner:  # her own computer: at once
        assert _try(owner, "anna@testby.se", PASSWORD) == 303
        assert _signed_in(owner)
    clock.advance(seconds=wait)
    with _client(door, ELSEWHERE) as new_place:
        assert _try(new_place, "anna@testby.se", PASSWORD) == 303


def test_the_account_is_slowed_for_unknown_clients_when_guessed_from_many(
    door: FastAPI, clock: MovableClock
) -> None:
    """Many clients, a guess each: the account's own (loose) count slows a new client."""
    for i in range(5):
        with _client(door, (f"203.0.113.{i}", 1000)) as guesser:
            assert _try(guesser, "bo@testby.se", "gissning") == 400
    with _client(door, ("203.0.113.5", 1000)) as guesser:
        assert _try(guesser, "bo@testby.se", "gissning") == 429
    with _client(door, ELSEWHERE) as someone:
        csrf = csrf_of(someone.get("/logga-in").text)
        held = someone.post(
            "/logga-in", data={"address": "bo@testby.se", "password": PASSWORD, "csrf": csrf}
        )
        assert held.status_code == 429
        assert int(held.headers["retry-after"]) <= 60
        clock.advance(minutes=1)
        assert _try(someone, "bo@testby.se", PASSWORD) == 303


def test_failed_sign_ins_are_logged_by_client_and_account_id(
    door: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="postvakt")
    with _client(door, GUESSER) as guesser:
        for _ in range(6):
            _try(guesser, "anna@testby.se", "hemligt!")
        _try(guesser, "okand@example.net", "hemligt!")
    with ctx_of(door).sessions() as session:
        from postvakt.registry.models import WebUser

        anna = session.scalars(select(WebUser).where(WebUser.address == "anna@testby.se")).one()
    failed = [r.getMessage() for r in caplog.records if "failed sign-in" in r.getMessage()]
    assert f"failed sign-in from {GUESSER[0]} to account {anna.id} (1 failures" in failed[0]
    assert len(failed) == 5  # the 6th try was held back, the unknown one too
    held = [r.getMessage() for r in caplog.records if "held back" in r.getMessage()]
    assert held and GUESSER[0] in held[0] and "password not checked" in held[0]
    for record in caplog.records:
        text = record.getMessage()
        assert "anna@testby.se" not in text and "okand@example.net" not in text
        assert "hemligt!" not in text


# --------------------------------------------------------------------- the access log


@pytest.fixture
def door_cases(door: FastAPI) -> Cases:
    cases = add_cases(door)
    with ctx_of(door).sessions() as session, session.begin():
        case = session.get(Case, cases.kontakt)
        assert case is not None
        # As if it had come by e-mail to the function mailbox: the original is the owners'.
        case.mailbox_id = session.scalars(
            select(Mailbox.id).where(Mailbox.address == "kontakt@testby.se")
        ).one()
        case.original = (
            b"From: Karin Ek <karin.ek@example.net>\r\nTo: kontakt@testby.se\r\n"
            b"Subject: =?utf-8?Q?Sn=C3=B6n_p=C3=A5_Storgatan?=\r\n\r\n"
            b"Ingen har r\xc3\xb6jt sn\xc3\xb6n p\xc3\xa5 Storgatan.\r\n"
        )
    return cases


def _accesses(app: FastAPI, case_id: int) -> list[CaseAccess]:
    with ctx_of(app).sessions() as session:
        return list(
            session.scalars(
                select(CaseAccess).where(CaseAccess.case_id == case_id).order_by(CaseAccess.id)
            )
        )


def test_every_view_of_a_case_on_the_web_and_by_cli_is_in_the_audit(
    door: FastAPI,
    door_cases: Cases,
    web_config: Config,
    clock: MovableClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import getpass

    with _client(door) as browser:
        assert _try(browser, "anna@testby.se", PASSWORD) == 303
        assert browser.get(f"/arenden/{door_cases.kontakt}").status_code == 200
        clock.advance(minutes=2)
        original = browser.get(f"/arenden/{door_cases.kontakt}/original")
        assert original.status_code == 200
        assert original.content.startswith(b"From: Karin Ek")
        assert original.headers["content-type"].startswith("message/rfc822")
        assert browser.get(f"/arenden/{door_cases.bygglov}").status_code == 404  # not hers
    path = str(web_config.base_dir / "postvakt.toml")
    ref = door_cases.kontakt_ref
    assert main(["--config", path, "cases", "show", ref, "--by", "registrator@testby.se"]) == 0
    assert main(["--config", path, "cases", "show", ref, "--json"]) == 0
    capsys.readouterr()

    rows = [(a.actor, a.via, a.what, a.client) for a in _accesses(door, door_cases.kontakt)]
    import socket

    assert rows == [
        ("anna@testby.se", "web", "visa", OWNER[0]),
        ("anna@testby.se", "web", "original", OWNER[0]),
        ("registrator@testby.se", "cli", "visa", socket.gethostname()),
        (getpass.getuser(), "cli", "visa", socket.gethostname()),
    ]
    assert _accesses(door, door_cases.bygglov) == []  # a refused look shows nothing, logs nothing

    assert main(["--config", path, "cases", "audit", ref]) == 0
    out = capsys.readouterr().out
    assert f"Åtkomstlogg för {ref} (4 visningar):" in out
    lines = out.splitlines()
    assert "2026-11-24 10:00  anna@testby.se" in lines[3]
    assert "visade ärendet" in lines[3] and "webben" in lines[3] and OWNER[0] in lines[3]
    assert "hämtade originalmeddelandet" in lines[4] and "10:02" in lines[4]
    assert "registrator@testby.se" in lines[5] and "kommandoraden" in lines[5]
    assert getpass.getuser() in lines[6]
    assert main(["--config", path, "cases", "audit", door_cases.bygglov_ref]) == 0
    assert "Ingen har visat" in capsys.readouterr().out


def test_only_an_admin_sees_the_access_log_on_the_case_page(
    door: FastAPI, door_cases: Cases
) -> None:
    with _client(door) as staff:
        assert _try(staff, "anna@testby.se", PASSWORD) == 303
        page = staff.get(f"/arenden/{door_cases.kontakt}").text
        assert "Originalmeddelandet (.eml)" in page
        assert "Åtkomstlogg" not in page
    with _client(door, ELSEWHERE) as admin:
        assert _try(admin, "admin@testby.se", PASSWORD) == 303
        page = admin.get(f"/arenden/{door_cases.kontakt}").text
    assert "Åtkomstlogg" in page
    log = page.split('id="atkomst"')[1]
    assert log.count('<tr><td data-label="När">') == 2  # anna's view and this one
    assert "anna@testby.se" in log and "admin@testby.se" in log and ELSEWHERE[0] in log


def test_a_letter_download_is_in_the_access_log(door: FastAPI, door_cases: Cases) -> None:
    from postvakt.registry.models import Draft

    with ctx_of(door).sessions() as session:
        draft = session.scalars(select(Draft).where(Draft.case_id == door_cases.kontakt)).first()
        assert draft is not None
    with _client(door) as browser:
        assert _try(browser, "anna@testby.se", PASSWORD) == 303
        response = browser.get(f"/arenden/{door_cases.kontakt}/brev/{draft.id}")
        assert response.status_code == 200
    assert [a.what for a in _accesses(door, door_cases.kontakt)] == ["brev"]


def test_a_new_account_has_no_session_to_end(door: FastAPI) -> None:
    """``web adduser`` for a new address makes an account and ends nothing."""
    ctx = ctx_of(door)
    with _client(door) as browser:
        assert _try(browser, "anna@testby.se", PASSWORD) == 303
        with ctx.sessions() as session, session.begin():
            add_user(session, ctx.config, "cecilia@testby.se", PASSWORD, now=NOW)
        assert _signed_in(browser)
