"""How much of `mallar`'s held-out figures is its generator's random draw.

    .venv/bin/python scripts/mallar_draws.py [DRAWS] [--first SEED]

`mallar` is drawn by a generator (src/postvakt/classifier/corpus/make_corpus.py) from
hand-written fragments with one fixed seed.  Its leave-one-source-out figures (the model trained
on the twelve hand-written sources, measured on `mallar`) then depend on which messages that
one seed happened to draw.  This script trains the model once on every source but `mallar`
(that model does not depend on the draw), then scores it on the committed draw and on DRAWS
other draws of the same fragments (seeds FIRST, FIRST+1, ...), and prints per draw: macro F1,
complaint recall and confident errors, as `postvakt classifier evaluate` counts them, and the
spread over the draws.  It measures the held-out figures of `mallar` only: how the other
sources' figures move when `mallar` is drawn again (it is part of their training data) would
need twelve models per draw.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
# The generator is a script beside its parts, not a module of the package.
sys.path.insert(0, str(ROOT / "src" / "postvakt" / "classifier" / "corpus"))

from make_corpus import SEED, SOURCE, Builder, render  # noqa: E402

from postvakt.classifier.corpus import load_corpus  # noqa: E402
from postvakt.classifier.model import DEFAULT_REVIEW_BAND, Classifier  # noqa: E402
from postvakt.classifier.sources import figures_for, outcomes  # noqa: E402
from postvakt.classifier.training import fit  # noqa: E402


def drawn(seed: int) -> list:
    """`mallar` as the generator draws it with ``seed``."""
    with tempfile.TemporaryDirectory() as folder:
        for name, text in render(Builder(seed).build()).items():
            (Path(folder) / name).write_text(text, encoding="utf-8")
        return load_corpus(Path(folder))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("draws", nargs="?", type=int, default=10)
    parser.add_argument("--first", type=int, default=1)
    args = parser.parse_args(argv)

    corpus = load_corpus()
    others = [e for e in corpus if e.source != SOURCE]
    started = time.perf_counter()
    classifier = Classifier(fit(others), review_band=DEFAULT_REVIEW_BAND)
    trained_on = sorted({e.source for e in others})
    print(
        f"trained on {len(others)} messages of {len(trained_on)} sources "
        f"in {time.perf_counter() - started:.0f} s"
    )
    print(f"{'draw':<18}{'messages':>9}{'macro F1':>10}{'recall':>8}{'confident':>11}")
    rows = []
    seeds = [SEED, *range(args.first, args.first + args.draws)]
    for seed in seeds:
        held = drawn(seed) if seed != SEED else [e for e in corpus if e.source == SOURCE]
        figures = figures_for(SOURCE, trained_on, outcomes(classifier, held))
        row = (figures.decided.macro_f1, figures.complaint_recall, len(figures.confident_errors))
        name = f"{seed} (committed)" if seed == SEED else str(seed)
        print(f"{name:<18}{len(held):>9}{row[0]:>10.3f}{row[1]:>8.3f}{row[2]:>11}")
        if seed != SEED:
            rows.append(row)
    if len(rows) > 1:
        for i, what in enumerate(("macro F1", "recall", "confident errors")):
            values = [r[i] for r in rows]
            print(
                f"{what}: other draws min {min(values):.3f}, median "
                f"{statistics.median(values):.3f}, max {max(values):.3f}, "
                f"sd {statistics.stdev(values):.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
