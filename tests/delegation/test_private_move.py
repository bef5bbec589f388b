"""Mail marked private that is already in the inbox when an absence starts ([delegation]
move_private): moved to 'Privat', out of the delegate's ACL, for the period and moved back at
the return — on a real Dovecot (IMAP, ACL, Sieve), on a Maildir, and refused on Exchange.

Dovecot's Sieve evaluates ``currentdate`` against the real date, so the IMAP test lays the
absence around the real today.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import func, select

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.delegation import commands as absence
from postvakt.mailbox.imap_private import moved_keyword
from postvakt.mailbox.maildir_private import MANIFEST
from postvakt.registry.models import Case, MessageRecord
from postvakt.service import Service
from tests.delegation.test_on_dovecot import COMPLAINT, CONFIG, Office
from tests.delegation.test_on_exchange import COMMON, EWS
from tests.support import ews_fake
from tests.support.dovecot import MASTER_ENV, DovecotServer
from tests.support.ews_fake import EwsFake
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail

MOVE_PRIVATE = "\n[delegation]\nmove_private = true\n"


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), STOCKHOLM)


def count(service: Service, model: type) -> int:
    assert service.sessions is not None
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# -- IMAP on Dovecot --------------------------------------------------------------------


@pytest.fixture
def office(tmp_path: Path, dovecot: DovecotServer, smtp_server: SmtpServer) -> Office:
    alice, bob, carl, head = (dovecot.add_user() for _ in range(4))
    path = tmp_path / "postvakt.toml"
    path.write_text(
        CONFIG.format(
            alice=alice,
            bob=bob,
            carl=carl,
            head=head,
            port=dovecot.imap_port,
            master=dovecot.master_user,
            env=MASTER_ENV,
            sieve_port=dovecot.sieve_port,
        )
        + MOVE_PRIVATE
        + smtp_server.config(),
        encoding="utf-8",
    )
    return Office(dovecot, alice, bob, carl, head, path)


def subjects(client: IMAPClient, folder: str) -> list[str]:
    client.select_folder(folder, readonly=True)
    uids = client.search(["ALL"])
    fetched = client.fetch(uids, [b"BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]) if uids else {}
    return sorted(
        str(
            email.message_from_bytes(
                m[b"BODY[HEADER.FIELDS (SUBJECT)]"], policy=email.policy.default
            ).get("Subject", "")
        )
        for m in fetched.values()
    )


def keywords(client: IMAPClient, folder: str) -> set[bytes]:
    client.select_folder(folder, readonly=True)
    uids = client.search(["ALL"])
    return {flag for m in client.fetch(uids, [b"FLAGS"]).values() for flag in m[b"FLAGS"]}


def test_imap_private_mail_leaves_the_delegates_sight_and_comes_back(office: Office) -> None:
    dovecot, alice, bob = office.dovecot, office.address(office.alice), office.address(office.bob)
    today = date.today()
    dovecot.append(
        office.alice, "INBOX", citizen_mail(COMPLAINT, to=alice, subject="[Privat] Om min granne")
    )
    dovecot.append(
        office.alice,
        "INBOX",
        citizen_mail(
            "Hej mamma, ring mig i kväll.",
            to=alice,
            subject="Kvällen",
            headers={"Sensitivity": "Private"},
        ),
    )
    dovecot.append(office.alice, "INBOX", citizen_mail(COMPLAINT, to=alice))
    with office.service(at(today - timedelta(days=1))) as service:
        service.run_once()  # the day before: read, nothing moved
        absence.add(
            service,
            person=alice,
            kind="semester",
            start=today,
            end=today + timedelta(days=3),
            substitutes=[bob],
            actor=office.address(office.head),
        )
        cases_before = count(service, Case)
    own = dovecot.imap(office.alice)
    try:
        assert len(subjects(own, "INBOX")) == 3
    finally:
        own.logout()

    with office.service(at(today)) as service:
        assert service.run_once().errors == []
    own = dovecot.imap(office.alice)
    try:
        assert subjects(own, "INBOX") == ["Klagomål på snöröjningen"]
        assert subjects(own, "Privat") == ["Kvällen", "[Privat] Om min granne"]
    finally:
        own.logout()
    assert office.acl("INBOX")[office.bob] == "lrs"
    assert office.bob not in office.acl("Privat")
    delegate = dovecot.imap(office.bob)
    try:
        assert subjects(delegate, f"shared/{office.alice}/INBOX") == ["Klagomål på snöröjningen"]
        with pytest.raises(IMAPClientError):
            delegate.select_folder(f"shared/{office.alice}/Privat", readonly=True)
    finally:
        delegate.logout()

    # During the absence the Sieve script files new private mail there too.
    dovecot.deliver(
        office.alice,
        citizen_mail(
            "Ring mig när du kan.",
            to=alice,
            subject="Från syster",
            headers={"Sensitivity": "Private"},
        ),
        sender="familjen@example.net",
    )
    with office.service(at(today, 14)) as service:
        assert service.run_once().errors == []

    with office.service(at(today + timedelta(days=4))) as service:  # back
        assert service.run_once().errors == []
        assert count(service, Case) == cases_before  # read again, nothing registered twice
    own = dovecot.imap(office.alice)
    try:
        assert subjects(own, "INBOX") == [
            "Från syster",
            "Klagomål på snöröjningen",
            "Kvällen",
            "[Privat] Om min granne",
        ]
        assert subjects(own, "Privat") == []
        assert moved_keyword("INBOX").encode() not in keywords(own, "INBOX")
    finally:
        own.logout()
    assert office.bob not in office.acl("INBOX")


def test_imap_without_move_private_the_delegate_reads_everything(
    tmp_path: Path, dovecot: DovecotServer, smtp_server: SmtpServer
) -> None:
    alice, bob, carl, head = (dovecot.add_user() for _ in range(4))
    path = tmp_path / "postvakt.toml"
    path.write_text(
        CONFIG.format(
            alice=alice,
            bob=bob,
            carl=carl,
            head=head,
            port=dovecot.imap_port,
            master=dovecot.master_user,
            env=MASTER_ENV,
            sieve_port=dovecot.sieve_port,
        )
        + smtp_server.config(),
        encoding="utf-8",
    )
    office = Office(dovecot, alice, bob, carl, head, path)
    dovecot.append(
        alice,
        "INBOX",
        citizen_mail(COMPLAINT, to=office.address(alice), subject="[Privat] Om min granne"),
    )
    with office.service(at(date(2031, 3, 2))) as service:
        service.run_once()
        absence.add(
            service,
            person=office.address(alice),
            kind="semester",
            start=date(2031, 3, 3),
            end=date(2031, 3, 7),
            substitutes=[office.address(bob)],
            actor=office.address(head),
        )
    with office.service(at(date(2031, 3, 3))) as service:
        assert service.run_once().errors == []
    delegate = dovecot.imap(bob)
    try:
        assert subjects(delegate, f"shared/{alice}/INBOX") == ["[Privat] Om min granne"]
    finally:
        delegate.logout()


# -- Maildir ------------------------------------------------------------------------------

PEOPLE = """
[[people]]
name = "Bo Ek"
address = "bo@testby.se"
unit = "Kontaktcenter"
"""


@pytest.fixture
def ws(workspace: Workspace, smtp_server: SmtpServer) -> Workspace:
    text = workspace.config_path.read_text().replace(
        'policy = "orebro"\n', 'policy = "orebro"\nprivate_marker = "[Privat]"\n'
    )
    workspace.config_path.write_text(
        text + PEOPLE + MOVE_PRIVATE + smtp_server.config(), encoding="utf-8"
    )
    return workspace


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open()


def names(folder: Path) -> set[str]:
    return {
        p.name
        for sub in ("new", "cur")
        if (folder / sub).is_dir()
        for p in (folder / sub).iterdir()
    }


def test_maildir_private_mail_moves_to_privat_for_the_period_and_back(ws: Workspace) -> None:
    inbox, private = ws.maildir("anna"), ws.maildir("anna") / ".Privat"
    marked = ws.deliver(
        citizen_mail(COMPLAINT, to="anna@testby.se", subject="[Privat] Om min granne"),
        "anna",
        when=at(date(2026, 12, 17), 8),
    ).name
    public = ws.deliver(
        citizen_mail(COMPLAINT, to="anna@testby.se"), "anna", when=at(date(2026, 12, 17), 9)
    ).name
    with service_at(ws, at(date(2026, 12, 17))) as service:
        service.run_once()
        absence.add(
            service,
            person="anna@testby.se",
            kind="semester",
            start=date(2026, 12, 21),
            end=date(2027, 1, 6),
            substitutes=["bo@testby.se"],
            actor="chef@testby.se",
        )
    with service_at(ws, at(date(2026, 12, 21))) as service:
        assert service.run_once().errors == []
    assert names(inbox) == {public} and names(private) == {marked}
    # Private mail that comes during the absence follows once the intake has read it.
    late = ws.deliver(
        citizen_mail(
            "Hej mamma, ring mig i kväll.",
            to="anna@testby.se",
            subject="Kvällen",
            headers={"Sensitivity": "Private"},
        ),
        "anna",
        when=at(date(2026, 12, 22), 8),
    ).name
    with service_at(ws, at(date(2026, 12, 22))) as service:
        service.run_once()  # read
        service.run_once()  # moved
        records = count(service, MessageRecord)
    assert names(inbox) == {public} and names(private) == {marked, late}
    with service_at(ws, at(date(2027, 1, 7))) as service:  # back
        assert service.run_once().errors == []
        assert count(service, MessageRecord) == records  # the same keys: nothing read twice
    assert names(inbox) == {public, marked, late} and names(private) == set()
    assert (private / MANIFEST).read_text() == "{}"


def test_maildir_without_move_private_nothing_moves(workspace: Workspace) -> None:
    marked = workspace.deliver(
        citizen_mail(COMPLAINT, to="anna@testby.se", headers={"Sensitivity": "Private"}),
        "anna",
        when=at(date(2026, 12, 17), 8),
    ).name
    with service_at(workspace, at(date(2026, 12, 17))) as service:
        service.run_once()
        absence.add(
            service,
            person="anna@testby.se",
            kind="semester",
            start=date(2026, 12, 21),
            end=date(2027, 1, 6),
            substitutes=[],  # the unit head covers
            actor="chef@testby.se",
        )
    with service_at(workspace, at(date(2026, 12, 21))) as service:
        service.run_once()
    assert names(workspace.maildir("anna")) == {marked}
    assert not (workspace.maildir("anna") / ".Privat").exists()


# -- Exchange: refused with a message --------------------------------------------------------


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
            + MOVE_PRIVATE
            + smtp_server.config(),
            encoding="utf-8",
        )
        yield fake, address, path


def test_exchange_refuses_to_move_private_mail_and_says_so(
    ews_office: tuple[EwsFake, str, Path],
) -> None:
    _fake, address, path = ews_office
    environ = {ews_fake.PASSWORD_ENV: ews_fake.SERVICE_PASSWORD}

    def service(when: datetime) -> Service:
        return Service(load_config(path), clock=lambda: when, environ=environ).open()

    with service(at(date(2031, 2, 20))) as s:
        absence.add(
            s,
            person=address,
            kind="semester",
            start=date(2031, 3, 3),
            end=date(2031, 3, 7),
            substitutes=["bo@testby.se"],
            actor="chef@testby.se",
        )
    with service(at(date(2031, 3, 3))) as s:
        (error,) = s.run_once().errors
        assert s.run_once().errors == []  # said once, not on every pass
        (row,) = absence.listing(s)
    assert error.startswith(f"{address}: Exchange (EWS) kan inte flytta post mellan mappar")
    assert "stäng av move_private" in error
    assert row.access == "bo@testby.se: väntar på e-postadministratören"
