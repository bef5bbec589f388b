"""Training the complaint / opinion / other model, and compiling it to plain arrays.

scikit-learn does the learning: TF-IDF over the word terms and over the character n-grams of
:mod:`postvakt.classifier.features`, then a multinomial logistic regression.  It is
deterministic: the same corpus and library versions give the same model, bit for bit.

**Calibration.**  A logistic regression trained on one way of writing is far too sure of
itself on another: it gave plainly worded complaints "annat" at 0.95.  So the probabilities
are calibrated with scikit-learn's ``CalibratedClassifierCV`` on predictions for messages the
scoring model did not learn from, where *not learnt from* means **another source**: the
folds are the corpus's independently written sources (``GroupKFold`` over them).  What the
calibration learns is how sure the model may be on phrasing it has never seen, which is what
it meets in a real mailbox.  The final model is trained on everything; the calibration is one
sigmoid per label (or one temperature), fitted on the out-of-source predictions.

**The care head.**  A second, binary logistic regression over the same features says whether
a message is about an individual's own care (the ``individual_care`` of the corpus), also
calibrated across sources.

:func:`compile_model` turns the fitted pipeline into a
:class:`~postvakt.classifier.linear.LinearModel`: vocabularies, IDF weights, coefficients,
the calibration and the care head, as arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from postvakt.classifier.corpus import Example
from postvakt.classifier.features import Doc, extract
from postvakt.classifier.linear import Block, Calibration, CareHead, LinearModel, terms_of
from postvakt.classifier.text import citizen_text
from postvakt.classifier.verdict import Label

__all__ = [
    "DEFAULT_SETTINGS",
    "LABELS",
    "Fitted",
    "Settings",
    "compile_model",
    "docs_of",
    "fit",
    "fit_sklearn",
    "groups_of",
]

LABELS: tuple[Label, ...] = (Label.COMPLAINT, Label.OPINION, Label.OTHER)
OWN_GROUP = "egna"
"""The calibration group of messages without a source: an organisation's own, corrections."""


@dataclass(frozen=True)
class Settings:
    """The training recipe.  Part of the cache key: change it and the model is retrained."""

    c: float = 8.0
    """Inverse regularisation strength of the logistic regression."""
    word_weight: float = 1.0
    char_weight: float = 1.0
    min_df_words: int = 2
    min_df_chars: int = 3
    complaint_weight: float = 3.0
    """Class weight of complaints: a missed complaint costs more than a false one (3.0 gave
    the best complaint recall and fewest confident errors leaving one source out; 1.5–3.0
    moved macro F1 by under 0.002)."""
    max_iter: int = 200
    calibration: str = "sigmoid"
    """``sigmoid`` (one per label), ``temperature``, or ``none``."""
    care_c: float = 4.0
    """Inverse regularisation strength of the care head."""
    own_weight: float = 4.0
    """The weight of an organisation's own message (a person's correction, or its labelled
    folder) against a corpus message: a handful of corrections must still move a model
    trained on thousands of corpus messages."""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


DEFAULT_SETTINGS = Settings()


def _word_analyzer(doc: Doc) -> list[str]:
    return doc.words


def _char_analyzer(doc: Doc) -> list[str]:
    return doc.chars


def docs_of(examples: Sequence[Example], own_domains: Sequence[str] = ()) -> list[Doc]:
    return [extract(citizen_text(e.message, own_domains)) for e in examples]


def groups_of(examples: Sequence[Example]) -> list[str]:
    """The calibration group of each example: its source."""
    return [e.source or OWN_GROUP for e in examples]


@dataclass
class Fitted:
    """The fitted scikit-learn pipeline, before it is compiled to a :class:`LinearModel`."""

    words: Any  # TfidfVectorizer over the word terms
    chars: Any  # TfidfVectorizer over the character n-grams
    model: Any  # LogisticRegression
    settings: Settings
    labels: list[int]
    """The label numbers (indexes into :data:`LABELS`) the training messages had."""
    calibration: Calibration | None = None
    care: Any = None  # LogisticRegression over the same matrix, or None
    care_ab: tuple[float, float] | None = None

    def matrix(self, docs: Sequence[Doc]) -> Any:
        """The feature matrix scikit-learn sees for ``docs``."""
        from scipy.sparse import hstack

        s = self.settings
        xw = self.words.transform(docs) * s.word_weight
        xc = self.chars.transform(docs) * s.char_weight
        return hstack([xw, xc]).tocsr()


def _source_folds(groups: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Train/test indexes with each source held out once; None with fewer than two sources."""
    names = sorted(set(groups))
    if len(names) < 2:
        return None
    index = np.array([names.index(g) for g in groups])
    return [(np.flatnonzero(index != i), np.flatnonzero(index == i)) for i in range(len(names))]


def _calibrated(
    estimator: Any,
    x: Any,
    y: np.ndarray,
    folds: Any,
    method: str,
    weights: np.ndarray | None = None,
) -> Any:
    """``CalibratedClassifierCV`` with one final estimator and calibrators fitted on the
    out-of-fold predictions; the fitted (estimator, calibrators)."""
    from sklearn.calibration import CalibratedClassifierCV

    calibrated = CalibratedClassifierCV(estimator, method=method, cv=folds, ensemble=False)
    calibrated.fit(x, y, sample_weight=weights)
    (inner,) = calibrated.calibrated_classifiers_
    return inner.estimator, inner.calibrators


def _usable(folds: Sequence[tuple[np.ndarray, np.ndarray]], y: np.ndarray) -> bool:
    """Every training side of the folds has every label (else a fold's model lacks one)."""
    wanted = set(y.tolist())
    return all(set(y[train].tolist()) == wanted for train, _test in folds)


def fit_sklearn(examples: Sequence[Example], settings: Settings = DEFAULT_SETTINGS) -> Fitted:
    """TF-IDF blocks, a logistic regression calibrated across sources, and the care head,
    fitted on ``examples`` in the order given."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    docs = docs_of(examples)
    y = np.array([LABELS.index(e.label) for e in examples])
    words = TfidfVectorizer(
        analyzer=_word_analyzer, lowercase=False, sublinear_tf=True, min_df=settings.min_df_words
    )
    chars = TfidfVectorizer(
        analyzer=_char_analyzer, lowercase=False, sublinear_tf=True, min_df=settings.min_df_chars
    )
    xw = words.fit_transform(docs) * settings.word_weight
    xc = chars.fit_transform(docs) * settings.char_weight
    x = hstack([xw, xc]).tocsr()
    present = sorted(set(y.tolist()))
    weights = {
        i: (settings.complaint_weight if LABELS[i] is Label.COMPLAINT else 1.0) for i in present
    }
    # Newton-CG converges in a handful of exact steps here (lbfgs needs dozens), and is
    # deterministic like every other solver without random sampling.
    model = LogisticRegression(
        C=settings.c, class_weight=weights, max_iter=settings.max_iter, solver="newton-cg"
    )
    groups = groups_of(examples)
    sample_weight = np.array([1.0 if e.source else settings.own_weight for e in examples])
    folds = _source_folds(groups)
    calibration = None
    if (
        settings.calibration != "none"
        and len(present) == len(LABELS)
        and folds is not None
        and _usable(folds, y)
    ):
        model, calibrators = _calibrated(model, x, y, folds, settings.calibration, sample_weight)
        if settings.calibration == "temperature":
            ab = np.array([[float(calibrators[0].beta_), 0.0]])
        else:
            ab = np.zeros((len(LABELS), 2))
            for cls, calibrator in zip(model.classes_, calibrators, strict=True):
                ab[cls] = (calibrator.a_, calibrator.b_)
        calibration = Calibration(settings.calibration, ab)
    else:
        model.fit(x, y, sample_weight=sample_weight)
    care, care_ab = _fit_care(examples, x, groups, settings)
    return Fitted(words, chars, model, settings, present, calibration, care, care_ab)


def _fit_care(
    examples: Sequence[Example], x: Any, groups: Sequence[str], settings: Settings
) -> tuple[Any, tuple[float, float] | None]:
    """The care head, on the examples whose ``individual_care`` is known."""
    from sklearn.linear_model import LogisticRegression

    rows = np.array([i for i, e in enumerate(examples) if e.individual_care is not None])
    if not len(rows):
        return None, None
    y = np.array([bool(examples[i].individual_care) for i in rows], dtype=int)
    if y.min() == y.max():
        return None, None
    head = LogisticRegression(
        C=settings.care_c, class_weight="balanced", max_iter=settings.max_iter, solver="newton-cg"
    )
    folds = _source_folds([groups[i] for i in rows])
    if settings.calibration == "none" or folds is None or not _usable(folds, y):
        head.fit(x[rows], y)
        return head, None
    head, (calibrator,) = _calibrated(head, x[rows], y, folds, "sigmoid")
    return head, (float(calibrator.a_), float(calibrator.b_))


def compile_model(fitted: Fitted, meta: dict[str, Any] | None = None) -> LinearModel:
    """The fitted pipeline as plain arrays: vocabularies, IDF weights, coefficients, the
    calibration and the care head."""
    s, model, present = fitted.settings, fitted.model, fitted.labels
    n_words = len(fitted.words.vocabulary_)
    n_total = n_words + len(fitted.chars.vocabulary_)
    coef = np.zeros((len(LABELS), n_total))
    intercept = np.full(len(LABELS), -1e9)  # a label training never saw is never given
    if len(present) == 2:  # a binary fit has one row: the second class against the first
        coef[present[1]] = model.coef_[0]
        intercept[present[1]] = model.intercept_[0]
        intercept[present[0]] = 0.0
    else:
        for row, cls in enumerate(model.classes_):
            coef[cls] = model.coef_[row]
            intercept[cls] = model.intercept_[row]
    word_vocab = {str(t): int(i) for t, i in fitted.words.vocabulary_.items()}
    char_vocab = {str(t): int(i) for t, i in fitted.chars.vocabulary_.items()}
    care = None
    if fitted.care is not None:
        row = fitted.care.coef_[0]
        care = CareHead(
            (row[:n_words] * s.word_weight).copy(),
            (row[n_words:] * s.char_weight).copy(),
            float(fitted.care.intercept_[0]),
            fitted.care_ab,
        )
    return LinearModel(
        words=Block(
            word_vocab,
            fitted.words.idf_.astype(np.float64),
            (coef[:, :n_words].T * s.word_weight).copy(),
        ),
        chars=Block(
            char_vocab,
            fitted.chars.idf_.astype(np.float64),
            (coef[:, n_words:].T * s.char_weight).copy(),
        ),
        intercept=intercept,
        meta=dict(meta or {}, settings=s.as_dict()),
        calibration=fitted.calibration,
        care=care,
        terms_by_col=terms_of(word_vocab),
    )


def fit(
    examples: Sequence[Example],
    settings: Settings = DEFAULT_SETTINGS,
    meta: dict[str, Any] | None = None,
) -> LinearModel:
    """Train on ``examples`` (in the order given) and compile the result."""
    return compile_model(fit_sklearn(examples, settings), dict(meta or {}, messages=len(examples)))
