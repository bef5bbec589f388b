"""Fixtures for the dashboard: an app on a fixed clock with accounts and two cases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from postvakt.clock import fixed_clock
from postvakt.config import Config
from postvakt.web import create_app
from tests.web.browser import chromium, live_server, page  # noqa: F401 - fixtures for the browser tests
from tests.web.support import NOW, Cases, add_cases, make_config


@pytest.fixture
def web_config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "ws")


@pytest.fixture
def app(web_config: Config) -> Iterator[FastAPI]:
    app = create_app(web_config, clock=fixed_clock(NOW), environ={})
    try:
        yield app
    finally:
        app.state.ctx.close()


@pytest.fixture
def cases(app: FastAPI) -> Cases:
    return add_cases(app)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client
