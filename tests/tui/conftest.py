"""Fixtures for the TUI tests: a real facade over an indexed copy of samples/, built by the
same factory the CLI uses, and helpers to wait on app state with a deadline."""

from __future__ import annotations

import html
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

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


async def until(pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 600, what: str = "") -> None:
    """Let the app run until ``condition()`` holds, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.05)


def screen_text(pilot: Pilot[Any]) -> str:
    """The screen as the snapshot will show it: the screenshot's text, one line per row."""
    svg = pilot.app.export_screenshot()
    rows: dict[float, list[tuple[float, str]]] = {}
    for x, y, text in re.findall(r'<text[^>]*\bx="([\d.]+)"[^>]*\by="([\d.]+)"[^>]*>(.*?)</text>', svg, re.S):
        rows.setdefault(float(y), []).append((float(x), html.unescape(re.sub("<[^>]+>", "", text))))
    return "\n".join("".join(t for _, t in sorted(rows[y])).replace("\xa0", " ") for y in sorted(rows))


async def ask(pilot: Pilot[Any], text: str) -> None:
    app = pilot.app
    await until(pilot, lambda: app.facade is not None, what="the facade")
    ask_input = app.query_one("#ask")
    ask_input.focus()
    ask_input.value = text
    await pilot.press("enter")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Textual runs on asyncio; anyio's pytest plugin runs the async tests
