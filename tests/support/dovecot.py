"""A throwaway Dovecot 2.3 server (IMAP, LMTP with Sieve, ManageSieve) on free ports.

The configuration below is a minimal Dovecot 2.3 test server: plain-text logins over
loopback, a passwd-file per user, Maildir storage. Dovecot runs rootless: when the tests run
as root it runs as ``nobody`` on a directory that user owns (not under pytest's
``tmp_path``, which ``nobody`` cannot reach).

Each user has a passwd-file of its own (``users.d/<name>``), picked up the moment it exists,
so each test takes fresh users (``add_user``). Addresses are ``<name>@example.test``.

Changed from that minimal configuration (each marked "(fixture ...)" in CONFIG_TEMPLATE):

- passdb and userdb read ``users.d/%n`` instead of one shared ``users`` file: Dovecot stats a
  passwd-file at most once a second, so a user appended within that second stays unknown
  ("user not found from userdb" / AUTHENTICATIONFAILED) until the next one;
- a second master passdb for the fixture's own set-up logins (``append``, ``share``), recorded
  under ``last-login-via-setup/`` so set-up never moves ``last_login``;
- no auth penalty and ``auth_failure_delay = 0``: after a failed login Dovecot otherwise
  delays every later login from 127.0.0.1 (2 s, 4 s, ... up to 15 s) until one succeeds.

Stopping signals Dovecot's whole process group: SIGTERM to the master alone leaves the imap
processes of open connections running, still serving their clients.
"""

from __future__ import annotations

import contextlib
import email.policy
import grp
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import NamedTuple

from imapclient import IMAPClient

from tests.support.ports import free_port

PORT_ATTEMPTS = 3
"""Starts on new ports when one was taken meanwhile."""

DOMAIN = "example.test"

# The minimal test configuration with the changes listed above, each marked "(fixture ...)".
# ``{d}`` is the server's directory; ``%%u`` is Dovecot's own escape.
CONFIG_TEMPLATE = """\
# --- process / paths (rootless: everything runs as {user}) ---
instance_name = dovecot-test-{imap_port}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
last_valid_gid = {gid}
protocols = imap lmtp sieve
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# (fixture change) answer a wrong password at once instead of after 2 s
auth_failure_delay = 0
auth_username_format = %Ln
# sieve vacation / redirect replies go to a fake sendmail that stores them in {d}/outbox
sendmail_path = {d}/fake-sendmail
login_trusted_networks = 127.0.0.0/8
import_environment = TZ

# --- auth: passwd-file with {{PLAIN}} passwords; "user*master" = master-user login ---
auth_master_user_separator = *
# (fixture addition) the fixture's own master user, used by append() and share(): its
# logins are recorded under a third key, so test set-up never moves last-login/ or
# last-login-via-master/
passdb {{
  driver = passwd-file
  master = yes
  args = scheme=PLAIN username_format=%u {d}/setup-master-users
  override_fields = userdb_last_login_key=last-login-via-setup/%%u
}}
passdb {{
  driver = passwd-file
  master = yes
  args = scheme=PLAIN username_format=%u {d}/master-users
  result_success = continue
  # logins via a master user (the daemon) are recorded under a separate last-login key,
  # so last-login/<user> only reflects the user's own logins
  override_fields = userdb_last_login_key=last-login-via-master/%%u
}}
passdb {{
  driver = passwd-file
  # (fixture change) one file per user, read fresh: see the module's docstring
  args = scheme=PLAIN username_format=%u {d}/users.d/%n
}}
userdb {{
  driver = passwd-file
  # (fixture change) as for the passdb above
  args = username_format=%u {d}/users.d/%n
  default_fields = uid={uid} gid={gid} home={d}/home/%n
}}

# --- storage ---
mail_location = maildir:~/Maildir
mail_plugins = acl
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
}}
namespace shared {{
  type = shared
  separator = /
  prefix = shared/%%u/
  location = maildir:%%h/Maildir:INDEXPVT=~/Maildir/shared/%%u
  subscriptions = no
  list = children
}}
plugin {{
  acl = vfile
  # master-user logins ("klagomal*daemon") are checked against the *target* user's ACLs
  acl_user = %u
  acl_shared_dict = file:{d}/state/shared-mailboxes.db
  sieve = file:~/sieve;active=~/.dovecot.sieve
  last_login_dict = file:{d}/state/last-login.db
  last_login_key = last-login/%u
}}
protocol imap {{
  mail_plugins = $mail_plugins imap_acl last_login
  mail_max_userip_connections = 50
}}
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
  postmaster_address = postmaster@example.test
}}
lmtp_save_to_detail_mailbox = no
recipient_delimiter = +

# --- listeners (no chroot: rootless) ---
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
service managesieve-login {{
  chroot =
  inet_listener sieve {{
    address = 127.0.0.1
    port = {sieve_port}
  }}
}}
service pop3-login {{
  chroot =
}}
service submission-login {{
  chroot =
}}
service imap-urlauth-login {{
  chroot =
}}
service anvil {{
  chroot =
  # (fixture change) no auth penalty: after a failed login Dovecot delays every later
  # login from the same IP (2 s, 4 s, ... up to 15 s) until one succeeds, and all tests
  # come from 127.0.0.1. auth cannot open a mode-0 socket, so it runs without penalties.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service doveadm {{
  unix_listener doveadm-server {{
    mode = 0600
  }}
}}
"""

FAKE_SENDMAIL = """\
#!/bin/sh
# Stands in for sendmail: stores each message Dovecot sends (Sieve vacation, redirect).
tmp=$(/bin/mktemp {d}/outbox/.incoming.XXXXXX) || exit 75
/bin/cat > "$tmp" || exit 75
/bin/mv "$tmp" {d}/outbox/$(/bin/date +%s%N)-$$.eml
"""


def _dovecot_binary() -> str:
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists() or not Path("/usr/bin/doveadm").exists():
        raise RuntimeError(
            "Dovecot is not installed: run `make test` (scripts/install-system-deps.sh installs "
            "dovecot-imapd, dovecot-lmtpd, dovecot-sieve, dovecot-managesieved) or apt-get them."
        )
    return binary


class ImapUser(NamedTuple):
    """A user on the test server (what the ``imap_user`` fixture gives)."""

    name: str
    password: str


@dataclass(frozen=True)
class _Account:
    name: str
    uid: int
    gid: int
    group: str


def _server_account() -> _Account:
    """``nobody`` when running as root, else whoever runs the tests."""
    entry = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    return _Account(entry.pw_name, entry.pw_uid, entry.pw_gid, grp.getgrgid(entry.pw_gid).gr_name)


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] != "Z"


def _live_members(group: int) -> list[int]:
    """Processes of ``group`` that still run (zombies left to an init that never reaps don't)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after "pid (comm)": state, ppid, pgrp, ...
        if fields[0] != "Z" and int(fields[2]) == group:
            members.append(int(stat.parent.name))
    return members


def simple_message(
    to: str,
    subject: str = "Test",
    body: str = "Hej!\n",
    sender: str = "avsandare@example.org",
) -> bytes:
    """A small, well-formed RFC 5322 message (``to`` may be a bare user name)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to if "@" in to else f"{to}@{DOMAIN}"
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content(body)
    return message.as_bytes()


@dataclass
class DovecotServer:
    directory: Path
    imap_port: int
    lmtp_port: int
    sieve_port: int
    master_user: str = "postvakt"
    master_password: str = "master-secret"
    host: str = "127.0.0.1"
    domain: str = DOMAIN
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _account: _Account = field(default_factory=_server_account, repr=False)
    _passwords: dict[str, str] = field(default_factory=dict, repr=False)
    # the fixture's own master user (append, share): recorded under last-login-via-setup/
    _setup_user: str = field(default="pvfixture", repr=False)
    _setup_password: str = field(default_factory=lambda: uuid.uuid4().hex, repr=False)

    # --- life cycle ---------------------------------------------------------------------

    @classmethod
    def start(cls, extra_config: str = "") -> DovecotServer:
        """A new server in a fresh directory on free ports, accepting IMAP when it returns.

        ``extra_config`` is appended to the config (benchmarks raise connection limits).
        """
        _dovecot_binary()
        for attempt in range(1, PORT_ATTEMPTS + 1):
            directory = Path(tempfile.mkdtemp(prefix="postvakt-dovecot-"))
            ports: set[int] = set()
            while len(ports) < 3:
                ports.add(free_port())
            imap_port, lmtp_port, sieve_port = sorted(ports)
            server = cls(directory, imap_port, lmtp_port, sieve_port)
            try:
                server._write_files()
                if extra_config:
                    with (directory / "dovecot.conf").open("a") as conf:
                        conf.write("\n" + extra_config)
                server._launch()
            except RuntimeError as exc:
                server.stop()
                # A free port can be taken between our look and Dovecot's listen (an outgoing
                # connection of another test gets it): new ports, a new server.
                if "Address already in use" in str(exc) and attempt < PORT_ATTEMPTS:
                    continue
                raise
            except BaseException:
                server.stop()
                raise
            return server
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _write_files(self) -> None:
        d = self.directory
        account = self._account
        for sub in ("run", "state", "home", "outbox", "users.d"):
            (d / sub).mkdir()
        (d / "dovecot.conf").write_text(
            CONFIG_TEMPLATE.format(
                d=d,
                user=account.name,
                group=account.group,
                uid=account.uid,
                gid=account.gid,
                imap_port=self.imap_port,
                lmtp_port=self.lmtp_port,
                sieve_port=self.sieve_port,
            )
        )
        (d / "master-users").write_text(f"{self.master_user}:{{PLAIN}}{self.master_password}\n")
        (d / "setup-master-users").write_text(
            f"{self._setup_user}:{{PLAIN}}{self._setup_password}\n"
        )
        sendmail = d / "fake-sendmail"
        sendmail.write_text(FAKE_SENDMAIL.format(d=d))
        sendmail.chmod(0o755)
        d.chmod(0o755)
        for path in (d, *d.iterdir()):
            self._give(path)

    def _give(self, path: Path) -> None:
        """Let the server's account own ``path`` (a no-op unless running as root)."""
        if os.geteuid() == 0:
            os.chown(path, self._account.uid, self._account.gid)

    def _as_server(self) -> dict[str, object]:
        """subprocess keyword arguments that run a program as the server's account."""
        env = {**os.environ, "HOME": str(self.directory)}
        if os.geteuid() != 0:
            return {"env": env}
        return {
            "env": env,
            "user": self._account.uid,
            "group": self._account.gid,
            "extra_groups": [],
        }

    def _launch(self, timeout: float = 10.0) -> None:
        stderr = (self.directory / "dovecot.stderr").open("ab")
        with stderr:
            self.process = subprocess.Popen(
                [_dovecot_binary(), "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                cwd=self.directory,
                # its own process group, so stopping it can end every child (see _terminate)
                start_new_session=True,
                **self._as_server(),  # type: ignore[call-overload]
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"dovecot exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            if self._imap_greets():
                return
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not accept IMAP within {timeout} s:\n{self.log_tail()}")

    def _imap_greets(self) -> bool:
        try:
            with socket.create_connection((self.host, self.imap_port), timeout=1) as sock:
                greeting = sock.recv(512)
                sock.sendall(b"a LOGOUT\r\n")
                return greeting.startswith(b"* OK")
        except OSError:
            return False

    def _terminate(self) -> None:
        """End the master and every process it started, as ``systemctl stop dovecot`` does.

        SIGTERM to the master alone leaves the imap processes of open connections running
        (orphaned, still serving their clients), so the whole process group gets it.
        """
        process, self.process = self.process, None
        if process is None:
            return
        group = process.pid  # start_new_session: the master leads its own process group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        # what the master left behind (imap processes of open connections, a login process
        # forked while it shut down): SIGTERM until gone, so clients see the server go away
        deadline = time.monotonic() + 5
        while _live_members(group):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server and remove its directory with all mail."""
        self._terminate()
        shutil.rmtree(self.directory, ignore_errors=True)

    def pause(self) -> None:
        """Stop the server (open sessions drop, ports refuse) but keep users and mail."""
        self._terminate()

    def resume(self) -> None:
        """Start a paused server again on the same ports."""
        if self.running:
            raise RuntimeError("dovecot is running already")
        self._launch()

    def restart(self) -> None:
        """Stop the server and start it again on the same ports, keeping users and mail."""
        self.pause()
        self.resume()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def config_path(self) -> Path:
        return self.directory / "dovecot.conf"

    # --- users --------------------------------------------------------------------------

    def add_user(self, name: str | None = None, password: str | None = None) -> str:
        """Add a user (``u<hex>`` unless named); returns the name. Address: ``name@example.test``."""
        name = (name or f"u{uuid.uuid4().hex[:10]}").lower()
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
            raise ValueError(f"not a plain user name: {name!r}")
        password = password or f"pw-{uuid.uuid4().hex[:12]}"
        if name in self._passwords:
            raise ValueError(f"user {name!r} exists already")
        home = self.directory / "home" / name
        home.mkdir(mode=0o755)
        self._give(home)
        # one passwd-file per user: Dovecot re-reads a changed passwd-file at most once a
        # second, so a user appended to a shared file may stay unknown for up to a second;
        # a file it has never looked at is read fresh at once
        entry = self.directory / "users.d" / name
        staged = entry.with_name(f".{name}.new")
        staged.write_text(f"{name}:{{PLAIN}}{password}::::::\n")
        staged.rename(entry)
        self._passwords[name] = password
        return name

    def password(self, user: str) -> str:
        return self._passwords[user]

    def address(self, user: str) -> str:
        return f"{user}@{self.domain}"

    # --- IMAP connections ---------------------------------------------------------------

    def imap(self, user: str, password: str | None = None) -> IMAPClient:
        """A logged-in IMAP connection as ``user`` itself (counts as the user's last login)."""
        client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=10)
        client.login(user, password if password is not None else self._passwords[user])
        return client

    def imap_as_master(self, user: str) -> IMAPClient:
        """A logged-in IMAP connection to ``user``'s mailbox via the master user (``user*postvakt``)."""
        client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=10)
        client.login(f"{user}*{self.master_user}", self.master_password)
        return client

    def headers_in(self, user: str, folder: str = "Drafts") -> list[EmailMessage]:
        """The header of every message in ``user``'s ``folder`` (read through the master
        user, so it counts as no login of the user's)."""
        client = self.imap_as_master(user)
        try:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            fetched = client.fetch(uids, [b"BODY.PEEK[HEADER]"]) if uids else {}
        finally:
            client.logout()
        parser = BytesParser(policy=email.policy.default)
        return [
            parser.parsebytes(item[b"BODY[HEADER]"], headersonly=True)  # type: ignore[misc]
            for _uid, item in sorted(fetched.items())
        ]

    @contextlib.contextmanager
    def _setup_session(self, user: str) -> Iterator[IMAPClient]:
        client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=10)
        try:
            client.login(f"{user}*{self._setup_user}", self._setup_password)
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    # --- mail ---------------------------------------------------------------------------

    def deliver(self, user: str, raw: bytes, sender: str = "avsandare@example.org") -> None:
        """Deliver over LMTP, as the MTA would: the user's active Sieve script runs.

        An unknown user raises ``smtplib.SMTPRecipientsRefused``."""
        with smtplib.LMTP(self.host, self.lmtp_port, timeout=10) as lmtp:
            refused = lmtp.sendmail(sender, [self.address(user)], raw)
        if refused:
            raise RuntimeError(f"LMTP refused {user}: {refused}\n{self.log_tail()}")

    def append(self, user: str, folder: str, raw: bytes, flags: Iterable[bytes | str] = ()) -> int:
        """IMAP APPEND into ``user``'s ``folder`` (no Sieve); returns the new UID.

        Logs in through the fixture's own master user, so neither ``last_login`` nor
        ``last_login_via_master`` changes.
        """
        with self._setup_session(user) as client:
            response = client.append(folder, raw, flags=tuple(flags))
        found = re.search(rb"APPENDUID \d+ (\d+)", response)
        if not found:
            raise RuntimeError(f"APPEND to {user}/{folder} gave no APPENDUID: {response!r}")
        return int(found.group(1))

    def outbox(self) -> list[bytes]:
        """Messages Dovecot handed to sendmail (Sieve vacation, redirect), oldest first."""
        return [path.read_bytes() for path in sorted((self.directory / "outbox").glob("*.eml"))]

    def clear_outbox(self) -> None:
        for path in (self.directory / "outbox").glob("*.eml"):
            path.unlink()

    # --- state --------------------------------------------------------------------------

    def _dict_values(self) -> dict[str, str]:
        path = self.directory / "state" / "last-login.db"
        try:
            lines = path.read_text().splitlines()
        except FileNotFoundError:
            return {}
        return dict(zip(lines[0::2], lines[1::2], strict=False))

    def _last_login_key(self, key: str) -> int | None:
        values = self._dict_values()
        for candidate in (key, f"shared/{key}"):
            if candidate in values:
                return int(values[candidate])
        return None

    def last_login(self, user: str) -> int | None:
        """Unix time of ``user``'s own last IMAP login (not via a master user), or None."""
        return self._last_login_key(f"last-login/{user}")

    def last_login_via_master(self, user: str) -> int | None:
        """Unix time of the last IMAP login to ``user``'s mailbox via the master user, or None."""
        return self._last_login_key(f"last-login-via-master/{user}")

    # --- administration -----------------------------------------------------------------

    def doveadm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``doveadm -c CONF ARGS`` as the server's account."""
        result = subprocess.run(
            ["doveadm", "-c", str(self.config_path), *args],
            capture_output=True,
            text=True,
            timeout=30,
            **self._as_server(),  # type: ignore[call-overload]
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"doveadm {' '.join(args)} failed ({result.returncode}): "
                f"{result.stderr.strip()}\n{self.log_tail()}"
            )
        return result

    def set_uidvalidity(self, user: str, folder: str, value: int) -> None:
        """Give ``user``'s ``folder`` a new UIDVALIDITY (as after a restore or a rebuild)."""
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(value), folder)

    def connection_pids(self, user: str) -> set[int]:
        """Processes serving ``user``'s open IMAP/ManageSieve sessions (``doveadm who``)."""
        lines = self.doveadm("who", "-1", user).stdout.splitlines()[1:]
        return {
            int(fields[2])
            for line in lines
            if len(fields := line.split()) >= 3 and fields[0] == user and _running(int(fields[2]))
        }

    def kill_connections(self, user: str, timeout: float = 5.0) -> int:
        """Drop every open session to ``user``'s mailbox (also via the master user), like
        ``doveadm kick``; returns once the processes are gone, so the clients' next command
        fails. Returns how many there were."""
        killed: set[int] = set()
        deadline = time.monotonic() + timeout
        while pids := self.connection_pids(user):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{user}'s sessions {sorted(pids)} survived doveadm kick")
            killed |= pids
            self.doveadm("kick", user, check=False)  # 68 when anvil no longer knows them
            while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
                time.sleep(0.02)
        return len(killed)

    def share(self, owner: str, folder: str, to_user: str, rights: str = "lrws") -> None:
        """Give ``to_user`` IMAP ACL ``rights`` on ``owner``'s ``folder`` (SETACL as the owner).

        ``to_user`` then finds it as ``shared/<owner>/<folder>``.
        """
        with self._setup_session(owner) as client:
            client.setacl(folder, to_user, rights)

    def log_tail(self, lines: int = 40) -> str:
        """The end of Dovecot's log (and of anything it printed before logging started)."""
        text = ""
        for name in ("dovecot.stderr", "dovecot.log"):
            with contextlib.suppress(FileNotFoundError):
                text += (self.directory / name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


# --- a Postvakt config for a mailbox on this server -------------------------------------------

MASTER_ENV = "PV_TEST_IMAP_MASTER"

CONFIG = """\
[organisation]
name = "Testby kommun"
diary_prefix = "KS"
domains = ["testby.se"]

[database]
url = "sqlite:///postvakt.db"

[[units]]
name = "Kontaktcenter"
head = "chef@testby.se"

[[people]]
name = "Anna Berg"
address = "anna@testby.se"
unit = "Kontaktcenter"

[[mailboxes]]
address = "{address}"
start_from = 2026-01-01  # the tests' mail is older than their clock
name = "Kontaktcenter"
kind = "{kind}"
unit = "Kontaktcenter"
owners = ["anna@testby.se"]
connector = "imap"

[mailboxes.imap]
host = "127.0.0.1"
port = {port}
security = "none"
username = "{user}"
master_user = "{master}"
password_env = "{env}"
sieve_port = {sieve_port}
last_login_dict = "{last_login}"
"""


def write_config(tmp_path: Path, server: DovecotServer, user: str, kind: str = "function") -> Path:
    """A Postvakt config whose one mailbox is ``user`` on ``server``, read via the master user."""
    path = tmp_path / "postvakt.toml"
    path.write_text(
        CONFIG.format(
            address=server.address(user),
            kind=kind,
            port=server.imap_port,
            user=user,
            master=server.master_user,
            env=MASTER_ENV,
            sieve_port=server.sieve_port,
            last_login=server.directory / "state" / "last-login.db",
        ),
        encoding="utf-8",
    )
    return path
