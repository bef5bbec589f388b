"""Mutated mail through the whole intake on Maildir: speed, outcomes, and what broke.

Delivers COUNT mutants of the project's own messages (tests/support/fuzz.py: cut headers,
CR/LF and NUL injection, lying charsets, broken base64 and quoted-printable, 50-deep
nesting, 0 bytes, 20 MB, 10,000 recipients, …) into a Maildir, BATCH at a time, one real
pass each (Service.run_once), then checks the database: one record per delivered message
with its disposition, cases holding the bytes, failures in the failed store, every draft
placed.  Prints messages per second — beside the same intake's speed on the unmutated
seeds, measured in the same run — the outcomes per disposition, where steps raised, and
every broken rule.  Exits 1 when a rule was broken.  Not a test: it prints figures.

    .venv/bin/python benchmarks/fuzz_intake.py [--seed 1] [--count 10000] [--batch 1000]
                                               [--postgres]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.fuzz import MUTATIONS, Mutant, Mutator, seed_messages
from tests.support.fuzz_run import FuzzRun, fuzz_intake
from tests.support.postgres import PostgresServer
from tests.support.workspace import make_workspace

FLOOR = 500
"""Unmutated seed messages for the floor."""


def run(mutants: list[Mutant] | Mutator, count: int, batch: int, db: str | None) -> FuzzRun:
    with tempfile.TemporaryDirectory() as folder:
        ws = make_workspace(Path(folder) / "ws", db)
        source = mutants.mutants(count) if isinstance(mutants, Mutator) else mutants
        return fuzz_intake(ws, source, batch=batch)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="on a throwaway PostgreSQL (Debian's server, as the tests start it) instead of SQLite",
    )
    args = parser.parse_args()
    if not args.postgres:
        return report(args, None)
    server = PostgresServer.start()
    try:
        return report(args, server)
    finally:
        server.stop()


def report(args: argparse.Namespace, server: PostgresServer | None) -> int:
    def db() -> str | None:
        return server.create_database() if server else None

    seeds = seed_messages()
    plain = [
        Mutant(index=i, raw=seeds[i * len(seeds) // FLOOR], mutations=("seed",), seed_index=i)
        for i in range(FLOOR)
    ]
    floor = run(plain, FLOOR, args.batch, db())
    fuzzed = run(Mutator(args.seed), args.count, args.batch, db())

    floor_rate = floor.messages / floor.seconds
    rate = fuzzed.messages / fuzzed.seconds
    where = "PostgreSQL" if server else "SQLite"
    print(f"seed {args.seed}: {args.count} mutants on {where}, {fuzzed.messages} deliveries")
    print("(every tenth also to a second mailbox); mutations:", ", ".join(MUTATIONS))
    print(f"unmutated seeds (floor): {floor.messages} messages, {floor_rate:.0f} messages/s")
    print(
        f"mutated:                 {fuzzed.messages} messages in {fuzzed.seconds:.1f} s, "
        f"{rate:.0f} messages/s ({rate / floor_rate:.2f} × the floor)"
    )
    print("outcomes (from the database):")
    for disposition, n in sorted(fuzzed.outcomes.items(), key=lambda kv: -kv[1]):
        print(f"  {disposition:<10} {n:>6}")
    print(f"  {'total':<10} {sum(fuzzed.outcomes.values()):>6}   drafts placed: {fuzzed.drafts}")
    print("slowest messages:")
    for seconds, key in fuzzed.slowest:
        print(f"  {seconds:6.2f} s  {key}")
    where = Counter(place for _key, place in fuzzed.failures)
    print(f"steps that raised (failed store): {len(fuzzed.failures)}")
    for place, n in where.most_common(20):
        example = next(key for key, p in fuzzed.failures if p == place)
        print(f"  {n:>5} × {place[:160]}\n          e.g. {example}")
    print(f"broken rules: {len(fuzzed.problems) + len(floor.problems)}")
    for problem in (floor.problems + fuzzed.problems)[:40]:
        print(f"  {problem[:300]}")
    return 1 if fuzzed.problems or floor.problems else 0


if __name__ == "__main__":
    sys.exit(main())
