"""Retraining with people's corrections, and the model the organisation uses.

**The model in use** is the last one taken into use (``classifier_models`` with
``accepted``): the shipped corpus, the organisation's own labelled messages
(``classifier.corpus``) and the corrections made up to its training time, the held-out fifth
left out (:mod:`postvakt.classifier.learning`).  Before any retraining it is the corpus
model.  :func:`load_current` finds it in the cache, or trains it again from the same
examples, which gives the same model.

**Retraining** (:func:`retrain`; the nightly job ``retrain`` and ``postvakt classifier
retrain``) trains a candidate on the corrections made until now and measures it and the
model in use on the same messages: the shipped corpus's held-out fold and the held-out
corrections.  The candidate is taken into use only when it is **no worse** on both figures
that matter — macro F1 and the recall of complaints (a missed complaint is the costly
error) — where no worse means at most :data:`TOLERANCE` (one percentage point) below the
model in use.  The corpus's held-out fold has 155 complaints, each 0.65 points of complaint
recall: a model that gains on the corrections may miss one more of them, not two.  Either
way the decision and both pairs of figures are logged (figures and counts only: no text, no
address) and stored in ``classifier_models``.  With no new correction since the model in use
was trained, nothing is trained.

``postvakt classifier train`` with a config does the same and takes the model into use
whatever its figures (a person asked for it); they are stored all the same.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from postvakt.classifier.corpus import Example, LabelledText, load_corpus, split
from postvakt.classifier.evaluate import EvaluationReport, evaluate_examples
from postvakt.classifier.learning import load_corrections, split_corrections
from postvakt.classifier.model import (
    Classifier,
    LinearModel,
    fit,
    load_model,
    model_key,
    model_path,
    store_model,
    training_examples,
)
from postvakt.classifier.verdict import Label
from postvakt.config import Config
from postvakt.registry.db import database_errors
from postvakt.registry.models import ClassifierModel
from postvakt.wording import count

__all__ = [
    "TOLERANCE",
    "Figures",
    "Retraining",
    "classifier_with",
    "current_record",
    "in_use",
    "load_current",
    "no_worse",
    "retrain",
]

log = logging.getLogger("postvakt.classifier")

TOLERANCE = 0.01
"""How far below the model in use (in macro F1 and in complaint recall, each) a new model
may measure and still count as no worse: one percentage point."""


def _num(value: float) -> str:
    return f"{value:.3f}".replace(".", ",")


def seconds_sv(value: float) -> str:
    """``2,4 s``: seconds as Swedish writes them."""
    return f"{value:.1f} s".replace(".", ",")


@dataclass(frozen=True)
class Figures:
    """What decides: macro F1 and complaint recall, on ``messages`` held-out messages."""

    macro_f1: float
    complaint_recall: float
    messages: int

    @classmethod
    def of(cls, report: EvaluationReport) -> Figures:
        return cls(report.macro_f1, report.scores[Label.COMPLAINT].recall, report.n)

    def __str__(self) -> str:
        return (
            f"makro-F1 {_num(self.macro_f1)}, täckning för klagomål {_num(self.complaint_recall)}"
        )

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def no_worse(candidate: Figures, current: Figures, tolerance: float = TOLERANCE) -> bool:
    """Whether ``candidate`` is at most ``tolerance`` below ``current`` in both figures."""
    return (
        candidate.macro_f1 >= current.macro_f1 - tolerance
        and candidate.complaint_recall >= current.complaint_recall - tolerance
    )


@dataclass(frozen=True)
class Retraining:
    """What one retraining found and decided."""

    trained: bool
    """False when nothing had changed since the model in use (nothing was trained)."""
    accepted: bool
    """The new model is in use."""
    candidate: Figures | None = None
    current: Figures | None = None
    examples: int = 0
    """Messages trained on (corpus, own messages, corrections)."""
    corrections: int = 0
    """Corrected messages trained on."""
    held_out: int = 0
    """Corrected messages held out to measure."""
    key: str = ""
    note: str = ""
    """The decision in Swedish, for people."""
    record_id: int | None = None
    path: Path | None = None
    seconds: float = 0.0

    def __str__(self) -> str:
        if not self.trained:
            return self.note
        assert self.candidate is not None and self.current is not None
        return (
            f"{self.note}\n"
            f"  ny modell:       {self.candidate}\n"
            f"  modellen i bruk: {self.current}\n"
            f"  mätt på {count(self.candidate.messages, 'meddelande', 'meddelanden')} (korpusens "
            f"utvärderingsdel och {count(self.held_out, 'rättelse', 'rättelser')} som hålls "
            f"utanför träningen); tränad på {count(self.examples, 'meddelande', 'meddelanden')} "
            f"varav {count(self.corrections, 'rättelse', 'rättelser')}, på "
            f"{seconds_sv(self.seconds)}."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "trained": self.trained,
            "accepted": self.accepted,
            "candidate": self.candidate.as_dict() if self.candidate else None,
            "current": self.current.as_dict() if self.current else None,
            "examples": self.examples,
            "corrections": self.corrections,
            "held_out": self.held_out,
            "note": self.note,
            "path": str(self.path) if self.path else None,
        }


def _extra_dir(config: Config) -> Path | None:
    return config.path(config.classifier.corpus) if config.classifier.corpus else None


def _cache(config: Config) -> Path | None:
    folder = config.classifier.cache_folder
    return config.path(folder) if folder else None


def _classifier(config: Config, model: LinearModel) -> Classifier:
    return Classifier(
        model,
        review_band=config.classifier.review_band,
        care_threshold=config.classifier.care_threshold,
        own_domains=config.organisation.domains,
        own_addresses=[m.address for m in config.mailboxes],
    )


def current_record(session: Session) -> ClassifierModel | None:
    """The last model taken into use, or None while the corpus model is."""
    return session.scalars(
        select(ClassifierModel)
        .where(ClassifierModel.accepted.is_(True))
        .order_by(ClassifierModel.trained_at.desc(), ClassifierModel.id.desc())
        .limit(1)
    ).first()


def _learned(session: Session, record: ClassifierModel | None) -> list[LabelledText]:
    """The corrections the model of ``record`` was trained on."""
    if record is None:
        return []
    return split_corrections(load_corrections(session, until=record.trained_at))[0]


def in_use(session: Session) -> tuple[int | None, list[LabelledText]]:
    """The ``classifier_models`` row of the model in use (None: the corpus model) and the
    corrections it learned from — read now, so that loading it needs no database."""
    record = current_record(session)
    return (record.id if record is not None else None), _learned(session, record)


def classifier_with(config: Config, learned: Sequence[LabelledText] = ()) -> Classifier:
    """The model of the corpus, the config's own messages and ``learned``, with the config's
    review band and domains: from the cache, or trained now."""
    model, _path = load_model(_extra_dir(config), directory=_cache(config), corrections=learned)
    return _classifier(config, model)


def load_current(
    config: Config, sessions: sessionmaker[Session] | None = None
) -> tuple[Classifier, int | None]:
    """The model in use and the id of its ``classifier_models`` row (None for the corpus
    model).  Without ``sessions`` (no database) the corpus model."""
    record_id: int | None = None
    learned: list[LabelledText] = []
    if sessions is not None:
        with sessions() as session, database_errors():
            record_id, learned = in_use(session)
    return classifier_with(config, learned), record_id


def _measure(config: Config, model: LinearModel, examples: Sequence[Example]) -> Figures:
    return Figures.of(evaluate_examples(_classifier(config, model), examples, "utvärdering"))


def retrain(
    config: Config,
    sessions: sessionmaker[Session],
    *,
    now: datetime,
    by_hand: bool = False,
    extra_dir: Path | None = None,
) -> Retraining:
    """Train on the corrections made until ``now``; take the new model into use when it is
    no worse than the one in use (or, ``by_hand``, always).  ``extra_dir`` replaces the
    config's own labelled messages (``classifier train --corpus``)."""
    started = time.perf_counter()
    extra = extra_dir if extra_dir is not None else _extra_dir(config)
    with sessions() as session, database_errors():
        record = current_record(session)
        learned = _learned(session, record)
        train_part, held = split_corrections(load_corrections(session, until=now))
    key = model_key(extra, corrections=train_part)
    current_key = model_key(extra, corrections=learned)
    if key == current_key and not by_hand:
        log.info(
            "retrain: no new corrections since the model in use (%d corrections); not retrained",
            len(learned),
        )
        return Retraining(
            trained=False,
            accepted=False,
            corrections=len(train_part),
            held_out=len(held),
            key=key,
            note="Inga nya rättelser sedan modellen i bruk tränades: ingen ny modell.",
        )
    current_model, _path = load_model(extra, directory=_cache(config), corrections=learned)
    examples = training_examples(extra, train_part)
    candidate_model = fit(
        examples,
        meta={"key": key, "extra": str(extra or ""), "corrections": len(train_part)},
    )
    measured_on = split(load_corpus())[1] + [t.example() for t in held]
    candidate = _measure(config, candidate_model, measured_on)
    current = _measure(config, current_model, measured_on)
    better = no_worse(candidate, current)
    accepted = by_hand or better
    if by_hand:
        note = "Tränad för hand (postvakt classifier train) och tagen i bruk."
    elif accepted:
        note = "Den nya modellen är inte sämre än den i bruk och är tagen i bruk."
    else:
        worse = [
            name
            for name, new, old in (
                ("makro-F1", candidate.macro_f1, current.macro_f1),
                ("täckning för klagomål", candidate.complaint_recall, current.complaint_recall),
            )
            if new < old - TOLERANCE
        ]
        note = (
            f"Den nya modellen är sämre ({' och '.join(worse)} mer än "
            f"{TOLERANCE * 100:.0f} procentenhet under modellen i bruk): modellen i bruk behålls."
        )
    with sessions() as session, database_errors(), session.begin():
        row = ClassifierModel(
            trained_at=now,
            model_key=key,
            examples=len(examples),
            corrections=len(train_part),
            macro_f1=candidate.macro_f1,
            complaint_recall=candidate.complaint_recall,
            current_macro_f1=current.macro_f1,
            current_complaint_recall=current.complaint_recall,
            accepted=accepted,
            note=note,
        )
        session.add(row)
        session.flush()
        record_id = row.id
    path = None
    if accepted:
        path = model_path(key, _cache(config))
        try:
            store_model(candidate_model, path)
        except OSError as exc:  # trained again from the same examples at first use
            log.warning("cannot write the model to %s: %s", path, exc)
    log.info(
        "retrain: new model macro F1 %.3f, complaint recall %.3f; model in use %.3f, %.3f "
        "(%d held-out messages, %d of them corrections; %d corrections trained on): %s",
        candidate.macro_f1,
        candidate.complaint_recall,
        current.macro_f1,
        current.complaint_recall,
        candidate.messages,
        len(held),
        len(train_part),
        "taken into use" if accepted else "refused, the model in use stays",
    )
    return Retraining(
        trained=True,
        accepted=accepted,
        candidate=candidate,
        current=current,
        examples=len(examples),
        corrections=len(train_part),
        held_out=len(held),
        key=key,
        note=note,
        record_id=record_id,
        path=path,
        seconds=time.perf_counter() - started,
    )
