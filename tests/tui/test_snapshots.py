"""Snapshots of every screen (pytest-textual-snapshot). Answers come from a scripted model so
the pictures are stable; everything else is the real facade over an indexed samples/ copy.
Refresh after a deliberate UI change with: pytest tests/tui --snapshot-update"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import OptionList

from ragkit.answer.conversation import Conversation
from tests.conftest import README_QUESTION as QUESTION
from tests.helpers.scripted import ScriptedLLM
from tests.helpers.tui import ask, screen_text, until
from tui.app import RagkitApp
from tui.messages import Done
from tui.screens import ConversationsScreen, ModelScreen

SIZE = (150, 42)
ANSWER = (
    "<think>The question asks where the XML files go. Source 1 says each application installs one XML file "
    "into a packages directory.</think>Each application that wishes to contribute to the MIME database will "
    "install a single XML file, named after the application, into one of the three <MIME>/packages/ "
    "directories [1]."
)


def scripted_app(factory: Any) -> RagkitApp:
    def make() -> Any:
        rk = factory()
        rk.set_llm(ScriptedLLM(ANSWER, name="scripted-r1"))
        return rk

    return RagkitApp(factory=make, watch=False)


def options(pilot: Pilot[Any]) -> OptionList:
    return pilot.app.screen.query_one(OptionList)


async def ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    app.query_one("#ask").cursor_blink = False  # a blinking cursor makes pictures differ by timing
    await until(pilot, lambda: app.facade is not None and app.status)
    await until(pilot, lambda: "scripted-r1" in app.sub_title or "model" in app.sub_title)
    await pilot.pause()  # what is queued is handled (no time is waited)


def test_start_screen(snap_compare: Any, factory: Any) -> None:
    assert snap_compare(scripted_app(factory), terminal_size=SIZE, run_before=ready)


def test_answered_question_with_reasoning_and_cited_span(snap_compare: Any, factory: Any) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await ask(pilot, QUESTION)
        await until(pilot, lambda: any(isinstance(e, Done) for e in pilot.app.events))
        await until(pilot, lambda: "⟦" in str(pilot.app.query_one("#passage").render()))
        pilot.app.query_one(".reasoning-box").collapsed = False
        pilot.app.clear_notifications()
        await until(pilot, lambda: not pilot.app.query("Toast"), what="the notifications gone")
        drawn = lambda: "citations verified" in screen_text(pilot) and "Source 1 says" in screen_text(pilot)  # noqa: E731
        await until(pilot, drawn, what="the answer's state and its reasoning drawn")

    assert snap_compare(scripted_app(factory), terminal_size=SIZE, run_before=run)


def test_search_only_results(snap_compare: Any, factory: Any) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("ctrl+s")
        await ask(pilot, '"user id" OR uid*')
        await until(pilot, lambda: any(isinstance(e, Done) for e in pilot.app.events))
        await until(pilot, lambda: "⟦" in str(pilot.app.query_one("#passage").render()))
        pilot.app.clear_notifications()
        await until(pilot, lambda: not pilot.app.query("Toast"), what="the notifications gone")
        drawn = lambda: "passages in 1 files (the first" in screen_text(pilot)  # noqa: E731
        await until(pilot, drawn, what="the retrieval's counts drawn")  # not only set: painted

    assert snap_compare(scripted_app(factory), terminal_size=SIZE, run_before=run)


def test_help_screen(snap_compare: Any, factory: Any) -> None:
    assert snap_compare(scripted_app(factory), terminal_size=SIZE, press=["f1"], run_before=ready)


def test_model_picker(snap_compare: Any, factory: Any) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("ctrl+l")
        await until(pilot, lambda: isinstance(pilot.app.screen, ModelScreen) and options(pilot).option_count > 1)

    assert snap_compare(scripted_app(factory), terminal_size=SIZE, run_before=run)


def test_saved_conversations(snap_compare: Any, factory: Any, home: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        store = pilot.app.facade.conversations
        store.save(Conversation(id="a", title="Where do MIME packages go?", created=1_790_000_000.0))
        store.save(Conversation(id="b", title="Which user id does root have?", created=1_790_100_000.0))
        await pilot.press("ctrl+r")
        listed = lambda: isinstance(pilot.app.screen, ConversationsScreen) and options(pilot).option_count == 2  # noqa: E731
        await until(pilot, listed)

    assert snap_compare(scripted_app(factory), terminal_size=SIZE, run_before=run)


def test_problems_in_the_sidebar(snap_compare: Any, factory: Any, tmp_path: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        bad = tmp_path / "odd"
        bad.mkdir()
        (bad / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf\n")
        (bad / "binary.txt").write_bytes(bytes(range(256)) * 4)
        pilot.app.facade.index([bad], strict=False)
        pilot.app._poll_status()
        await until(pilot, lambda: len(pilot.app.status.get("failures", [])) == 2)
        await until(pilot, lambda: bool(pilot.app._notifications))  # the toast names the full path:
        pilot.app.clear_notifications()  # cleared, as temporary paths differ between runs
        await until(pilot, lambda: not pilot.app.query("Toast") and len(pilot.app.query("#problems Label")) == 2)

    assert snap_compare(scripted_app(factory), terminal_size=SIZE, run_before=run)
