"""How good the classifier is: precision, recall and F1 per label, macro F1, confusion matrix.

Two ways in:

- :func:`evaluate_dir` — an organisation's own labelled mail (``postvakt classifier evaluate
  DIR``): ``DIR/*.eml`` with ``DIR/labels.csv`` (``file,label[,anonymous][,followup]``).
- :func:`evaluate_corpus` — the shipped corpus.  First the honest figures: each of its
  independently written sources is held out once while a model learns from the others
  (:mod:`postvakt.classifier.sources`).  Then the same-corpus figure, labelled as such: a
  model trained on folds 0–3 of every source, measured on fold 4 of the same sources (which
  shares their phrasing, so it flatters).  Run it with ``python -m postvakt.classifier.evaluate``.

Messages go through screening first, as in the intake: a screened message counts as
``other``.  The report prints in Swedish for the people who read it.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postvakt.classifier.corpus import HELD_OUT_FOLD, Example, load_corpus, load_labelled_dir, split
from postvakt.classifier.screening import screen
from postvakt.classifier.verdict import LABEL_SV, Label, Verdict
from postvakt.errors import NotFoundError
from postvakt.wording import count

__all__ = [
    "CorpusEvaluation",
    "EvaluationReport",
    "FlagScores",
    "LabelScores",
    "evaluate_corpus",
    "evaluate_dir",
    "evaluate_examples",
    "report",
]

LABELS: tuple[Label, ...] = (Label.COMPLAINT, Label.OPINION, Label.OTHER)
FLAG_SV = {
    "anonymous": "anonym",
    "followup": "inte nöjd med svaret",
    "personal_data": "personnummer",
}


@dataclass(frozen=True)
class LabelScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class FlagScores:
    name: str
    precision: float
    recall: float
    support: int
    """How many messages really have the flag."""
    checked: int
    """How many messages had the flag in their labels."""


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _num(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


@dataclass(frozen=True)
class EvaluationReport:
    """The figures for one set of labelled messages."""

    title: str
    confusion: tuple[tuple[int, ...], ...]
    """Rows: the true label; columns: the label given (both in :data:`LABELS` order)."""
    flags: tuple[FlagScores, ...] = ()
    notes: tuple[str, ...] = ()
    review: int = 0
    """How many verdicts were sent to a person for review."""
    screened: int = 0

    @property
    def n(self) -> int:
        return sum(sum(row) for row in self.confusion)

    @property
    def scores(self) -> dict[Label, LabelScores]:
        found: dict[Label, LabelScores] = {}
        for i, label in enumerate(LABELS):
            tp = self.confusion[i][i]
            predicted = sum(row[i] for row in self.confusion)
            actual = sum(self.confusion[i])
            p, r = _ratio(tp, predicted), _ratio(tp, actual)
            found[label] = LabelScores(p, r, _f1(p, r), actual)
        return found

    @property
    def macro_f1(self) -> float:
        present = [s.f1 for s in self.scores.values() if s.support]
        return statistics.fmean(present) if present else 0.0

    @property
    def accuracy(self) -> float:
        return _ratio(sum(self.confusion[i][i] for i in range(len(LABELS))), self.n)

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "n": self.n,
            "labels": {label.value: s.__dict__ for label, s in self.scores.items()},
            "macro_f1": self.macro_f1,
            "accuracy": self.accuracy,
            "confusion": [list(row) for row in self.confusion],
            "flags": [f.__dict__ for f in self.flags],
            "review": self.review,
            "screened": self.screened,
        }

    def __str__(self) -> str:
        lines = [f"{self.title} ({count(self.n, 'meddelande', 'meddelanden')})", ""]
        lines.append(f"{'etikett':<12}{'precision':>11}{'täckning':>10}{'F1':>7}{'antal':>7}")
        for label, s in self.scores.items():
            lines.append(
                f"{LABEL_SV[label]:<12}{_num(s.precision):>11}{_num(s.recall):>10}"
                f"{_num(s.f1):>7}{s.support:>7}"
            )
        lines.append(f"{'makro-F1':<12}{'':>11}{'':>10}{_num(self.macro_f1):>7}")
        lines.append(f"{'andel rätt':<12}{'':>11}{'':>10}{_num(self.accuracy):>7}")
        lines += [
            "",
            "Förväxlingsmatris (rad = rätt etikett, kolumn = klassificerat som):",
            f"{'':<12}" + "".join(f"{LABEL_SV[label]:>10}" for label in LABELS),
        ]
        for label, row in zip(LABELS, self.confusion, strict=True):
            lines.append(f"{LABEL_SV[label]:<12}" + "".join(f"{v:>10}" for v in row))
        if self.flags:
            lines += ["", f"{'flagga':<22}{'precision':>11}{'täckning':>10}{'antal':>7}"]
            for flag in self.flags:
                lines.append(
                    f"{FLAG_SV.get(flag.name, flag.name):<22}{_num(flag.precision):>11}"
                    f"{_num(flag.recall):>10}{flag.support:>7}"
                )
        lines.append("")
        lines.append(
            f"Till granskning av en person: {self.review} av {self.n}"
            + (f"; sållade som maskinpost: {self.screened}" if self.screened else "")
            + "."
        )
        lines.append("Täckning = andel av de verkliga som hittades (recall).")
        lines += list(self.notes)
        return "\n".join(lines)


def report(
    title: str,
    truths: Sequence[Label],
    predictions: Sequence[Label],
    *,
    flags: dict[str, list[tuple[bool, bool]]] | None = None,
    review: int = 0,
    screened: int = 0,
    notes: Sequence[str] = (),
) -> EvaluationReport:
    """Figures from true and given labels; ``flags`` maps a flag to (true, given) pairs."""
    confusion = [[0] * len(LABELS) for _ in LABELS]
    for truth, given in zip(truths, predictions, strict=True):
        confusion[LABELS.index(truth)][LABELS.index(given)] += 1
    flag_scores = []
    for name, pairs in (flags or {}).items():
        if not pairs:
            continue
        tp = sum(1 for t, g in pairs if t and g)
        given = sum(1 for _t, g in pairs if g)
        actual = sum(1 for t, _g in pairs if t)
        flag_scores.append(
            FlagScores(name, _ratio(tp, given), _ratio(tp, actual), actual, len(pairs))
        )
    return EvaluationReport(
        title=title,
        confusion=tuple(tuple(row) for row in confusion),
        flags=tuple(flag_scores),
        notes=tuple(notes),
        review=review,
        screened=screened,
    )


def evaluate_examples(classifier: Any, examples: Sequence[Example], title: str) -> EvaluationReport:
    """Screen and classify every example as the intake would, and compare with its labels."""
    truths: list[Label] = []
    given: list[Label] = []
    flags: dict[str, list[tuple[bool, bool]]] = {name: [] for name in FLAG_SV}
    review = screened = 0
    for example in examples:
        truths.append(example.label)
        if screen(example.message) is not None:
            screened += 1
            given.append(Label.OTHER)
            verdict: Verdict | None = None
        else:
            verdict = classifier.classify(example.message)
            given.append(verdict.label)
            review += verdict.needs_review or verdict.shown_though_annat
        for name, truth in (
            ("anonymous", example.anonymous),
            ("followup", example.followup),
            ("personal_data", example.personal_data),
        ):
            if truth is None:
                continue
            attribute = "followup_not_satisfied" if name == "followup" else name
            flags[name].append((truth, bool(verdict and getattr(verdict, attribute))))
    return report(title, truths, given, flags=flags, review=review, screened=screened)


def evaluate_dir(path: Path | str, classifier: Any = None) -> EvaluationReport:
    """``postvakt classifier evaluate DIR``: the default model (or ``classifier``) on DIR."""
    from postvakt.classifier.model import default_classifier

    folder = Path(path)
    if not folder.is_dir():
        raise NotFoundError(f"{folder} är ingen mapp: ange en mapp med .eml-filer och labels.csv")
    examples = load_labelled_dir(folder)
    if not examples:
        raise NotFoundError(f"{folder / 'labels.csv'} nämner inga meddelanden")
    return evaluate_examples(
        classifier or default_classifier(), examples, f"Utvärdering av {folder}"
    )


@dataclass(frozen=True)
class CorpusEvaluation:
    """Leave one source out (the honest figures) and the same-corpus held-out fold."""

    held_out: EvaluationReport
    """Trained on folds 0–3 of every source, measured on fold 4 of the same sources."""
    leave_one_source_out: Any  # postvakt.classifier.sources.LeaveOneSourceOut
    without_band: EvaluationReport | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        parts = [str(self.leave_one_source_out)]
        same = (
            "Samma korpus (smickrande: modellen har lärt sig dessa källors sätt att skriva). "
            + str(self.held_out)
        )
        parts.append(same)
        if self.without_band is not None:
            w = self.without_band
            parts.append(
                f"Samma korpus utan granskningsintervall: makro-F1 {_num(w.macro_f1)}, täckning "
                f"för klagomål {_num(w.scores[Label.COMPLAINT].recall)}."
            )
        return "\n\n".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "leave_one_source_out": self.leave_one_source_out.as_dict(),
            "same_corpus_held_out": self.held_out.as_dict(),
            "same_corpus_without_review_band": self.without_band.as_dict()
            if self.without_band
            else None,
            "seconds": self.seconds,
        }


def evaluate_corpus(*, review_band: tuple[float, float] | None = None) -> CorpusEvaluation:
    """Leave each source out once; then train on folds 0–3 of all and measure on fold 4."""
    from postvakt.classifier.model import DEFAULT_REVIEW_BAND, Classifier, fit
    from postvakt.classifier.sources import leave_one_source_out

    band = DEFAULT_REVIEW_BAND if review_band is None else review_band
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    examples = load_corpus()
    seconds["load"] = time.perf_counter() - started
    started = time.perf_counter()
    loso = leave_one_source_out(examples, review_band=band)
    seconds["leave_one_source_out"] = time.perf_counter() - started
    train, held = split(examples)
    assert HELD_OUT_FOLD not in {e.fold for e in train}
    started = time.perf_counter()
    model = fit(train)
    seconds["fit"] = time.perf_counter() - started
    held_report = evaluate_examples(
        Classifier(model, review_band=band),
        held,
        "Utvärderingsdelen av korpusen (del 4 av varje källa; hålls utanför träningen)",
    )
    plain = evaluate_examples(Classifier(model, review_band=(0.0, 0.0)), held, "utan granskning")
    return CorpusEvaluation(held_report, loso, plain, seconds)


def main(argv: Sequence[str] = ()) -> int:
    result = evaluate_corpus()
    print(result)  # noqa: T201 — the module's command-line entry point prints its report
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
