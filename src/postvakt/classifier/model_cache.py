"""The classifier's model on disk: where it is kept, its key, loading it or training it anew.

The file is named by a key over the corpus (and any extra messages, and the people's
corrections it learned from), the library versions and the package's feature and model
code: when any of them changes, a new model is trained on first use (:func:`load_model`)
and written atomically; the models it replaces are removed.  The folder is
``$POSTVAKT_CACHE_DIR``, else the user's cache folder (``~/.cache/postvakt`` on Linux,
``~/Library/Caches/postvakt`` on macOS, ``%LOCALAPPDATA%\\postvakt\\Cache`` on Windows).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from postvakt.classifier.corpus import (
    CORPUS_DIR,
    Example,
    LabelledText,
    corpus_digest,
    load_corpus,
    load_labelled_dir,
    split,
    texts_digest,
)
from postvakt.classifier.features import FEATURES_VERSION
from postvakt.classifier.linear import LinearModel
from postvakt.classifier.training import DEFAULT_SETTINGS, Settings, fit

__all__ = [
    "MODEL_FORMAT",
    "cache_dir",
    "load_model",
    "model_key",
    "model_path",
    "store_model",
    "training_examples",
]

log = logging.getLogger("postvakt.classifier")

MODEL_FORMAT = 2
"""Bumped when the file layout or the training recipe changes; part of the cache key."""


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
    for name in (
        "features.py",
        "lexicon.py",
        "text.py",
        "forwarded.py",
        "webform.py",
        "linear.py",
        "training.py",
        "model_cache.py",
        "corpus.py",
    ):
        path = here / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"")
    digest.update(str(FEATURES_VERSION).encode())
    return digest.hexdigest()


def model_key(
    extra_dir: Path | None = None,
    settings: Settings = DEFAULT_SETTINGS,
    corrections: Sequence[LabelledText] = (),
) -> str:
    """The cache key: corpus (and extra messages, and corrections), library versions, code
    and recipe.  Without corrections the key is the one of the corpus alone."""
    parts: dict[str, Any] = {
        "format": MODEL_FORMAT,
        "corpus": corpus_digest(CORPUS_DIR, extra_dir),
        "versions": _versions(),
        "code": _code_digest(),
        "settings": settings.as_dict(),
    }
    if corrections:
        parts["corrections"] = texts_digest(corrections)
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def model_path(key: str, directory: Path | None = None) -> Path:
    """Where the model with cache key ``key`` is kept."""
    return (directory or cache_dir()) / f"klassificerare-{key[:24]}.npz"


def training_examples(
    extra_dir: Path | None = None, corrections: Sequence[LabelledText] = ()
) -> list[Example]:
    """The training part of the shipped corpus, then the organisation's own messages, then
    the people's corrections (:mod:`postvakt.classifier.learning`)."""
    train_part, _held_out = split(load_corpus())
    if extra_dir is not None:
        train_part += load_labelled_dir(extra_dir)
    train_part += [c.example() for c in corrections]
    return train_part


_LOCK = threading.Lock()


def load_model(
    extra_dir: Path | None = None,
    *,
    directory: Path | None = None,
    rebuild: bool = False,
    settings: Settings = DEFAULT_SETTINGS,
    corrections: Sequence[LabelledText] = (),
) -> tuple[LinearModel, Path]:
    """The model for this corpus (with ``extra_dir`` and ``corrections``) and these
    libraries, from the cache or trained now."""
    folder = directory or cache_dir()
    key = model_key(extra_dir, settings, corrections)
    path = model_path(key, folder)
    with _LOCK:
        if path.is_file() and not rebuild:
            try:
                return LinearModel.load(path), path
            except (OSError, ValueError, KeyError) as exc:  # a damaged file: train anew
                log.warning("the cached model %s is unreadable (%s); training a new one", path, exc)
        started = time.perf_counter()
        examples = training_examples(extra_dir, corrections)
        model = fit(
            examples,
            settings,
            meta={
                "key": key,
                "versions": _versions(),
                "extra": str(extra_dir or ""),
                "corrections": len(corrections),
            },
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


def store_model(model: LinearModel, path: Path) -> None:
    """Write ``model`` to ``path`` in the cache (atomically) and remove the models it
    replaces; ``OSError`` when it cannot be written."""
    with _LOCK:
        model.save(path)
        _prune(path.parent, keep=path)


def _prune(folder: Path, keep: Path) -> None:
    """Remove models of older corpora or libraries: they can never be used again."""
    for old in folder.glob("klassificerare-*.npz"):
        if old != keep:
            with contextlib.suppress(OSError):  # another process may be using or removing it
                old.unlink()
