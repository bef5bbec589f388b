"""Örebro: "Den personliga brevlådan ska öppnas dagligen (arbetsdagar)" — personal mailboxes
are checked every working day without anyone asking for it; the person is told, and from the
second working day in a row the unit head too."""

from __future__ import annotations

from datetime import datetime

import pytest

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.errors import ConfigError
from postvakt.rules.daily_open import OpenedResult, checked_mailboxes
from postvakt.service import Service
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail


def at(y: int, m: int, d: int, h: int = 14) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=STOCKHOLM)


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open()


def _without_owners(text: str) -> str:
    """The config with Anna's own mailbox listing no owners (the person is no owner of it)."""
    start = text.index('address = "anna@testby.se"\n', text.index("[[mailboxes]]"))
    end = text.index("[mailboxes.maildir]", start)
    table = text[start:end]
    assert 'owners = ["anna@testby.se"]\n' in table
    return text[:start] + table.replace('owners = ["anna@testby.se"]\n', "") + text[end:]


def setup(ws: Workspace, smtp: SmtpServer, *, policy: str = "orebro", extra: str = "") -> Workspace:
    """Anna's own mailbox has no owners listed and no check_daily_open: only the policy
    decides.  Notifications by SMTP; the registrar's notices are tested elsewhere."""
    text = _without_owners(ws.config_path.read_text())
    text = text.replace('policy = "orebro"', f'policy = "{policy}"')
    text = text.replace(
        'registrar = "registrator@testby.se"',
        'registrar = "registrator@testby.se"\nregistrar_notice = "none"',
    )
    ws.config_path.write_text(text + extra + smtp.config())
    return ws


def anna(results: list[OpenedResult]) -> list[OpenedResult]:
    return [r for r in results if r.mailbox == "anna@testby.se"]


def test_an_unread_personal_mailbox_is_told_to_the_person_then_to_the_unit_head(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = setup(workspace, smtp_server)
    # Friday's mail in Anna's own mailbox, unread; the function mailbox is empty (opened).
    ws.deliver(citizen_mail("Hej Anna!", subject="Fråga", to="anna@testby.se"), "anna",
               when=at(2026, 11, 20, 9))  # fmt: skip
    with service_at(ws, at(2026, 11, 24)) as service:  # Tuesday 14:00
        assert service.jobs is not None
        (result,) = anna(service.jobs.run("daily-open").opened)
        assert (result.opened, result.misses_in_a_row) == (False, 1)
        assert "1 oläst meddelande från tidigare dagar" in result.evidence
    (first,) = smtp_server.received
    assert first.recipients == ["anna@testby.se"]  # the person, though no owner is listed
    assert "anna@testby.se: ingen läsning" in first.text
    assert smtp_server.to("chef@testby.se") == []  # one day is the person's own business

    with service_at(ws, at(2026, 11, 25)) as service:  # Wednesday: second working day in a row
        assert service.jobs is not None
        (result,) = anna(service.jobs.run("daily-open").opened)
        assert result.misses_in_a_row == 2
    second = smtp_server.received[1:]
    assert sorted(r for m in second for r in m.recipients) == ["anna@testby.se", "chef@testby.se"]
    (head,) = smtp_server.to("chef@testby.se")
    assert "anna@testby.se: ingen läsning" in head.text and "(andra arbetsdagen i rad)" in head.text


def test_a_personal_mailbox_read_today_is_no_alert(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = setup(workspace, smtp_server)
    path = ws.deliver(citizen_mail("Hej Anna!", to="anna@testby.se"), "anna",
                      when=at(2026, 11, 20, 9))  # fmt: skip
    path.rename(ws.maildir("anna") / "cur" / (path.name + ":2,S"))  # read
    with service_at(ws, at(2026, 11, 24)) as service:
        assert service.jobs is not None
        (result,) = anna(service.jobs.run("daily-open").opened)
        assert result.opened is True
    assert smtp_server.received == []


@pytest.mark.parametrize(
    ("policy", "extra", "mailbox_line", "checked"),
    [
        ("orebro", "", "", True),  # the routine's rule, nobody asked for it
        ("linkoping", "", "", False),  # Linköping's and Timrå's routines say nothing of it
        ("timra", "", "", False),
        ("linkoping", "", "check_daily_open = true\n", True),  # asked for by hand
        ("orebro", "", "check_daily_open = false\n", False),  # the mailbox's own word wins
        ("orebro", "\n[rules]\ndaily_open_personal = false\n", "", False),
        ("timra", "\n[rules]\ndaily_open_personal = true\n", "", True),
    ],
)
def test_which_personal_mailboxes_are_checked(
    workspace: Workspace,
    smtp_server: SmtpServer,
    policy: str,
    extra: str,
    mailbox_line: str,
    checked: bool,
) -> None:
    ws = setup(workspace, smtp_server, policy=policy, extra=extra)
    text = ws.config_path.read_text().replace(
        'name = "Anna Berg"\nkind = "personal"\n',
        f'name = "Anna Berg"\nkind = "personal"\n{mailbox_line}',
    )
    ws.config_path.write_text(text)
    config = load_config(ws.config_path)
    assert [m.address for m in checked_mailboxes(config)] == (
        ["kontakt@testby.se", "anna@testby.se"] if checked else ["kontakt@testby.se"]
    )
    ws.deliver(citizen_mail("Hej Anna!", to="anna@testby.se"), "anna", when=at(2026, 11, 20, 9))
    with service_at(ws, at(2026, 11, 24)) as service:
        assert service.jobs is not None
        results = service.jobs.run("daily-open").opened
    assert [r.opened for r in anna(results)] == ([False] if checked else [])
    assert bool(smtp_server.to("anna@testby.se")) is checked


def test_daily_open_personal_must_be_true_or_false(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    ws = setup(workspace, smtp_server, extra='\n[rules]\ndaily_open_personal = "ja"\n')
    with pytest.raises(ConfigError) as info:
        load_config(ws.config_path)
    assert "rules.daily_open_personal" in str(info.value)
    assert "true eller false" in str(info.value)
