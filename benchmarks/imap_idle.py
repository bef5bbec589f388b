"""Idle cost and memory: Postvakt watching N IMAP mailboxes (default 1,000) on one Dovecot.

After a first pass has read each mailbox's one message, a second pass finds nothing new.
Prints that pass's wall time, the IMAP commands it sent per mailbox and per watched folder
(target: one STATUS-class round trip per folder), the logins it needed (target: none — the
connections are reused), and the daemon's resident memory (target: under 200 MB).

    .venv/bin/python benchmarks/imap_idle.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.dovecot import DovecotServer
from tests.support.workspace import citizen_mail

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.mailbox.imap import ImapConnector
from postvakt.service import Service

MASTER_ENV = "PV_BENCH_MASTER"
LIMITS = """
default_client_limit = 5000
service imap {
  process_limit = 3000
  client_limit = 1
}
service anvil {
  client_limit = 5000
}
"""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(count: int) -> None:
    server = DovecotServer.start(extra_config=LIMITS)
    try:
        users = [server.add_user() for _ in range(count)]
        time.sleep(1.1)  # Dovecot reads new password files from the next second on
        for i, user in enumerate(users):
            server.append(
                user, "INBOX", citizen_mail(f"Hej, när har ni öppet? ({i})", subject=f"Fråga {i}")
            )
        lines = [
            '[organisation]\nname = "Benchby kommun"\ndiary_prefix = "KS"\n',
            '[[units]]\nname = "Kontaktcenter"\nhead = "chef@benchby.se"\n',
        ]
        for user in users:
            lines.append(
                f'[[mailboxes]]\naddress = "{server.address(user)}"\nkind = "personal"\nunit = "Kontaktcenter"\n'
                f'connector = "imap"\n[mailboxes.imap]\nhost = "{server.host}"\nport = {server.imap_port}\n'
                f'security = "none"\nusername = "{user}"\nmaster_user = "{server.master_user}"\n'
                f'password_env = "{MASTER_ENV}"\n'
            )
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "postvakt.toml"
            path.write_text("\n".join(lines), encoding="utf-8")
            base = rss_mb()
            service = Service(
                load_config(path),
                clock=fixed_clock(datetime(2026, 12, 1, 9, 0, tzinfo=STOCKHOLM)),
                environ={MASTER_ENV: server.master_password},
            ).open()
            began = time.perf_counter()
            first = service.run_once()
            first_time = time.perf_counter() - began
            connectors = [c for c in service.connectors.values() if isinstance(c, ImapConnector)]
            commands = sum(c.commands for c in connectors)
            logins = sum(c.logins for c in connectors)
            began = time.perf_counter()
            second = service.run_once()
            idle_time = time.perf_counter() - began
            idle_commands = sum(c.commands for c in connectors) - commands
            idle_logins = sum(c.logins for c in connectors) - logins
            folders = sum(len(c.folders("inbox")) + len(c.folders("sent")) for c in connectors)
            rss = rss_mb()
            service.close()
        print(f"mailboxes:                 {count} ({folders} watched folders)")
        print(
            f"first pass:                {first_time:.1f} s, {len(first.outcomes)} messages, errors {len(first.errors)}"
        )
        print(
            f"idle pass:                 {idle_time:.2f} s ({idle_time / count * 1000:.2f} ms per mailbox), "
            f"{len(second.outcomes)} messages, errors {len(second.errors)}"
        )
        print(
            f"IMAP commands, idle pass:  {idle_commands} ({idle_commands / count:.2f} per mailbox, "
            f"{idle_commands / folders:.2f} per watched folder; target 1)"
        )
        print(f"logins in the idle pass:   {idle_logins} (target 0)")
        print(
            f"resident memory:           {rss:.0f} MB (before opening: {base:.0f} MB; target < 200 MB)"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
