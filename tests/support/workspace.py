"""A Postvakt installation in a temporary folder: two Maildirs, a config, a database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from postvakt.clock import STOCKHOLM
from postvakt.config import Config, load_config
from postvakt.mailbox.maildir import deliver

BASE_CONFIG = """\
[organisation]
name = "Testby kommun"
diary_prefix = "KS"
domains = ["testby.se"]
web_form_senders = ["noreply@e-tjanst.testby.se"]
policy = "orebro"
registrar = "registrator@testby.se"

[database]
url = "{db_url}"

[[units]]
name = "Kommunledningen"
head = "kd@testby.se"

[[units]]
name = "Kontaktcenter"
head = "chef@testby.se"
parent = "Kommunledningen"

[[people]]
name = "Anna Berg"
address = "anna@testby.se"
unit = "Kontaktcenter"
title = "Handläggare"
phone = "0123-456 78"

# The fixtures' mail is dated before the tests' clock: without a start of its own, a mailbox
# starts at its first pass and leaves such mail alone (tests/test_start_from.py).
[[mailboxes]]
address = "kontakt@testby.se"
start_from = 2026-01-01
name = "Kontaktcenter"
kind = "function"
unit = "Kontaktcenter"
owners = ["anna@testby.se"]
connector = "maildir"

[mailboxes.maildir]
path = "mail/kontakt"

[[mailboxes]]
address = "anna@testby.se"
start_from = 2026-01-01
name = "Anna Berg"
kind = "personal"
unit = "Kontaktcenter"
owners = ["anna@testby.se"]
connector = "maildir"

[mailboxes.maildir]
path = "mail/anna"
"""

IMAP_SECRET_CONFIG = """\
[organisation]
name = "Testby kommun"
diary_prefix = "KS"

[[units]]
name = "Kontaktcenter"
head = "chef@testby.se"

[[mailboxes]]
address = "kontakt@testby.se"
kind = "personal"
unit = "Kontaktcenter"
connector = "imap"
[mailboxes.imap]
host = "imap.testby.se"
username = "kontakt"
password_env = "PV_TEST_IMAP_PASSWORD"
"""
"""A config whose one mailbox needs the password in ``PV_TEST_IMAP_PASSWORD``."""


@dataclass
class Workspace:
    root: Path
    config_path: Path

    @property
    def config(self) -> Config:
        return load_config(self.config_path)

    def maildir(self, who: str = "kontakt") -> Path:
        return self.root / "mail" / who

    def deliver(
        self,
        raw: bytes,
        who: str = "kontakt",
        *,
        when: datetime | None = None,
        name: str | None = None,
    ) -> Path:
        return deliver(self.maildir(who), raw, when=when.timestamp() if when else None, name=name)

    def files(self, who: str = "kontakt") -> dict[str, bytes]:
        """Every file in the Maildir (path relative to it -> bytes), to prove nothing changed."""
        base = self.maildir(who)
        return {
            str(p.relative_to(base)): p.read_bytes()
            for p in sorted(base.rglob("*"))
            if p.is_file() and ".Drafts" not in p.parts
        }

    def drafts(self, who: str = "kontakt") -> list[Path]:
        folder = self.maildir(who) / ".Drafts" / "cur"
        return sorted(folder.iterdir()) if folder.exists() else []


def make_workspace(root: Path, db_url: str | None = None) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    for who in ("kontakt", "anna"):
        for sub in ("cur", "new", "tmp"):
            (root / "mail" / who / sub).mkdir(parents=True, exist_ok=True)
    config_path = root / "postvakt.toml"
    config_path.write_text(
        BASE_CONFIG.format(db_url=db_url or "sqlite:///postvakt.db"), encoding="utf-8"
    )
    return Workspace(root, config_path)


def citizen_mail(
    body: str,
    *,
    subject: str = "Klagomål på snöröjningen",
    sender: str = "Karin Ek <karin.ek@example.net>",
    to: str = "kontakt@testby.se",
    date: datetime | None = None,
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A real RFC 5322 message as a citizen's mail program would send it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime(2026, 11, 23, 9, 15, tzinfo=STOCKHOLM))
    msg["Message-ID"] = message_id or make_msgid(domain="example.net")
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(body)
    return msg.as_bytes()


Deliver = Callable[..., Path]
