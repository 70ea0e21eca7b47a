"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragkit.assistant.local import Ragkit, open_ragkit
from ragkit.index.embed import SentenceTransformerEmbedder
from ragkit.index.onnxembed import OnnxEmbedder
from tests.conftest import SAMPLES


@pytest.fixture
def rk(embedder: SentenceTransformerEmbedder, onnx_embedder: OnnxEmbedder) -> Iterator[Ragkit]:
    """A facade over the test's own (empty) home, with the shared embedders."""
    instance = open_ragkit(embedder=embedder, query_embedder=onnx_embedder)
    yield instance
    instance.close()


@pytest.fixture
def samples_indexed(rk: Ragkit) -> None:
    """``rk`` with samples/ indexed (for the tests that ask questions)."""
    rk.index([SAMPLES])
