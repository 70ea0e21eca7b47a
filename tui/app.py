"""The terminal UI: chat over your documents, with reasoning, citations and live index state.

The app gets one facade from the same factory the CLI uses and calls it only from worker
threads, so the screen never freezes; widgets only show what the app hands them. Heavy
parts (the facade, Chroma, the embedder, the model) load in the background after the first
frame, with their state in the header.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.widget import AwaitMount
from textual.widgets import Collapsible, Footer, Header, Input, ListView

from ragkit.assistant.protocol import Answer, Assistant, Conversation, IndexReport, LiveSync, Mode, Progress, SqlAnswer
from ragkit.core.errors import RagkitError
from tui.screens import ConversationsScreen, EntitiesScreen, HelpScreen, MentionsScreen, ModelScreen, ThreadScreen
from tui.widgets import Sidebar, SourcesPane, TurnView

Factory = Callable[[], Assistant]


def default_factory() -> Assistant:
    """The index on this machine, or the ragkit server that RAGKIT_SERVER or the config names."""
    from ragkit.assistant.local import open_assistant

    return open_assistant()


def remote_factory(server: str | None, collection: str | None = None) -> Factory:
    def factory() -> Assistant:
        from ragkit.assistant.local import open_assistant

        return open_assistant(server, collection)

    return factory


# --- messages from workers -----------------------------------------------------------


@dataclass
class FacadeReady(Message):
    facade: Assistant


@dataclass
class Failed(Message):
    what: str
    error: str
    turn: int | None = None
    severity: str = "error"


@dataclass
class StatusChanged(Message):
    status: dict[str, Any]


@dataclass
class Chunk(Message):
    turn: int
    kind: str
    text: str


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
    hits = [dict(h.as_dict(), n=n) for n, h in enumerate(rk.search(query), start=1)]
    retrieval = {"queries": [query], "top_k": rk.settings.retrieve.top_k, "min_score": None, "note": note}
    return {"answer": "", "sources": hits, "citations": [], "search": True, "retrieval": retrieval}


@dataclass
class Done(Message):
    turn: int
    result: dict[str, Any]


@dataclass
class Cancelled(Message):
    turn: int


@dataclass
class PassageLoaded(Message):
    passage: dict[str, Any]


@dataclass
class SyncProgress(Message):
    done: int
    total: int


class Synced(Message):
    """The watcher finished a sync (posted from its thread: never blocks it)."""


@dataclass
class ModelLoaded(Message):
    note: str


@dataclass
class Listed(Message):
    kind: str  # "models" | "conversations" | "entities" | "mentions" | "thread"
    items: list[dict[str, Any]]


@dataclass
class ConversationLoaded(Message):
    conversation: Conversation


RECORDED = (FacadeReady, Failed, StatusChanged, Done, Cancelled, PassageLoaded, ModelLoaded, SyncProgress)


class RagkitCommands(Provider):
    """The app's actions in the command palette (ctrl+p)."""

    COMMANDS: ClassVar[list[tuple[str, str, str]]] = [
        ("New chat", "new_chat", "Start an empty conversation"),
        ("Toggle search-only mode", "toggle_search", "Instant results from the index, no model"),
        ("Saved conversations", "conversations", "Reopen an earlier conversation"),
        ("Choose model", "models", "Pick the chat model"),
        ("Open cited file", "open_file", "Open the selected source in the system viewer"),
        ("Re-sync watched folders", "resync", "Index the watched folders now"),
        ("Help", "help", "All key bindings"),
    ]

    async def discover(self) -> Hits:
        for name, action, help_text in self.COMMANDS:
            yield DiscoveryHit(name, self._runner(action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in self.COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), self._runner(action), help=help_text)

    def _runner(self, action: str) -> Callable[[], Any]:
        async def run() -> None:
            await self.app.run_action(action)

        return run


def _recorded(handler: Callable[[RagkitApp, Any], Any]) -> Callable[[RagkitApp, Any], Any]:
    """A handler whose message is added to ``app.events`` once it has run (and, for an async
    handler, once what it mounts is on screen), so whoever waits on an event (a test, a script
    driving the app) sees the screen it leads to, never a message still in the queue."""
    if inspect.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def handle_async(app: RagkitApp, message: Any) -> None:
            try:
                await handler(app, message)
            finally:
                app.events.append(message)

        return handle_async

    @functools.wraps(handler)
    def handle(app: RagkitApp, message: Any) -> None:
        try:
            handler(app, message)
        finally:
            app.events.append(message)

    return handle


class RagkitApp(App[None]):
    TITLE = "ragkit"
    CSS = """
    #main { width: 1fr; }
    #transcript { height: 1fr; padding: 0 1; }
    #ask { dock: bottom; }
    """
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
        Binding("f1", "help", "Help"),
    ]
    COMMANDS = App.COMMANDS | {RagkitCommands}

    def __init__(self, factory: Factory | None = None, watch: bool = True, status_interval: float = 2.0) -> None:
        super().__init__()
        self.factory = factory or default_factory
        self.watch_folders = watch
        self.status_interval = status_interval
        self.facade: Assistant | None = None
        self.conversation: Conversation = Conversation()
        self.model: str | None = None
        self.model_note = "loading…"
        self.search_only = False
        self.answer_mode: Mode = "auto"  # from the settings once the facade is open; ctrl+g cycles it
        self.turns: dict[int, TurnView] = {}
        self.current: TurnView | None = None
        self.entries: list[dict[str, Any]] = []
        self.selected: dict[str, Any] | None = None
        self.answering: int | None = None
        self.cancel_event = threading.Event()
        self.live: LiveSync | None = None
        self.status: dict[str, Any] = {}
        self.events: list[Message] = []  # the workers' messages once handled, in order (see _recorded)
        self._next_turn = 0

    @property
    def rk(self) -> Assistant:
        """The facade, once open (workers start only after FacadeReady)."""
        if self.facade is None:
            raise RuntimeError("the index is not open yet")
        return self.facade

    # --- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield Sidebar(id="sidebar")
            with Vertical(id="main"):
                yield VerticalScroll(id="transcript")
                yield Input(placeholder="Ask about your documents…", id="ask")
            yield SourcesPane(id="sources-pane")
        yield Footer()

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

    def _subtitle(self) -> None:
        mode = "search only" if self.search_only else f"model: {self.model_note} · answers: {self.answer_mode}"
        self.sub_title = mode
        placeholder = (
            'Search: words, "a phrase", a OR b, -word, name~1, type:pdf after:2024…'
            if self.search_only
            else "Ask about your documents…"
        )
        self.query_one("#ask", Input).placeholder = placeholder + "  (F1: help)"

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

    @_recorded
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

    @work(thread=True, group="model", exclusive=True)
    def _load_model(self, name: str | None) -> None:
        try:
            note = self.rk.model_note(name)
            self.post_message(ModelLoaded(f"loading {note.split(',')[0]}…"))
            self.rk.load_model(name)
        except Exception as exc:
            self.post_message(Failed("loading the model", str(exc), severity="warning"))
            self.post_message(ModelLoaded("none (search only works)"))
            return
        self.post_message(ModelLoaded(note.split(";")[0]))

    @_recorded
    def on_model_loaded(self, message: ModelLoaded) -> None:
        self.model_note = message.note
        self._subtitle()

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

    @_recorded
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

    def on_synced(self, _: Synced) -> None:
        self._poll_status()

    def _post_progress(self, progress: Progress) -> None:
        self.post_message(SyncProgress(progress.done, progress.total))

    @_recorded
    def on_sync_progress(self, message: SyncProgress) -> None:
        self._on_sidebar(lambda sidebar: sidebar.show_progress(message.done, message.total))

    def _on_sidebar(self, show: Callable[[Sidebar], None]) -> None:
        """Show something in the sidebar, unless it (or a part of it) is already gone: the
        app is shutting down and a worker's last report arrived late."""
        sidebar = next(iter(self.query(Sidebar)), None)
        if sidebar is None:
            return
        try:
            show(sidebar)
        except NoMatches:
            return

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

    @_recorded
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

    @_recorded
    def on_cancelled(self, message: Cancelled) -> None:
        if self.answering == message.turn:
            self.answering = None
        view = self.turns.get(message.turn)
        if view is not None:
            view.set_state("cancelled (not saved in the conversation)")
        self.notify("Answer cancelled.")

    @_recorded
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

    # --- sources and passages ---------------------------------------------------------

    def select_turn(self, view: TurnView) -> AwaitMount:
        """Show a turn's sources; the returned awaitable is done once they are on screen."""
        if self.current is not None:
            self.current.remove_class("-selected")
        self.current = view
        view.add_class("-selected")
        result = view.result or {}
        citations = result.get("citations") or []
        if result.get("mode") == "sql":  # the rows are under the answer; the pane shows the query
            self.entries = []
            self.selected = None
            return self.query_one(SourcesPane).show_query(result)
        if citations:
            self.entries = [dict(c) for c in citations]
        else:
            self.entries = [dict(s, verified=None) for s in result.get("sources", [])]
        shown = self.query_one(SourcesPane).show(self.entries)
        self.selected = None
        if self.entries:  # the first citation's passage shows at once
            self.query_one("#sources", ListView).index = 0
            self._show_entry(self.entries[0])
        return shown

    def on_click(self, event: Any) -> None:
        widget = event.widget
        while widget is not None and not isinstance(widget, TurnView):
            widget = widget.parent
        if isinstance(widget, TurnView) and widget.result is not None and widget is not self.current:
            self.select_turn(widget)

    def action_cite(self, n: int) -> None:
        """Select citation ``n`` of the current answer (the [n] links in answers)."""
        for index, entry in enumerate(self.entries):
            if entry["n"] == n:
                self.query_one("#sources", ListView).index = index
                self._show_entry(entry)
                return
        self.notify(f"[{n}] is not a source of this answer.", severity="warning")

    @on(ListView.Selected, "#sources")
    @on(ListView.Highlighted, "#sources")
    def source_chosen(self, event: ListView.Selected | ListView.Highlighted) -> None:
        index = event.list_view.index
        if index is not None and 0 <= index < len(self.entries):
            self._show_entry(self.entries[index])

    def _show_entry(self, entry: dict[str, Any]) -> None:
        if entry is self.selected:
            return
        self.selected = entry
        self._load_passage(entry)

    @work(thread=True, group="passage", exclusive=True)
    def _load_passage(self, entry: dict[str, Any]) -> None:
        try:
            passage = self.rk.passage(entry["path"], entry.get("page"), entry["start"], entry["end"])
        except Exception as exc:
            self.post_message(Failed("showing the passage", str(exc), severity="warning"))
            return
        matches = [(a - entry["start"], b - entry["start"]) for a, b in entry.get("matches", [])]
        self.post_message(PassageLoaded(dict(passage, n=entry["n"], verified=entry.get("verified"), matches=matches)))

    @_recorded
    def on_passage_loaded(self, message: PassageLoaded) -> None:
        self.query_one(SourcesPane).show_passage(message.passage)

    def action_open_file(self) -> None:
        entry = self.selected or (self.entries[0] if self.entries else None)
        if entry is None:
            self.notify("Select a source first.", severity="warning")
            return
        self._open_file(entry["path"], entry.get("page"), self._member(entry))

    def _member(self, entry: dict[str, Any]) -> str:
        """The archive member a source comes from (a citation's: the source hit holding its span)."""
        if entry.get("member"):
            return str(entry["member"])
        sources = (self.current.result or {}).get("sources", []) if self.current else []
        return next((str(h.get("member") or "") for h in sources
                     if h["path"] == entry["path"] and h["start"] <= entry["start"] < h["end"]), "")  # fmt: skip

    @work(thread=True, group="open")
    def _open_file(self, path: str, page: int | None, member: str = "") -> None:
        try:
            self.rk.open_file(path, page, member)
        except Exception as exc:
            self.post_message(Failed("opening the file", str(exc)))
            return
        shown = f"{path} ({member})" if member else path + (f" at page {page}" if page else "")
        self.call_from_thread(self.notify, f"Opened {shown}")

    # --- modes, conversations, models, help ------------------------------------------------

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

    def _clear_transcript(self) -> None:
        self.query_one("#transcript", VerticalScroll).remove_children()
        self.turns.clear()
        self.current = None
        self.entries = []
        self.query_one(SourcesPane).show([])

    def action_conversations(self) -> None:
        if self.facade is not None:
            self._list("conversations")

    def action_models(self) -> None:
        if self.facade is not None:
            self._list("models")

    def action_entities(self) -> None:
        if self.facade is not None:
            self._list("entities")

    def action_thread(self) -> None:
        entry = self.selected or (self.entries[0] if self.entries else None)
        if entry is None:
            self.notify("Select a source first: F3 shows the e-mail thread it belongs to.", severity="warning")
            return
        self._load_thread(entry["path"], entry["start"])

    @work(thread=True, group="list")
    def _load_thread(self, path: str, offset: int) -> None:
        try:
            thread = self.rk.thread_at(path, offset)
        except Exception as exc:
            self.post_message(Failed("showing the thread", str(exc), severity="warning"))
            return
        self.post_message(Listed("thread", [thread]))

    def _entity_chosen(self, chosen: str | None) -> None:
        if chosen:
            self._list_mentions(chosen)

    @work(thread=True, group="list")
    def _list_mentions(self, chosen: str) -> None:
        kind, name = chosen.split("\t", 1)
        try:
            mentions = self.rk.entity_mentions(name, kind)
        except Exception as exc:
            self.post_message(Failed("listing the mentions", str(exc)))
            return
        self.post_message(Listed("mentions", [{"name": name, "mentions": mentions}]))

    def _show_mention(self, mention: dict[str, Any] | None) -> None:
        """A mention picked: its passage in the sources pane, as a source of its own."""
        if mention is None:
            return
        entry = dict(mention, n=1, verified=None)
        self.entries = [entry]
        self.query_one(SourcesPane).show(self.entries)
        self.selected = None
        self._show_entry(entry)

    @work(thread=True, group="list")
    def _list(self, kind: str) -> None:
        try:
            if kind == "entities":
                items = self.rk.entities(None, 200)
            else:
                items = self.rk.conversations.list() if kind == "conversations" else self.rk.models()
        except Exception as exc:
            self.post_message(Failed(f"listing {kind}", str(exc)))
            return
        self.post_message(Listed(kind, items))

    def on_listed(self, message: Listed) -> None:
        if message.kind == "entities":
            self.push_screen(EntitiesScreen(message.items), self._entity_chosen)
        elif message.kind == "mentions":
            found = message.items[0]
            self.push_screen(MentionsScreen(found["name"], found["mentions"]), self._show_mention)
        elif message.kind == "thread":
            self.push_screen(ThreadScreen(message.items[0]))
        elif message.kind == "conversations":
            self.push_screen(ConversationsScreen(message.items), self._open_conversation)
        else:
            try:
                current = self.model or self.rk.model_ref().name
            except Exception:
                current = None
            self.push_screen(ModelScreen(message.items, current), self._pick_model)

    def _pick_model(self, name: str | None) -> None:
        if name:
            self.model = name
            self._load_model(name)

    def _open_conversation(self, conversation_id: str | None) -> None:
        if conversation_id:
            self._load_conversation(conversation_id)

    @work(thread=True, group="list")
    def _load_conversation(self, conversation_id: str) -> None:
        try:
            conversation = self.rk.conversations.load(conversation_id)
        except Exception as exc:
            self.post_message(Failed("opening the conversation", str(exc)))
            return
        self.post_message(ConversationLoaded(conversation))

    @_recorded
    async def on_conversation_loaded(self, message: ConversationLoaded) -> None:
        """Each saved turn shown as it was: mounted (its parts composed) before it is filled."""
        self.conversation = message.conversation
        self._clear_transcript()
        transcript = self.query_one("#transcript", VerticalScroll)
        for turn in self.conversation.turns:
            self._next_turn += 1
            view = TurnView(self._next_turn, turn.question)
            self.turns[view.turn_id] = view
            await transcript.mount(view)
            await self._restore_turn(view, turn.result)

    async def _restore_turn(self, view: TurnView, result: dict[str, Any]) -> None:
        view.show_retrieval(result)
        table = view.finish(result)
        sources = self.select_turn(view)
        for mounting in (table, sources):
            if mounting is not None:
                await mounting

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
