"""The terminal UI: chat over your documents, with reasoning, citations and live index state.

The app gets one facade from the same factory the CLI uses and calls it only from worker
threads, so the screen never freezes; widgets only show what the app hands them. Heavy
parts (the facade, Chroma, the embedder, the model) load in the background after the first
frame, with their state in the header. The app is built in layers (see ``tui.base``).
"""

from __future__ import annotations

import os
import threading
from typing import Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Collapsible, Input

from ragkit.assistant.protocol import Answer, Assistant, Conversation, IndexReport, Mode, Progress, SqlAnswer
from ragkit.core.errors import RagkitError
from tui.base import Factory, live, recorded
from tui.lists import WithLists
from tui.messages import Cancelled, Chunk, Done, FacadeReady, Failed, StatusChanged, Synced, SyncProgress
from tui.palette import RagkitCommands
from tui.screens import HelpScreen
from tui.widgets import TurnView


def remote_factory(server: str | None, collection: str | None = None) -> Factory:
    def factory() -> Assistant:
        from ragkit.assistant.local import open_assistant

        return open_assistant(server, collection)

    return factory


SEARCH_HITS = 50  # exact hits listed in the sources pane (the counts cover all of them)


def search_result(rk: Assistant, query: str) -> dict[str, Any]:
    """Search-only mode: every passage matching ``query`` in the query language (the total,
    the count per file, the first hits); if nothing matches exactly, or the text is not a
    valid query, the passages closest in meaning, saying so."""
    note = ""
    retrieval: dict[str, Any]
    try:
        found = rk.find(query, 0, SEARCH_HITS)
    except RagkitError as exc:
        found, note = None, f"not an exact query ({str(exc).splitlines()[0]}): closest passages by meaning"
    if found is not None and found.total:
        hits = [dict(h.as_dict(("", "")), n=n) for n, h in enumerate(found.hits, start=1)]
        exact = {"total": found.total, "files": found.as_dict()["files"], "expansions": found.expansions}
        return {
            "answer": "",
            "sources": hits,
            "citations": [],
            "search": True,
            "retrieval": {"queries": [query], "exact": exact},
        }
    note = note or "no passage matches exactly: closest passages by meaning"
    hits = [dict(h.as_dict(), n=n) for n, h in enumerate(rk.search(query, continued=True), start=1)]
    retrieval = {"queries": [query], "top_k": rk.settings.retrieve.top_k, "min_score": None, "note": note}
    return {"answer": "", "sources": hits, "citations": [], "search": True, "retrieval": retrieval}


class RagkitApp(WithLists):
    TITLE = "ragkit"
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "cancel", "Cancel answer"),
        Binding("ctrl+n", "new_chat", "New chat"),
        Binding("ctrl+s", "toggle_search", "Search only"),
        Binding("ctrl+o", "open_file", "Open file"),
        Binding("ctrl+r", "conversations", "Conversations"),
        Binding("ctrl+l", "models", "Model"),
        Binding("ctrl+t", "toggle_details", "Reasoning"),
        Binding("ctrl+g", "cycle_mode", "Answer mode"),
        Binding("f2", "entities", "Entities"),
        Binding("f3", "thread", "E-mail thread"),
        Binding("f4", "tag", "Tag the source's file"),
        Binding("f5", "timeline", "Timeline"),
        Binding("f6", "ask_each", "Ask every matching file"),
        Binding("f1", "help", "Help"),
    ]
    COMMANDS = App.COMMANDS | {RagkitCommands}

    def on_mount(self) -> None:
        self._subtitle()
        self.query_one("#ask", Input).focus()
        self._open_facade()

    def on_unmount(self) -> None:
        """Quitting stops an answer and the watcher at once (mid catch-up too: the index run
        stops at its next file or batch and rolls back what it had not committed)."""
        self.cancel_event.set()
        if self.live is not None:
            self.live.stop()

    # --- startup ------------------------------------------------------------------------

    @work(thread=True, group="startup")
    def _open_facade(self) -> None:
        try:
            facade = self.factory()
            facade.status()  # opens the index now, not on the first question
            facade.keep_warm()
        except Exception as exc:
            self.post_message(Failed("starting", str(exc)))
            return
        self.post_message(FacadeReady(facade))

    @recorded
    def on_facade_ready(self, message: FacadeReady) -> None:
        self.facade = message.facade
        self.answer_mode = self.facade.settings.answer.mode
        self._subtitle()
        self.conversation = Conversation()
        self._poll_status()
        self.set_interval(self.status_interval, self._poll_status)
        folders = [str(f) for f in self.rk.settings.watch.folders]
        if self.watch_folders and folders:
            self._watch(folders)
        self._load_model(self.model)

    # --- status and live sync ------------------------------------------------------------

    def _poll_status(self) -> None:
        if self.facade is not None:
            self._read_status()

    @work(thread=True, group="status", exclusive=True)
    def _read_status(self) -> None:
        try:
            self.post_message(StatusChanged(self.rk.status()))
        except Exception as exc:
            self.post_message(Failed("reading the index state", str(exc), severity="warning"))

    @recorded
    def on_status_changed(self, message: StatusChanged) -> None:
        known = {f["path"] for f in self.status.get("failures", [])}
        for failure in message.status.get("failures", []):
            if self.status and failure["path"] not in known:
                self.notify(
                    f"{failure['path']}: {failure['reason']}", title="Could not index a file", severity="warning"
                )
        before = {s["name"]: s["new"] for s in self.status.get("searches", [])}
        for search in message.status.get("searches", []):
            if self.status and search["new"] > before.get(search["name"], 0):
                self.notify(
                    f"{search['new']} new match(es) for {search['query']} (ragkit searches run {search['name']})",
                    title=f"Saved search {search['name']}",
                )
        self.status = message.status
        self._on_sidebar(lambda sidebar: sidebar.show_status(message.status))

    @work(thread=True, group="watch")
    def _watch(self, folders: list[str]) -> None:
        from pathlib import Path

        from ragkit.core.errors import IndexLockedError

        try:
            self.live = self.rk.live_sync(
                [Path(f) for f in folders], on_sync=self._post_synced, progress=self._post_progress
            )
            self.live.run()
        except IndexLockedError as exc:
            self.post_message(
                Failed("watching", f"{exc}; this window shows that watcher's state", severity="information")
            )
        except Exception as exc:
            self.post_message(Failed("watching your folders", str(exc)))

    def _post_synced(self, _: IndexReport) -> None:
        self.post_message(Synced())

    @live
    def on_synced(self, _: Synced) -> None:
        self._poll_status()

    def _post_progress(self, progress: Progress) -> None:
        self.post_message(SyncProgress(progress.done, progress.total))

    @recorded
    def on_sync_progress(self, message: SyncProgress) -> None:
        self._on_sidebar(lambda sidebar: sidebar.show_progress(message.done, message.total))

    def action_resync(self) -> None:
        if self.facade is not None:
            self._resync()

    @work(thread=True, group="resync", exclusive=True)
    def _resync(self) -> None:
        from pathlib import Path

        folders = [Path(f) for f in self.rk.settings.watch.folders]
        if not folders:
            self.post_message(
                Failed("re-syncing", "no watched folders; add one with: ragkit folders add PATH", severity="warning")
            )
            return
        try:
            self.rk.index(folders, strict=False, progress=self._post_progress)
        except Exception as exc:
            self.post_message(Failed("re-syncing", str(exc)))
        self._poll_status()

    # --- asking ---------------------------------------------------------------------

    @on(Input.Submitted, "#ask")
    async def submit(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if not question:
            return
        if self.facade is None:
            self.notify("Still opening the index; ask again in a moment.", severity="warning")
            return
        if self.answering is not None:
            self.notify("An answer is still being written: wait, or press Esc to cancel it.", severity="warning")
            return
        event.input.value = ""
        self._next_turn += 1
        turn = TurnView(self._next_turn, question, search_only=self.search_only)
        self.turns[turn.turn_id] = turn
        transcript = self.query_one("#transcript", VerticalScroll)
        self.answering = turn.turn_id
        self.cancel_event = threading.Event()
        await transcript.mount(turn)  # composed before the first of its answer's messages arrives
        transcript.scroll_end(animate=False)
        self._answer(turn.turn_id, question, self.search_only, self.cancel_event)

    @work(thread=True, group="answer")
    def _answer(self, turn: int, question: str, search_only: bool, cancel: threading.Event) -> None:
        rk = self.rk
        try:
            if search_only:
                self.post_message(Done(turn, search_result(rk, question)))
                return
            stream = rk.ask_stream(question, model=self.model, conversation=self.conversation, mode=self.answer_mode)
            try:
                for item in stream:
                    if cancel.is_set():
                        self.post_message(Cancelled(turn))
                        return
                    if isinstance(item, SqlAnswer):  # a database answered: not a turn of the conversation
                        self.post_message(Done(turn, item.as_dict()))
                    elif isinstance(item, Answer):
                        rk.conversations.save(self.conversation)
                        self.post_message(Done(turn, item.as_dict()))
                    else:
                        self.post_message(Chunk(turn, item.type, item.chunk))
            finally:
                stream.close()  # stops llama.cpp at once when cancelled
        except Exception as exc:
            self.post_message(Failed("answering", str(exc), turn=turn))

    @live
    def on_chunk(self, message: Chunk) -> None:
        view = self.turns.get(message.turn)
        if view is None:
            return
        if message.kind == "reasoning":
            view.add_reasoning(message.text)
        elif message.kind == "text":
            view.add_text(message.text)
        elif message.kind == "route":
            view.set_state(message.text)
        self.query_one("#transcript", VerticalScroll).scroll_end(animate=False)

    @recorded
    async def on_done(self, message: Done) -> None:
        view = self.turns.get(message.turn)
        if self.answering == message.turn:
            self.answering = None
        if view is None:
            return
        view.show_retrieval(message.result)
        table = view.finish(message.result)
        sources = self.select_turn(view)
        self.query_one("#transcript", VerticalScroll).scroll_end(animate=False)
        for mounting in (table, sources):  # recorded as done once both are on screen
            if mounting is not None:
                await mounting

    @recorded
    def on_cancelled(self, message: Cancelled) -> None:
        if self.answering == message.turn:
            self.answering = None
        view = self.turns.get(message.turn)
        if view is not None:
            view.set_state("cancelled (not saved in the conversation)")
        self.notify("Answer cancelled.")

    @recorded
    def on_failed(self, message: Failed) -> None:
        if message.turn is not None:
            if self.answering == message.turn:
                self.answering = None
            view = self.turns.get(message.turn)
            if view is not None:
                view.set_state(f"failed: {message.error}")
        self.notify(message.error, title=f"Problem {message.what}", severity=message.severity, timeout=10)  # type: ignore[arg-type]

    def action_cancel(self) -> None:
        if self.answering is not None:
            self.cancel_event.set()

    # --- modes and help ------------------------------------------------

    def action_toggle_details(self) -> None:
        """Unfold (or fold) the selected answer's reasoning and retrieval sections."""
        if self.current is None:
            return
        boxes = [box for box in self.current.query(Collapsible) if box.display and not box.has_class("draft-box")]
        fold = not any(box.collapsed for box in boxes)
        for box in boxes:
            box.collapsed = fold

    def action_cycle_mode(self) -> None:
        modes: tuple[Mode, ...] = ("auto", "generate", "extract")
        self.answer_mode = modes[(modes.index(self.answer_mode) + 1) % len(modes)]
        self._subtitle()
        explained = {
            "auto": "the model answers; what does not verify is replaced by quoted sentences",
            "generate": "the model's answer only",
            "extract": "sentences quoted from your documents, no model",
        }
        self.notify(f"Answers: {self.answer_mode} — {explained[self.answer_mode]}.")

    def action_toggle_search(self) -> None:
        self.search_only = not self.search_only
        self._subtitle()
        self.notify(
            "Search mode: every passage with these words (the query language of ragkit find --help);"
            " closest passages by meaning when nothing matches exactly. No model."
            if self.search_only
            else "Answers mode."
        )

    def action_new_chat(self) -> None:
        if self.facade is None:
            return
        self.action_cancel()
        self.conversation = Conversation()
        self._clear_transcript()

    def action_help(self) -> None:
        rows = [(b.key, b.description) for b in self.BINDINGS if isinstance(b, Binding)]
        rows += [("enter", "ask (or search)"), ("tab", "next pane"), ("ctrl+p", "command palette"), ("ctrl+q", "quit")]
        self.push_screen(HelpScreen(rows))


def run(server: str | None = None, collection: str | None = None) -> int:
    """The terminal UI, over this machine's index or (``server``) a ragkit server's."""
    os.umask(0o077)  # what it writes (the index, conversations) is this user's alone
    app = RagkitApp(remote_factory(server, collection) if server or collection else None)
    try:
        app.run()
    finally:
        if app.facade is not None:
            app.facade.close()  # waits for the watcher to finish its stop
    return 0
