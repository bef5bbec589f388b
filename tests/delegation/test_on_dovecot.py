"""Absence delegation on a real Dovecot: the Sieve vacation and the ACL switched on at the start
and off at the end (the clock passed in, not waited for), the auto-reply a citizen gets, the
case with the substitute, private mail kept from the delegate, leaving over its month, and
importing an out-of-office the person set themself.

Dovecot's Sieve evaluates ``currentdate`` against the real date, so the tests that deliver
mail lay the absence around the real today; the others use dates far ahead.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from imapclient.exceptions import IMAPClientError
from sievelib.managesieve import Client
from sqlalchemy import select

from postvakt.clock import STOCKHOLM
from postvakt.config import load_config
from postvakt.delegation import commands as absence
from postvakt.mailbox.sieve import SCRIPT_NAME
from postvakt.registry.models import Case
from postvakt.service import Service
from tests.support.dovecot import MASTER_ENV, DovecotServer
from tests.support.smtp import SmtpServer
from tests.support.workspace import citizen_mail

CONFIG = """\
[organisation]
name = "Testby kommun"
diary_prefix = "KS"
domains = ["example.test"]
private_marker = "[Privat]"

[database]
url = "sqlite:///postvakt.db"

[[units]]
name = "Kontaktcenter"
head = "{head}@example.test"

[[people]]
name = "Alice Ahl"
address = "{alice}@example.test"
unit = "Kontaktcenter"

[[people]]
name = "Bo Ek"
address = "{bob}@example.test"
unit = "Kontaktcenter"
phone = "0123-111 22"

[[people]]
name = "Carl Lund"
address = "{carl}@example.test"
unit = "Kontaktcenter"

[[people]]
name = "Hedvig Chef"
address = "{head}@example.test"
unit = "Kontaktcenter"

[[mailboxes]]
address = "{alice}@example.test"
start_from = 2026-01-01  # the tests' mail is older than their clock
name = "Alice Ahl"
kind = "personal"
unit = "Kontaktcenter"
owners = ["{alice}@example.test"]
connector = "imap"

[mailboxes.imap]
host = "127.0.0.1"
port = {port}
security = "none"
username = "{alice}"
master_user = "{master}"
password_env = "{env}"
sieve_port = {sieve_port}
"""
COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n\nKarin Ek\n"


@dataclass
class Office:
    dovecot: DovecotServer
    alice: str
    bob: str
    carl: str
    head: str
    config_path: Path

    def address(self, user: str) -> str:
        return self.dovecot.address(user)

    def service(self, when: datetime) -> Service:
        return Service(
            load_config(self.config_path),
            clock=lambda: when,
            environ={MASTER_ENV: self.dovecot.master_password},
        ).open()

    def scripts(self, user: str) -> tuple[str, list[str], str]:
        sieve = Client(self.dovecot.host, self.dovecot.sieve_port)
        assert sieve.connect(user, self.dovecot.password(user), starttls=False, authmech="PLAIN")
        active, others = sieve.listscripts()
        body = sieve.getscript(active) if active else ""
        sieve.logout()
        return active, others, body

    def acl(self, folder: str) -> dict[str, str]:
        client = self.dovecot.imap(self.alice)
        try:
            return {
                who.decode(): "".join(sorted(rights.decode()))
                for who, rights in client.getacl(folder)
            }
        finally:
            client.logout()

    def cases(self, service: Service) -> list[Case]:
        assert service.sessions is not None
        with service.sessions() as session:
            found = list(session.scalars(select(Case).order_by(Case.id)))
            for case in found:
                _ = case.events
            session.expunge_all()
            return found


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
        + smtp_server.config(),
        encoding="utf-8",
    )
    return Office(dovecot, alice, bob, carl, head, path)


def own_rules(office: Office) -> None:
    """Alice's own Sieve script: invoices into a folder of their own."""
    sieve = Client(office.dovecot.host, office.dovecot.sieve_port)
    assert sieve.connect(
        office.alice, office.dovecot.password(office.alice), starttls=False, authmech="PLAIN"
    )
    sieve.putscript(
        "mina-regler",
        'require ["fileinto", "mailbox"];\n'
        'if header :contains "subject" "Faktura" { fileinto :create "Fakturor"; }\n',
    )
    sieve.setactive("mina-regler")
    sieve.logout()


def add(office: Office, when: datetime, **fields) -> int:
    with office.service(when) as service:
        row = absence.add(
            service,
            person=office.address(office.alice),
            actor=office.address(office.head),
            **fields,
        )
    return row.id


def test_an_absence_switches_the_vacation_and_the_acl_on_and_off(office: Office) -> None:
    own_rules(office)
    bob = office.address(office.bob)
    add(
        office,
        datetime(2031, 2, 20, 9, tzinfo=STOCKHOLM),
        kind="semester",
        start=date(2031, 3, 3),
        end=date(2031, 3, 7),
        substitutes=[bob],
    )
    with office.service(datetime(2031, 3, 2, 9, tzinfo=STOCKHOLM)) as service:
        service.run_once()  # the day before: nothing yet
    assert office.scripts(office.alice)[0] == "mina-regler"
    assert office.bob not in office.acl("INBOX")

    with office.service(datetime(2031, 3, 3, 7, tzinfo=STOCKHOLM)) as service:
        report = service.run_once()
        assert report.errors == []
        (row,) = absence.listing(service)
    active, others, script = office.scripts(office.alice)
    assert active == SCRIPT_NAME and "mina-regler" in others
    assert 'include :personal "mina-regler";' in script  # her own rules keep working
    assert '"ge" "date" "2031-03-03"' in script and '"le" "date" "2031-03-07"' in script
    assert "Ditt meddelande handläggs av Bo Ek" in script
    assert "tillbaka måndag 10 mars 2031" in script
    assert office.acl("INBOX")[office.bob] == "lrs"
    assert office.acl("Drafts")[office.bob] == "ilrsw"
    assert row.status == "pågår" and row.access == bob

    with office.service(datetime(2031, 3, 10, 7, tzinfo=STOCKHOLM)) as service:
        assert service.run_once().errors == []
        (row,) = absence.listing(service, every=True)
    active, others, _script = office.scripts(office.alice)
    assert active == "mina-regler" and SCRIPT_NAME not in others
    assert office.bob not in office.acl("INBOX") and office.bob not in office.acl("Drafts")
    assert row.status == "avslutad"


def around_today(office: Office, **fields) -> datetime:
    """An absence from yesterday to three days ahead, real dates (Sieve's clock)."""
    today = date.today()
    add(
        office,
        datetime.combine(today - timedelta(days=2), datetime.min.time(), STOCKHOLM),
        kind="semester",
        start=today - timedelta(days=1),
        end=today + timedelta(days=3),
        **fields,
    )
    return datetime.combine(today, datetime.min.time(), STOCKHOLM).replace(hour=10)


def test_a_citizen_gets_the_auto_reply_and_the_case_goes_to_the_substitute(
    office: Office,
) -> None:
    bob, alice = office.address(office.bob), office.address(office.alice)
    now = around_today(office, substitutes=[bob])
    with office.service(now) as service:
        service.run_once()  # the absence is switched on before the mail comes
        office.dovecot.clear_outbox()
        office.dovecot.deliver(
            office.alice, citizen_mail(COMPLAINT, to=alice), sender="karin.ek@example.net"
        )
        (outcome,) = service.run_once().outcomes
        (case,) = office.cases(service)
    replies = [
        email.message_from_bytes(raw, policy=email.policy.default)
        for raw in office.dovecot.outbox()
    ]
    (reply,) = [r for r in replies if "karin.ek@example.net" in r["To"]]
    assert reply["Auto-Submitted"].startswith("auto-replied")
    text = reply.get_body(("plain",)).get_content()
    assert "Ditt meddelande handläggs av Bo Ek, " + bob + ", tel. 0123-111 22." in text
    assert "Your message is handled by Bo Ek" in text
    assert outcome.case == case.reference
    assert (case.handler, case.regular_handler) == (bob, alice)
    assert "delegated" in [e.kind.value for e in case.events]
    # Bo reads Alice's inbox and her Drafts with his own login, and finds the draft.
    client = office.dovecot.imap(office.bob)
    try:
        inbox = client.select_folder(f"shared/{office.alice}/INBOX", readonly=True)
        assert inbox[b"EXISTS"] == 1
        drafts = client.select_folder(f"shared/{office.alice}/Drafts", readonly=True)
        assert drafts[b"EXISTS"] == 1
    finally:
        client.logout()


def test_private_mail_is_kept_from_the_delegate(office: Office) -> None:
    bob, alice = office.address(office.bob), office.address(office.alice)
    # Marked private before the absence: it is in the inbox the delegate will read.
    office.dovecot.append(
        office.alice,
        "INBOX",
        citizen_mail(COMPLAINT, to=alice, subject="[Privat] Om min granne"),
    )
    now = around_today(office, substitutes=[bob])
    with office.service(now) as service:
        service.run_once()
        (case,) = office.cases(service)
        assert case.private and case.handler == alice and case.regular_handler is None
        # Marked private during the absence: filed where the delegate has no rights.
        office.dovecot.deliver(
            office.alice,
            citizen_mail(
                "Hej mamma, ring mig i kväll.", to=alice, headers={"Sensitivity": "Private"}
            ),
            sender="familjen@example.net",
        )
        office.dovecot.deliver(
            office.alice, citizen_mail(COMPLAINT, to=alice), sender="karin.ek@example.net"
        )
        service.run_once()
        private_case, public_case = office.cases(service)
    assert public_case.handler == bob and private_case.handler == alice
    mine = office.dovecot.imap(office.alice)
    try:
        assert mine.folder_status("Privat", [b"MESSAGES"])[b"MESSAGES"] == 1
        mine.select_folder("Drafts", readonly=True)
        subjects = [
            email.message_from_bytes(m[b"BODY[HEADER.FIELDS (SUBJECT)]"]).get("Subject", "")
            for m in mine.fetch(
                mine.search(["ALL"]), [b"BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]
            ).values()
        ]
    finally:
        mine.logout()
    assert not any("Privat" in s or "granne" in s for s in subjects)  # no draft for it
    client = office.dovecot.imap(office.bob)
    try:
        assert client.select_folder(f"shared/{office.alice}/INBOX", readonly=True)[b"EXISTS"] == 2
        with pytest.raises(IMAPClientError):
            client.select_folder(f"shared/{office.alice}/Privat", readonly=True)
    finally:
        client.logout()


def test_leaving_successor_a_month_for_the_head_then_a_reminder_to_close(
    office: Office, smtp_server: SmtpServer
) -> None:
    alice, carl, head = (office.address(u) for u in (office.alice, office.carl, office.head))
    office.dovecot.append(office.alice, "INBOX", citizen_mail(COMPLAINT, to=alice))
    with office.service(datetime(2031, 2, 24, 10, tzinfo=STOCKHOLM)) as service:
        service.run_once()
    add(
        office,
        datetime(2031, 2, 25, 10, tzinfo=STOCKHOLM),
        kind="slutat",
        start=date(2031, 3, 3),
        end=None,
        substitutes=[carl],
    )
    with office.service(datetime(2031, 3, 3, 10, tzinfo=STOCKHOLM)) as service:
        assert service.run_once().errors == []
        (case,) = office.cases(service)
    assert (case.handler, case.regular_handler) == (carl, None)  # for good
    assert case.events[-1].detail == f"Flyttat till efterträdaren {carl}: {alice} har slutat."
    active, _others, script = office.scripts(office.alice)
    assert active == SCRIPT_NAME and "Jag har slutat min anställning i Testby kommun." in script
    assert "Kontakta i stället Carl Lund" in script and '"le" "date"' not in script
    assert office.acl("INBOX")[office.head] == "lrs"
    assert office.carl not in office.acl("INBOX")

    with office.service(datetime(2031, 3, 31, 10, tzinfo=STOCKHOLM)) as service:
        service.run_once()  # still within the month
    assert office.head in office.acl("INBOX") and smtp_server.to(head) == []
    with office.service(datetime(2031, 4, 2, 10, tzinfo=STOCKHOLM)) as service:
        service.run_once()  # the month is over
    with office.service(datetime(2031, 4, 3, 10, tzinfo=STOCKHOLM)) as service:
        service.run_once()  # and the reminder is not repeated
    assert office.head not in office.acl("INBOX")
    (reminder,) = smtp_server.to(head)
    assert (
        "Brevlådor att stänga:" in reminder.text and "Beställ att brevlådan stängs" in reminder.text
    )
    assert office.scripts(office.alice)[0] == SCRIPT_NAME  # the reply stays until it is closed


def test_an_out_of_office_set_by_the_person_is_imported(office: Office) -> None:
    carl = office.address(office.carl)
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
    with office.service(datetime(2031, 7, 1, 10, tzinfo=STOCKHOLM)) as service:
        proposals, problems = absence.import_replies(service, create=False)
        assert problems == []
        (proposal,) = proposals
        assert (proposal.start, proposal.end, proposal.kind) == (
            date(2031, 7, 6),
            date(2031, 7, 31),
            "semester",
        )
        assert proposal.substitutes == (carl,)
        assert absence.listing(service) == []  # only proposed
        absence.import_replies(service, create=True)
        (row,) = absence.listing(service)
        assert (row.source, row.covered_by, row.created_by) == ("imported", carl, row.person)
        again, _ = absence.import_replies(service, create=False)
        assert again == []  # nobody types it twice


def test_an_absence_moved_later_takes_back_what_it_set_until_its_new_start(
    office: Office,
) -> None:
    bob = office.address(office.bob)
    absence_id = add(
        office,
        datetime(2031, 2, 20, 9, tzinfo=STOCKHOLM),
        kind="tjänsteresa",
        start=date(2031, 3, 3),
        end=date(2031, 3, 7),
        substitutes=[bob],
    )
    with office.service(datetime(2031, 3, 3, 7, tzinfo=STOCKHOLM)) as service:
        service.run_once()
        assert office.scripts(office.alice)[0] == SCRIPT_NAME
        absence.change(
            service,
            absence_id,
            actor=office.address(office.alice),
            start=date(2031, 3, 5),
        )
        service.run_once()  # the same day: no longer away today
    assert not office.scripts(office.alice)[0]  # she had no script of her own
    assert office.bob not in office.acl("INBOX")
    with office.service(datetime(2031, 3, 5, 7, tzinfo=STOCKHOLM)) as service:
        service.run_once()
    active, _others, script = office.scripts(office.alice)
    assert active == SCRIPT_NAME and '"ge" "date" "2031-03-05"' in script
    assert "på tjänsteresa till och med 7 mars 2031" in script
    assert office.acl("INBOX")[office.bob] == "lrs"
