"""What the classifier's command-line commands do, so that ``cli.py`` stays a few lines.

- ``postvakt classify [--json] FILE.eml…`` → :func:`classify_files` and :func:`format_result`;
- ``postvakt classifier train`` → :func:`train_model` (returns the line to print);
- ``postvakt classifier evaluate DIR`` → :func:`~postvakt.classifier.evaluate.evaluate_dir`
  (print the report).

Messages are screened first, as in the intake: machine mail is ``other`` with the screening
rule as its reason.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from postvakt.classifier.model import Classifier, default_classifier, train
from postvakt.classifier.screening import screen
from postvakt.classifier.verdict import LABEL_SV, Label
from postvakt.errors import NotFoundError
from postvakt.mailbox.message import parse_message

__all__ = ["classify_files", "format_result", "train_model"]

_FLAG_SV = {
    "needs_review": "behöver granskas",
    "anonymous": "anonym",
    "followup_not_satisfied": "inte nöjd med svaret",
    "personal_data": "personnummer",
}


def classify_files(
    paths: Sequence[str | Path], classifier: Classifier | None = None
) -> list[dict[str, Any]]:
    """One result per file, in order: label, confidence, flags, reasons, the screening rule.

    Raises :class:`NotFoundError` for a file that cannot be read.
    """
    results = []
    for name in paths:
        path = Path(name)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise NotFoundError(f"Kan inte läsa {path}: {exc.strerror}") from None
        msg = parse_message(raw)
        screening = screen(msg)
        if screening is not None:
            results.append(
                {
                    "file": str(name),
                    "label": "other",
                    "label_sv": LABEL_SV[Label.OTHER],
                    "confidence": 1.0,
                    "needs_review": False,
                    "anonymous": False,
                    "followup_not_satisfied": False,
                    "personal_data": False,
                    "reasons": [screening.reason],
                    "screened": screening.rule,
                }
            )
            continue
        verdict = (classifier or default_classifier()).classify(msg)
        results.append({"file": str(name), **verdict.as_dict(), "screened": None})
    return results


def format_result(result: dict[str, Any]) -> str:
    """``FILE: label (0.93) [flags] — reason; reason`` for a terminal."""
    flags = [sv for name, sv in _FLAG_SV.items() if result.get(name)]
    if result.get("screened"):
        flags.append("maskinpost")
    shown = f" [{', '.join(flags)}]" if flags else ""
    return (
        f"{result['file']}: {result['label']} ({result['confidence']:.2f}){shown} — "
        + "; ".join(result["reasons"])
    )


def train_model(extra_dir: Path | None = None, directory: Path | None = None) -> str:
    """Rebuild the model; the Swedish line to print."""
    started = time.perf_counter()
    path = train(extra_dir, directory=directory)
    seconds = time.perf_counter() - started
    extra = f" och de egna meddelandena i {extra_dir}" if extra_dir else ""
    return f"Klassificeraren är tränad på korpusen{extra} på {seconds:.1f} s: {path}"
