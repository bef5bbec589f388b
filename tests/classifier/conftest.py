"""The shipped corpus and the model trained from it, built once per test session (into the
session's own cache folder, see ``model_cache`` in ``tests/conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from postvakt.classifier.corpus import Example, load_corpus, split
from postvakt.classifier.model import Classifier, LinearModel, load_model


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


@pytest.fixture(scope="session")
def loso(corpus: list[Example]):
    """Each source held out once, the model trained on the others (a few seconds each)."""
    from postvakt.classifier.sources import leave_one_source_out

    return leave_one_source_out(corpus)
