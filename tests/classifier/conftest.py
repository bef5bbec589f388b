"""The shipped corpus and the model trained from it, built once per test session.

The model is trained into a folder of the session's own (``POSTVAKT_CACHE_DIR``), exactly as
the first use in production trains it: the tests neither read nor write the user's cache.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from postvakt.classifier import model as model_module
from postvakt.classifier.corpus import Example, load_corpus, split
from postvakt.classifier.model import Classifier, LinearModel, load_model


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("modell")
    before = os.environ.get("POSTVAKT_CACHE_DIR")
    os.environ["POSTVAKT_CACHE_DIR"] = str(folder)
    model_module._DEFAULT.clear()
    try:
        yield folder
    finally:
        model_module._DEFAULT.clear()
        if before is None:
            os.environ.pop("POSTVAKT_CACHE_DIR", None)
        else:
            os.environ["POSTVAKT_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def corpus() -> list[Example]:
    return load_corpus()


@pytest.fixture(scope="session")
def held_out(corpus: list[Example]) -> list[Example]:
    return split(corpus)[1]


@pytest.fixture(scope="session")
def trained(model_cache: Path) -> tuple[LinearModel, Path]:
    """The shipped model: trained on first use, from the cache afterwards."""
    return load_model()


@pytest.fixture(scope="session")
def classifier(trained: tuple[LinearModel, Path]) -> Classifier:
    return Classifier(trained[0])
