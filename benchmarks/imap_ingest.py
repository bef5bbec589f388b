"""IMAP ingest: N varied messages in one Dovecot mailbox, Postvakt's pass against a bare fetch.

The bare fetch is a plain imapclient script over the same kind of connection (master-user
login, EXAMINE, SEARCH, FETCH BODY.PEEK[] in chunks of 100) that only reads the bodies.
Postvakt's figure is one `postvakt run --once` pass in-process: parse, screen, classify,
register, render the acknowledgment and APPEND a draft for every case.  The ratio is the
figure issue 3 sets a target for (Postvakt <= 2x the bare fetch).

    .venv/bin/python benchmarks/imap_ingest.py [N]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from imapclient import IMAPClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.dovecot import DovecotServer
from tests.support.workspace import citizen_mail

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.registry.models import Disposition
from postvakt.service import Service

MASTER_ENV = "PV_BENCH_MASTER"

SWEDISH = (
    "Jag vill klaga på snöröjningen på {street}. Ingen har plogat på tre dagar och äldre kan inte ta sig ut.",
    "Hej! Jag har ett förslag: det vore bra om biblioteket på {street} hade öppet på söndagar.",
    "Hej, när har ni öppet på kommunhuset i jul? Jag behöver hämta ut ett intyg.",
    "Vi är mycket missnöjda med hemtjänsten, personalen kommer sent varje dag till min mamma på {street}.",
    "Tack för hjälpen igår, det var skönt att få prata med någon.",
    "Hur ansöker jag om bygglov för ett garage på {street}? Vilka ritningar behövs?",
    "Soptunnan på {street} har inte tömts på två veckor. Det luktar illa och drar till sig fåglar.",
    "Min son fick ingen plats på förskolan trots att vi ansökte i tid. Vi är besvikna.",
)
ENGLISH = (
    "I want to complain: the garbage on {street} has not been collected for two weeks.",
    "Hello, could you tell me how to register for the Swedish course?",
)
STREETS = ("Björkvägen", "Storgatan", "Åvägen", "Kyrkogatan", "Ängsvägen", "Östra Långgatan")


def messages(count: int, address: str) -> list[bytes]:
    rng = random.Random(11)
    start = datetime(2026, 10, 1, 8, 0, tzinfo=STOCKHOLM)
    out = []
    for i in range(count):
        pool = ENGLISH if rng.random() < 0.15 else SWEDISH
        body = rng.choice(pool).format(street=rng.choice(STREETS))
        body += "\n\n" + "\n".join(
            rng.choice(SWEDISH).format(street=rng.choice(STREETS)) for _ in range(rng.randint(0, 6))
        )
        body += f"\n\nMed vänliga hälsningar\nMedborgare {i}\n070-{rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}\n"
        when = start + timedelta(minutes=4 * i)
        headers = {}
        if i % 37 == 0:
            headers = {"Auto-Submitted": "auto-replied"}
        elif i % 53 == 0:
            headers = {"List-Id": "<nyheter.example>", "Precedence": "bulk"}
        out.append(
            citizen_mail(
                body,
                subject=f"Ärende {i}: {body[:30]}",
                date=when,
                to=address,
                sender=f"Medborgare {i} <m{i}@example.net>",
                message_id=f"<bench{i}@example.net>",
                headers=headers,
            )
        )
    return out


def bare_fetch(server: DovecotServer, user: str) -> tuple[float, int]:
    began = time.perf_counter()
    client = IMAPClient(server.host, port=server.imap_port, ssl=False)
    client.login(f"{user}*{server.master_user}", server.master_password)
    client.select_folder("INBOX", readonly=True)
    uids = client.search(["ALL"])
    total = 0
    for i in range(0, len(uids), 100):
        for item in client.fetch(uids[i : i + 100], [b"BODY.PEEK[]"]).values():
            total += len(item[b"BODY[]"])
    client.logout()
    return time.perf_counter() - began, total


def main(count: int) -> None:
    server = DovecotServer.start()
    try:
        user = server.add_user()
        address = server.address(user)
        began = time.perf_counter()
        batch = messages(count, address)
        client = server.imap_as_master(user)
        for i in range(0, len(batch), 100):
            client.multiappend("INBOX", batch[i : i + 100])
        client.logout()
        print(
            f"loaded {count} messages ({sum(map(len, batch)) / 1e6:.1f} MB) in {time.perf_counter() - began:.1f} s"
        )

        bare, size = bare_fetch(server, user)
        print(
            f"bare fetch:     {bare:7.2f} s  ({count / bare:,.0f} messages/s, {size / 1e6:.1f} MB)"
        )

        with tempfile.TemporaryDirectory() as folder:
            config_path = Path(folder) / "postvakt.toml"
            config_path.write_text(
                f"""[organisation]
name = "Benchby kommun"
diary_prefix = "KS"
domains = ["benchby.se"]
[[units]]
name = "Kontaktcenter"
head = "chef@benchby.se"
[[mailboxes]]
address = "{address}"
kind = "personal"
unit = "Kontaktcenter"
owners = ["{address}"]
connector = "imap"
[mailboxes.imap]
host = "{server.host}"
port = {server.imap_port}
security = "none"
username = "{user}"
master_user = "{server.master_user}"
password_env = "{MASTER_ENV}"
""",
                encoding="utf-8",
            )
            config = load_config(config_path)
            clock = fixed_clock(datetime(2026, 12, 1, 9, 0, tzinfo=STOCKHOLM))
            service = Service(
                config, clock=clock, environ={MASTER_ENV: server.master_password}
            ).open()
            began = time.perf_counter()
            report = service.run_once()
            elapsed = time.perf_counter() - began
            service.close()
        cases = report.count(Disposition.CASE)
        print(
            f"postvakt pass:  {elapsed:7.2f} s  ({count / elapsed:,.0f} messages/s; {cases} cases, "
            f"{len(report.drafts_saved)} drafts appended, errors: {len(report.errors)})"
        )
        print(f"ratio:          {elapsed / bare:7.1f}x the bare fetch (target: <= 2x)")
    finally:
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
