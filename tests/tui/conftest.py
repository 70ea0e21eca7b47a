"""Fixtures for the TUI tests: a real facade over an indexed copy of samples/, built by the
same factory the CLI uses (waiting on the app: tests/helpers/tui.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ragkit.assistant.local import Ragkit, open_ragkit
from ragkit.index.embed import SentenceTransformerEmbedder
from ragkit.index.onnxembed import OnnxEmbedder
from tests.conftest import SAMPLES


@pytest.fixture(scope="session")
def indexed_home(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Path:
    home = tmp_path_factory.mktemp("tui-home")
    rk = open_ragkit(embedder=embedder, home=home)
    rk.index([SAMPLES])
    rk.close()
    return home


@pytest.fixture
def home(indexed_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the indexed home, so a test may change it."""
    target = tmp_path / "home"
    shutil.copytree(indexed_home, target)
    monkeypatch.setenv("RAGKIT_HOME", str(target))
    return target


@pytest.fixture
def factory(home: Path, embedder: SentenceTransformerEmbedder, onnx_embedder: OnnxEmbedder) -> Callable[[], Ragkit]:
    made: list[Ragkit] = []

    def make() -> Ragkit:
        made.append(open_ragkit(embedder=embedder, query_embedder=onnx_embedder))
        return made[-1]

    yield make  # type: ignore[misc]
    for rk in made:
        rk.close()
