"""Time from arrival to case for messages shaped to make text scanners backtrack.

Each shape (tests/support/pathological.py: an 8 MB body, 200,000-character lines of letters,
of 'a@', of dots, of digits, deep quoting, 100,000 nested HTML tags, a huge References
header …) is delivered to a Maildir and taken through one ``run --once`` pass: parse,
screen, classify, find the contact, register, draft.  The floor is a bare parse of the same
message (``parse_message``) in the same process; the ratio says how much the rest costs on
top of reading the message at all.  Each shape runs in a process of its own, stopped after
``--timeout`` seconds (a scanner that backtracks would otherwise run for hours).

    .venv/bin/python benchmarks/pathological.py [--timeout SECONDS] [SHAPE ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def measure(name: str) -> dict[str, object]:
    """One shape, in this process: warm up, then time the bare parse and the whole pass."""
    from tests.support.pathological import COMPLAINT_LINE, SHAPES, message
    from tests.support.workspace import make_workspace

    from postvakt.clock import STOCKHOLM, fixed_clock
    from postvakt.config import load_config
    from postvakt.mailbox.message import parse_message
    from postvakt.service import Service

    raw = SHAPES[name]()
    when = datetime(2026, 11, 23, 9, 15, tzinfo=STOCKHOLM)
    with tempfile.TemporaryDirectory() as folder:
        ws = make_workspace(Path(folder) / "ws")
        service = Service(
            load_config(ws.config_path),
            clock=fixed_clock(datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)),
        ).open()
        try:
            # Warm up: the classifier is loaded and the letter template read on first use.
            ws.deliver(message(COMPLAINT_LINE + "\n", name="warm-up"), when=when, name="warm-up")
            service.run_once()
            began = time.perf_counter()
            parse_message(raw)
            floor = time.perf_counter() - began
            ws.deliver(raw, when=when, name="shape")
            began = time.perf_counter()
            report = service.run_once()
            elapsed = time.perf_counter() - began
        finally:
            service.close()
    outcome = next(o for o in report.outcomes if o.key == "shape")
    return {
        "bytes": len(raw),
        "parse": floor,
        "pass": elapsed,
        "outcome": outcome.disposition.value,
        "case": outcome.case,
    }


def main() -> None:
    from tests.support.pathological import SHAPES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shapes", nargs="*", help="only these shapes (default: all)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per shape")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process measuring one shape
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    names = args.shapes or list(SHAPES)
    print(f"{'shape':32s} {'size':>9s} {'parse':>9s} {'arrival→case':>13s} {'ratio':>8s}  outcome")
    total = 0.0
    for name in names:
        began = time.perf_counter()
        try:
            child = subprocess.run(
                [sys.executable, __file__, "--one", name],
                capture_output=True,
                text=True,
                timeout=args.timeout,
                check=True,
            )
        except subprocess.TimeoutExpired:
            print(
                f"{name:32s} {'':>9s} {'':>9s} {'>' + format(args.timeout, '.0f') + ' s':>13s} {'':>8s}  stopped"
            )
            total += time.perf_counter() - began
            continue
        except subprocess.CalledProcessError as exc:
            print(f"{name:32s} failed: {exc.stderr.strip().splitlines()[-1:]}")
            continue
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        total += float(figures["pass"])
        print(
            f"{name:32s} {int(figures['bytes']) / 1e6:7.2f}MB {float(figures['parse']):8.3f}s "
            f"{float(figures['pass']):12.3f}s {float(figures['pass']) / max(float(figures['parse']), 1e-6):7.1f}×  "
            f"{figures['outcome']} {figures['case'] or ''}"
        )
    print(f"{'total (passes)':32s} {'':>9s} {'':>9s} {total:12.3f}s")


if __name__ == "__main__":
    main()
