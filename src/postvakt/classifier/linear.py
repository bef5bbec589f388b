"""The trained model as plain arrays: what training compiles to and the cache stores.

A :class:`LinearModel` holds, for the word terms and for the character n-grams, the
vocabulary with its IDF weights and the coefficients per label (a :class:`Block` each), and
the intercepts.  Scoring a message needs only NumPy: the sparse, sublinear, L2-normalised
TF-IDF vector of each block (:class:`Vector`), the dot products, then the probabilities.
These are calibrated when training fitted a calibration (:class:`Calibration`: one sigmoid
per label over its score, normalised, as scikit-learn's ``CalibratedClassifierCV`` does; or
one temperature over the softmax), else the plain softmax.  A second, binary head on the same
vectors (:class:`CareHead`) says whether a message is about an individual's own care.

It is stored as one ``.npz`` file, never a pickle (:meth:`LinearModel.save`,
:meth:`LinearModel.load`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from postvakt.classifier.features import Doc, grams

__all__ = ["Block", "Calibration", "CareHead", "LinearModel", "Vector", "softmax", "terms_of"]


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


def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # the logistic function, without overflow


@dataclass(frozen=True)
class Calibration:
    """How scores become probabilities that mean what they say.

    ``sigmoid``: ``ab`` holds (a, b) per label; label k gets ``1 / (1 + exp(a·s_k + b))``,
    and the three are normalised to sum to one.  ``temperature``: the softmax of
    ``beta · scores``.  Both are fitted on predictions for messages the scoring model did not
    learn from (see :mod:`postvakt.classifier.training`).
    """

    kind: str
    ab: np.ndarray
    """(labels, 2) for ``sigmoid``; ``[[beta, 0]]`` for ``temperature``."""

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        if self.kind == "temperature":
            return softmax(self.ab[0, 0] * scores)
        seen = scores > -1e8  # a label training never saw keeps probability 0
        probs = np.where(seen, _expit(-(self.ab[:, 0] * scores + self.ab[:, 1])), 0.0)
        total = float(probs.sum())
        return probs / total if total > 0 else np.where(seen, 1.0 / max(int(seen.sum()), 1), 0.0)


@dataclass(frozen=True)
class CareHead:
    """A binary head over the same two vectors: about an individual's own care or not."""

    word_coef: np.ndarray
    char_coef: np.ndarray
    intercept: float
    ab: tuple[float, float] | None = None
    """A sigmoid calibration of the score, when one was fitted."""

    def probability(self, w: Vector, c: Vector) -> float:
        score = self.intercept
        if len(w.idx):
            score += float(w.values @ self.word_coef[w.idx])
        if len(c.idx):
            score += float(c.values @ self.char_coef[c.idx])
        if self.ab is not None:
            return float(_expit(-(self.ab[0] * score + self.ab[1])))
        return float(_expit(np.float64(score)))


@dataclass
class LinearModel:
    """A fitted model as plain arrays: what :func:`fit` produces and the cache stores."""

    words: Block
    chars: Block
    intercept: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    calibration: Calibration | None = None
    care: CareHead | None = None
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

    def probabilities_of(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities per label from :meth:`decision`'s scores."""
        return self.calibration(scores) if self.calibration is not None else softmax(scores)

    def probabilities(self, doc: Doc) -> np.ndarray:
        scores, _w, _c = self.decision(doc)
        return self.probabilities_of(scores)

    def care_probability(self, w: Vector, c: Vector) -> float:
        """How likely the message is about an individual's own care (0 without a care head)."""
        return self.care.probability(w, c) if self.care is not None else 0.0

    # -- storage -----------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write atomically: a reader never sees half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {
            "word_terms": np.array(self.terms_by_col or terms_of(self.words.vocab), dtype=np.str_),
            "word_idf": self.words.idf,
            "word_coef": self.words.coef,
            "char_terms": np.array(terms_of(self.chars.vocab), dtype=np.str_),
            "char_idf": self.chars.idf,
            "char_coef": self.chars.coef,
            "intercept": self.intercept,
            "meta": np.array(json.dumps(self.meta, ensure_ascii=False, sort_keys=True)),
        }
        if self.calibration is not None:
            arrays["calibration"] = self.calibration.ab
            arrays["calibration_kind"] = np.array(self.calibration.kind)
        if self.care is not None:
            arrays["care_word_coef"] = self.care.word_coef
            arrays["care_char_coef"] = self.care.char_coef
            arrays["care_intercept"] = np.array(
                [self.care.intercept, *(self.care.ab or (np.nan, np.nan))]
            )
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
            if "calibration" in data:
                model.calibration = Calibration(str(data["calibration_kind"]), data["calibration"])
            if "care_intercept" in data:
                intercept, a, b = (float(v) for v in data["care_intercept"])
                model.care = CareHead(
                    data["care_word_coef"],
                    data["care_char_coef"],
                    intercept,
                    None if np.isnan(a) else (a, b),
                )
        return model


def terms_of(vocab: dict[str, int]) -> list[str]:
    terms = [""] * len(vocab)
    for term, col in vocab.items():
        terms[col] = term
    return terms


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum()
