"""The trained model as plain arrays: what training compiles to and the cache stores.

A :class:`LinearModel` holds, for the word terms and for the character n-grams, the
vocabulary with its IDF weights and the coefficients per label (a :class:`Block` each), and
the intercepts.  Scoring a message needs only NumPy: the sparse, sublinear, L2-normalised
TF-IDF vector of each block (:class:`Vector`), the dot products, the softmax.  It is stored
as one ``.npz`` file, never a pickle (:meth:`LinearModel.save`, :meth:`LinearModel.load`).
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

__all__ = ["Block", "LinearModel", "Vector", "softmax", "terms_of"]


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
        return softmax(scores)

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


def terms_of(vocab: dict[str, int]) -> list[str]:
    terms = [""] * len(vocab)
    for term, col in vocab.items():
        terms[col] = term
    return terms


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum()
