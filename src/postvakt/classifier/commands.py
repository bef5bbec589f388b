"""What the classifier's command-line commands do, so that ``cli.py`` stays a few lines.

- ``postvakt classify [--json] FILE.eml…`` → :func:`classify_files` and :func:`format_result`;
- ``postvakt classifier train`` → :func:`train_model` (returns the line to print); with a
  config, :func:`~postvakt.classifier.retrain.retrain` ``by_hand`` and :func:`trained_line`;
- ``postvakt classifier evaluate [DIR]`` → :func:`~postvakt.classifier.evaluate.evaluate_dir`
  or :func:`~postvakt.classifier.evaluate.evaluate_corpus` (print the report, or
  :func:`evaluation_json`).

Messages are screened first, as in the intake: machine mail is ``other`` with the screening
rule as its reason, and with a config, so is a colleague's mail from the own domains.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postvakt.classifier.correction_report import CorrectionReport
from postvakt.classifier.evaluate import CorpusEvaluation, EvaluationReport
from postvakt.classifier.model import Classifier, default_classifier, train
from postvakt.classifier.screening import Screening, internal, screen
from postvakt.classifier.verdict import Label, Verdict
from postvakt.config import Config
from postvakt.errors import NotFoundError
from postvakt.mailbox.message import IncomingMessage, parse_message
from postvakt.wording import count

if TYPE_CHECKING:
    from postvakt.classifier.retrain import Retraining

__all__ = ["classify_files", "evaluation_json", "format_result", "train_model", "trained_line"]

_FLAG_SV = {
    "needs_review": "behöver granskas",
    "anonymous": "anonym",
    "followup_not_satisfied": "inte nöjd med svaret",
    "personal_data": "personnummer",
    "individual_care": "rör enskilds vård och omsorg",
}


def _screen(msg: IncomingMessage, config: Config | None) -> Screening | None:
    """As the intake screens: a web-form gateway is let through, then machine mail, then a
    colleague's mail (unless it forwards a citizen's)."""
    if config is None:
        return screen(msg)
    org = config.organisation
    if msg.sender and msg.sender.address in org.web_form_senders:
        return None
    return screen(msg) or internal(msg, org.domains, org.web_form_senders)


def classify_files(
    paths: Sequence[str | Path],
    classifier: Classifier | None = None,
    *,
    config: Config | None = None,
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
        screening = _screen(msg, config)
        if screening is not None:
            # A rule-made verdict: every field of a classified file, none set.
            screened = Verdict(label=Label.OTHER, confidence=1.0, reasons=(screening.reason,))
            results.append({"file": str(name), **screened.as_dict(), "screened": screening.rule})
            continue
        verdict = (classifier or default_classifier()).classify(msg)
        results.append({"file": str(name), **verdict.as_dict(), "screened": None})
    return results


def evaluation_json(
    result: EvaluationReport | CorpusEvaluation | CorrectionReport,
) -> dict[str, Any]:
    """The figures of ``classifier evaluate`` for ``--json``."""
    return result.as_dict()


def format_result(result: dict[str, Any]) -> str:
    """``FILE: klagomål (0,93) [flags] — reason; reason`` for a terminal, in Swedish."""
    flags = [sv for name, sv in _FLAG_SV.items() if result.get(name)]
    if result.get("forwarded"):
        flags.append("vidarebefordrat av personal")
    if result.get("screened"):
        flags.append("sållat")
    shown = f" [{', '.join(flags)}]" if flags else ""
    confidence = f"{result['confidence']:.2f}".replace(".", ",")
    return f"{result['file']}: {result['label_sv']} ({confidence}){shown} — " + "; ".join(
        result["reasons"]
    )


def train_model(extra_dir: Path | None = None, directory: Path | None = None) -> str:
    """Rebuild the model; the Swedish line to print."""
    started = time.perf_counter()
    path = train(extra_dir, directory=directory)
    seconds = time.perf_counter() - started
    extra = f" och de egna meddelandena i {extra_dir}" if extra_dir else ""
    return f"Klassificeraren är tränad på korpusen{extra} på {seconds:.1f} s: {path}"


def trained_line(result: Retraining, extra_dir: Path | None = None) -> str:
    """What ``classifier train`` with a config prints: what it learned from, where the model
    is, and its figures beside those of the model it replaced."""
    extra = f" och de egna meddelandena i {extra_dir}" if extra_dir else ""
    fixed = count(result.corrections, "rättat meddelande", "rättade meddelanden")
    learned = f" samt {fixed}" if result.corrections else ""
    where = f": {result.path}" if result.path else ""
    figures = (
        f"\nNy modell: {result.candidate}; förra modellen: {result.current} "
        f"(på {count(result.candidate.messages, 'meddelande', 'meddelanden')} som hålls utanför "
        "träningen)."
        if result.candidate and result.current
        else ""
    )
    from postvakt.classifier.retrain import seconds_sv

    return (
        f"Klassificeraren är tränad på korpusen{extra}{learned} på "
        f"{seconds_sv(result.seconds)}{where}{figures}"
    )
