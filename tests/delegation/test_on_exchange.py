"""Absence delegation on Exchange, against the stateful wire-protocol fakes: the automatic
reply set for the period and the person's own restored afterwards; delegate access as the
exact shell lines for the mail administrator, read back until granted (EWS) — Graph cannot
read folder permissions, so there the lines are all Postvakt can do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from postvakt.clock import STOCKHOLM
from postvakt.config import load_config
from postvakt.delegation import commands as absence
from postvakt.service import Service
from tests.support import ews_fake, graph_fake
from tests.support.ews_fake import EwsFake, permission
from tests.support.graph_fake import GraphFake, make_tls
from tests.support.smtp import SmtpServer

# exchangelib refuses an automatic reply that ends before the real now: dates far ahead.
START, END = date(2031, 3, 3), date(2031, 3, 7)

COMMON = """\
[organisation]
name = "Testby kommun"
diary_prefix = "KS"
domains = ["testby.se"]
mail_admin = "it@testby.se"

[database]
url = "sqlite:///postvakt.db"

[[units]]
name = "Kontaktcenter"
head = "chef@testby.se"

[[people]]
name = "Anna Berg"
address = "{address}"
unit = "Kontaktcenter"

[[people]]
name = "Bo Ek"
address = "bo@testby.se"
unit = "Kontaktcenter"

[[mailboxes]]
address = "{address}"
start_from = 2026-01-01  # the tests' mail is older than their clock
name = "Anna Berg"
kind = "personal"
unit = "Kontaktcenter"
owners = ["{address}"]
"""
EWS = """connector = "ews"

[mailboxes.ews]
endpoint = "{endpoint}"
username = "{user}"
password_env = "{env}"
auth = "basic"
access = "delegate"
"""
GRAPH = """connector = "graph"

[mailboxes.graph]
tenant_id = "{tenant}"
client_id = "{client}"
authority = "{authority}"
endpoint = "{endpoint}"
ca_file = "{ca_file}"
client_secret_env = "{env}"
"""


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=STOCKHOLM)


@pytest.fixture
def ews_office(tmp_path: Path, smtp_server: SmtpServer) -> Iterator[tuple[EwsFake, str, Path]]:
    with EwsFake() as fake:
        fake.add_user(ews_fake.SERVICE_USER, ews_fake.SERVICE_PASSWORD)
        address = ews_fake.new_mailbox(fake, "anna")
        path = tmp_path / "postvakt.toml"
        path.write_text(
            COMMON.format(address=address)
            + EWS.format(
                endpoint=fake.endpoint, user=ews_fake.SERVICE_USER, env=ews_fake.PASSWORD_ENV
            )
            + smtp_server.config(),
            encoding="utf-8",
        )
        yield fake, address, path


def ews_service(path: Path, when: datetime) -> Service:
    environ = {ews_fake.PASSWORD_ENV: ews_fake.SERVICE_PASSWORD}
    return Service(load_config(path), clock=lambda: when, environ=environ).open()


def test_ews_reply_for_the_period_and_access_by_the_administrator(
    ews_office: tuple[EwsFake, str, Path], smtp_server: SmtpServer
) -> None:
    fake, address, path = ews_office
    fake.mailboxes[address].oof.internal = "Min egen text från i våras."
    with ews_service(path, at(date(2031, 2, 20))) as service:
        absence.add(
            service,
            person=address,
            kind="semester",
            start=START,
            end=END,
            substitutes=["bo@testby.se"],
            actor="chef@testby.se",
        )
    with ews_service(path, at(START)) as service:
        report = service.run_once()
        assert report.errors == []
        (row,) = absence.listing(service)
    oof = fake.mailboxes[address].oof
    assert oof.state == "Scheduled"
    assert oof.start == at(START, 0) and oof.end == at(date(2031, 3, 8), 0)
    assert "Ditt meddelande handläggs av Bo Ek" in oof.internal and "Bo Ek" in oof.external
    assert row.access == "bo@testby.se: väntar på e-postadministratören"
    (told,) = smtp_server.to("it@testby.se")
    assert (
        f"Add-MailboxFolderPermission -Identity '{address}:\\Inkorgen' -User 'bo@testby.se' "
        "-AccessRights Reviewer" in told.text
    )
    assert f"'{address}:\\Utkast' -User 'bo@testby.se' -AccessRights Editor" in told.text

    # The administrator runs the lines; the next pass reads the permissions back.
    fake.set_folder_permissions(address, "inbox", [permission("bo@testby.se", "Reviewer")])
    fake.set_folder_permissions(address, "drafts", [permission("bo@testby.se", "Editor")])
    with ews_service(path, at(date(2031, 3, 4))) as service:
        service.run_once()
        (row,) = absence.listing(service)
    assert row.access == "bo@testby.se"

    with ews_service(path, at(date(2031, 3, 10))) as service:
        assert service.run_once().errors == []
    oof = fake.mailboxes[address].oof
    assert oof.state == "Disabled" and "Min egen text från i våras." in oof.internal
    assert "Bo Ek" not in oof.internal  # hers again
    removal = [
        r for r in smtp_server.to("it@testby.se") if "Remove-MailboxFolderPermission" in r.text
    ]
    assert removal and f"-Identity '{address}:\\Inkorgen' -User 'bo@testby.se'" in removal[0].text


@pytest.fixture
def graph_office(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer
) -> Iterator[tuple[GraphFake, str, Path]]:
    with GraphFake(make_tls(tmp_path_factory.mktemp("tls"))) as fake:
        fake.add_app(graph_fake.CLIENT_ID, secret=graph_fake.CLIENT_SECRET)
        address = graph_fake.new_mailbox(fake)
        path = tmp_path / "postvakt.toml"
        path.write_text(
            COMMON.format(address=address)
            + GRAPH.format(
                tenant=fake.tenant,
                client=graph_fake.CLIENT_ID,
                authority=fake.authority,
                endpoint=fake.endpoint,
                ca_file=fake.tls.ca_file,
                env=graph_fake.SECRET_ENV,
            )
            + smtp_server.config(),
            encoding="utf-8",
        )
        yield fake, address, path


def test_graph_reply_for_the_period_and_the_lines_for_the_administrator(
    graph_office: tuple[GraphFake, str, Path], smtp_server: SmtpServer
) -> None:
    fake, address, path = graph_office
    environ = {graph_fake.SECRET_ENV: graph_fake.CLIENT_SECRET}

    def service(when: datetime) -> Service:
        return Service(load_config(path), clock=lambda: when, environ=environ).open()

    with service(at(date(2031, 2, 20))) as svc:
        absence.add(
            svc,
            person=address,
            kind="föräldraledighet",
            start=START,
            end=END,
            substitutes=["bo@testby.se"],
            actor=address,  # a person for themself
        )
    with service(at(START)) as svc:
        assert svc.run_once().errors == []
        (row,) = absence.listing(svc)
    replies = fake.mailboxes[address].replies
    assert replies["status"] == "scheduled"
    assert "Jag är föräldraledig till och med 7 mars 2031" in replies["externalReplyMessage"]
    assert row.access == "bo@testby.se: väntar på e-postadministratören"
    (told,) = smtp_server.to("it@testby.se")
    assert (
        f"-Identity '{address}:\\Inkorgen' -User 'bo@testby.se' -AccessRights Reviewer" in told.text
    )
    with service(at(date(2031, 3, 10))) as svc:
        assert svc.run_once().errors == []
    assert fake.mailboxes[address].replies["status"] == "disabled"


def test_an_out_of_office_set_in_outlook_is_imported(
    ews_office: tuple[EwsFake, str, Path],
) -> None:
    fake, address, path = ews_office
    oof = fake.mailboxes[address].oof
    oof.state, oof.start, oof.end = "Scheduled", at(START, 0), at(date(2031, 3, 15), 0)
    oof.internal = oof.external = (
        "<html><body>Jag är föräldraledig. Bo Ek svarar på frågor om bygglov.</body></html>"
    )
    with ews_service(path, at(date(2031, 3, 1))) as service:
        (proposal,) = absence.import_replies(service, create=True)[0]
        (row,) = absence.listing(service)
    assert (proposal.person, proposal.kind, proposal.substitutes) == (
        address,
        "föräldraledighet",
        ("bo@testby.se",),  # named by name, not address
    )
    assert (proposal.start, proposal.end) == (START, date(2031, 3, 14))
    assert (row.source, row.covered_by) == ("imported", "bo@testby.se")
