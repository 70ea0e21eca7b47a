"""Every interaction of the terminal UI, driven headless with Pilot over a real facade."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest
from textual.binding import Binding
from textual.command import CommandList, CommandPalette
from textual.widgets import Collapsible, Input, ListView, OptionList, Static

from ragkit.assistant.local import NOT_FOUND
from ragkit.core.config import update_config_file
from ragkit.llm import GenerationParams, Message
from tests.conftest import README_QUESTION as QUESTION
from tests.helpers.scripted import ScriptedLLM
from tests.helpers.tui import answered, ask, until
from tui.app import RagkitApp
from tui.messages import (
    Cancelled,
    ConversationLoaded,
    Done,
    FacadeReady,
    Failed,
    Listed,
    PassageLoaded,
    Synced,
    SyncProgress,
)
from tui.screens import ConversationsScreen, HelpScreen, ModelScreen
from tui.widgets import Sidebar, TurnView

pytestmark = pytest.mark.anyio
SIZE = (150, 45)


class SlowLLM(ScriptedLLM):
    """Thinks one word every 50 ms for about a minute (for cancelling)."""

    def __init__(self) -> None:
        super().__init__("<think>" + " ".join(f"thought{i}" for i in range(1200)), name="slow-model")
        self.stopped = threading.Event()

    def _pieces(
        self, messages: Sequence[Message], params: GenerationParams, prefix: str, max_tokens: int
    ) -> Iterator[str]:
        try:
            for piece in super()._pieces(messages, params, prefix, 10_000):
                time.sleep(0.05)
                yield piece
        finally:
            self.stopped.set()


@pytest.fixture
def viewer_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file a stand-in viewer (RAGKIT_VIEWER) writes its arguments to when it is opened."""
    record = tmp_path / "opened.txt"
    script = tmp_path / "viewer.py"
    script.write_text(f"import sys; open({str(record)!r}, 'w').write(' '.join(sys.argv[1:]))")
    monkeypatch.setenv("RAGKIT_VIEWER", f"{sys.executable} {script} --page={{page}} {{path}}")
    return record


def citing_llm(app: RagkitApp) -> ScriptedLLM:
    hit = app.facade.search(QUESTION)[0]
    sentence = next(s for s in hit.text.replace("\n", " ").split(". ") if len(s.split()) > 12) + "."
    return ScriptedLLM(f"<think>Source 1 says where the files go.</think>{sentence} [1]", name="citing-model")


async def test_the_ui_shows_at_once_and_the_facade_loads_in_the_background(factory: Any) -> None:
    gate = threading.Event()

    def slow_factory() -> Any:
        gate.wait(30)
        return factory()

    app = RagkitApp(factory=slow_factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.query_one("#ask", Input).has_focus and app.facade is None
        app.query_one("#ask", Input).value = "too early"
        await pilot.press("enter")
        await until(pilot, lambda: any("Still opening the index" in n.message for n in app._notifications))
        assert not app.query(TurnView)  # asked before the index opened: a notice, no crash
        gate.set()
        await until(pilot, lambda: app.facade is not None)
        chunks = app.facade.status()["chunks"]
        assert chunks > 50  # the samples, indexed by the factory
        await until(pilot, lambda: f"{chunks} chunks" in str(app.query_one("#index", Static).render()))
        assert any(isinstance(e, FacadeReady) for e in app.events)


async def test_a_question_streams_an_answer_with_verified_citations_and_the_cited_span(factory: Any) -> None:
    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, QUESTION)
        await until(pilot, lambda: any(isinstance(e, Done) for e in app.events), what="the answer")
        view = app.query_one(TurnView)
        done = next(e for e in app.events if isinstance(e, Done))
        assert view.result == done.result and done.result["citations"]
        assert view.answer_text  # the streamed text (the real packaged model)
        retrieval = str(view.query_one(".retrieval", Static).render())
        assert "query: " + QUESTION in retrieval and "shared-mime-info-spec.pdf" in retrieval
        assert "score ≥ 0.2" in retrieval and done.result["retrieval"]["hits"][0]["score"] > 0.2
        sources = app.query_one("#sources", ListView)
        assert len(sources.children) == len(done.result["citations"])
        await until(pilot, lambda: "⟦" in str(app.query_one("#passage", Static).render()), what="the passage")
        passage = str(app.query_one("#passage", Static).render())
        first = done.result["citations"][0]
        span = passage.split("⟦", 1)[1].split("⟧", 1)[0]
        assert span == first["quote"]
        assert app.conversation.turns and app.conversation.turns[0].question == QUESTION


async def test_reasoning_streams_into_its_own_section_and_folds_away(factory: Any) -> None:
    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None)
        app.facade.set_llm(citing_llm(app))
        await ask(pilot, QUESTION)
        await until(pilot, lambda: any(isinstance(e, Done) for e in app.events))
        view = app.query_one(TurnView)
        assert view.reasoning_text == "Source 1 says where the files go."
        assert "Source 1 says" not in view.answer_text
        assert view.query_one(".reasoning-box", Collapsible).collapsed
        assert view.result and view.result["grounded"] and view.result["citations"][0]["by"] == "model"
        # the [1] in the answer is a link that selects citation 1
        await app.run_action("cite(1)")
        assert app.query_one("#sources", ListView).index == 0 and app.selected and app.selected["n"] == 1


async def test_escape_cancels_a_generation_and_the_app_stays_responsive(factory: Any) -> None:
    app = RagkitApp(factory=factory, watch=False)
    slow = SlowLLM()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None)
        app.facade.set_llm(slow)
        await ask(pilot, QUESTION)
        view = app.query_one(TurnView)
        await until(pilot, lambda: len(view.reasoning_text.split()) >= 3, what="streaming")
        app.query_one("#ask", Input).value = "typing while it answers"
        await pilot.press("escape")
        await until(pilot, lambda: any(isinstance(e, Cancelled) for e in app.events), what="the cancel")
        assert app.answering is None and slow.stopped.wait(5)
        assert "cancelled" in view.state and not app.conversation.turns
        assert len(view.reasoning_text.split()) < 1000  # stopped long before the end
        assert app.query_one("#ask", Input).value == "typing while it answers"


async def test_a_problem_file_appears_in_the_sidebar_while_the_app_runs(factory: Any, tmp_path: Path) -> None:
    docs = tmp_path / "watched"
    docs.mkdir()
    (docs / "fine.txt").write_text("A perfectly readable note about the weather.\n")
    update_config_file("watch", "folders", [str(docs)])
    app = RagkitApp(factory=factory, watch=True, status_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.status.get("watcher", {}).get("live"), what="the watcher")
        assert "live (here)" in str(app.query_one("#sync", Static).render())
        (docs / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
        problems = app.query_one("#problems", ListView)
        await until(pilot, lambda: len(problems.query("ListItem Label")) == 1, what="the problem file's row, mounted")
        assert problems.children[0].name == str(docs / "broken.pdf")
        assert "broken.pdf" in str(app.query_one(Sidebar).query_one("#problems").children[0].query_one(Static).render())
        assert any("broken.pdf" in n.message for n in app._notifications)
        assert any(isinstance(e, SyncProgress) for e in app.events)  # the sidebar's progress bar was fed


async def test_a_saved_search_that_matches_a_new_file_is_a_notification(factory: Any, tmp_path: Path) -> None:
    docs = tmp_path / "watched"
    docs.mkdir()
    (docs / "fine.txt").write_text("A perfectly readable note about the weather.\n")
    update_config_file("watch", "folders", [str(docs)])
    setup = factory()
    setup.save_search("herons", "heron*")
    app = RagkitApp(factory=factory, watch=True, status_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.status.get("watcher", {}).get("live"), what="the watcher")
        assert not any("Saved search" in (n.title or "") for n in app._notifications)
        (docs / "birds.txt").write_text("Grey herons stand still in the shallows.\n")
        await until(
            pilot,
            lambda: any(n.title == "Saved search herons" for n in app._notifications),
            timeout=60,
            what="the saved search's notification",
        )
        (note,) = [n for n in app._notifications if n.title == "Saved search herons"]
        assert "1 new match" in note.message and "ragkit searches run herons" in note.message


async def test_search_only_mode_answers_from_the_index_without_the_model(factory: Any) -> None:
    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None)
        recorder = ScriptedLLM("never used")
        app.facade.set_llm(recorder)
        await pilot.press("ctrl+s")
        assert app.search_only and "search only" in app.sub_title
        await ask(pilot, "which user id does root have")
        await until(pilot, lambda: any(isinstance(e, Done) for e in app.events))
        done = next(e for e in app.events if isinstance(e, Done))
        assert done.result["search"] and Path(done.result["sources"][0]["path"]).name == "users-and-groups.txt"
        assert recorder.calls == []
        assert len(app.query_one("#sources", ListView).children) == len(done.result["sources"])


async def test_f4_tags_the_selected_sources_file_and_tag_filters_find_it(factory: Any) -> None:
    from tui.screens import TagScreen

    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None)
        await pilot.press("ctrl+s")
        await ask(pilot, "which user id does root have")
        await until(pilot, lambda: any(isinstance(e, Done) for e in app.events))
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, TagScreen), what="the tag screen")
        assert "none yet" in str(app.screen.query_one("#tags-now", Static).render())
        app.screen.query_one("#tag-input", Input).value = "accounts Review"
        await pilot.press("enter")
        facade = app.facade
        await until(pilot, lambda: len(facade.marks("tag")) == 2, what="the tags saved")
        tagged = {Path(m["path"]).name for m in facade.marks("tag")}
        assert tagged == {"users-and-groups.txt"}  # the first source's file, as none was picked
        found = await anyio.to_thread.run_sync(lambda: facade.find("root tag:review", 0, 10))
        assert {Path(p).name for p, _ in found.files} == {"users-and-groups.txt"}
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, TagScreen), what="the tag screen again")
        assert "accounts, review" in str(app.screen.query_one("#tags-now", Static).render())


async def test_f5_shows_the_timeline_and_a_bar_lists_its_documents(factory: Any) -> None:
    from tui.screens import PeriodScreen, TimelineScreen

    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None)
        facade = app.facade
        expected = await anyio.to_thread.run_sync(lambda: facade.timeline(None, "month"))
        await pilot.press("f5")
        await until(pilot, lambda: isinstance(app.screen, TimelineScreen), what="the timeline")
        bars = app.screen.query_one("#timeline", OptionList)
        assert bars.option_count == len(expected) > 0
        labels = [str(bars.get_option_at_index(i).prompt) for i in range(bars.option_count)]
        assert [label.split()[0] for label in labels] == [p["period"] for p in expected]
        bars.highlighted = 0
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PeriodScreen), what="the month's documents")
        shown = str(app.screen.query_one("#period-files", Static).render())
        files = await anyio.to_thread.run_sync(lambda: facade.library.keywords.dated(None))
        month = [Path(path).name for path, day, _ in files if day.startswith(expected[0]["period"])]
        assert len(month) == expected[0]["files"] and all(name in shown for name in month)


async def test_f6_asks_every_matching_file_and_shows_each_row_as_it_comes(factory: Any) -> None:
    from textual.widgets import DataTable

    from tui.screens import EachRowsScreen, EachScreen

    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None)
        facade = app.facade
        question, query = "Where are the XML files installed?", "file OR installed"
        total, rows = await anyio.to_thread.run_sync(lambda: facade.ask_each(question, query, "extract"))
        expected = await anyio.to_thread.run_sync(lambda: [r.as_dict() for r in rows])
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, EachScreen), what="the each screen")
        app.screen.query_one("#each-query", Input).value = query
        app.screen.query_one("#each-question", Input).value = question
        app.screen.query_one("#each-question", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EachRowsScreen), what="the rows")
        shown = app.screen
        table = shown.query_one("#each-rows", DataTable)
        await until(pilot, lambda: "(done)" in str(shown.query_one("#each-progress", Static).render()),
                    what="every file asked")  # fmt: skip
        assert table.row_count == total == len(expected) > 1
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert names == [Path(r["path"]).name for r in expected]
        marks = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert marks == ["✓" if r["answered"] else "—" for r in expected]
        said = str(shown.query_one("#each-progress", Static).render())
        assert f"{total} of {total} files asked, {sum(r['answered'] for r in expected)} answered" in said


async def test_search_mode_takes_the_query_language_counts_highlights_and_opens_the_page(
    factory: Any, viewer_record: Path
) -> None:
    record = viewer_record
    query = "glob* OR magic type:pdf"
    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None)
        expected = app.facade.find(query, 0, None)
        assert expected.total > 1 and all(h.page for h in expected.hits)
        await pilot.press("ctrl+s")
        await ask(pilot, query)
        await until(pilot, lambda: any(isinstance(e, Done) for e in app.events))
        done = next(e for e in app.events if isinstance(e, Done))
        assert done.result["retrieval"]["exact"]["total"] == expected.total
        assert [(f["path"], f["count"]) for f in done.result["retrieval"]["exact"]["files"]] == expected.files
        turn = app.query_one(TurnView)
        assert f"{expected.total} passages in 1 files" in turn.state
        assert f"{expected.total} passages" in str(turn.query_one(".retrieval", Static).render())
        assert len(app.query_one("#sources", ListView).children) == min(expected.total, 50)
        # the first hit's passage shows with the matched words marked, each one a match
        await until(pilot, lambda: any(isinstance(e, PassageLoaded) for e in app.events), what="the passage")
        passage = next(e for e in app.events if isinstance(e, PassageLoaded)).passage
        marked = [passage["span"][a:b].lower() for a, b in passage["matches"]]
        assert marked and all(w == "magic" or w.startswith("glob") for w in marked)
        rendered = app.query_one("#passage", Static).render()
        styles = [str(span.style) for span in getattr(rendered, "spans", [])]
        assert sum("on ansi_red" in style for style in styles) == len(passage["matches"]), styles
        await pilot.press("ctrl+o")
        await until(pilot, lambda: record.exists() and record.read_text(), timeout=30, what="the viewer")
        first = expected.hits[0]
        assert record.read_text() == f"--page={first.page} {first.path}"
        # not a valid query, or no exact match: the closest passages by meaning, saying so
        await ask(pilot, "how do I install it (offline)?")
        await until(pilot, lambda: sum(isinstance(e, Done) for e in app.events) == 2)
        fallback = [e for e in app.events if isinstance(e, Done)][1].result
        assert "not an exact query" in fallback["retrieval"]["note"] and fallback["sources"]


async def test_conversations_are_saved_and_reopened(factory: Any) -> None:
    app = RagkitApp(factory=factory, watch=False)
    filled_when_loaded: list[bool] = []

    class Events(list[Any]):  # what was on screen at the moment the reopened conversation was recorded
        def append(self, message: Any) -> None:
            if isinstance(message, ConversationLoaded):
                views = app.query(TurnView)
                filled_when_loaded.append(
                    len(views) == 1 and views[0].result is not None and bool(app.query("#sources Label"))
                    and "query:" in str(views[0].query_one(".retrieval", Static).render())
                )  # fmt: skip
            super().append(message)

    app.events = Events()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None)
        app.facade.set_llm(citing_llm(app))
        await ask(pilot, QUESTION)
        await until(pilot, lambda: any(isinstance(e, Done) for e in app.events))
        saved_id = app.conversation.id
        await pilot.press("ctrl+n")
        await until(pilot, lambda: not app.query(TurnView), what="the transcript cleared")
        assert app.conversation.id != saved_id
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ConversationsScreen))
        options = app.screen.query_one(OptionList)
        assert options.option_count == 1
        options.focus()
        await pilot.press("enter")
        await until(pilot, lambda: any(isinstance(e, ConversationLoaded) for e in app.events), what="the reopening")
        assert filled_when_loaded == [True]  # its turn mounted and filled, not still composing
        assert app.conversation.id == saved_id
        view = app.query_one(TurnView)
        assert view.result and view.result["grounded"]


async def test_the_model_picker_lists_installed_and_pullable_models(factory: Any) -> None:
    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None)
        await pilot.press("ctrl+l")
        await until(pilot, lambda: isinstance(app.screen, ModelScreen))
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids[0] == "smollm2-135m" and "r1-qwen-1.5b" in ids
        assert options.get_option("r1-qwen-1.5b").disabled  # not downloaded: shown with the pull command
        options.focus()
        options.highlighted = 0
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, ModelScreen))
        assert app.model == "smollm2-135m"


# the keys the README promises, each with a word its help line must use (written here, not
# read from the app, so a key that is dropped or renamed fails the test)
PROMISED_KEYS = {
    "ctrl+s": "search",
    "ctrl+n": "new",
    "ctrl+r": "conversations",
    "ctrl+l": "model",
    "ctrl+t": "reasoning",
    "ctrl+g": "mode",
    "ctrl+o": "open",
    "escape": "cancel",
    "f1": "help",
    "ctrl+p": "command",
    "f2": "entities",
    "f3": "thread",
    "f4": "tag",
    "f5": "timeline",
    "f6": "every",
}


async def test_help_lists_every_promised_key(factory: Any) -> None:
    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        lines = str(app.screen.query_one("#help-text", Static).render()).lower().splitlines()
        for key, word in PROMISED_KEYS.items():
            line = next((line for line in lines if key in line.split()), None)
            assert line is not None, f"{key} is not in the help screen"
            assert word in line, f"{key}'s help line does not say what it does: {line!r}"
        bound = {b.key for b in RagkitApp.BINDINGS if isinstance(b, Binding)}
        assert set(PROMISED_KEYS) - {"ctrl+p"} <= bound  # ctrl+p is Textual's own palette key
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_the_command_palette_runs_ragkit_commands(factory: Any) -> None:
    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the command palette")
        for key in "search-only":
            await pilot.press(key)
        options = app.screen.query_one(CommandList)
        await until(pilot, lambda: options.highlighted is not None and "search-only" in
                    str(options.get_option_at_index(options.highlighted).prompt), what="the command found")  # fmt: skip
        await pilot.press("enter")
        await until(pilot, lambda: app.search_only, what="search-only mode from the palette")


async def test_a_key_opens_the_cited_file_in_the_viewer(factory: Any, viewer_record: Path) -> None:
    record = viewer_record
    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None)
        app.facade.set_llm(citing_llm(app))
        await ask(pilot, QUESTION)
        await until(pilot, lambda: app.selected is not None, what="a selected citation")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: record.exists() and record.read_text(), timeout=30, what="the viewer")
        selected = app.selected
        assert selected is not None
        assert record.read_text() == f"--page={selected['page']} {selected['path']}"


async def test_errors_are_notifications_with_the_fix_never_a_crash(
    embedder: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragkit.assistant.local import open_ragkit

    monkeypatch.setenv("RAGKIT_HOME", str(tmp_path / "empty-home"))
    app = RagkitApp(factory=lambda: open_ragkit(embedder=embedder), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "anything at all?")
        await until(pilot, lambda: any(isinstance(e, Failed) for e in app.events))
        failed = next(e for e in app.events if isinstance(e, Failed))
        assert "ragkit index PATH" in failed.error
        assert any("ragkit index PATH" in n.message for n in app._notifications)
        assert "failed" in app.query_one(TurnView).state and app.answering is None
        app.facade.close()


async def test_an_unverifiable_answer_says_the_documents_do_not_contain_it(factory: Any) -> None:
    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None)
        app.facade.set_llm(ScriptedLLM("It was invented on the moon in 1847 by 12 astronomers.", name="fabricator"))
        app.answer_mode = "generate"  # the model's answer only (auto would quote the evidence instead)
        await ask(pilot, QUESTION)
        await until(pilot, lambda: any(isinstance(e, Done) for e in app.events))
        view = app.query_one(TurnView)
        assert str(view.query_one(".answer", Static).render()) == NOT_FOUND
        assert view.result and view.result["draft"].startswith("It was invented")


async def test_quitting_mid_catch_up_stops_the_watcher_and_keeps_the_index_consistent(
    factory: Any, home: Path, tmp_path: Path, embedder: Any
) -> None:
    from ragkit.assistant.local import open_ragkit
    from tests.helpers.documents import many_files
    from tests.helpers.index import assert_consistent

    folder = many_files(tmp_path / "watched", 300)
    update_config_file("watch", "folders", [str(folder)])
    app = RagkitApp(factory=factory, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(
            pilot,
            lambda: any(isinstance(e, SyncProgress) and e.done >= 10 for e in app.events),
            what="the watcher's catch-up to be under way",
        )
        live = app.live
    assert live is not None
    finished = await anyio.to_thread.run_sync(live.finished.wait, 30)  # the event loop keeps running
    assert finished, "the watcher still runs after the app quit"
    after = open_ragkit(embedder=embedder)
    assert_consistent(after)
    assert after.status()["files"] < 5 + 300  # the 5 samples and part of the 300: stopped before the end
    after.close()


class NoModel(ScriptedLLM):
    def _pieces(self, *args: object, **kwargs: object):  # type: ignore[no-untyped-def, override]
        raise AssertionError("extract mode called the model")


async def test_ctrl_g_switches_to_quoted_answers_without_the_model(factory: Any) -> None:
    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None)
        assert app.answer_mode == "auto" and "answers: auto" in app.sub_title
        await pilot.press("ctrl+g", "ctrl+g")
        assert app.answer_mode == "extract" and "answers: extract" in app.sub_title
        app.rk.set_llm(NoModel("unused", name="no-model"))
        await ask(pilot, QUESTION)
        await until(pilot, lambda: any(isinstance(e, Done) for e in app.events), what="the quoted answer")
        done = next(e for e in app.events if isinstance(e, Done))
        assert done.result["mode"] == "extract" and done.result["grounded"]
        shown = str(app.query_one(TurnView).query_one(".answer", Static).render())
        assert shown.startswith(done.result["answer"].split(" [")[0])


async def test_a_workers_message_that_lands_as_the_app_shuts_down_is_recorded_and_shown_nowhere(
    factory: Any,
) -> None:
    """A passage loaded on a worker thread can land while the app shuts down (seen on a busy
    machine: its pane was already gone, and showing it raised at exit). Handled then, it is
    recorded and touches no widget."""
    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None)
    late = PassageLoaded({"path": "x.txt", "before": "", "span": "late", "after": "", "n": 1})
    app.on_passage_loaded(late)  # the app has shut down: its screen and panes are gone
    assert app.events[-1] is late
    # the watcher's and a list's messages likewise touch nothing (a list's would open a screen)
    app.on_synced(Synced())
    app.on_listed(Listed("thread", [{"subject": "late", "messages": []}]))
    assert app.screen_stack == []


async def test_sentences_that_did_not_verify_are_struck_through_and_marked(factory: Any) -> None:
    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None)
        hit = app.rk.search(QUESTION)[0]
        backed = next(s for s in hit.text.replace("\n", " ").split(". ") if len(s.split()) > 12)
        made_up = "The files are never installed anywhere on Tuesdays"
        app.rk.set_llm(ScriptedLLM(f"{backed} [1]. {made_up} [1].", name="half-right"))
        app.answer_mode = "generate"  # (auto would quote the evidence instead of a half-backed answer)
        await ask(pilot, QUESTION)
        await until(pilot, lambda: any(isinstance(e, Done) for e in app.events), what="the answer")
        answer = app.query_one(TurnView).query_one(".answer", Static)
        text = answer.render()
        assert f"{made_up} [1]. ✗" in str(text)
        struck = [span for span in text.spans if "strike" in str(span.style)]  # type: ignore[union-attr]
        assert len(struck) == 1 and str(text)[struck[0].start : struck[0].end] == f"{made_up} [1]."


async def test_a_question_for_a_database_shows_its_rows_in_a_table_and_its_sql(factory: Any, home: Path) -> None:
    """Routed to Chinook (added in the config), with a scripted SQL writer at the model seam."""
    from textual.widgets import DataTable

    from tests.conftest import shared_data
    from tests.helpers.scripted import FunctionLLM

    chinook = shared_data("chinook", "Chinook_Sqlite.sqlite")
    update_config_file("databases", "chinook", {"url": f"sqlite:///{chinook}"})
    update_config_file("db", "sql_mode", "model")  # the model's SQL, not the rules'
    sql = "SELECT BillingCountry, count(*) FROM Invoice GROUP BY BillingCountry ORDER BY 2 DESC, 1 LIMIT 5"

    def writer(messages: list[Message]) -> str:
        return "Here they are." if messages[0]["content"].startswith("Answer the question") else f"```sql\n{sql}\n```"

    app = RagkitApp(factory=factory, watch=False)
    on_screen_when_done: list[bool] = []

    class Events(list[Any]):  # what was on screen at the moment Done was recorded
        def append(self, message: Any) -> None:
            if isinstance(message, Done):
                on_screen_when_done.append(bool(app.query("TurnView DataTable") and app.query("#sources Label")))
            super().append(message)

    app.events = Events()
    async with app.run_test(size=SIZE) as pilot:
        question = "Which billing countries have the most invoices?"
        done = await answered(pilot, question, FunctionLLM(writer, "sql-writer"))
        assert on_screen_when_done == [True]  # so a test waiting on Done never queries a row still mounting
        assert done.result["mode"] == "sql" and done.result["route"]["database"] == "chinook"
        view = app.query_one(TurnView)
        table = view.query_one(DataTable)
        assert table.row_count == 5 and next(str(c.label) for c in table.columns.values()) == "BillingCountry"
        assert table.get_row_at(0)[0] == "USA"  # the most invoices (the gold rows, read from the database)
        assert "5 rows" in view.state and "db:chinook" in view.state
        shown = str(view.query_one(".retrieval", Static).render())  # the route, the statement tried, the one run
        assert "routed to db:chinook" in shown and "1. " + sql in shown and "ran: " + sql.lower() in shown.lower()
        assert "db:chinook" in str(app.query_one("#sources", ListView).children[0].query_one("Label").render())
        assert "ran: " + sql.lower() in str(app.query_one("#passage", Static).render()).lower()
        assert not app.conversation.turns  # a database's answer is not a turn of the conversation


async def test_a_legacy_database_is_answered_by_the_rules_and_shown_decoded(
    factory: Any, home: Path, tmp_path: Path
) -> None:
    """A database an older program wrote in cp1252, with a table named with a space: routed
    to, answered by the rules (no model asked for SQL), its text shown as it was meant."""
    from textual.widgets import DataTable

    from tests.db.test_legacy_text import legacy_db
    from tests.helpers.scripted import FunctionLLM

    update_config_file("databases", "office", {"url": f"sqlite:///{legacy_db(tmp_path / 'office.db')}"})
    asked_for_sql: list[str] = []

    def writer(messages: list[Message]) -> str:
        asked_for_sql.append(messages[-1]["content"])
        return "```sql\nSELECT 1\n```"

    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        done = await answered(pilot, "Which order details were shipped to Kraków?", FunctionLLM(writer, "sql-writer"))
        assert done.result["mode"] == "sql" and done.result["route"]["database"] == "office", done.result
        assert done.result["sql_by"] == "rules" and not asked_for_sql
        view = app.query_one(TurnView)
        table = view.query_one(DataTable)
        assert table.row_count == 1 and table.get_row_at(0)[0] == "6"  # Kraków's order, found by its cp1252 bytes
        shown = str(view.query_one(".retrieval", Static).render())
        assert "rules" in shown and '"Order Details"' in shown


async def test_the_entities_panel_lists_mentions_and_f3_shows_the_thread(factory: Any, tmp_path: Path) -> None:
    import mailbox
    from email.message import EmailMessage

    from textual.widgets import OptionList

    from tui.screens import EntitiesScreen, MentionsScreen, ThreadScreen

    mail = tmp_path / "mail"
    mail.mkdir()
    box = mailbox.mbox(mail / "team.mbox")
    for ident, subject, sender, parent in (("a@x", "Budget", "alice@acme.org", ""),
                                           ("b@x", "Re: Budget", "bob@acme.org", "a@x")):  # fmt: skip
        m = EmailMessage()
        m["Message-ID"], m["Subject"], m["From"] = f"<{ident}>", subject, sender
        if parent:
            m["In-Reply-To"] = f"<{parent}>"
        m.set_content(f"Send the figures to ledger@tolsvik.no, says {sender}.")
        box.add(m)
    box.close()
    app = RagkitApp(factory=factory, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.facade is not None, what="the facade")
        await anyio.to_thread.run_sync(lambda: app.facade.index([mail]))
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, EntitiesScreen), what="the entities panel")
        entities = app.screen.query_one("#entities", OptionList)
        labels = [str(entities.get_option_at_index(i).prompt) for i in range(entities.option_count)]
        wanted = next(i for i, label in enumerate(labels) if "ledger@tolsvik.no" in label)
        assert "2 mentions" in labels[wanted]  # once in each message
        entities.highlighted = wanted
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MentionsScreen), what="the mentions")
        await pilot.press("enter")  # the first mention: its passage, highlighted, in the sources pane
        await until(pilot, lambda: "⟦ledger@tolsvik.no⟧" in str(app.query_one("#passage", Static).render()),
                    what="the mention's passage")  # fmt: skip
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, ThreadScreen), what="the thread")
        shown = str(app.screen.query_one("#thread", Static).render())
        lines = shown.splitlines()
        assert "alice@acme.org: Budget" in lines[0] and lines[1].startswith("  •") and "bob@acme.org" in lines[1]
