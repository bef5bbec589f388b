"""IMAP ingest: N messages in Dovecot, Postvakt's pass against the floor of the same run.

The messages are made by our own generator (:func:`small` and :func:`realistic` below, seeded,
so every run has the same ones); they are not real citizens' mail:

- **small**: one text/plain part of 100-800 bytes (a Swedish or English complaint, opinion,
  question or thanks, a signature with a phone number), about 1 KB on the wire;
- **realistic**: about 17 KB on average — multipart/alternative (plain text and an HTML
  version), most with the quoted earlier reply of a thread below the text, 60 % with an
  attachment (a photo or PDF of 8-20 KB of random bytes, base64), Received headers and
  the other headers a mail program adds.

Every 37th message is an auto-reply and every 53rd bulk mail (screened); the rest are
complaints, opinions and questions for the classifier to tell apart.

For each kind the script prints, measured in this one run on this machine:

- **bare fetch**: a plain imapclient script over the same kind of connection (master-user
  login, EXAMINE, SEARCH, FETCH BODY.PEEK[] in chunks of 100) that only reads the bodies;
- **floor**: the same fetch, then the work no intake can skip: the parse
  (:func:`postvakt.mailbox.message.parse_message`, the stdlib ``email`` parser with the
  decoding every intake needs; the intake parses each message once, with this), screening,
  and the
  classifier (the organisation's model, one message at a time as the intake calls it: its
  scoring is a sparse dot product per message, a fraction of a percent of its cost, so a
  batch call would save nothing measurable), no database;
- **SQLite** and **PostgreSQL**: one ``postvakt run --once`` pass in-process (parse, screen,
  classify, register, render the acknowledgment, store it in the outbox, APPEND the drafts)
  on a new database each (PostgreSQL: a throwaway server, ``tests/support/postgres.py``).

Each as messages per second and as a ratio to the floor, by wall time and by this process's
CPU time (all its threads; the servers' own work — Dovecot's, PostgreSQL's — counts in wall
time only; on a machine others load, CPU time moves less).  The classifier's model is loaded
before any clock starts (a one-off cost at start, not per message).  Each Postvakt pass reads
a mailbox of its own, filled with the same messages, so no pass finds the drafts of another.

    .venv/bin/python benchmarks/imap_ingest.py [N] [--kind small|realistic] [--no-postgres]
        [--batch-size B] [--rounds R] [--profile] [--dovecot-fsync optimized|never]

Each pass also says how busy the whole machine was, and how long it went on after its last
batch committed: that tail is the last batches' drafts going to Dovecot (the placer's
backlog on its two connections, then the last batches' on the pass's own), while the rest of
the machine waits.

**The disk.**  Dovecot runs with its own default, ``mail_fsync = optimized``: each draft saved
to a maildir is flushed to disk on its own (about 0.3 ms each here), and the pass waits for
the last ones.  The benchmark's PostgreSQL runs with ``fsync = off`` and SQLite in WAL with
``synchronous = NORMAL`` (flushed at checkpoints), so the default run charges the pass for
Dovecot's disk and not the databases'.  ``--dovecot-fsync never`` leaves Dovecot's disk out
too, to see Postvakt's own work; a site's figure depends on its own disk and settings.  The
first line printed says which was used.

On a machine others share, one round's figures move by a tenth or more from run to run;
``--rounds R`` measures the floor and the passes R times, one round after the other, and
prints the medians of the speeds and of each pass's ratio to its own round's floor.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.dovecot import DovecotServer
from tests.support.postgres import PostgresServer

from postvakt.classifier import screen
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import Config, load_config
from postvakt.intake import batch as batch_module
from postvakt.intake import load_classifier
from postvakt.mailbox.message import parse_message
from postvakt.process import settle_garbage_collector
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
EARLIER = (
    "Hej!\n\nTack för ditt meddelande. Vi har tagit emot det och återkommer så snart vi kan. "
    "Ärendet har lämnats till den enhet som ansvarar för frågan.\n\nMed vänliga hälsningar\n"
    "Kontaktcenter\nBenchby kommun\nTelefon 0123-45 67 00\nwww.benchby.se\n"
)
START = datetime(2026, 10, 1, 8, 0, tzinfo=STOCKHOLM)


def _text(rng: random.Random, i: int, lines: int) -> str:
    pool = ENGLISH if rng.random() < 0.15 else SWEDISH
    body = rng.choice(pool).format(street=rng.choice(STREETS))
    body += "\n\n" + "\n".join(
        rng.choice(SWEDISH).format(street=rng.choice(STREETS)) for _ in range(lines)
    )
    return (
        body + f"\n\nMed vänliga hälsningar\nMedborgare {i}\n"
        f"070-{rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}\n"
    )


def _headers(i: int) -> dict[str, str]:
    if i % 37 == 0:
        return {"Auto-Submitted": "auto-replied"}
    if i % 53 == 0:
        return {"List-Id": "<nyheter.example>", "Precedence": "bulk"}
    return {}


def _message(i: int, body: str, address: str, subject: str, extra: dict[str, str]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Medborgare {i} <m{i}@example.net>"
    msg["To"] = address
    msg["Subject"] = subject
    msg["Date"] = format_datetime(START + timedelta(minutes=4 * i))
    msg["Message-ID"] = f"<bench{i}@example.net>"
    for key, value in extra.items():
        msg[key] = value
    msg.set_content(body)
    return msg


def small(count: int, address: str) -> list[bytes]:
    """About 1 KB each: one text/plain part."""
    rng = random.Random(11)
    out = []
    for i in range(count):
        body = _text(rng, i, rng.randint(0, 6))
        msg = _message(i, body, address, f"Ärende {i}: {body[:30]}", _headers(i))
        out.append(msg.as_bytes())
    return out


def realistic(count: int, address: str) -> list[bytes]:
    """About 17 KB on average: plain and HTML, quoted earlier reply, most with an attachment."""
    rng = random.Random(17)
    out = []
    for i in range(count):
        body = _text(rng, i, rng.randint(2, 12))
        extra = {
            "Received": f"from mail{i % 7}.example.net (mail{i % 7}.example.net [192.0.2.{i % 250}]) "
            f"by mx.benchby.se with ESMTPS id {i:08x}; {format_datetime(START)}",
            "MIME-Version": "1.0",
            "User-Agent": "Mozilla Thunderbird",
            "Content-Language": "sv-SE",
            **_headers(i),
        }
        subject = f"Ärende {i}: {body[:30]}"
        if rng.random() < 0.7:
            extra["In-Reply-To"] = f"<svar{i}@benchby.se>"
            subject = "SV: " + subject
            quoted = "\n".join(f"> {line}" for line in (EARLIER * rng.randint(2, 5)).splitlines())
            body += f"\n\nDen 28 sep. 2026 kl. 10:12 skrev Kontaktcenter <kontakt@benchby.se>:\n{quoted}\n"
        msg = _message(i, body, address, subject, extra)
        html = "".join(f"<p>{line}</p>\n" for line in body.splitlines() if line)
        msg.add_alternative(
            f'<html><head><meta charset="utf-8"><style>p {{ margin: 0 }}</style></head>'
            f'<body><div dir="ltr">{html}</div></body></html>',
            subtype="html",
        )
        if rng.random() < 0.6:
            data = rng.randbytes(rng.randint(8_000, 20_000))
            kind = rng.choice((("image", "jpeg", "bild.jpg"), ("application", "pdf", "brev.pdf")))
            msg.add_attachment(data, maintype=kind[0], subtype=kind[1], filename=kind[2])
        out.append(msg.as_bytes())
    return out


def _fill(server: DovecotServer, batch: list[bytes]) -> str:
    user = server.add_user()
    client = server.imap_as_master(user)
    for i in range(0, len(batch), 100):
        client.multiappend("INBOX", batch[i : i + 100])
    client.logout()
    return user


def fetch_bodies(server: DovecotServer, user: str) -> list[bytes]:
    client = IMAPClient(server.host, port=server.imap_port, ssl=False)
    client.login(f"{user}*{server.master_user}", server.master_password)
    client.select_folder("INBOX", readonly=True)
    uids = client.search(["ALL"])
    out = []
    for i in range(0, len(uids), 100):
        fetched = client.fetch(uids[i : i + 100], [b"BODY.PEEK[]", b"INTERNALDATE"])
        out += [item[b"BODY[]"] for item in fetched.values()]
    client.logout()
    return out


def floor(server: DovecotServer, user: str, config: Config) -> tuple[float, float, str]:
    """Fetch, parse, screening and the classifier; no database.
    Wall and CPU seconds, and how busy the machine was."""
    classifier = load_classifier(config)
    cpu = time.process_time()
    machine = machine_cpu()
    began = time.perf_counter()
    for raw in fetch_bodies(server, user):
        msg = parse_message(raw)
        if screen(msg) is None:
            classifier.classify(msg)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    return elapsed, cpu, busy_since(machine)


CONFIG = """[service]
batch_size = {batch_size}
[organisation]
name = "Benchby kommun"
diary_prefix = "KS"
domains = ["benchby.se"]
[database]
url = "{db_url}"
[[units]]
name = "Kontaktcenter"
head = "chef@benchby.se"
[[people]]
name = "Anna Berg"
address = "anna@benchby.se"
unit = "Kontaktcenter"
[[mailboxes]]
address = "{address}"
start_from = 2026-01-01
name = "Kontaktcenter"
kind = "function"
unit = "Kontaktcenter"
owners = ["anna@benchby.se"]
connector = "imap"
[mailboxes.imap]
host = "{host}"
port = {port}
security = "none"
username = "{user}"
master_user = "{master}"
password_env = "{env}"
"""


def write_config(
    folder: Path, server: DovecotServer, user: str, db_url: str, batch_size: int = 100
) -> Config:
    path = folder / "postvakt.toml"
    path.write_text(
        CONFIG.format(
            batch_size=batch_size,
            db_url=db_url,
            address=server.address(user),
            host=server.host,
            port=server.imap_port,
            user=user,
            master=server.master_user,
            env=MASTER_ENV,
        ),
        encoding="utf-8",
    )
    return load_config(path)


def machine_cpu() -> tuple[float, float]:
    """The machine's CPU seconds so far, busy and in all, every core and process together
    (``/proc/stat``): Dovecot's and PostgreSQL's work, and anything else running, included."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / tick, sum(fields) / tick


def busy_since(before: tuple[float, float]) -> str:
    """How busy the machine was since ``before`` (:func:`machine_cpu`): when it is near
    100 %, the pass is bounded by the cores, not by waiting."""
    busy, total = (now - then for now, then in zip(machine_cpu(), before, strict=True))
    return f"machine {100 * busy / total:.0f} % busy ({busy:.1f} of {total:.1f} core-s)"


def helper_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the intake's helper processes have used so far: they
    parse and classify ahead (``[service] prepare_processes``) and count in Postvakt's CPU."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


@contextlib.contextmanager
def last_batch_end() -> Iterator[list[float]]:
    """While the block runs, the time (``perf_counter``) each batch of the intake ended, the
    last one last: what the pass does after it is placing the last batches' drafts."""
    ends: list[float] = []
    run_batch = batch_module.run_batch

    def timed(*args: Any, **kwargs: Any) -> Any:
        try:
            return run_batch(*args, **kwargs)
        finally:
            ends.append(time.perf_counter())

    batch_module.run_batch = timed
    try:
        yield ends
    finally:
        batch_module.run_batch = run_batch


def postvakt_pass(
    server: DovecotServer, user: str, config: Config, profile: bool = False
) -> tuple[float, float, str]:
    """One pass: wall and CPU seconds (this process's, every thread), and what it did."""
    clock = fixed_clock(datetime(2026, 12, 1, 9, 0, tzinfo=STOCKHOLM))
    service = Service(config, clock=clock, environ={MASTER_ENV: server.master_password}).open()
    try:
        assert service.intake is not None
        service.intake.classify  # noqa: B018 — the model loads before the clock starts
        preparer = service.intake.preparer
        if preparer is not None:  # so does the helper process, as at start
            preparer.warm()
        settle_garbage_collector()  # as `postvakt run` does once it has started
        profiler = cProfile.Profile() if profile else None
        helpers = preparer.pids() if preparer else []
        cpu = time.process_time() + helper_cpu(helpers)
        machine = machine_cpu()
        began = time.perf_counter()
        with last_batch_end() as ends:
            if profiler:  # in this thread: run_once passes mailboxes to a pool
                profiler.enable()
                report = service.run_mailbox(config.mailboxes[0].address)
            else:
                report = service.run_once()
        ended = time.perf_counter()
        elapsed = ended - began
        cpu = time.process_time() + helper_cpu(helpers) - cpu
        busy = busy_since(machine)
        if profiler:
            profiler.disable()
            path = Path(tempfile.gettempdir()) / f"imap_ingest-{config.database.url[:6]}.prof"
            profiler.dump_stats(path)
            print(f"  (profile in {path})")
    finally:
        service.close()
    failed = report.count(Disposition.FAILED)
    detail = (
        f"{report.count(Disposition.CASE)} cases, {len(report.drafts_saved)} drafts, "
        f"{failed} failed, {len(report.errors)} errors; {busy}"
    )
    if ends:  # Dovecot appending the last batches' drafts, the rest of the machine idle
        detail += f"; {ended - ends[-1]:.2f} s after the last batch"
    if preparer is not None:  # how the pass and its helper shared the work
        detail += (
            f"; waited {preparer.waited:.2f} s for the helper, took back "
            f"{preparer.parts_taken_back} parts"
        )
    return elapsed, cpu, detail


def line(
    name: str,
    count: int,
    seconds: tuple[float, float],
    floor_seconds: tuple[float, float] | None,
    detail: str = "",
) -> None:
    """Wall time, msg/s and the ratio to the floor; then the same for CPU time (this
    process's: less moved by other load on the machine, and without Dovecot's share)."""
    wall, cpu = seconds
    ratio = f"{wall / floor_seconds[0]:5.2f}x" if floor_seconds else "      "
    cpu_ratio = f"{cpu / floor_seconds[1]:5.2f}x" if floor_seconds else "      "
    print(
        f"  {name:<11} {wall:7.2f} s {count / wall:7,.0f} msg/s {ratio} | "
        f"cpu {cpu:6.2f} s {count / cpu:7,.0f} msg/s {cpu_ratio}  {detail}"
    )


def run_kind(
    kind: str,
    make: Callable[[int, str], list[bytes]],
    count: int,
    server: DovecotServer,
    postgres: PostgresServer | None,
    profile: bool,
    batch_size: int = 100,
    sqlite: bool = True,
    rounds: int = 1,
) -> None:
    address = server.address("placeholder")
    batch = make(count, address)
    size = sum(map(len, batch))
    passes = int(sqlite) + int(postgres is not None)
    users = [_fill(server, batch) for _ in range(max(passes, 1) * rounds)]
    print(f"\n{kind}: {count} messages, {size / 1e6:.1f} MB ({size / count / 1e3:.1f} KB each)")
    ratios: dict[str, list[tuple[float, float]]] = {"SQLite": [], "PostgreSQL": []}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for number in range(rounds):
            if rounds > 1:
                print(f" round {number + 1} of {rounds}")
            mine = users[number * passes : (number + 1) * passes] or users[:1]
            here = root / str(number)
            here.mkdir()
            config = write_config(
                here, server, mine[0], f"sqlite:///{here / 'postvakt.db'}", batch_size
            )
            cpu, began = time.process_time(), time.perf_counter()
            fetch_bodies(server, mine[0])
            bare = time.perf_counter() - began, time.process_time() - cpu
            line("bare fetch", count, bare, None)
            floor_wall, floor_cpu, floor_busy = floor(server, mine[0], config)
            floor_s = (floor_wall, floor_cpu)
            line(
                "floor", count, floor_s, floor_s, f"fetch + parse + screen + classify; {floor_busy}"
            )
            if sqlite:
                elapsed, cpu, detail = postvakt_pass(server, mine[0], config, profile)
                line("SQLite", count, (elapsed, cpu), floor_s, detail)
                ratios["SQLite"].append((count / elapsed, elapsed / floor_s[0]))
            if postgres is not None:
                url = postgres.create_database()
                try:
                    (here / "pg").mkdir()
                    config = write_config(here / "pg", server, mine[-1], url, batch_size)
                    elapsed, cpu, detail = postvakt_pass(server, mine[-1], config, profile)
                    line("PostgreSQL", count, (elapsed, cpu), floor_s, detail)
                    ratios["PostgreSQL"].append((count / elapsed, elapsed / floor_s[0]))
                finally:
                    postgres.drop_database(url)
    if rounds > 1:
        print(f" median of {rounds} rounds (each pass against the floor of its own round):")
        for name, found in ratios.items():
            if found:
                speed = statistics.median(s for s, _ in found)
                ratio = statistics.median(r for _, r in found)
                print(f"  {name:<11} {speed:7,.0f} msg/s {ratio:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=2000)
    parser.add_argument("--kind", choices=("small", "realistic"), action="append")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL's pass only")
    parser.add_argument("--profile", action="store_true", help="cProfile each Postvakt pass")
    parser.add_argument("--batch-size", type=int, default=100, help="[service] batch_size")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="floor and passes this many times, one after the other; medians at the end",
    )
    parser.add_argument(
        "--dovecot-fsync",
        choices=("optimized", "never"),
        default="optimized",
        help="Dovecot's mail_fsync (default: Dovecot's own default, optimized)",
    )
    args = parser.parse_args()
    kinds = {"small": small, "realistic": realistic}
    # As `postvakt run` and `postvakt worker` set their processes (and each pass below after
    # its service opens, as they do): the floor runs under the same collector settings.
    settle_garbage_collector()
    print(
        f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1 and 5 min), "
        f"{os.cpu_count()} cores; Dovecot mail_fsync = {args.dovecot_fsync}, "
        "PostgreSQL fsync = off, SQLite synchronous = NORMAL (WAL)"
    )
    server = DovecotServer.start(f"mail_fsync = {args.dovecot_fsync}\n")
    postgres = None if args.no_postgres else PostgresServer.start()
    try:
        for kind in args.kind or ("small", "realistic"):
            run_kind(
                kind,
                kinds[kind],
                args.count,
                server,
                postgres,
                args.profile,
                args.batch_size,
                sqlite=not args.no_sqlite,
                rounds=args.rounds,
            )
    finally:
        server.stop()
        if postgres is not None:
            postgres.stop()


if __name__ == "__main__":
    main()
