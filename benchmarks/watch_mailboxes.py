"""Watching N IMAP mailboxes (default 1,000) on one Dovecot: first and idle passes, and memory.

A Dovecot is started with the settings of ``deploy/dovecot-1000-mailboxes.conf`` (the imap
process limit raised further when N needs it), N users get three messages each from our own
generator (two dated 2025, before the mailboxes' ``start_from``, one question from today),
and a config lists the N mailboxes (one in ten a function mailbox, the rest personal), read
through a master user like ``benchmarks/imap_ingest.py``.

Printed, all measured in this one run on this machine:

- **floor, fresh**: a bare imapclient script with the same pool of threads: log in as
  ``user*master`` and STATUS the two folders Postvakt watches (INBOX, Sent), for all N
  (after the ingest pass, like Postvakt's first pass: every folder exists and is indexed);
- **floor, warm**: the same STATUS commands again on the connections the floor kept open;
- Postvakt, in a process of its own (``--watch``): after another process has read the
  mail once (the **ingest** pass, printed for reference), a freshly started service's
  **first pass** (it logs in to every mailbox; nothing is new) and its **idle passes**
  (median of 5); each with its ratio to the floor;
- that process's **RSS**: the peak (VmHWM) and the current (VmRSS) from /proc/self/status,
  after the idle passes and again after one new message made it load the classifier.

    .venv/bin/python benchmarks/watch_mailboxes.py [N] [--pool 16] [--db sqlite|postgres]

The soft limit of open files is raised to the hard one (Dovecot's master checks it against
``default_client_limit``, and the service keeps one socket per mailbox).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from imapclient import IMAPClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.dovecot import DovecotServer  # noqa: E402
from tests.support.workspace import citizen_mail  # noqa: E402

from postvakt.clock import STOCKHOLM  # noqa: E402

MASTER_ENV = "PV_BENCH_MASTER"
SETUP_ENV = "PV_BENCH_SETUP"
FOLDERS = ("INBOX", "Sent")
OLD = datetime(2025, 5, 12, 9, 30, tzinfo=STOCKHOLM)

HEAD = """[organisation]
name = "Benchby kommun"
diary_prefix = "KS"
domains = ["benchby.se"]
[database]
url = "{db_url}"
[service]
pool_size = {pool}
[[units]]
name = "Kontaktcenter"
head = "chef@benchby.se"
[[people]]
name = "Anna Berg"
address = "anna@benchby.se"
unit = "Kontaktcenter"
"""
MAILBOX = """[[mailboxes]]
address = "{address}"
start_from = 2026-01-01
kind = "{kind}"
unit = "Kontaktcenter"
{owners}connector = "imap"
[mailboxes.imap]
host = "{host}"
port = {port}
security = "none"
username = "{user}"
master_user = "{master}"
password_env = "{env}"
"""


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def memory() -> tuple[float, float]:
    """(peak, current) resident memory of this process in MB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            found[key] = int(value.split()[0]) / 1024
    return found["VmHWM"], found["VmRSS"]


def dovecot_config(count: int) -> str:
    text = (ROOT / "deploy" / "dovecot-1000-mailboxes.conf").read_text(encoding="utf-8")
    sessions = max(5000, count + 1000)  # Postvakt's sessions and the set-up's own
    return text.replace("process_limit = 5000", f"process_limit = {sessions}")


def fill(server: DovecotServer, users: list[str], pool: int) -> None:
    """Three messages per user: two from 2025 (before start_from), one from today."""

    def one(index_user: tuple[int, str]) -> None:
        index, user = index_user
        with server._setup_session(user) as client:  # the fixture's own master login
            for n in range(2):
                old = citizen_mail(
                    f"Hej! Gammal fråga {n} om parkeringen ({index}).",
                    subject=f"Gammal fråga {n}",
                    message_id=f"<old{n}.{index}@bench.example>",
                )
                client.append("INBOX", old, msg_time=OLD)
            client.append(
                "INBOX",
                citizen_mail(
                    f"Hej, när har biblioteket öppet på lördag? ({index})",
                    subject=f"Fråga {index}",
                    message_id=f"<new.{index}@bench.example>",
                ),
            )

    with ThreadPoolExecutor(pool) as executor:
        list(executor.map(one, enumerate(users)))


def floor(server: DovecotServer, users: list[str], pool: int) -> tuple[float, float]:
    """(fresh, warm): login + STATUS of both folders for all users with ``pool`` threads,
    then STATUS again on the same connections."""
    what = ["UIDVALIDITY", "UIDNEXT", "MESSAGES", "HIGHESTMODSEQ"]
    clients: dict[str, IMAPClient] = {}
    lock = threading.Lock()

    def fresh(user: str) -> None:
        client = IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=30)
        client.login(f"{user}*{server.master_user}", server.master_password)
        for folder in FOLDERS:
            client.folder_status(folder, what)
        with lock:
            clients[user] = client

    def warm(user: str) -> None:
        for folder in FOLDERS:
            clients[user].folder_status(folder, what)

    with ThreadPoolExecutor(pool) as executor:
        began = time.perf_counter()
        list(executor.map(fresh, users))
        fresh_s = time.perf_counter() - began
        began = time.perf_counter()
        list(executor.map(warm, users))
        warm_s = time.perf_counter() - began
        list(executor.map(lambda c: c.logout(), clients.values()))
    return fresh_s, warm_s


def write_config(
    folder: Path, server: DovecotServer, users: list[str], db_url: str, pool: int
) -> Path:
    parts = [HEAD.format(db_url=db_url, pool=pool)]
    for index, user in enumerate(users):
        function = index % 10 == 0
        parts.append(
            MAILBOX.format(
                address=server.address(user),
                kind="function" if function else "personal",
                owners='owners = ["anna@benchby.se"]\n' if function else "",
                host=server.host,
                port=server.imap_port,
                user=user,
                master=server.master_user,
                env=MASTER_ENV,
            )
        )
    path = folder / "postvakt.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def child(mode: str, config_path: Path, extra: list[str]) -> dict[str, object]:
    """Run this script in a process of its own (``--ingest`` or ``--watch``); its JSON line."""
    result = subprocess.run(
        [sys.executable, __file__, f"--{mode}", str(config_path), *extra],
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"the {mode} process failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_ingest(config_path: Path) -> dict[str, object]:
    from postvakt.config import load_config
    from postvakt.service import Service

    service = Service(load_config(config_path)).open()
    try:
        began = time.perf_counter()
        report = service.run_once()
        return {
            "seconds": time.perf_counter() - began,
            "messages": len(report.outcomes),
            "errors": len(report.errors),
        }
    finally:
        service.close()


def run_watch(config_path: Path, host: str, port: int, new_user: str) -> dict[str, object]:
    """The restarted daemon: first pass, five idle passes, memory; then one new message."""
    out: dict[str, object] = {"rss_start": memory()[1]}
    from postvakt.config import load_config
    from postvakt.mailbox.imap import ImapConnector
    from postvakt.process import settle_garbage_collector
    from postvakt.service import Service

    out["rss_imported"] = memory()[1]
    service = Service(load_config(config_path)).open()
    settle_garbage_collector()  # as `postvakt run` does once it has started
    try:
        out["rss_opened"] = memory()[1]
        began = time.perf_counter()
        first = service.run_once()
        out["first"] = time.perf_counter() - began
        out["first_messages"], out["first_errors"] = len(first.outcomes), len(first.errors)
        out["rss_after_first"] = memory()[1]
        connectors = [c for c in service.connectors.values() if isinstance(c, ImapConnector)]
        commands = sum(c.commands for c in connectors)
        logins = sum(c.logins for c in connectors)
        idle: list[float] = []
        errors = messages = 0
        for _ in range(5):
            began = time.perf_counter()
            report = service.run_once()
            idle.append(time.perf_counter() - began)
            errors += len(report.errors)
            messages += len(report.outcomes)
        out["idle"], out["idle_errors"], out["idle_messages"] = idle, errors, messages
        out["idle_commands"] = (sum(c.commands for c in connectors) - commands) / 5
        out["idle_logins"] = sum(c.logins for c in connectors) - logins
        out["folders"] = sum(len(c.folders("inbox")) + len(c.folders("sent")) for c in connectors)
        out["peak_idle"], out["rss_idle"] = memory()
        out["threads"] = threading.active_count()
        # One message comes: the pass reads it, and the classifier is loaded.
        with IMAPClient(host, port=port, ssl=False, timeout=30) as client:
            client.login(f"{new_user}*pvfixture", os.environ[SETUP_ENV])
            client.append("INBOX", citizen_mail("Hej! Jag vill klaga på snöröjningen."))
        began = time.perf_counter()
        report = service.run_once()
        out["news"] = time.perf_counter() - began
        out["news_messages"] = len(report.outcomes)
        out["peak_model"], out["rss_model"] = memory()
    finally:
        service.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=1000)
    parser.add_argument("--pool", type=int, default=16)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--ingest", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--watch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--new", nargs=3, help=argparse.SUPPRESS)  # host port user
    args = parser.parse_args()
    raise_nofile()
    if args.ingest:
        print(json.dumps(run_ingest(args.ingest)))
        return
    if args.watch:
        host, port, user = args.new
        print(json.dumps(run_watch(args.watch, host, int(port), user)))
        return

    count, pool = args.count, args.pool
    limit = raise_nofile()
    print(
        f"open files limit {limit}; load {os.getloadavg()[0]:.2f}; {count} mailboxes, pool {pool}"
    )
    server = DovecotServer.start(extra_config=dovecot_config(count))
    postgres = None
    try:
        users = [server.add_user() for _ in range(count)]
        time.sleep(1.1)  # Dovecot reads new password files from the next second on
        began = time.perf_counter()
        fill(server, users, pool)
        print(f"set-up: {3 * count} messages appended in {time.perf_counter() - began:.1f} s")
        with tempfile.TemporaryDirectory() as folder:
            if args.db == "postgres":
                from tests.support.postgres import PostgresServer

                postgres = PostgresServer.start()
                db_url = postgres.create_database()
            else:
                db_url = f"sqlite:///{Path(folder) / 'postvakt.db'}"
            config = write_config(Path(folder), server, users, db_url, pool)
            os.environ[MASTER_ENV] = server.master_password
            os.environ[SETUP_ENV] = server._setup_password
            ingest = child("ingest", config, [])
            # after the ingest, so that the floor too finds every folder made and indexed
            fresh_s, warm_s = floor(server, users, pool)
            watch = child(
                "watch", config, ["--new", server.host, str(server.imap_port), users[count // 2]]
            )
    finally:
        server.stop()
        if postgres is not None:
            postgres.stop()
    idle = statistics.median(watch["idle"])  # type: ignore[arg-type]
    first = float(watch["first"])  # type: ignore[arg-type]
    print(f"load after the run: {os.getloadavg()[0]:.2f} (2 cores)")
    print(f"database:                  {args.db}")
    print(f"floor, fresh (login+STATUS×2):  {fresh_s:6.2f} s")
    print(f"floor, warm (STATUS×2):         {warm_s:6.2f} s")
    print(
        f"ingest pass (another process): {ingest['seconds']:6.1f} s, {ingest['messages']} messages, "
        f"{ingest['errors']} errors"
    )
    print(
        f"first pass after start:        {first:6.2f} s  = {first / fresh_s:.2f}× the fresh floor "
        f"(target ≤ 10 s), {watch['first_messages']} messages, {watch['first_errors']} errors"
    )
    print(
        f"idle pass (median of 5):       {idle:6.2f} s  = {idle / warm_s:.2f}× the warm floor "
        f"(target ≤ 3 s); all five: {', '.join(f'{s:.2f}' for s in watch['idle'])}; "  # type: ignore[union-attr]
        f"{watch['idle_messages']} messages, {watch['idle_errors']} errors"
    )
    print(
        f"IMAP commands per idle pass:   {watch['idle_commands']:.0f} for {watch['folders']} "
        f"folders; logins in the idle passes: {watch['idle_logins']}"
    )
    print(
        f"a pass with one new message:   {watch['news']:6.2f} s, {watch['news_messages']} messages"
    )
    print(
        f"RSS (MB): at start {watch['rss_start']:.0f}, imports {watch['rss_imported']:.0f}, "
        f"opened {watch['rss_opened']:.0f}, after the first pass {watch['rss_after_first']:.0f}, "
        f"after the idle passes {watch['rss_idle']:.0f} (peak {watch['peak_idle']:.0f}); "
        f"with the classifier loaded {watch['rss_model']:.0f} (peak {watch['peak_model']:.0f}); "
        f"threads {watch['threads']}"
    )


if __name__ == "__main__":
    main()
