"""IDLE on N mailboxes (default 1,000) from one loop: threads, connections, wake-up, memory.

A Dovecot is started with the settings of ``deploy/dovecot-1000-mailboxes.conf``; N users
each get an IMAP connector (master-user login, as the service makes them), and one
:class:`~postvakt.idle_hub.IdleHub` watches them all, its logins paced at
``logins_per_second`` (the service's default: 20).  A "pass" here only notes when it
started: what is measured is the watch, not the intake (``benchmarks/imap_idle_wake.py``
measures delivery → case).

Printed, all measured in this one run on this machine:

- **floor**: a bare imapclient IDLE on one connection: delivery (LMTP) → ``EXISTS`` read,
  median of ``ROUNDS``, on the fresh server and again while the N sessions are open (past
  ``fs.inotify.max_user_instances``, 128 by default, Dovecot's imap processes are not told
  of new mail and look every ``mailbox_idle_check_interval``: set to 1 s here, 30 s by
  default — a site with many IDLE sessions raises that sysctl);
- the hub's **start**: seconds until all N IDLEs stand (paced: about N / rate);
- **wake-up**: delivery to one mailbox → its pass starts, median and worst of ``ROUNDS``
  (one mailbox at a time, the others idling), and the ratio to the floor;
- a **burst**: one message to each of 100 mailboxes at once → all 100 passes started;
- **threads** of the process (and the hub's own), **connections** (the process's TCP
  sockets), **RSS** (VmRSS; VmHWM the peak) — against the old watch's thread per mailbox.

    .venv/bin/python benchmarks/imap_idle_hub.py [N] [ROUNDS] [LOGINS_PER_SECOND] [--service]

With ``--service`` the whole ``postvakt run`` is measured instead (see :func:`whole_service`).
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from imapclient import IMAPClient
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.dovecot import DovecotServer  # noqa: E402
from tests.support.workspace import citizen_mail  # noqa: E402

from postvakt.clock import STOCKHOLM, fixed_clock  # noqa: E402
from postvakt.config import ImapSettings, load_config  # noqa: E402
from postvakt.idle_hub import IdleHub  # noqa: E402
from postvakt.mailbox.imap import ImapConnector  # noqa: E402
from postvakt.registry.models import Case  # noqa: E402
from postvakt.service import Service  # noqa: E402

MASTER_ENV = "PV_BENCH_MASTER"
COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen ({n}). Ingen har plogat.\n"
BODY = "Hej!\n\nNär har ni öppet på biblioteket? ({n})\n"


def status(field: str) -> float:
    """A VmRSS-like field of /proc/self/status in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def tcp_sockets() -> int:
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        try:
            if str(fd.readlink()).startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


def dovecot_config(count: int) -> str:
    text = (ROOT / "deploy" / "dovecot-1000-mailboxes.conf").read_text(encoding="utf-8")
    text = text.replace("process_limit = 5000", f"process_limit = {max(5000, count * 2 + 200)}")
    # Past fs.inotify.max_user_instances (128 by default) imap processes are not told of
    # new mail and look every mailbox_idle_check_interval (30 s by default): a second here,
    # so that the wake-up measured is the watch's, not that setting's.
    return text + "\nmailbox_idle_check_interval = 1 secs\n"


def floor(server: DovecotServer, user: str, rounds: int) -> list[float]:
    """Delivery → EXISTS on one bare imapclient IDLE connection."""
    client = IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=30)
    client.login(f"{user}*{server.master_user}", server.master_password)
    client.select_folder("INBOX", readonly=True)
    times = []
    for n in range(rounds):
        client.idle()
        began = time.perf_counter()
        server.deliver(user, citizen_mail(BODY.format(n=n), to=server.address(user)))
        while not any(r[1:2] == (b"EXISTS",) for r in client.idle_check(timeout=30)):
            pass
        times.append(time.perf_counter() - began)
        client.idle_done()
    client.logout()
    return times


def main(count: int, rounds: int, rate: float) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = DovecotServer.start(extra_config=dovecot_config(count))
    try:
        users = [server.add_user() for _ in range(count + 1)]
        floor_user, users = users[0], users[1:]
        time.sleep(1.1)
        floors = floor(server, floor_user, rounds)

        started: dict[str, float] = {}
        arrived = threading.Condition()

        def note_pass(address: str) -> None:
            with arrived:
                started[address] = time.perf_counter()
                arrived.notify_all()

        def wait_for(addresses: list[str], since: float, limit: float = 120.0) -> float:
            deadline = time.perf_counter() + limit
            with arrived:
                while not all(started.get(a, 0.0) > since for a in addresses):
                    if not arrived.wait(timeout=max(0.0, deadline - time.perf_counter())):
                        raise SystemExit(f"no pass within {limit:.0f} s")
                return max(started[a] for a in addresses) - since

        base_threads, base_sockets, base_rss = (
            threading.active_count(),
            tcp_sockets(),
            status("VmRSS"),
        )
        hub = IdleHub(note_pass, logins_per_second=rate)
        for user in users:
            settings = ImapSettings(
                host=server.host,
                port=server.imap_port,
                security="none",
                username=user,
                master_user=server.master_user,
                password_env=MASTER_ENV,
                timeout_seconds=30,
            )
            connector = ImapConnector(server.address(user), settings, server.master_password)
            hub.add(server.address(user), connector, folder=lambda: "INBOX")
        began = time.perf_counter()
        hub.start()
        while hub.standing() < count:
            time.sleep(0.05)
        start_time = time.perf_counter() - began
        while hub.runner.busy() or len(started) < count:
            time.sleep(0.05)
        time.sleep(1.0)

        wakes = []
        step = max(1, count // rounds)
        for n, user in enumerate(users[::step][:rounds]):
            address = server.address(user)
            since = time.perf_counter()
            server.deliver(user, citizen_mail(BODY.format(n=n), to=address))
            wakes.append(wait_for([address], since))
        burst_users = users[-100:]  # 100, or all when fewer
        since = time.perf_counter()
        for n, user in enumerate(burst_users):
            server.deliver(user, citizen_mail(BODY.format(n=n), to=server.address(user)))
        burst = wait_for([server.address(u) for u in burst_users], since)

        loaded_floors = floor(server, floor_user, rounds)  # the same, with N sessions open
        threads = threading.active_count() - base_threads
        hub_threads = sum(1 for t in threading.enumerate() if t.name.startswith("idle-"))
        sockets = tcp_sockets() - base_sockets
        rss, peak = status("VmRSS"), status("VmHWM")
        hub.close()
        log = (server.directory / "dovecot.log").read_text(errors="replace")
        no_inotify = log.lower().count("inotify")

        floor_median = statistics.median(floors)
        wake = statistics.median(wakes)
        print(f"mailboxes watched with IDLE:   {count} (logins paced at {rate:g}/s)")
        print(
            f"floor (bare imapclient IDLE):  {floor_median * 1000:7.1f} ms delivery → EXISTS (median of {rounds})"
        )
        print(
            f"start, all IDLEs standing:     {start_time:7.1f} s ({count / start_time:.0f} logins/s)"
        )
        print(
            f"wake-up, delivery → pass:      {wake * 1000:7.1f} ms median, {max(wakes) * 1000:.1f} ms worst; "
            f"{wake / floor_median:.2f}x the floor, "
            f"{wake / statistics.median(loaded_floors):.2f}x the floor with {count} sessions open"
        )
        print(
            f"burst, {len(burst_users)} mailboxes at once:  {burst:7.2f} s until all their passes started"
        )
        print(
            f"threads added:                 {threads} (the hub's: {hub_threads}; old watch: {count} + 4)"
        )
        print(f"connections (TCP sockets):     {sockets - 2} (the hub's wake-up pair not counted)")
        print(
            f"resident memory:               {rss:.0f} MB (before: {base_rss:.0f} MB; peak {peak:.0f} MB)"
        )
        print(
            f"floor with {count} sessions open: {statistics.median(loaded_floors) * 1000:7.1f} ms "
            f"(Dovecot sessions without inotify, polling instead: {no_inotify}; "
            "raise fs.inotify.max_user_instances; here Dovecot polls every second)"
        )
        print(
            f"load:                          {os.getloadavg()[0]:.2f} (1-minute average at the end)"
        )
    finally:
        server.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def whole_service(count: int, rounds: int, rate: float) -> None:
    """``--service``: the whole ``postvakt run`` (SQLite) with N function mailboxes watched
    with IDLE: threads, connections and memory once every IDLE stands and the passes at start
    are done, and delivery → case for ``rounds`` mailboxes one at a time."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = DovecotServer.start(extra_config=dovecot_config(count))
    try:
        users = [server.add_user() for _ in range(count)]
        time.sleep(1.1)
        with tempfile.TemporaryDirectory() as folder:
            lines = [
                '[organisation]\nname = "Benchby kommun"\ndiary_prefix = "KS"\n',
                f'[database]\nurl = "sqlite:///{folder}/pv.db"\n',
                f"[service]\npoll_interval_seconds = 3600\nlogins_per_second = {rate}\n",
                '[[units]]\nname = "Kontaktcenter"\nhead = "chef@benchby.se"\n',
                '[[people]]\nname = "Anna Berg"\naddress = "anna@benchby.se"\n'
                'unit = "Kontaktcenter"\n',
            ]
            for user in users:
                lines.append(
                    f'[[mailboxes]]\naddress = "{server.address(user)}"\nkind = "function"\n'
                    f'unit = "Kontaktcenter"\nowners = ["anna@benchby.se"]\nconnector = "imap"\n'
                    f"[mailboxes.imap]\n"
                    f'host = "{server.host}"\nport = {server.imap_port}\nsecurity = "none"\n'
                    f'username = "{user}"\nmaster_user = "{server.master_user}"\n'
                    f'password_env = "{MASTER_ENV}"\n'
                )
            path = Path(folder) / "postvakt.toml"
            path.write_text("\n".join(lines), encoding="utf-8")
            base_threads, base_sockets = threading.active_count(), tcp_sockets()
            service = Service(
                load_config(path),
                clock=fixed_clock(datetime(2026, 12, 1, 9, 0, tzinfo=STOCKHOLM)),
                environ={MASTER_ENV: server.master_password},
            ).open()
            assert service.intake is not None and service.intake.classify is not None
            runner = threading.Thread(target=service.run_forever)
            runner.start()
            try:
                measured = settle_and_wake(service, server, users, rounds)
            finally:
                service.stop()
                runner.join(timeout=120)
                service.close()
        settled, threads, sockets, rss, peak, wakes = measured
        threads -= base_threads
        sockets -= base_sockets + 2  # the hub's wake-up pair
        print(f"postvakt run, {count} function mailboxes with IDLE (SQLite, logins {rate:g}/s)")
        print(f"start until every IDLE stands and its first pass is done: {settled:.1f} s")
        print(f"threads added:                 {threads} (old watch: a thread per mailbox)")
        print(f"connections (TCP sockets):     {sockets} (IDLE, and the pass connections kept)")
        print(f"resident memory:               {rss:.0f} MB (peak {peak:.0f} MB)")
        print(
            f"delivery → case:               {statistics.median(wakes) * 1000:.0f} ms median, "
            f"{max(wakes) * 1000:.0f} ms worst (of {len(wakes)})"
        )
        print(f"load:                          {os.getloadavg()[0]:.2f} (1-minute average)")
    finally:
        server.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def settle_and_wake(
    service: Service, server: DovecotServer, users: list[str], rounds: int
) -> tuple[float, int, int, float, float, list[float]]:
    """Seconds until every IDLE stands and its first pass is done; threads, sockets, RSS and
    peak then; delivery → case for ``rounds`` mailboxes."""
    count = len(users)
    began = time.perf_counter()
    while service.idle_hub is None or service.idle_hub.standing() < count:
        time.sleep(0.1)
    hub = service.idle_hub
    while hub.runner.busy() or hub.runner.started < count:
        time.sleep(0.1)
    settled = time.perf_counter() - began
    time.sleep(2.0)
    threads = threading.active_count()
    sockets = tcp_sockets()
    rss, peak = status("VmRSS"), status("VmHWM")
    wakes = []
    for n, user in enumerate(users[:: max(1, count // rounds)][:rounds]):
        before = cases(service)
        since = time.perf_counter()
        server.deliver(user, citizen_mail(COMPLAINT.format(n=n), to=server.address(user)))
        while cases(service) == before:
            if time.perf_counter() - since > 120:
                raise SystemExit("no case within 120 s")
            time.sleep(0.01)
        wakes.append(time.perf_counter() - since)
    return settled, threads, sockets, rss, peak, wakes


def cases(service: Service) -> int:
    assert service.sessions is not None
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--service"]
    (whole_service if "--service" in sys.argv else main)(
        int(args[0]) if len(args) > 0 else 1000,
        int(args[1]) if len(args) > 1 else 10,
        float(args[2]) if len(args) > 2 else 20.0,
    )
