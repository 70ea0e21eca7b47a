"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragkit.embed import SentenceTransformerEmbedder
from ragkit.facade import Ragkit, open_ragkit


@pytest.fixture
def rk(embedder: SentenceTransformerEmbedder) -> Iterator[Ragkit]:
    """A facade over the test's own (empty) home, with the shared embedder."""
    instance = open_ragkit(embedder=embedder)
    yield instance
    instance.close()
