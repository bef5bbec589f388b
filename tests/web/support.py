"""A small municipality for the dashboard's tests: three units, staff, heads, two function
mailboxes, a registrar and an admin — and helpers to sign in as any of them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from postvakt.clock import STOCKHOLM
from postvakt.config import Config, load_config
from postvakt.web.auth import add_user
from postvakt.web.context import WebContext

WEB_CONFIG = """\
[organisation]
name = "Testby kommun"
diary_prefix = "KS"
domains = ["testby.se"]
policy = "orebro"
registrar = "registrator@testby.se"

[database]
url = "{db_url}"

[web]
admins = ["admin@testby.se"]

[[units]]
name = "Kommunledningen"
head = "kd@testby.se"

[[units]]
name = "Kontaktcenter"
head = "chef@testby.se"
parent = "Kommunledningen"

[[units]]
name = "Bygglov"
head = "bchef@testby.se"
parent = "Kommunledningen"

[[people]]
name = "Anna Berg"
address = "anna@testby.se"
unit = "Kontaktcenter"
title = "Handläggare"
phone = "0123-456 78"

[[people]]
name = "Cecilia Ek"
address = "cecilia@testby.se"
unit = "Kontaktcenter"
title = "Handläggare"

[[people]]
name = "Lena Holm"
address = "chef@testby.se"
unit = "Kontaktcenter"
title = "Enhetschef"

[[people]]
name = "Bo Bygg"
address = "bo@testby.se"
unit = "Bygglov"
title = "Bygglovshandläggare"

[[people]]
name = "Britt Lund"
address = "bchef@testby.se"
unit = "Bygglov"
title = "Enhetschef"

[[mailboxes]]
address = "kontakt@testby.se"
start_from = 2026-01-01  # the tests' mail is older than their clock
name = "Kontaktcenter"
kind = "function"
unit = "Kontaktcenter"
owners = ["anna@testby.se", "cecilia@testby.se"]
connector = "maildir"

[mailboxes.maildir]
path = "mail/kontakt"

[[mailboxes]]
address = "bygglov@testby.se"
start_from = 2026-01-01  # the tests' mail is older than their clock
name = "Bygglov"
kind = "function"
unit = "Bygglov"
owners = ["bo@testby.se"]
connector = "maildir"

[mailboxes.maildir]
path = "mail/bygglov"
"""

PASSWORD = "ett långt lösenord 123"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)  # a Tuesday, a working day

EVERYONE = (
    "anna@testby.se",
    "cecilia@testby.se",
    "chef@testby.se",
    "bo@testby.se",
    "bchef@testby.se",
    "kd@testby.se",
    "registrator@testby.se",
    "admin@testby.se",
)


def make_config(root: Path, db_url: str | None = None) -> Config:
    root.mkdir(parents=True, exist_ok=True)
    for who in ("kontakt", "bygglov"):
        for sub in ("cur", "new", "tmp"):
            (root / "mail" / who / sub).mkdir(parents=True, exist_ok=True)
    path = root / "postvakt.toml"
    path.write_text(WEB_CONFIG.format(db_url=db_url or "sqlite:///postvakt.db"), encoding="utf-8")
    return load_config(path)


def ctx_of(app: FastAPI) -> WebContext:
    return app.state.ctx


def add_accounts(app: FastAPI, addresses: tuple[str, ...] = EVERYONE) -> None:
    ctx = ctx_of(app)
    with ctx.sessions() as session, session.begin():
        for address in addresses:
            add_user(session, ctx.config, address, PASSWORD, now=ctx.now())


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client: TestClient, address: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in (making the local account first); returns the session's CSRF token."""
    add_accounts(client.app, (address,))  # type: ignore[arg-type]
    page = client.get("/logga-in")
    response = client.post(
        "/logga-in",
        data={"address": address, "password": password, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


@dataclass(frozen=True)
class Cases:
    """Ids and numbers of the cases every test starts with."""

    kontakt: int
    kontakt_ref: str
    bygglov: int
    bygglov_ref: str


def add_cases(app: FastAPI) -> Cases:
    """One complaint in each unit, registered by hand with an e-mail address (the letters go
    to the unit's function mailbox as drafts)."""
    ctx = ctx_of(app)
    first = ctx.casework.add(
        kind="complaint",
        channel="phone",
        summary="Snön är inte röjd på Storgatan",
        unit="Kontaktcenter",
        actor="anna@testby.se",
        email="karin.ek@example.net",
        name="Karin Ek",
    )
    second = ctx.casework.add(
        kind="opinion",
        channel="letter",
        summary="Bygglovet för altanen tar för lång tid",
        unit="Bygglov",
        actor="bo@testby.se",
        email="per.olsson@example.net",
        name="Per Olsson",
    )
    from sqlalchemy import select

    from postvakt.registry.models import Case

    with ctx.sessions() as session:
        ids = {c.reference: c.id for c in session.scalars(select(Case))}
    return Cases(ids[first.case], first.case, ids[second.case], second.case)
