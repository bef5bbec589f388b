"""Classifier speed on one core: cold training, model load, messages per second, and the
whole path from .eml bytes as a ratio to parsing alone (the floor, measured in the same run).

Prints figures; not a test.  Throughput is measured one message at a time, as the intake
calls the classifier, over the shipped corpus plus the demo and test .eml files (their
parsed messages, cycled to N), on one CPU with single-threaded BLAS.  Each throughput is
the best and the median of several rounds: the best says what the code costs, the median
what a busy machine gives.  Model load runs in fresh processes from a warm cache, so it
includes nothing that a long-running service would not pay once.

    .venv/bin/python benchmarks/classifier_speed.py [N] [ROUNDS]
"""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Before NumPy is imported (postvakt is imported in main): one core, one BLAS thread.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ROOT = Path(__file__).resolve().parent.parent

LOAD = """
import time
t0 = time.perf_counter()
from postvakt.classifier.model import load_model
t1 = time.perf_counter()
model, path = load_model()
t2 = time.perf_counter()
import sys
print(t1 - t0, t2 - t1, 'sklearn' in sys.modules)
"""


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"CPU {cpu}"
    return "not pinned (no sched_setaffinity here)"


def rounds(work, items, count: int) -> list[float]:
    """Messages per second for each round."""
    rates = []
    for _ in range(count):
        started = time.perf_counter()
        for item in items:
            work(item)
        rates.append(len(items) / (time.perf_counter() - started))
    return rates


def main(n: int, count: int) -> None:
    where = pin_to_one_core()
    from postvakt.classifier.corpus import load_corpus
    from postvakt.classifier.model import Classifier, cache_dir, load_model, train
    from postvakt.classifier.screening import screen
    from postvakt.mailbox.message import parse_message

    print(f"Postvakt classifier speed — Python {sys.version.split()[0]}, pinned to {where}")

    with tempfile.TemporaryDirectory() as tmp:
        cold = Path(tmp) / "kall"
        started = time.perf_counter()
        path = train(directory=cold)
        seconds = time.perf_counter() - started
        model, _ = load_model(directory=cold)
        print(
            f"cold training (load corpus, fit, compile, write): {seconds:.2f} s "
            f"for {model.meta['messages']} messages -> {path.stat().st_size / 1e6:.1f} MB"
        )

        # Model load from a warm cache, in fresh processes.
        env = dict(os.environ, POSTVAKT_CACHE_DIR=str(cold))
        imports, loads = [], []
        for _ in range(5):
            out = subprocess.run(
                [sys.executable, "-c", LOAD], capture_output=True, text=True, env=env, check=True
            ).stdout.split()
            imports.append(float(out[0]))
            loads.append(float(out[1]))
            assert out[2] == "False", "loading the model must not import scikit-learn"
        print(
            f"model load from the cache: {statistics.median(loads) * 1000:.0f} ms median "
            f"(+ {statistics.median(imports) * 1000:.0f} ms importing postvakt.classifier), "
            "scikit-learn not imported"
        )

    raws = [p.read_bytes() for p in sorted((ROOT / "src/postvakt/demo_messages").glob("*.eml"))]
    raws += [p.read_bytes() for p in sorted((ROOT / "tests/data/eml").glob("*.eml"))]
    messages = [e.message for e in load_corpus()] + [parse_message(r) for r in raws]
    batch = list(itertools.islice(itertools.cycle(messages), n))
    raw_batch = list(itertools.islice(itertools.cycle(raws), n))
    classifier = Classifier(model)
    for msg in messages:  # warm the stem and n-gram caches, as a running service has them
        classifier.classify(msg)
    chars = statistics.mean(len(m.body_text) for m in batch)
    print(f"{n} messages per round ({len(messages)} distinct, {chars:.0f} characters on average)")

    def report(name: str, rates: list[float]) -> None:
        print(
            f"{name:<38} best {max(rates):>7.0f}/s   median {statistics.median(rates):>7.0f}/s"
            f"   ({1000 / max(rates):.2f} ms a message)"
        )

    report("classify (model, flags, reasons)", rounds(classifier.classify, batch, count))

    def screened(msg):
        return screen(msg) or classifier.classify(msg)

    report("screen + classify", rounds(screened, batch, count))

    def whole(raw: bytes):
        return screened(parse_message(raw))

    floor = rounds(parse_message, raw_batch, count)
    report("floor: parse only (.eml bytes)", floor)
    full = rounds(whole, raw_batch, count)
    report("parse + screen + classify (.eml bytes)", full)
    print(
        "parse + screen + classify takes "
        f"{statistics.median(floor) / statistics.median(full):.1f}× the time of the parse alone "
        "(medians, same messages, same run)"
    )
    print(f"(the user's cache folder would be {cache_dir()})")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(args[0] if args else 5000, args[1] if len(args) > 1 else 5)
