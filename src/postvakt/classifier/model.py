"""The trained complaint / opinion / other model: training, the cache on disk, classifying.

**Training** (:func:`fit`) is scikit-learn: TF-IDF over the word terms and over the
character n-grams of :mod:`postvakt.classifier.features`, then a multinomial logistic
regression.  It is deterministic: the same corpus and library versions give the same model,
bit for bit.  The shipped model learns from the training part of the corpus only (folds
0–3), so the held-out fold measures it honestly; an organisation's own labelled messages are
added to the training part.

**The model on disk** is not a pickle.  Training ends by *compiling* the fitted pipeline to
plain arrays — each vocabulary with its IDF weights and coefficients — stored in one ``.npz``
file (:class:`LinearModel`).  Classifying needs only NumPy and the feature code; it never
imports scikit-learn, so loading takes a fraction of a second and a new scikit-learn never
meets a stale pickle.  The file is named by a key over the corpus (and any extra messages),
the library versions and this package's feature and model code: when any of them changes, a
new model is trained on first use (:func:`load_model`) and written atomically.  The cache
folder is ``$POSTVAKT_CACHE_DIR``, else the user's cache folder (``~/.cache/postvakt`` on
Linux, ``~/Library/Caches/postvakt`` on macOS, ``%LOCALAPPDATA%\\postvakt\\Cache`` on Windows).

**Classifying** (:class:`Classifier`, :func:`classify`): screening is the caller's; this
reads the citizen's words (:mod:`postvakt.classifier.text`), scores them, applies the review
band and the follow-up rule, sets the flags, and explains the verdict in Swedish
(:mod:`postvakt.classifier.reasons`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from postvakt.classifier.corpus import (
    CORPUS_DIR,
    Example,
    corpus_digest,
    load_corpus,
    load_labelled_dir,
    split,
)
from postvakt.classifier.features import FEATURES_VERSION, Doc, extract, grams
from postvakt.classifier.flags import earlier_answer, is_anonymous, not_satisfied, personal_data
from postvakt.classifier.text import CitizenText, citizen_text
from postvakt.classifier.verdict import Label, Verdict
from postvakt.mailbox.message import IncomingMessage

__all__ = [
    "DEFAULT_REVIEW_BAND",
    "Classifier",
    "Fitted",
    "LinearModel",
    "Settings",
    "cache_dir",
    "classify",
    "compile_model",
    "default_classifier",
    "fit",
    "fit_sklearn",
    "load_model",
    "model_key",
    "train",
]

log = logging.getLogger("postvakt.classifier")

LABELS: tuple[Label, ...] = (Label.COMPLAINT, Label.OPINION, Label.OTHER)
MODEL_FORMAT = 1
"""Bumped when the file layout or the training recipe changes; part of the cache key."""
DEFAULT_REVIEW_BAND = (0.0, 0.55)
"""A verdict less sure than 55 % is registered for a person to confirm (about 5 % of mail)."""


@dataclass(frozen=True)
class Settings:
    """The training recipe.  Part of the cache key: change it and the model is retrained."""

    c: float = 8.0
    """Inverse regularisation strength of the logistic regression."""
    word_weight: float = 1.0
    char_weight: float = 1.0
    min_df_words: int = 2
    min_df_chars: int = 3
    complaint_weight: float = 1.5
    """Class weight of complaints: a missed complaint costs more than a false one."""
    max_iter: int = 200

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# --------------------------------------------------------------------------- the compiled model


@dataclass
class Block:
    """One TF-IDF block: term -> column, IDF per column, coefficients (columns x labels)."""

    vocab: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray
    """Already multiplied by the block's weight."""
    contrast: np.ndarray = field(init=False, repr=False)
    """Per label, how much more a column favours it than the mean of the others (reasons)."""

    def __post_init__(self) -> None:
        k = self.coef.shape[1]
        total = self.coef.sum(axis=1, keepdims=True)
        self.contrast = self.coef - (total - self.coef) / max(k - 1, 1)

    def vector(self, terms: Iterable[str]) -> Vector:
        """The L2-normalised, sublinear TF-IDF vector of ``terms`` (known terms only)."""
        counts = Counter(terms)
        if not counts:
            return _EMPTY
        cols = np.fromiter(
            map(self.vocab.get, counts, repeat(-1)), dtype=np.int64, count=len(counts)
        )
        known = cols >= 0
        if not known.any():
            return _EMPTY
        idx = cols[known]
        n = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))[known]
        values = (1.0 + np.log(n)) * self.idf[idx]
        norm = float(np.sqrt(values @ values))
        return Vector(idx, values / norm if norm else values, n)


@dataclass(frozen=True)
class Vector:
    """A sparse TF-IDF vector: columns, values, and how often each term occurred.

    A character vector also keeps the words it was built from (each distinct word, how often
    it occurs, and its columns), so the reasons can credit n-grams to words.
    """

    idx: np.ndarray
    values: np.ndarray
    counts: np.ndarray
    norm: float = 1.0
    words: tuple[str, ...] = ()
    word_uses: np.ndarray | None = None
    word_weights: np.ndarray | None = None
    """Per word: its n-grams' IDF-weighted push per label (see ``LinearModel.token_weight``)."""


_EMPTY = Vector(np.empty(0, dtype=np.int64), np.empty(0), np.empty(0))


@dataclass
class LinearModel:
    """A fitted model as plain arrays: what :func:`fit` produces and the cache stores."""

    words: Block
    chars: Block
    intercept: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    terms_by_col: list[str] = field(default_factory=list, repr=False)
    """Word-block terms by column, for the reasons."""
    _token_cols: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    def _token(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        found = self._token_cols.get(token)
        if found is None:
            cols = np.array(
                [c for c in map(self.chars.vocab.get, grams(token)) if c is not None],
                dtype=np.int64,
            )
            weight = (self.chars.idf[cols, None] * self.chars.contrast[cols]).sum(axis=0)
            found = (cols, weight)
            if len(self._token_cols) > 200_000:  # words recur; a bound keeps memory flat
                self._token_cols.clear()
            self._token_cols[token] = found
        return found

    def token_columns(self, token: str) -> np.ndarray:
        """The character-block columns of a word's n-grams (remembered: words recur)."""
        return self._token(token)[0]

    def token_weight(self, token: str) -> np.ndarray:
        """A word's character n-grams' IDF-weighted push per label, before normalisation.

        The reasons credit ``uses * weight[k] / norm`` to the word: exact when each n-gram
        occurs once in the message, which is nearly always.
        """
        return self._token(token)[1]

    def char_vector(self, tokens: Iterable[str]) -> Vector:
        """The character block's vector, built from each word's remembered columns.

        The same vector as ``self.chars.vector(char_terms(tokens))``, without making and
        looking up every n-gram string of every word again.
        """
        uses = Counter(t for t in tokens if not t.isdigit())
        if not uses:
            return _EMPTY
        words = tuple(uses)
        found = [self._token(t) for t in words]
        every = [
            c for (c, _w), m in zip(found, uses.values(), strict=True) for _ in range(m) if len(c)
        ]
        if not every:
            return _EMPTY
        idx, n = np.unique(np.concatenate(every), return_counts=True)
        values = (1.0 + np.log(n)) * self.chars.idf[idx]
        norm = float(np.sqrt(values @ values))
        return Vector(
            idx,
            values / norm if norm else values,
            n,
            norm or 1.0,
            words,
            np.fromiter(uses.values(), dtype=np.float64, count=len(uses)),
            np.array([w for _c, w in found]),
        )

    def decision(self, doc: Doc) -> tuple[np.ndarray, Vector, Vector]:
        """Scores per label (before the softmax) and the two vectors they came from."""
        w = self.words.vector(doc.words)
        c = self.char_vector(doc.tokens)
        scores = self.intercept.copy()
        if len(w.idx):
            scores += w.values @ self.words.coef[w.idx]
        if len(c.idx):
            scores += c.values @ self.chars.coef[c.idx]
        return scores, w, c

    def probabilities(self, doc: Doc) -> np.ndarray:
        scores, _w, _c = self.decision(doc)
        return _softmax(scores)

    # -- storage -----------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write atomically: a reader never sees half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {
            "word_terms": np.array(self.terms_by_col or _terms(self.words.vocab), dtype=np.str_),
            "word_idf": self.words.idf,
            "word_coef": self.words.coef,
            "char_terms": np.array(_terms(self.chars.vocab), dtype=np.str_),
            "char_idf": self.chars.idf,
            "char_coef": self.chars.coef,
            "intercept": self.intercept,
            "meta": np.array(json.dumps(self.meta, ensure_ascii=False, sort_keys=True)),
        }
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            Path(tmp).replace(path)  # atomic on POSIX and Windows
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        with np.load(path, allow_pickle=False) as data:
            word_terms = data["word_terms"].tolist()
            char_terms = data["char_terms"].tolist()
            model = cls(
                words=Block(
                    dict(zip(word_terms, range(len(word_terms)), strict=True)),
                    data["word_idf"],
                    data["word_coef"],
                ),
                chars=Block(
                    dict(zip(char_terms, range(len(char_terms)), strict=True)),
                    data["char_idf"],
                    data["char_coef"],
                ),
                intercept=data["intercept"],
                meta=json.loads(str(data["meta"])),
                terms_by_col=word_terms,
            )
        return model


def _terms(vocab: dict[str, int]) -> list[str]:
    terms = [""] * len(vocab)
    for term, col in vocab.items():
        terms[col] = term
    return terms


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum()


# --------------------------------------------------------------------------- training


def _word_analyzer(doc: Doc) -> list[str]:
    return doc.words


def _char_analyzer(doc: Doc) -> list[str]:
    return doc.chars


def docs_of(examples: Sequence[Example], own_domains: Sequence[str] = ()) -> list[Doc]:
    return [extract(citizen_text(e.message, own_domains)) for e in examples]


@dataclass
class Fitted:
    """The fitted scikit-learn pipeline, before it is compiled to a :class:`LinearModel`."""

    words: Any  # TfidfVectorizer over the word terms
    chars: Any  # TfidfVectorizer over the character n-grams
    model: Any  # LogisticRegression
    settings: Settings
    labels: list[int]
    """The label numbers (indexes into :data:`LABELS`) the training messages had."""

    def matrix(self, docs: Sequence[Doc]) -> Any:
        """The feature matrix scikit-learn sees for ``docs``."""
        from scipy.sparse import hstack

        s = self.settings
        xw = self.words.transform(docs) * s.word_weight
        xc = self.chars.transform(docs) * s.char_weight
        return hstack([xw, xc]).tocsr()


def fit_sklearn(examples: Sequence[Example], settings: Settings = Settings()) -> Fitted:
    """TF-IDF blocks and a logistic regression, fitted on ``examples`` in the order given."""
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
    present = sorted(set(y.tolist()))
    weights = {
        i: (settings.complaint_weight if LABELS[i] is Label.COMPLAINT else 1.0) for i in present
    }
    # Newton-CG converges in a handful of exact steps here (lbfgs needs dozens), and is
    # deterministic like every other solver without random sampling.
    model = LogisticRegression(
        C=settings.c, class_weight=weights, max_iter=settings.max_iter, solver="newton-cg"
    )
    model.fit(hstack([xw, xc]).tocsr(), y)
    return Fitted(words, chars, model, settings, present)


def compile_model(fitted: Fitted, meta: dict[str, Any] | None = None) -> LinearModel:
    """The fitted pipeline as plain arrays: vocabularies, IDF weights, coefficients."""
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
        terms_by_col=_terms(word_vocab),
    )


def fit(
    examples: Sequence[Example], settings: Settings = Settings(), meta: dict[str, Any] | None = None
) -> LinearModel:
    """Train on ``examples`` (in the order given) and compile the result."""
    return compile_model(fit_sklearn(examples, settings), dict(meta or {}, messages=len(examples)))


# --------------------------------------------------------------------------- the cache


def cache_dir() -> Path:
    """``$POSTVAKT_CACHE_DIR``, else the platform's per-user cache folder."""
    override = os.environ.get("POSTVAKT_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "postvakt" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "postvakt"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "postvakt"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("scikit-learn", "numpy", "scipy", "snowballstemmer"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "?"
    return found


def _code_digest() -> str:
    """The source of the modules that shape the model: change one, get a new model."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in ("features.py", "text.py", "forwarded.py", "webform.py", "model.py", "corpus.py"):
        path = here / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"")
    digest.update(str(FEATURES_VERSION).encode())
    return digest.hexdigest()


def model_key(extra_dir: Path | None = None, settings: Settings = Settings()) -> str:
    """The cache key: corpus (and extra messages), library versions, code and recipe."""
    parts = {
        "format": MODEL_FORMAT,
        "corpus": corpus_digest(CORPUS_DIR, extra_dir),
        "versions": _versions(),
        "code": _code_digest(),
        "settings": settings.as_dict(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def training_examples(extra_dir: Path | None = None) -> list[Example]:
    """The training part of the shipped corpus, then the organisation's own messages."""
    train_part, _held_out = split(load_corpus())
    if extra_dir is not None:
        train_part += load_labelled_dir(extra_dir)
    return train_part


_LOCK = threading.Lock()


def load_model(
    extra_dir: Path | None = None,
    *,
    directory: Path | None = None,
    rebuild: bool = False,
    settings: Settings = Settings(),
) -> tuple[LinearModel, Path]:
    """The model for this corpus and these libraries, from the cache or trained now."""
    folder = directory or cache_dir()
    key = model_key(extra_dir, settings)
    path = folder / f"klassificerare-{key[:24]}.npz"
    with _LOCK:
        if path.is_file() and not rebuild:
            try:
                return LinearModel.load(path), path
            except (OSError, ValueError, KeyError) as exc:  # a damaged file: train anew
                log.warning("the cached model %s is unreadable (%s); training a new one", path, exc)
        started = time.perf_counter()
        examples = training_examples(extra_dir)
        model = fit(
            examples,
            settings,
            meta={"key": key, "versions": _versions(), "extra": str(extra_dir or "")},
        )
        model.meta["training_seconds"] = round(time.perf_counter() - started, 2)
        try:
            model.save(path)
        except OSError as exc:  # a read-only home: classify anyway, train again next time
            log.warning("cannot write the model to %s: %s", path, exc)
        log.info(
            "trained the classifier on %d messages in %.1f s (%s)",
            len(examples),
            model.meta["training_seconds"],
            path,
        )
        _prune(folder, keep=path)
    return model, path


def _prune(folder: Path, keep: Path) -> None:
    """Remove models of older corpora or libraries: they can never be used again."""
    for old in folder.glob("klassificerare-*.npz"):
        if old != keep:
            with contextlib.suppress(OSError):  # another process may be using or removing it
                old.unlink()


def train(extra_dir: Path | None = None, *, directory: Path | None = None) -> Path:
    """Rebuild the model (``postvakt classifier train``) and return where it was written."""
    _model, path = load_model(extra_dir, directory=directory, rebuild=True)
    _DEFAULT.clear()
    return path


# --------------------------------------------------------------------------- classifying


class Classifier:
    """Classifies one message at a time; cheap to call, safe to share between threads.

    ``review_band`` is ``(low, high)``: a confidence in ``[low, high)`` means a person must
    confirm the verdict (``needs_review``), and an uncertain ``other`` becomes the likelier
    case label so that it is registered rather than dropped.  ``own_domains`` tell staff
    (whose forwarding notes are not read) from citizens; ``own_addresses`` are ignored as
    contact details.
    """

    def __init__(
        self,
        model: LinearModel,
        *,
        review_band: tuple[float, float] = DEFAULT_REVIEW_BAND,
        own_domains: Sequence[str] = (),
        own_addresses: Sequence[str] = (),
    ):
        low, high = review_band
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(
                f"granskningsintervallet {review_band} måste ligga inom 0–1, lägst först"
            )
        self.model = model
        self.review_band = (float(low), float(high))
        self.own_domains = tuple(own_domains)
        self.own_addresses = tuple(own_addresses)

    @classmethod
    def load(
        cls,
        *,
        extra_dir: Path | None = None,
        directory: Path | None = None,
        review_band: tuple[float, float] | None = None,
        own_domains: Sequence[str] = (),
        own_addresses: Sequence[str] = (),
    ) -> Classifier:
        """The model for the corpus (and ``extra_dir``), from the cache or trained now."""
        model, _path = load_model(extra_dir, directory=directory)
        return cls(
            model,
            review_band=DEFAULT_REVIEW_BAND if review_band is None else review_band,
            own_domains=own_domains,
            own_addresses=own_addresses,
        )

    def __call__(self, msg: IncomingMessage) -> Verdict:
        return self.classify(msg)

    def classify(self, msg: IncomingMessage) -> Verdict:
        from postvakt.classifier.reasons import explain

        citizen = citizen_text(msg, self.own_domains)
        doc = extract(citizen, explain=True, chars=False)
        scores, wvec, cvec = self.model.decision(doc)
        probs = _softmax(scores)
        best = int(np.argmax(probs))
        label = model_label = LABELS[best]
        confidence = float(probs[best])
        low, high = self.review_band
        needs_review = low <= confidence < high
        if needs_review and label is Label.OTHER:
            # Uncertain: register for a person to confirm rather than drop silently.
            label = Label.COMPLAINT if probs[0] >= probs[1] else Label.OPINION
        unsatisfied = None
        if citizen.reply or earlier_answer(citizen.body):
            unsatisfied = not_satisfied(citizen.body)
        # A complaint in a reply is a follow-up; an uncertain message made a case only for
        # review is not (yet) one.
        followup = bool(unsatisfied) or (citizen.reply and model_label is Label.COMPLAINT)
        if unsatisfied and label is not Label.COMPLAINT:
            label, needs_review = Label.COMPLAINT, needs_review or probs[0] < high
        anonymous = is_anonymous(citizen.message, self.own_addresses)
        inner = citizen.message
        personal = personal_data(f"{msg.subject}\n{msg.body_text}") or (
            inner is not msg and personal_data(f"{inner.subject}\n{inner.body_text}")
        )
        reasons = explain(
            self.model,
            doc,
            citizen,
            label=label,
            probs=probs,
            wvec=wvec,
            cvec=cvec,
            needs_review=needs_review,
            followup_phrase=unsatisfied if followup else None,
            followup=followup,
            anonymous=anonymous,
            personal_data=personal,
        )
        return Verdict(
            label=label,
            confidence=round(float(probs[LABELS.index(label)]), 3),
            reasons=reasons,
            needs_review=needs_review,
            anonymous=anonymous,
            followup_not_satisfied=followup,
            personal_data=personal,
            forwarded=citizen.forwarded,
            probabilities=tuple(
                (lab, round(float(p), 3)) for lab, p in zip(LABELS, probs, strict=True)
            ),
        )

    def probabilities(self, citizen: CitizenText) -> np.ndarray:
        return self.model.probabilities(extract(citizen))


_DEFAULT: dict[str, Classifier] = {}


def default_classifier() -> Classifier:
    """The classifier for the shipped corpus with the default review band, loaded once."""
    with _LOCK:
        found = _DEFAULT.get("default")
    if found is None:
        model, _path = load_model()
        found = Classifier(model)
        with _LOCK:
            _DEFAULT.setdefault("default", found)
    return found


def classify(msg: IncomingMessage) -> Verdict:
    """Complaint, opinion or other, with flags and reasons (the default model)."""
    return default_classifier().classify(msg)
