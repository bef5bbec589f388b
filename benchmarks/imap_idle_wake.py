"""How fast the IDLE watcher wakes: delivery to case on a real Dovecot, and after a restart.

Prints, for one function mailbox watched with IDLE (the polling pass set to an hour, so only
the watcher reads mail):

- floor: a pass started by hand that registers one waiting message (the same work as the
  watcher's pass, with no waiting), median of ``ROUNDS``;
- delivery → case with the watcher, median and worst of ``ROUNDS``, and the ratio to the
  floor (what waking up costs on top of the work itself);
- the process's CPU time while the server is down, as a share of the wall time;
- server back → case for mail delivered right after a restart, with the production back-off
  (1 s doubling to 5 minutes, with jitter), after the server was away ``DOWN`` seconds.

    .venv/bin/python benchmarks/imap_idle_wake.py [ROUNDS] [DOWN]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select
from tests.support.dovecot import MASTER_ENV, DovecotServer, write_config
from tests.support.workspace import citizen_mail

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.mailbox.imap import ImapConnector
from postvakt.registry.models import Case
from postvakt.service import Service

BODY = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen ({n}). Ingen har plogat.\n"


def cases(service: Service) -> int:
    assert service.sessions is not None
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


def wait_for(service: Service, count: int, limit: float = 600.0) -> float:
    """Seconds until ``count`` cases are registered."""
    began = time.perf_counter()
    while cases(service) < count:
        if time.perf_counter() - began > limit:
            raise SystemExit(f"no case {count} within {limit:.0f} s")
        time.sleep(0.01)
    return time.perf_counter() - began


def main(rounds: int, down: float) -> None:
    server = DovecotServer.start()
    try:
        user = server.add_user()
        with tempfile.TemporaryDirectory() as folder:
            path = write_config(Path(folder), server, user)
            path.write_text(path.read_text() + "\n[service]\npoll_interval_seconds = 3600\n")
            path.write_text(
                path.read_text().replace("sqlite:///postvakt.db", f"sqlite:///{folder}/pv.db")
            )
            service = Service(
                load_config(path),
                clock=fixed_clock(datetime(2026, 12, 1, 9, 0, tzinfo=STOCKHOLM)),
                environ={MASTER_ENV: server.master_password},
            ).open()
            address = server.address(user)
            n = 0

            def deliver() -> None:
                nonlocal n
                n += 1
                server.deliver(user, citizen_mail(BODY.format(n=n), to=address))

            deliver()
            service.run_once()  # warm-up: the classifier loads, the connection opens
            floors = []
            for _ in range(rounds):
                deliver()
                began = time.perf_counter()
                service.run_once()
                floors.append(time.perf_counter() - began)
            floor = statistics.median(floors)

            runner = threading.Thread(target=service.run_forever)
            runner.start()
            imap = service.connectors[address]
            assert isinstance(imap, ImapConnector)
            while imap._idle_client is None:
                time.sleep(0.01)
            time.sleep(0.5)
            wakes = []
            for _ in range(rounds):
                deliver()
                wakes.append(wait_for(service, n))
                time.sleep(0.3)  # back in IDLE
            server.pause()
            time.sleep(0.5)
            cpu, wall = time.process_time(), time.perf_counter()
            time.sleep(down)
            share = (time.process_time() - cpu) / (time.perf_counter() - wall)
            server.resume()
            deliver()
            back = wait_for(service, n)
            service.stop()
            runner.join(timeout=30)
            service.close()
        wake = statistics.median(wakes)
        print(f"floor (a pass for one message):     {floor * 1000:7.0f} ms (median of {rounds})")
        print(
            f"delivery → case with IDLE:          {wake * 1000:7.0f} ms median, "
            f"{max(wakes) * 1000:.0f} ms worst; {wake / floor:.1f}x the floor"
        )
        print(f"CPU while the server is down:       {share:7.2%} of wall time over {down:.0f} s")
        print(
            f"server back → case (after {down:.0f} s down): {back:7.1f} s "
            "(production back-off: 1 s doubling to 5 min, with jitter)"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 5,
        float(sys.argv[2]) if len(sys.argv) > 2 else 5.0,
    )
