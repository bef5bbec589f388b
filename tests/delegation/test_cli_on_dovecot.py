"""``postvakt absence import`` and ``postvakt absence apply`` through ``postvakt.cli.main`` on a
real Dovecot (Sieve vacation, ACL), the clock passed in."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sievelib.managesieve import Client

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.mailbox.sieve import SCRIPT_NAME
from tests.delegation.test_on_dovecot import Office, office  # noqa: F401 - the fixture
from tests.support.dovecot import MASTER_ENV


@pytest.fixture
def cli(office: Office, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]  # noqa: F811
    monkeypatch.delenv("POSTVAKT_CONFIG", raising=False)
    monkeypatch.setenv(MASTER_ENV, office.dovecot.master_password)

    def run(when: datetime, *argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(office.config_path), *argv], clock=fixed_clock(when))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def at(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, tzinfo=STOCKHOLM)


def test_absence_import_proposes_then_creates_from_the_persons_own_reply(
    office: Office,  # noqa: F811
    cli,  # type: ignore[no-untyped-def]
) -> None:
    alice, carl = office.address(office.alice), office.address(office.carl)
    sieve = Client(office.dovecot.host, office.dovecot.sieve_port)
    assert sieve.connect(
        office.alice, office.dovecot.password(office.alice), starttls=False, authmech="PLAIN"
    )
    sieve.putscript(
        "semester",
        'require ["vacation", "date", "relational"];\n'
        'if allof(currentdate :value "ge" "date" "2031-07-06", '
        'currentdate :value "le" "date" "2031-07-31") {\n'
        f'  vacation :days 1 :subject "Semester" "Jag har semester. Kontakta {carl} i brådskande ärenden.";\n'
        "}\n",
    )
    sieve.setactive("semester")
    sieve.logout()
    today = at(2031, 7, 1, 10)

    code, out, err = cli(today, "absence", "import")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"Förslag: {alice} semester 2031-07-06 – 2031-07-31, ersätts av {carl}",
        "Lägg in dem med 'postvakt absence import --create'.",
    ]
    assert json.loads(cli(today, "absence", "list", "--json")[1]) == []  # only proposed

    code, out, _err = cli(today, "absence", "import", "--create")
    assert code == 0
    assert out.strip() == f"Inlagd: {alice} semester 2031-07-06 – 2031-07-31, ersätts av {carl}"
    (row,) = json.loads(cli(today, "absence", "list", "--json")[1])
    assert (row["person"], row["start"], row["end"], row["covered_by"]) == (
        alice,
        "2031-07-06",
        "2031-07-31",
        carl,
    )
    code, out, _err = cli(today, "absence", "import", "--json")
    assert code == 0 and json.loads(out) == []  # nobody types it twice


def test_absence_apply_switches_the_reply_and_the_access_on_and_off(
    office: Office,  # noqa: F811
    cli,  # type: ignore[no-untyped-def]
) -> None:
    alice, bob = office.address(office.alice), office.address(office.bob)
    code, _out, err = cli(
        at(2031, 2, 20), "absence", "add", alice, "--from", "2031-03-03", "--to", "2031-03-07",
        "--kind", "semester", "--substitute", bob, "--by", office.address(office.head),
    )  # fmt: skip
    assert code == 0, err

    code, out, _err = cli(at(2031, 3, 2), "absence", "apply")  # a Sunday, the day before
    assert code == 0 and out.startswith("0 frånvaror påbörjade, 0 avslutade")
    assert not office.scripts(office.alice)[0]  # no active script
    assert office.bob not in office.acl("INBOX")

    code, out, err = cli(at(2031, 3, 3, 7), "absence", "apply")
    assert code == 0, err
    assert out.startswith("1 frånvaro påbörjad, 0 avslutade")
    active, _others, script = office.scripts(office.alice)
    assert active == SCRIPT_NAME and "vacation" in script
    assert office.acl("INBOX")[office.bob] == "lrs"
    code, out, _err = cli(at(2031, 3, 3, 8), "absence", "apply")  # again: nothing more to do
    assert code == 0 and out.startswith("0 frånvaror påbörjade, 0 avslutade")

    code, out, err = cli(at(2031, 3, 10, 7), "absence", "apply")  # she is back
    assert code == 0, err
    assert out.startswith("0 frånvaror påbörjade, 1 avslutad")
    assert not office.scripts(office.alice)[0]  # no active script
    assert office.bob not in office.acl("INBOX")
