"""Driving the terminal UI in a test: waiting on the app's state (never on time), reading
the screen as a snapshot shows it, asking a question."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot


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


async def answered(pilot: Pilot[Any], text: str, llm: Any = None) -> Any:
    """Ask ``text`` (of ``llm`` when given, set on the facade first) and wait for the app's
    own Done message; return it."""
    from tui.messages import Done

    app = pilot.app
    await until(pilot, lambda: app.facade is not None, what="the facade")
    if llm is not None:
        app.facade.set_llm(llm)
    await ask(pilot, text)
    await until(pilot, lambda: any(isinstance(e, Done) for e in app.events), what="the answer")
    return next(e for e in app.events if isinstance(e, Done))
