"""The Dovecot fixture itself: what the IMAP connector's tests rely on, checked on the server.

Each test takes fresh users, so the session's one server can be shared (and restarted).
"""

from __future__ import annotations

import email
import email.policy
import smtplib
import socket
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from typing import TypeVar

import pytest
from imapclient import IMAPClient
from sievelib.managesieve import Client as SieveClient

from tests.support.dovecot import DovecotServer, ImapUser, simple_message

# sievelib warns on every plain-text login; the test server has no TLS on purpose
unencrypted_sieve = pytest.mark.filterwarnings(
    "ignore:Credentials are sent over an unencrypted connection:UserWarning"
)


T = TypeVar("T")


def eventually(read: Callable[[], T], timeout: float = 3.0) -> T:
    """The first truthy value ``read`` returns within ``timeout`` seconds (else the last one)."""
    deadline = time.monotonic() + timeout
    value = read()
    while not value and time.monotonic() < deadline:
        time.sleep(0.05)
        value = read()
    return value


def sieve_login(dovecot: DovecotServer, user: str, *, as_master: bool = False) -> SieveClient:
    client = SieveClient(dovecot.host, dovecot.sieve_port)
    if as_master:
        ok = client.connect(
            dovecot.master_user,
            dovecot.master_password,
            authz_id=user,
            starttls=False,
            authmech="PLAIN",
        )
    else:
        ok = client.connect(user, dovecot.password(user), starttls=False, authmech="PLAIN")
    assert ok, f"ManageSieve login failed:\n{dovecot.log_tail()}"
    return client


def sent(dovecot: DovecotServer) -> list[EmailMessage]:
    """What Dovecot handed to the fake sendmail so far (all tests' users)."""
    return [email.message_from_bytes(raw, policy=email.policy.default) for raw in dovecot.outbox()]


def replies_to(dovecot: DovecotServer, sender: str) -> list[EmailMessage]:
    return [message for message in sent(dovecot) if sender in str(message["To"])]


def test_user_sees_the_standard_folders_with_special_use(
    dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    with dovecot.imap(imap_user.name, imap_user.password) as client:
        names = {name for _flags, _sep, name in client.list_folders()}
        assert {"INBOX", "Drafts", "Sent", "Trash"} <= names
        assert client.find_special_folder(b"\\Drafts") == "Drafts"
        assert client.find_special_folder(b"\\Sent") == "Sent"
        assert client.find_special_folder(b"\\Trash") == "Trash"
        capabilities = client.capabilities()
        for wanted in (b"CONDSTORE", b"QRESYNC", b"ACL", b"IDLE", b"UIDPLUS", b"SPECIAL-USE"):
            assert wanted in capabilities


def test_wrong_password_is_refused_without_slowing_later_logins(
    dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    for _ in range(2):
        client = IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=10)
        with pytest.raises(IMAPClient.Error, match="AUTHENTICATIONFAILED"):
            client.login(imap_user.name, "wrong")
        client.shutdown()
    # Dovecot's auth penalty (every later login from the address held back by seconds, up
    # to 15 s) is off in the fixture: anvil, which keeps the penalties, holds none.
    # (Asked of Dovecot rather than timed: with the penalty on it lists 127.0.0.1.)
    assert dovecot.doveadm("penalty").stdout.splitlines()[1:] == []
    with dovecot.imap(imap_user.name, imap_user.password) as client:
        assert client.noop()[0].startswith(b"NOOP completed")


def test_new_users_can_log_in_and_receive_mail_at_once(dovecot: DovecotServer) -> None:
    # Dovecot re-reads a changed passwd-file at most once a second; the fixture's
    # one-file-per-user set-up must not make a just-added user "unknown"
    for _ in range(5):
        user = dovecot.add_user()
        dovecot.deliver(user, simple_message(user))
        with dovecot.imap(user) as client:
            assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 1
    assert dovecot.add_user("Named.User-1", "secret") == "named.user-1"
    with dovecot.imap("named.user-1", "secret") as client:
        client.noop()
    with pytest.raises(ValueError):
        dovecot.add_user("named.user-1")


def test_lmtp_refuses_unknown_recipient(dovecot: DovecotServer) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        dovecot.deliver(f"nobody{uuid.uuid4().hex[:6]}", simple_message("x"))


def test_master_user_sees_lmtp_delivery_and_examine_changes_nothing(
    dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    user = imap_user.name
    dovecot.deliver(user, simple_message(user, "Ansökan om bygglov"))
    with dovecot.imap_as_master(user) as client:
        status = client.select_folder("INBOX", readonly=True)
        assert status[b"EXISTS"] == 1
        assert status[b"RECENT"] == 1
        [uid] = client.search()
        fetched = client.fetch([uid], ["BODY[]", "FLAGS"])[uid]
        message = email.message_from_bytes(fetched[b"BODY[]"], policy=email.policy.default)
        assert message["Subject"] == "Ansökan om bygglov"
        assert b"\\Seen" not in fetched[b"FLAGS"]

    # EXAMINE + FETCH BODY[] took neither \Recent nor set \Seen
    with dovecot.imap_as_master(user) as client:
        status = client.select_folder("INBOX", readonly=True)
        assert status[b"RECENT"] == 1
        assert client.search(["UNSEEN"]) == [uid]

    # a read-write SELECT takes \Recent (reading the body would also set \Seen)
    with dovecot.imap(user, imap_user.password) as client:
        assert client.select_folder("INBOX")[b"RECENT"] == 1
    with dovecot.imap(user, imap_user.password) as client:
        assert client.select_folder("INBOX", readonly=True)[b"RECENT"] == 0
        assert client.search(["UNSEEN"]) == [uid]


def test_append_returns_uid_and_keeps_flags(dovecot: DovecotServer, imap_user: ImapUser) -> None:
    user = imap_user.name
    uid = dovecot.append(user, "Drafts", simple_message(user, "Utkast"), flags=[b"\\Draft"])
    with dovecot.imap(user, imap_user.password) as client:
        client.select_folder("Drafts", readonly=True)
        assert client.search() == [uid]
        assert set(client.get_flags([uid])[uid]) == {b"\\Draft", b"\\Recent"}


def test_condstore_reports_only_changed_messages(
    dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    user = imap_user.name
    uids = [dovecot.append(user, "INBOX", simple_message(user, f"Ärende {n}")) for n in range(3)]
    with dovecot.imap_as_master(user) as watcher:
        assert watcher.enable("CONDSTORE") == [b"CONDSTORE"]
        before = watcher.select_folder("INBOX", readonly=True)[b"HIGHESTMODSEQ"]
        assert isinstance(before, int)
        assert before > 0

        with dovecot.imap(user, imap_user.password) as person:
            person.select_folder("INBOX")
            person.add_flags([uids[1]], [b"$Handled"])

        changed = watcher.fetch(uids, ["FLAGS"], modifiers=[f"CHANGEDSINCE {before}"])
        assert list(changed) == [uids[1]]
        assert b"$Handled" in changed[uids[1]][b"FLAGS"]
        assert changed[uids[1]][b"MODSEQ"][0] > before
        assert watcher.search(["MODSEQ", before + 1]) == [uids[1]]
        assert watcher.folder_status("INBOX", ["HIGHESTMODSEQ"])[b"HIGHESTMODSEQ"] > before


def test_set_uidvalidity_is_seen_over_imap(dovecot: DovecotServer, imap_user: ImapUser) -> None:
    user = imap_user.name
    dovecot.append(user, "INBOX", simple_message(user))
    with dovecot.imap_as_master(user) as client:
        old = client.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"]
    new = old + 1000
    open_connection = dovecot.imap_as_master(user)
    open_connection.select_folder("INBOX", readonly=True)

    dovecot.set_uidvalidity(user, "INBOX", new)

    with dovecot.imap_as_master(user) as client:
        assert client.folder_status("INBOX", ["UIDVALIDITY"])[b"UIDVALIDITY"] == new
        assert client.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"] == new
    # Dovecot drops a session that has the folder selected rather than telling it
    with pytest.raises((IMAPClient.AbortError, OSError)):
        open_connection.noop()
    open_connection.shutdown()


def test_kill_connections_drops_open_sessions(dovecot: DovecotServer, imap_user: ImapUser) -> None:
    user = imap_user.name
    own = dovecot.imap(user, imap_user.password)
    via_master = dovecot.imap_as_master(user)
    via_master.select_folder("INBOX", readonly=True)
    other = dovecot.add_user()
    bystander = dovecot.imap(other)

    assert dovecot.kill_connections(user) == 2

    assert dovecot.connection_pids(user) == set()

    for client in (own, via_master):
        with pytest.raises((IMAPClient.AbortError, OSError)):
            client.noop()
        client.shutdown()
    assert bystander.noop()[0].startswith(b"NOOP completed")
    bystander.logout()
    with dovecot.imap(user, imap_user.password) as again:
        assert again.noop()[0].startswith(b"NOOP completed")


def test_restart_keeps_mail_and_ports_and_drops_sessions(
    dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    user = imap_user.name
    uid = dovecot.append(user, "INBOX", simple_message(user, "Före omstart"))
    ports = (dovecot.imap_port, dovecot.lmtp_port, dovecot.sieve_port)
    open_connection = dovecot.imap_as_master(user)
    open_connection.select_folder("INBOX", readonly=True)
    with dovecot.imap_as_master(user) as client:
        validity = client.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"]
    old_pid = dovecot.process.pid if dovecot.process else None

    dovecot.restart()

    assert dovecot.running
    assert dovecot.process is not None
    assert dovecot.process.pid != old_pid
    assert (dovecot.imap_port, dovecot.lmtp_port, dovecot.sieve_port) == ports
    with pytest.raises((IMAPClient.AbortError, OSError)):
        open_connection.noop()
    open_connection.shutdown()
    with dovecot.imap_as_master(user) as client:
        status = client.select_folder("INBOX", readonly=True)
        assert status[b"UIDVALIDITY"] == validity
        assert client.search() == [uid]
    dovecot.deliver(user, simple_message(user, "Efter omstart"))
    with socket.create_connection((dovecot.host, dovecot.sieve_port), timeout=5) as sock:
        assert b"IMPLEMENTATION" in sock.recv(1024)


def test_pause_refuses_connections_until_resume(
    dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    user = imap_user.name
    uid = dovecot.append(user, "INBOX", simple_message(user))
    dovecot.pause()
    try:
        assert not dovecot.running
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((dovecot.host, dovecot.imap_port), timeout=2).close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((dovecot.host, dovecot.lmtp_port), timeout=2).close()
    finally:
        dovecot.resume()
    with dovecot.imap(user, imap_user.password) as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search() == [uid]


@unencrypted_sieve
def test_sieve_vacation_replies_through_fake_sendmail(
    dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    user = imap_user.name
    script = (
        'require ["vacation"];\n'
        f'vacation :days 1 :subject "Frånvaro" :addresses ["{dovecot.address(user)}"]'
        ' "Jag är tillbaka måndag.";\n'
    )
    client = sieve_login(dovecot, user)
    assert client.putscript("franvaro", script)
    assert client.setactive("franvaro")
    assert client.listscripts() == ("franvaro", [])
    client.logout()

    sender = f"s{uuid.uuid4().hex[:8]}@example.org"
    assert replies_to(dovecot, sender) == []
    dovecot.deliver(user, simple_message(user, "Fråga", sender=sender), sender=sender)

    [reply] = eventually(lambda: replies_to(dovecot, sender))
    assert reply["Auto-Submitted"].startswith("auto-replied")
    assert dovecot.address(user) in reply["From"]
    assert reply["Subject"] == "Frånvaro"
    assert "Jag är tillbaka måndag." in reply.get_content()
    # the message itself is still kept in INBOX
    with dovecot.imap_as_master(user) as imap:
        imap.select_folder("INBOX", readonly=True)
        assert len(imap.search()) == 1


@unencrypted_sieve
def test_sieve_redirect_goes_to_fake_sendmail(dovecot: DovecotServer, imap_user: ImapUser) -> None:
    user = imap_user.name
    target = f"t{uuid.uuid4().hex[:8]}@example.org"
    client = sieve_login(dovecot, user)
    assert client.putscript("vidare", f'redirect "{target}";\n')
    assert client.setactive("vidare")
    client.logout()

    dovecot.deliver(user, simple_message(user, "Vidarebefordras"))

    [forwarded] = eventually(
        lambda: [m for m in sent(dovecot) if str(m["To"]) == dovecot.address(user)]
    )
    assert forwarded["Subject"] == "Vidarebefordras"
    with dovecot.imap_as_master(user) as imap:  # redirect alone does not keep a copy
        assert imap.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0


@unencrypted_sieve
def test_master_user_manages_the_users_sieve_scripts(
    dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    user = imap_user.name
    own = sieve_login(dovecot, user)
    assert own.putscript("egen", "keep;\n")
    assert own.setactive("egen")
    own.logout()

    master = sieve_login(dovecot, user, as_master=True)
    assert master.listscripts() == ("egen", [])
    assert master.getscript("egen").strip() == "keep;"  # sievelib drops the last newline
    assert master.putscript("postvakt", 'require ["fileinto"];\nkeep;\n')
    master.logout()

    again = sieve_login(dovecot, user)
    active, others = again.listscripts()
    assert active == "egen"
    assert others == ["postvakt"]
    again.logout()

    other = dovecot.add_user()
    sees_other = sieve_login(dovecot, other, as_master=True)
    assert sees_other.listscripts() == (None, [])
    sees_other.logout()


def test_last_login_counts_only_the_users_own_logins(
    dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    user = imap_user.name
    dovecot.append(user, "INBOX", simple_message(user))
    dovecot.deliver(user, simple_message(user))
    assert dovecot.last_login(user) is None  # set-up (append, LMTP) is no login
    assert dovecot.last_login_via_master(user) is None

    started = int(time.time())
    with dovecot.imap_as_master(user) as client:
        client.select_folder("INBOX", readonly=True)
    via_master = eventually(lambda: dovecot.last_login_via_master(user))
    assert via_master is not None
    assert via_master >= started
    assert dovecot.last_login(user) is None

    with dovecot.imap(user, imap_user.password) as client:
        client.noop()
    own = eventually(lambda: dovecot.last_login(user))
    assert own is not None
    assert started <= own <= int(time.time())


def test_shared_folder_with_private_seen(dovecot: DovecotServer, imap_user: ImapUser) -> None:
    owner = imap_user.name
    colleague = dovecot.add_user()
    uid = dovecot.append(owner, "INBOX", simple_message(owner, "Till funktionsbrevlådan"))

    with dovecot.imap(colleague) as client:
        assert not any(name.startswith("shared/") for *_, name in client.list_folders())

    dovecot.share(owner, "INBOX", colleague, "lrsw")

    shared = f"shared/{owner}"  # the owner's INBOX; shared/<owner>/INBOX opens it too
    with dovecot.imap(colleague) as client:
        names = [name for *_, name in client.list_folders()]
        assert shared in names
        assert client.namespace().other[0][0] == "shared/"
        client.select_folder(shared)
        assert client.search() == [uid]
        client.add_flags([uid], [b"\\Seen", b"$Handled"])
        assert set(client.get_flags([uid])[uid]) >= {b"\\Seen", b"$Handled"}

    with dovecot.imap(owner, imap_user.password) as client:
        client.select_folder("INBOX", readonly=True)
        flags = set(client.get_flags([uid])[uid])
        assert b"\\Seen" not in flags  # INDEXPVT: \Seen is the colleague's own
        assert b"$Handled" in flags  # keywords are shared
        acl = {who: set(rights.decode()) for who, rights in client.getacl("INBOX")}
        assert acl[colleague.encode()] == set("lrsw")

    with dovecot.imap_as_master(owner) as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["UNSEEN"]) == [uid]
