"""``postvakt web adduser`` and ``users``: local accounts from the command line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from postvakt.cli import main
from postvakt.registry.db import open_database, session_factory
from postvakt.registry.models import WebUser
from tests.web.support import make_config


def test_adduser_stores_a_hash_and_users_lists_the_roles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(tmp_path / "ws")
    path = str(config.base_dir / "postvakt.toml")
    monkeypatch.setattr("sys.stdin", io.StringIO("ett långt lösenord 123\n"))
    assert main(["--config", path, "web", "adduser", "chef@testby.se"]) == 0
    assert "Kontot chef@testby.se är klart (handläggare, enhetschef)." in capsys.readouterr().out
    with session_factory(open_database(config.database_url))() as session:
        account = session.scalars(select(WebUser)).one()
    assert account.password_hash.startswith("$argon2id$")
    assert "ett långt lösenord" not in account.password_hash
    assert main(["--config", path, "web", "users"]) == 0
    assert "chef@testby.se: handläggare, enhetschef" in capsys.readouterr().out


def test_adduser_refuses_an_address_without_a_role(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(tmp_path / "ws")
    path = str(config.base_dir / "postvakt.toml")
    assert main(["--config", path, "web", "adduser", "okand@example.net"]) == 2
    assert "har ingen roll i konfigurationen" in capsys.readouterr().err


def test_adduser_refuses_a_short_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(tmp_path / "ws")
    path = str(config.base_dir / "postvakt.toml")
    monkeypatch.setenv("PV_TEST_WEB_PASSWORD", "kort")
    args = [
        "--config",
        path,
        "web",
        "adduser",
        "anna@testby.se",
        "--password-env",
        "PV_TEST_WEB_PASSWORD",
    ]
    assert main(args) == 2
    assert "minst 10 tecken" in capsys.readouterr().err
