"""The IMAP connector against a real Dovecot: in place, incremental, never twice, never lost."""

from __future__ import annotations

import email
import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email import policy
from pathlib import Path

import docx
import pytest
from sqlalchemy import func, select

from postvakt.clock import STOCKHOLM, Clock, fixed_clock
from postvakt.config import ImapSettings, load_config
from postvakt.errors import AuthenticationError, MailboxNotFoundError, UnavailableError
from postvakt.mailbox.base import DraftReply, OutOfOffice
from postvakt.mailbox.imap import ImapConnector, read_last_login
from postvakt.mailbox.message import parse_message
from postvakt.registry.models import Case, Disposition, MessageRecord
from postvakt.retry import Backoff, RetryPolicy
from postvakt.service import Service
from tests.support.dovecot import MASTER_ENV, DovecotServer, ImapUser, write_config
from tests.support.workspace import citizen_mail

COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n\nKarin Ek\n"


def settings(server: DovecotServer, user: str, **extra: object) -> ImapSettings:
    return ImapSettings(
        host=server.host,
        port=server.imap_port,
        security="none",
        username=user,
        master_user=server.master_user,
        password_env=MASTER_ENV,
        sieve_port=server.sieve_port,
        last_login_dict=server.directory / "state" / "last-login.db",
        **extra,
    )


def connector(
    server: DovecotServer, user: str, clock: Clock | None = None, **extra: object
) -> ImapConnector:
    return ImapConnector(
        server.address(user),
        settings(server, user, **extra),
        server.master_password,
        clock=clock,
        backoff=Backoff(RetryPolicy(base=0.05, cap=0.2)),
    )


@pytest.fixture
def environ(dovecot: DovecotServer) -> dict[str, str]:
    return {MASTER_ENV: dovecot.master_password}


@pytest.fixture
def service_for(
    tmp_path: Path, dovecot: DovecotServer, environ: dict[str, str], clock: Clock
) -> Iterator:
    opened: list[Service] = []

    def make(user: str, kind: str = "function") -> Service:
        config = load_config(write_config(tmp_path, dovecot, user, kind))

        def factory(mailbox, cfg, env):  # fast back-off so tests need not wait
            return connector(dovecot, user, clock)

        service = Service(config, clock=clock, environ=environ, connector_factory=factory).open()
        opened.append(service)
        return service

    yield make
    for service in opened:
        service.close()


def view(server: DovecotServer, user: str, folder: str = "INBOX") -> dict[str, object]:
    """What the person sees, read without changing it (EXAMINE, FLAGS only)."""
    client = server.imap(user)
    try:
        status = client.folder_status(folder, [b"MESSAGES", b"RECENT", b"UNSEEN", b"UIDNEXT"])
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        flags = {uid: sorted(f) for uid, f in client.fetch(uids, ["FLAGS"]).items()} if uids else {}
        folders = sorted(name for _f, _s, name in client.list_folders())
    finally:
        client.logout()
    return {"status": status, "flags": flags, "folders": folders}


def count_cases(service: Service) -> int:
    assert service.sessions is not None
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(Case))


# --------------------------------------------------------------------------- the whole path


def test_delivery_over_lmtp_is_picked_up_by_run_once(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    user = imap_user.name
    dovecot.deliver(
        user, citizen_mail(COMPLAINT, to=dovecot.address(user), message_id="<k1@example.net>")
    )
    config = write_config(tmp_path, dovecot, user)
    env = {**os.environ, MASTER_ENV: dovecot.master_password}
    result = subprocess.run(
        [sys.executable, "-m", "postvakt", "--config", str(config), "run", "--once"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "1 nytt ärende" in result.stdout and "1 utkast sparat" in result.stdout
    # The draft is in Drafts: a reply to the citizen with the acknowledgment letter.
    client = dovecot.imap(user)
    try:
        client.select_folder("Drafts", readonly=True)
        (uid,) = client.search(["ALL"])
        item = client.fetch([uid], [b"BODY.PEEK[]", b"FLAGS"])[uid]
    finally:
        client.logout()
    assert b"\\Draft" in item[b"FLAGS"]
    draft = email.message_from_bytes(item[b"BODY[]"], policy=policy.default)
    assert draft["To"] == "Karin Ek <karin.ek@example.net>"
    assert draft["In-Reply-To"] == "<k1@example.net>"
    assert draft["Subject"] == "SV: Klagomål på snöröjningen"
    (attachment,) = list(draft.iter_attachments())
    letter = docx.Document(io.BytesIO(attachment.get_content()))
    assert any("KS 2026/1" in p.text for p in letter.paragraphs)
    # A second run finds nothing new and registers nothing twice.
    again = subprocess.run(
        [sys.executable, "-m", "postvakt", "--config", str(config), "run", "--once"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert again.returncode == 0 and "Läste 0 nya meddelanden" in again.stdout


def test_a_pass_changes_nothing_the_person_sees(
    dovecot: DovecotServer, imap_user: ImapUser, service_for
) -> None:
    user = imap_user.name
    for i in range(3):
        dovecot.deliver(user, citizen_mail(COMPLAINT + str(i), to=dovecot.address(user)))
    dovecot.append(
        user,
        "INBOX",
        citizen_mail("Redan läst", subject="Gammalt"),
        flags=[b"\\Seen", b"\\Flagged"],
    )
    before = view(dovecot, user)
    assert before["status"][b"RECENT"] == 4  # type: ignore[index]
    service = service_for(user)
    report = service.run_once()
    assert report.count(Disposition.CASE) == 3
    after = view(dovecot, user)
    assert after["status"] == before["status"]  # \Recent, unseen, counts: untouched
    assert after["flags"] == before["flags"]
    drafts = view(dovecot, user, "Drafts")
    assert len(drafts["flags"]) == 3  # type: ignore[arg-type]
    assert after["folders"] == before["folders"]


def test_uidvalidity_change_reads_again_and_recognises_what_was_seen(
    dovecot: DovecotServer, imap_user: ImapUser, service_for
) -> None:
    user = imap_user.name
    dovecot.deliver(
        user, citizen_mail(COMPLAINT, to=dovecot.address(user), message_id="<a@example.net>")
    )
    dovecot.deliver(
        user,
        citizen_mail(
            "Tack för hjälpen, det löste sig.",
            subject="Tack",
            to=dovecot.address(user),
            message_id="<b@example.net>",
        ),
    )
    service = service_for(user)
    assert len(service.run_once().outcomes) == 2
    dovecot.set_uidvalidity(user, "INBOX", 424242)
    dovecot.deliver(
        user,
        citizen_mail(COMPLAINT + "Igen.", to=dovecot.address(user), message_id="<c@example.net>"),
    )
    report = service.run_once()
    # Every message is read again under its new place; the two seen before are duplicates
    # of what they became, the new one is a case of its own.
    assert [o.key.split(":")[0] for o in report.outcomes] == ["424242"] * 3
    assert [o.disposition for o in report.outcomes] == [
        Disposition.DUPLICATE,
        Disposition.DUPLICATE,
        Disposition.CASE,
    ]
    assert count_cases(service) == 2
    assert service.sessions is not None
    with service.sessions() as session:
        records = session.scalars(select(MessageRecord).order_by(MessageRecord.id)).all()
        assert len(records) == 5
        first_case = records[0].case_id
        assert first_case is not None and records[2].case_id == first_case
        assert records[3].case_id is None  # the thank-you was no case, then or now
    assert service.run_once().outcomes == []


def test_a_connection_killed_mid_fetch_resumes_without_loss_or_doubles(
    dovecot: DovecotServer, imap_user: ImapUser, service_for
) -> None:
    from postvakt.intake import STEPS, Intake

    user = imap_user.name
    total = 230  # three FETCH chunks of 100
    for i in range(total):
        dovecot.append(
            user,
            "INBOX",
            citizen_mail(
                f"Fråga nummer {i}: när öppnar ni?",
                subject=f"Fråga {i}",
                message_id=f"<m{i}@example.net>",
            ),
        )
    service = service_for(user)
    assert service.sessions is not None and service.intake is not None
    seen: list[int] = []

    # Killed while the pass runs its first batch: by then the pass has fetched one chunk
    # (all in one process) or two (a full batch goes to the helper process before the one
    # before it runs), never the third, so a later FETCH meets the dead connection.
    def kill_in_the_first_batch(intake: Intake, work) -> None:
        seen.append(1)
        if len(seen) == 1:
            dovecot.kill_connections(user)

    service.intake = Intake(
        service.config,
        service.sessions,
        clock=service.clock,
        steps=(*STEPS[:1], ("kill", kill_in_the_first_batch), *STEPS[1:]),
    )
    first = service.run_once()
    assert first.errors and "bröts" in first.errors[0]
    processed = len(first.outcomes)
    assert 100 <= processed < total
    time.sleep(0.3)  # the back-off in this test's policy
    second = service.run_once()
    assert second.errors == []
    assert processed + len(second.outcomes) == total
    with service.sessions() as session:
        keys = session.scalars(select(MessageRecord.message_key)).all()
    assert len(keys) == len(set(keys)) == total


def test_the_server_stopped_and_restarted_while_running(
    tmp_path: Path, imap_user: ImapUser, environ: dict[str, str], clock: Clock
) -> None:
    server = DovecotServer.start()  # its own server: this test stops it
    try:
        user = server.add_user()
        server.deliver(user, citizen_mail(COMPLAINT, to=server.address(user)))
        config = load_config(write_config(tmp_path, server, user))
        imap = connector(server, user, clock)
        service = Service(
            config,
            clock=clock,
            environ={MASTER_ENV: server.master_password},
            connector_factory=lambda *a: imap,
        ).open()
        assert service.run_once().count(Disposition.CASE) == 1
        server.pause()
        down = service.run_once()
        assert len(down.errors) == 1 and "försöker igen" in down.errors[0]
        server.resume()
        server.deliver(user, citizen_mail(COMPLAINT + " Igen!", to=server.address(user)))
        time.sleep(0.3)  # back-off
        up = service.run_once()
        assert up.errors == [] and up.count(Disposition.CASE) == 1
        assert count_cases(service) == 2
        service.close()
    finally:
        server.stop()


def test_idle_picks_up_new_mail_before_any_polling_pass(
    dovecot: DovecotServer,
    imap_user: ImapUser,
    tmp_path: Path,
    environ: dict[str, str],
    clock: Clock,
) -> None:
    user = imap_user.name
    path = write_config(tmp_path, dovecot, user, "function")
    path.write_text(path.read_text() + "\n[service]\npoll_interval_seconds = 3600\n")
    service = Service(
        load_config(path),
        clock=clock,
        environ=environ,
        connector_factory=lambda *_: connector(dovecot, user, clock),
    ).open()
    assert service.idle_mailboxes() == [dovecot.address(user)]
    imap = service.connectors[dovecot.address(user)]
    assert isinstance(imap, ImapConnector)
    runner = threading.Thread(target=service.run_forever)
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while imap._idle_client is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the IDLE command follows the EXAMINE at once
        dovecot.deliver(user, citizen_mail(COMPLAINT, to=dovecot.address(user)))
        deadline = time.monotonic() + 60
        while count_cases(service) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        service.stop()
        runner.join(timeout=20)
        service.close()
    # The polling pass is an hour away, so only the IDLE watcher can have read the message.
    # How fast it wakes is measured in benchmarks/imap_idle_wake.py, not asserted here.
    assert count_cases(service) == 1
    assert not runner.is_alive()


# --------------------------------------------------------------------------- drafts and Sent


def test_drafts_are_appended_once_with_the_draft_flag(
    dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    imap = connector(dovecot, imap_user.name)
    draft = DraftReply(
        message_id="postvakt.ack.1.abc@example.test",
        from_address=dovecot.address(imap_user.name),
        from_name="Kontaktcenter",
        to_address="karin@example.net",
        to_name="Karin",
        subject="SV: Snö",
        text="Hej!",
        in_reply_to="orig@example.net",
    )
    first = imap.save_draft(draft)
    second = imap.save_draft(draft)
    assert first == second and first.startswith("Drafts/")
    assert len(view(dovecot, imap_user.name, "Drafts")["flags"]) == 1  # type: ignore[arg-type]
    imap.close()


def test_a_reply_in_sent_marks_the_message_answered(
    dovecot: DovecotServer, imap_user: ImapUser, service_for
) -> None:
    user = imap_user.name
    dovecot.deliver(
        user,
        citizen_mail(
            "Hej, när har ni öppet?",
            subject="Öppettider",
            to=dovecot.address(user),
            message_id="<q@example.net>",
        ),
    )
    service = service_for(user)
    service.run_once()
    dovecot.append(
        user,
        "Sent",
        citizen_mail(
            "Vi har öppet 8-16.",
            subject="SV: Öppettider",
            sender=dovecot.address(user),
            to="karin.ek@example.net",
            headers={"In-Reply-To": "<q@example.net>"},
            date=datetime(2026, 11, 23, 11, 0, tzinfo=STOCKHOLM),
        ),
    )
    report = service.run_once()
    assert [o.disposition for o in report.outcomes] == [Disposition.SENT]
    assert service.sessions is not None
    with service.sessions() as session:
        record = session.scalars(
            select(MessageRecord).where(MessageRecord.message_id == "q@example.net")
        ).one()
        assert record.answered_at == datetime(2026, 11, 23, 11, 0, tzinfo=STOCKHOLM)
        assert record.answered_by == dovecot.address(user)


# --------------------------------------------------------------------------- evidence, ACL, Sieve


def test_opened_today_evidence(dovecot: DovecotServer, imap_user: ImapUser, now: datetime) -> None:
    user = imap_user.name
    for i in range(2):
        dovecot.append(user, "INBOX", citizen_mail(f"Meddelande {i}", subject=f"M{i}"))
    imap = connector(dovecot, user, fixed_clock(now))
    states = list(imap.fetch_new("INBOX", None, lambda key: False))
    state = dict(states[-1].state)
    assert state["day"] == now.date().isoformat() and state["day_modseq"] > 0
    before = imap.opened_evidence("INBOX", state)
    assert before.changed_today == 0 and before.last_login is None
    # The person logs in and reads one message: \Seen changes, and the login is recorded.
    # (Dovecot stamps the login with its own clock, whole seconds: hence the bracket.)
    logged_in = int(time.time())
    client = dovecot.imap(user)
    client.select_folder("INBOX")
    client.fetch(client.search(["ALL"])[:1], ["BODY[]"])
    client.logout()
    logged_out = int(time.time())
    after = imap.opened_evidence("INBOX", state)
    assert after.changed_today == 1
    assert after.last_login is not None
    assert logged_in <= after.last_login.timestamp() <= logged_out
    # Postvakt's own (master-user) logins never count as the person's.
    assert read_last_login(dovecot.directory / "state" / "last-login.db", user) == after.last_login
    imap.close()


def test_access_is_granted_and_removed_by_acl(dovecot: DovecotServer, imap_user: ImapUser) -> None:
    owner, colleague = imap_user.name, dovecot.add_user()
    dovecot.append(owner, "INBOX", citizen_mail(COMPLAINT))
    imap = connector(dovecot, owner)
    imap.grant_access("INBOX", colleague, "lrswi")
    assert imap.access("INBOX")[colleague] == "ilrsw"
    client = dovecot.imap(colleague)
    shared = f"shared/{owner}/INBOX"
    assert client.folder_status(shared, [b"MESSAGES"])[b"MESSAGES"] == 1
    client.logout()
    imap.remove_access("INBOX", colleague)
    assert colleague not in imap.access("INBOX")
    client = dovecot.imap(colleague)
    assert shared not in [name for _f, _s, name in client.list_folders()]
    client.logout()
    imap.close()


def test_out_of_office_over_managesieve_keeps_the_persons_own_rules(
    dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    from sievelib.managesieve import Client

    user = imap_user.name
    # The person's own rule: mail about invoices goes to a folder.
    own = 'require ["fileinto", "mailbox"];\nif header :contains "subject" "Faktura" { fileinto :create "Fakturor"; }\n'
    sieve = Client(dovecot.host, dovecot.sieve_port)
    assert sieve.connect(user, imap_user.password, starttls=False, authmech="PLAIN")
    sieve.putscript("mina-regler", own)
    sieve.setactive("mina-regler")
    sieve.logout()

    imap = connector(dovecot, user)
    today = date.today()
    reply = OutOfOffice(
        start=today - timedelta(days=1),
        end=today + timedelta(days=5),
        subject="Frånvaro",
        text="Jag är tillbaka måndag.\nDin fråga hanteras av Per, per@testby.se.",
    )
    imap.set_out_of_office(reply)
    assert imap.out_of_office() == reply
    dovecot.clear_outbox()
    dovecot.deliver(
        user,
        citizen_mail("Hej", subject="Faktura 123", to=dovecot.address(user)),
        sender="karin.ek@example.net",
    )
    (vacation,) = dovecot.outbox()
    answer = email.message_from_bytes(vacation, policy=policy.default)
    assert answer["Auto-Submitted"].startswith("auto-replied")
    assert answer["Subject"] == "Frånvaro"
    assert "Din fråga hanteras av Per" in answer.get_body(("plain",)).get_content()
    client = dovecot.imap(user)
    assert (
        client.folder_status("Fakturor", [b"MESSAGES"])[b"MESSAGES"] == 1
    )  # the person's rule still ran
    client.logout()

    imap.clear_out_of_office()
    assert imap.out_of_office() is None
    sieve = Client(dovecot.host, dovecot.sieve_port)
    assert sieve.connect(user, imap_user.password, starttls=False, authmech="PLAIN")
    active, scripts = sieve.listscripts()
    sieve.logout()
    assert active == "mina-regler"
    assert "postvakt-franvaro" not in scripts
    dovecot.clear_outbox()
    dovecot.deliver(
        user,
        citizen_mail("Hej igen", subject="Fråga", to=dovecot.address(user)),
        sender="olle@example.net",
    )
    assert dovecot.outbox() == []
    imap.close()


# --------------------------------------------------------------------------- errors


def test_a_wrong_password_is_an_authentication_error_without_the_password(
    dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    imap = ImapConnector(
        dovecot.address(imap_user.name), settings(dovecot, imap_user.name), "fel-lösen-123"
    )
    with pytest.raises(AuthenticationError) as info:
        imap.folders("sent")
    assert "nekades" in str(info.value) and "fel-lösen-123" not in str(info.value)
    # Nor the login name, beyond the mailbox the error names (which the logs mask): a
    # login need not look like an address, and may be a person's name.
    told = str(info.value).removeprefix(f"{dovecot.address(imap_user.name)}: ")
    assert imap_user.name not in told, told
    # Right after a failure the connector waits before it tries the server again.
    with pytest.raises(UnavailableError, match="nästa försök"):
        imap.folders("sent")


def test_an_unknown_folder_names_itself(dovecot: DovecotServer, imap_user: ImapUser) -> None:
    imap = connector(dovecot, imap_user.name, folders=("Finns-inte",))
    with pytest.raises(MailboxNotFoundError, match="Kontrollera folders"):
        list(imap.fetch_new("Finns-inte", None, lambda key: False))
    imap.close()


def test_a_password_with_swedish_letters_logs_in(dovecot: DovecotServer) -> None:
    user = dovecot.add_user(password="Hälsningar-från-Åre-ö")
    dovecot.append(user, "INBOX", citizen_mail(COMPLAINT))
    own = ImapSettings(
        host=dovecot.host,
        port=dovecot.imap_port,
        security="none",
        username=user,
        password_env=MASTER_ENV,
    )
    imap = ImapConnector(dovecot.address(user), own, "Hälsningar-från-Åre-ö")
    (message,) = [m for m in imap.fetch_new("INBOX", None, lambda key: False) if hasattr(m, "raw")]
    assert b"Karin Ek" in message.raw
    imap.close()


def test_a_service_account_with_acl_rights_reads_and_drafts_in_place(
    dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    """No master user: the owner gave a service account rights by ACL (RFC 4314)."""
    owner, service = imap_user.name, dovecot.add_user()
    for folder, rights in (("INBOX", "lr"), ("Drafts", "lrswi"), ("Sent", "lr")):
        dovecot.share(owner, folder, service, rights)
    dovecot.deliver(
        owner, citizen_mail(COMPLAINT, to=dovecot.address(owner), message_id="<acl@example.net>")
    )
    before = view(dovecot, owner)
    own = ImapSettings(
        host=dovecot.host,
        port=dovecot.imap_port,
        security="none",
        username=service,
        password_env=MASTER_ENV,
        folders=(f"shared/{owner}",),
        drafts_folder=f"shared/{owner}/Drafts",
        sent_folder=f"shared/{owner}/Sent",
    )
    imap = ImapConnector(dovecot.address(owner), own, dovecot.password(service))
    (message,) = [
        m for m in imap.fetch_new(f"shared/{owner}", None, lambda key: False) if hasattr(m, "raw")
    ]
    assert message.key.endswith(":1")  # UIDVALIDITY:UID
    assert parse_message(message.raw).message_id == "acl@example.net"
    location = imap.save_draft(
        DraftReply(
            message_id="postvakt.ack.9.x@example.test",
            from_address=dovecot.address(owner),
            from_name=None,
            to_address="karin.ek@example.net",
            to_name=None,
            subject="SV: Klagomål",
            text="Hej!",
        )
    )
    assert location.startswith(f"shared/{owner}/Drafts/")
    imap.close()
    assert len(view(dovecot, owner, "Drafts")["flags"]) == 1  # in the owner's own Drafts
    assert view(dovecot, owner) == before


def _self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    for path in (cert, key):
        path.chmod(0o644)
    return cert, key


def test_starttls_checks_the_certificate_by_default() -> None:
    import tempfile

    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o755)
    cert, key = _self_signed(folder)
    server = DovecotServer.start(extra_config=f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}\n")
    try:
        user = server.add_user()
        server.append(user, "INBOX", citizen_mail(COMPLAINT))
        base = {
            "host": server.host,
            "port": server.imap_port,
            "security": "starttls",
            "username": user,
            "password_env": MASTER_ENV,
        }
        untrusted = ImapConnector(server.address(user), ImapSettings(**base), server.password(user))
        with pytest.raises(UnavailableError, match=r"certifikatet .* kunde inte verifieras"):
            untrusted.folders("sent")
        trusted = ImapConnector(
            server.address(user), ImapSettings(**base, ca_file=cert), server.password(user)
        )
        fetched = [
            m for m in trusted.fetch_new("INBOX", None, lambda key: False) if hasattr(m, "raw")
        ]
        assert len(fetched) == 1
        trusted.close()
    finally:
        server.stop()


def test_idle_is_renewed_before_29_minutes(dovecot: DovecotServer, imap_user: ImapUser) -> None:
    now = [1000.0]
    imap = ImapConnector(
        dovecot.address(imap_user.name),
        settings(dovecot, imap_user.name),
        dovecot.master_password,
        backoff=Backoff(RetryPolicy(), monotonic=lambda: now[0]),
    )
    assert imap.wait_for_new("INBOX", timeout=0.1) is False
    issued = imap.commands
    now[0] += 10 * 60
    assert imap.wait_for_new("INBOX", timeout=0.1) is False
    assert imap.commands == issued  # the same IDLE goes on
    now[0] += 16 * 60  # 26 minutes since it began
    assert imap.wait_for_new("INBOX", timeout=0.1) is False
    assert imap.commands == issued + 1  # DONE, and a new IDLE
    dovecot.deliver(imap_user.name, citizen_mail(COMPLAINT, to=dovecot.address(imap_user.name)))
    assert imap.wait_for_new("INBOX", timeout=5) is True
    imap.close()
