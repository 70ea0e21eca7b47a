"""The app's state and layout, shared by its parts (sources, lists, the app itself).

The app is built in layers, each a module: this shell (state, layout, the model in the
header), ``sources`` (the sources pane and passages), ``lists`` (conversations, models,
entities, e-mail threads) and ``app`` (startup, live index state, asking). Each layer calls
only what is below it.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from textual import work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Footer, Header, Input

from ragkit.assistant.protocol import Assistant, Conversation, LiveSync, Mode
from tui.messages import Failed, ModelLoaded
from tui.widgets import Sidebar, SourcesPane, TurnView

Factory = Callable[[], Assistant]
S = TypeVar("S", bound="Shell")


def default_factory() -> Assistant:
    """The index on this machine, or the ragkit server that RAGKIT_SERVER or the config names."""
    from ragkit.assistant.local import open_assistant

    return open_assistant()


def live(handler: Callable[[S, Any], None]) -> Callable[[S, Any], None]:
    """A handler of a worker's message that does nothing once the app is shutting down (the
    screen it would show on is gone; :func:`recorded` handlers do the same)."""

    @functools.wraps(handler)
    def handle(app: S, message: Any) -> None:
        if app.is_running:
            handler(app, message)

    return handle


def recorded(handler: Callable[[S, Any], Any]) -> Callable[[S, Any], Any]:
    """A handler whose message is added to ``app.events`` once it has run (and, for an async
    handler, once what it mounts is on screen), so whoever waits on an event (a test, a script
    driving the app) sees the screen it leads to, never a message still in the queue. A
    message that lands once the app is shutting down (a worker thread's passage or answer, its
    screen already gone) is recorded and shown nowhere."""
    if inspect.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def handle_async(app: S, message: Any) -> None:
            try:
                if app.is_running:
                    await handler(app, message)
            finally:
                app.events.append(message)

        return handle_async

    shown = live(handler)

    @functools.wraps(handler)
    def handle(app: S, message: Any) -> None:
        try:
            shown(app, message)
        finally:
            app.events.append(message)

    return handle


class Shell(App[None]):
    """State, layout, and the model named in the header."""

    CSS = """
    #main { width: 1fr; }
    #transcript { height: 1fr; padding: 0 1; }
    #ask { dock: bottom; }
    """

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
        self.events: list[Message] = []  # the workers' messages once handled, in order (see recorded)
        self._next_turn = 0

    @property
    def rk(self) -> Assistant:
        """The facade, once open (workers start only after FacadeReady)."""
        if self.facade is None:
            raise RuntimeError("the index is not open yet")
        return self.facade

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield Sidebar(id="sidebar")
            with Vertical(id="main"):
                yield VerticalScroll(id="transcript")
                yield Input(placeholder="Ask about your documents…", id="ask")
            yield SourcesPane(id="sources-pane")
        yield Footer()

    def _subtitle(self) -> None:
        mode = "search only" if self.search_only else f"model: {self.model_note} · answers: {self.answer_mode}"
        self.sub_title = mode
        placeholder = (
            'Search: words, "a phrase", a OR b, -word, name~1, type:pdf after:2024…'
            if self.search_only
            else "Ask about your documents…"
        )
        self.query_one("#ask", Input).placeholder = placeholder + "  (F1: help)"

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

    def _clear_transcript(self) -> None:
        self.query_one("#transcript", VerticalScroll).remove_children()
        self.turns.clear()
        self.current = None
        self.entries = []
        self.query_one(SourcesPane).show([])

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

    @recorded
    def on_model_loaded(self, message: ModelLoaded) -> None:
        self.model_note = message.note
        self._subtitle()
