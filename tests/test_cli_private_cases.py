"""``postvakt cases show --by PERSON`` shows a case as the web shows it to that person: a case
marked private ("never shown to, drafted for or handed to a delegate") is kept from the
mailbox's delegate and from colleagues, a case of another unit from its staff, and the
refusal says nothing of whether the case exists.  Without ``--by`` the command is the
operator's on the server, as ``cases list`` is, and shows every case.

A real SQLite database filled by the intake from real Maildir mail, the real command line
(``main``) with a fixed clock; nothing patched."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import fixed_clock
from postvakt.config import load_config
from postvakt.registry.access import access_log
from postvakt.registry.models import Case
from postvakt.service import Service
from tests.support.workspace import Workspace, citizen_mail, make_workspace
from tests.test_correction_safety import DELEGATE, PERSONAL
from tests.test_corrections import ARRIVED, COMPLAINT, NOW, OTHER_UNIT

PRIVATE_REF = "KS 2026/2"
PUBLIC_REF = "KS 2026/1"
SUBJECT = "Klagomål om plogningen vid Ekvägen"
SENDER = "lisa.privat@example.net"
BODY_WORDS = ("Ekvägen", "min dotters rullstol")
"""What the private case may tell: its subject, its sender and the citizen's own words."""

PRIVATE_BODY = (
    "Hej!\n\nJag vill klaga på snöröjningen på Ekvägen. Ingen har plogat på tre dagar och "
    "min dotters rullstol kommer inte fram.\n\nLisa\n"
)


@dataclass(frozen=True)
class Registered:
    ws: Workspace

    def cli(self, *argv: str) -> int:
        return main(["--config", str(self.ws.config_path), *argv], clock=fixed_clock(NOW))


@pytest.fixture
def registered(tmp_path: Path) -> Iterator[Registered]:
    """Cecilia (Kontaktcenter) is Anna's delegate (an owner of Anna's personal mailbox) and an
    owner of kontakt@; Olle works in Bygglov.  kontakt@ has an ordinary complaint (KS 2026/1),
    Anna a complaint marked private (KS 2026/2)."""
    ws = make_workspace(tmp_path / "ws", f"sqlite:///{tmp_path / 'p.db'}")
    config = ws.config_path.read_text(encoding="utf-8")
    head, tail = config.split(PERSONAL)
    owners = ('owners = ["anna@testby.se"]', 'owners = ["anna@testby.se", "cecilia@testby.se"]')
    head, tail = head.replace(*owners, 1), tail.replace(*owners, 1)
    ws.config_path.write_text(head + PERSONAL + tail + DELEGATE + OTHER_UNIT, encoding="utf-8")
    ws.deliver(citizen_mail(COMPLAINT, message_id="<c1@example.net>", date=ARRIVED), when=ARRIVED)
    ws.deliver(
        citizen_mail(
            PRIVATE_BODY,
            subject=SUBJECT,
            sender=f"Lisa Privat <{SENDER}>",
            to="anna@testby.se",
            message_id="<p2@example.net>",
            date=ARRIVED,
            headers={"Sensitivity": "Private"},
        ),
        "anna",
        when=ARRIVED,
    )
    with Service(load_config(ws.config_path), clock=fixed_clock(ARRIVED)).open() as opened:
        opened.run_once()
    with Service(load_config(ws.config_path), clock=fixed_clock(NOW)).open() as later:
        assert later.sessions is not None
        with later.sessions() as session:
            kept = session.scalars(select(Case).where(Case.reference == PRIVATE_REF)).one()
            public = session.scalars(select(Case).where(Case.reference == PUBLIC_REF)).one()
            assert kept.private and kept.handler == "anna@testby.se"
            assert not public.private
    yield Registered(ws)


def _private_content(text: str) -> list[str]:
    return [word for word in (SUBJECT, SENDER, *BODY_WORDS) if word in text]


def _viewers(ws: Workspace) -> list[str]:
    with Service(load_config(ws.config_path), clock=fixed_clock(NOW)).open_readonly() as service:
        assert service.sessions is not None
        with service.sessions() as session:
            case_id = session.scalars(select(Case.id).where(Case.reference == PRIVATE_REF)).one()
            return [a.actor for a in access_log(session, case_id)]


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_the_delegate_is_not_shown_a_private_case(
    registered: Registered, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    """The web answers Cecilia's request for Anna's private case with "not found"; the command
    line printed its subject, its sender and the citizen's text to her (and logged it as her
    view)."""
    argv = ["cases", "show", PRIVATE_REF, "--by", "cecilia@testby.se"]
    code = registered.cli(*argv, *(["--json"] if as_json else []))
    out, err = capsys.readouterr()
    assert _private_content(out + err) == []
    assert code == 2
    assert out == ""
    assert err == (
        f"Fel: Det finns inget ärende med nummer '{PRIVATE_REF}' som cecilia@testby.se får "
        "öppna. Kontrollera numret och att du har angett din egen adress med --by.\n"
    )
    assert "Traceback" not in err
    assert _viewers(registered.ws) == []  # refused: no view in the access log


def test_the_refusal_is_the_same_whether_the_case_exists_or_not(
    registered: Registered, capsys: pytest.CaptureFixture[str]
) -> None:
    """As the web's 404: the delegate cannot tell a private case from a number never given."""
    assert registered.cli("cases", "show", PRIVATE_REF, "--by", "cecilia@testby.se") == 2
    refused = capsys.readouterr().err
    assert registered.cli("cases", "show", "KS 2026/99", "--by", "cecilia@testby.se") == 2
    missing = capsys.readouterr().err
    assert refused.replace(PRIVATE_REF, "X") == missing.replace("KS 2026/99", "X")


@pytest.mark.parametrize(
    "who",
    ["anna@testby.se", "ANNA@testby.se", "chef@testby.se", "kd@testby.se", "registrator@testby.se"],
)
def test_the_handler_the_heads_and_the_registrar_see_the_private_case(
    registered: Registered, capsys: pytest.CaptureFixture[str], who: str
) -> None:
    """Those the web shows it to: Anna whose case it is, the head of her unit (and the head
    above), the registrar; the view goes into the access log under their address."""
    assert registered.cli("cases", "show", PRIVATE_REF, "--by", who) == 0
    out = capsys.readouterr().out
    assert _private_content(out) == [SUBJECT, SENDER, *BODY_WORDS]
    assert registered.cli("cases", "show", PRIVATE_REF, "--json", "--by", who) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sender"] == SENDER and "min dotters rullstol" in data["text"]
    assert _viewers(registered.ws) == [who.lower(), who.lower()]


def test_the_delegate_still_sees_the_cases_she_may_open(
    registered: Registered, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cecilia owns kontakt@: its ordinary case is hers to read, as on the web."""
    assert registered.cli("cases", "show", PUBLIC_REF, "--by", "cecilia@testby.se") == 0
    out = capsys.readouterr().out
    assert "karin.ek@example.net" in out and "Björkvägen" in out


def test_staff_of_another_unit_are_not_shown_an_ordinary_case(
    registered: Registered, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same rule as the web for every case, not only private ones: Olle (Bygglov) may not
    open Kontaktcenter's cases."""
    assert registered.cli("cases", "show", PUBLIC_REF, "--by", "olle@testby.se") == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "karin.ek@example.net" not in err and "Björkvägen" not in err
    assert "som olle@testby.se får öppna" in err


def test_someone_the_config_does_not_know_is_refused(
    registered: Registered, capsys: pytest.CaptureFixture[str]
) -> None:
    """The web lets nobody without a role in; the command line names what to do."""
    assert registered.cli("cases", "show", PRIVATE_REF, "--by", "okand@example.org") == 2
    out, err = capsys.readouterr()
    assert out == "" and _private_content(err) == []
    assert err == (
        "Fel: okand@example.org finns inte i konfigurationen som person, ägare, chef, "
        "registrator eller administratör och får inte visa ärenden. Ange din egen adress "
        "med --by.\n"
    )
    assert _viewers(registered.ws) == []


def test_without_by_the_operator_sees_every_case(
    registered: Registered, capsys: pytest.CaptureFixture[str]
) -> None:
    """No person named: the operator's view on the server, as 'cases list' (which lists the
    private case too); the view is logged under the computer's user name."""
    assert registered.cli("cases", "show", PRIVATE_REF) == 0
    assert _private_content(capsys.readouterr().out) == [SUBJECT, SENDER, *BODY_WORDS]
    assert len(_viewers(registered.ws)) == 1
