"""Ingest speed on the embedded default: N varied messages in a Maildir, one `run --once` pass.

Prints messages per second for the whole pipeline (parse, screen, classify, register, render
the acknowledgment, place the draft) and the share that became cases.  Not a test: it
prints figures.

    .venv/bin/python benchmarks/intake_maildir.py [N]
"""

from __future__ import annotations

import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.registry.models import Disposition
from postvakt.service import Service

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.workspace import citizen_mail, make_workspace

BODIES = (
    "Jag vill klaga på snöröjningen på {street}. Ingen har plogat på tre dagar.",
    "Hej! Jag har ett förslag: det vore bra om biblioteket hade öppet på söndagar.",
    "Hej, när har ni öppet på kommunhuset i jul?",
    "Vi är mycket missnöjda med hemtjänsten, personalen kommer sent varje dag.",
    "Tack för hjälpen igår!",
    "Hur ansöker jag om bygglov för ett garage på {street}?",
)
STREETS = ("Björkvägen", "Storgatan", "Åvägen", "Kyrkogatan", "Ängsvägen")


def main(count: int) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        ws = make_workspace(Path(folder) / "ws")
        start = datetime(2026, 11, 2, 8, 0, tzinfo=STOCKHOLM)
        for i in range(count):
            body = (
                rng.choice(BODIES).format(street=rng.choice(STREETS))
                + f"\n\nHälsningar\nMedborgare {i}\n"
            )
            when = start + timedelta(minutes=7 * i)
            ws.deliver(
                citizen_mail(
                    body,
                    subject=f"Ärende {i}",
                    date=when,
                    sender=f"Medborgare {i} <m{i}@example.net>",
                ),
                when=when,
            )
        service = Service(
            load_config(ws.config_path),
            clock=fixed_clock(datetime(2026, 11, 30, 9, 0, tzinfo=STOCKHOLM)),
        )
        service.open()
        began = time.perf_counter()
        report = service.run_once()
        elapsed = time.perf_counter() - began
        service.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cases = report.count(Disposition.CASE)
    print(f"messages:            {len(report.outcomes)}")
    print(f"cases (with drafts): {cases} ({len(report.drafts_saved)} drafts)")
    print(f"wall time:           {elapsed:.2f} s")
    print(f"throughput:          {len(report.outcomes) / elapsed:.0f} messages/s")
    print(f"peak resident size:  {peak_kb / 1024:.0f} MB (whole process)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
