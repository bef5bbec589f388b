"""Workers: N mailboxes x M messages on Dovecot and PostgreSQL, read by 1, 2 and 3
``postvakt worker`` processes, against ``postvakt run --once`` (one process) as the floor.

Each configuration gets fresh Dovecot users filled with the same kind of messages (the small
ones of ``benchmarks/imap_ingest.py``, with Message-IDs of each mailbox's own) and a fresh
PostgreSQL database.  The clock runs from the start of the processes until every message is
recorded (workers) or the process exits (``run --once``): start-up, the schema and the model
load count in both.  The classifier's model is trained (or read from the cache) before any
clock starts.  Printed: seconds, messages per second, and the ratio to ``run --once``.

    .venv/bin/python benchmarks/workers.py [--mailboxes N] [--messages M] [--concurrency C]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from imap_ingest import small
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import DBAPIError
from tests.support.dovecot import DovecotServer
from tests.support.postgres import PostgresServer

from postvakt.config import load_config
from postvakt.intake import load_classifier
from postvakt.registry.models import MessageRecord

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

HEAD = """[organisation]
name = "Benchby kommun"
diary_prefix = "KS"
domains = ["benchby.se"]
[database]
url = "{db_url}"
[service]
poll_interval_seconds = 60
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
name = "Brevlåda {index}"
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


def fill(server: DovecotServer, mailboxes: int, messages: int) -> list[str]:
    users = []
    for index in range(mailboxes):
        user = server.add_user()
        batch = [
            re.sub(rb"Message-ID: <", f"Message-ID: <b{index}-".encode(), raw, count=1)
            for raw in small(messages, server.address(user))
        ]
        client = server.imap_as_master(user)
        for start in range(0, len(batch), 100):
            client.multiappend("INBOX", batch[start : start + 100])
        client.logout()
        users.append(user)
    return users


def write_config(folder: Path, server: DovecotServer, users: list[str], db_url: str) -> Path:
    text = HEAD.format(db_url=db_url)
    for index, user in enumerate(users):
        text += MAILBOX.format(
            address=server.address(user),
            index=index + 1,
            host=server.host,
            port=server.imap_port,
            user=user,
            master=server.master_user,
            env=MASTER_ENV,
        )
    path = folder / "postvakt.toml"
    path.write_text(text, encoding="utf-8")
    return path


def recorded(engine) -> int:
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(MessageRecord)) or 0
    except DBAPIError:  # the tables are not there yet
        return 0


def measure(
    server: DovecotServer,
    postgres: PostgresServer,
    args: argparse.Namespace,
    workers: int,
    folder: Path,
) -> tuple[float, int]:
    """Seconds until every message is recorded; ``workers`` 0 means ``run --once``."""
    users = fill(server, args.mailboxes, args.messages)
    db_url = postgres.create_database()
    config = write_config(folder, server, users, db_url)
    env = {**os.environ, MASTER_ENV: server.master_password}
    env.pop("POSTVAKT_CONFIG", None)
    command = [sys.executable, "-m", "postvakt", "--config", str(config)]
    expected = args.mailboxes * args.messages
    engine = create_engine(db_url)
    log = (folder / f"workers-{workers}.err").open("wb")
    try:
        began = time.perf_counter()
        if workers == 0:
            subprocess.run(
                [*command, "run", "--once"],
                env=env,
                cwd=folder,
                stdout=subprocess.DEVNULL,
                stderr=log,
                check=False,
            )
            return time.perf_counter() - began, recorded(engine)
        procs = [
            subprocess.Popen(
                [*command, "worker", "--concurrency", str(args.concurrency)],
                env=env,
                cwd=folder,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            for _ in range(workers)
        ]
        try:
            deadline = time.monotonic() + args.timeout
            while (done := recorded(engine)) < expected and time.monotonic() < deadline:
                time.sleep(0.1)
            return time.perf_counter() - began, done
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    finally:
        log.close()
        engine.dispose()
        postgres.drop_database(db_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20, help="per mailbox")
    parser.add_argument("--concurrency", type=int, default=2, help="jobs at a time per worker")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load: {load[0]:.2f} {load[1]:.2f} (1 and 5 min), {os.cpu_count()} cores")
    count = args.mailboxes * args.messages
    print(
        f"{args.mailboxes} mailboxes x {args.messages} messages = {count} messages, "
        f"worker --concurrency {args.concurrency}"
    )
    server = DovecotServer.start(extra_config=LIMITS)
    postgres = PostgresServer.start()
    try:
        with tempfile.TemporaryDirectory(prefix="pv-workers-") as tmp:
            folder = Path(tmp)
            config = write_config(folder, server, [], "postgresql+psycopg://x@127.0.0.1/x")
            load_classifier(load_config(config))  # trained or cached before any clock
            floor = None
            for workers in (0, 1, 2, 3):
                seconds, done = measure(server, postgres, args, workers, folder)
                name = "run --once" if workers == 0 else f"{workers} worker{'s' * (workers > 1)}"
                floor = floor or seconds
                note = "" if done == count else f"  (only {done} of {count} recorded)"
                print(
                    f"  {name:<11} {seconds:7.2f} s  {done / seconds:7.1f} msg/s  "
                    f"{floor / seconds:5.2f}x run --once{note}"
                )
    finally:
        server.stop()
        postgres.stop()
    load = os.getloadavg()
    print(f"load after: {load[0]:.2f} {load[1]:.2f}")


if __name__ == "__main__":
    main()
