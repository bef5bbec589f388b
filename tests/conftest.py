"""Shared fixtures: real PostgreSQL, a Maildir workspace, a fixed clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from postvakt.classifier import model as model_module
from postvakt.clock import STOCKHOLM, Clock, fixed_clock
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.postgres import PostgresServer
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, make_workspace


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The classifier's model is trained into a folder of the run's own (``POSTVAKT_CACHE_DIR``,
    inherited by the CLI run as a subprocess), exactly as the first use in production trains
    it: the tests neither read nor write the user's cache, and train once per run."""
    folder = tmp_path_factory.mktemp("modell")
    before = os.environ.get("POSTVAKT_CACHE_DIR")
    os.environ["POSTVAKT_CACHE_DIR"] = str(folder)
    model_module._DEFAULT.clear()
    try:
        yield folder
    finally:
        model_module._DEFAULT.clear()
        if before is None:
            os.environ.pop("POSTVAKT_CACHE_DIR", None)
        else:
            os.environ["POSTVAKT_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on the embedded default and on the production database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'postvakt.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)


@pytest.fixture
def clock(now: datetime) -> Clock:
    return fixed_clock(now)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws")


# --- a real Dovecot (IMAP, LMTP + Sieve, ManageSieve) for the IMAP connector --------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) that keeps every message it receives."""
    server = SmtpServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """One Dovecot for the whole run; tests stay apart by taking fresh users."""
    server = DovecotServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_user(dovecot: DovecotServer) -> ImapUser:
    """A new user with an empty mailbox (INBOX, Drafts, Sent, Trash) on ``dovecot``."""
    name = dovecot.add_user()
    return ImapUser(name, dovecot.password(name))
