"""Modal screens: help, model picker, saved conversations. They show data handed to them."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option


class _Modal(ModalScreen[Any]):
    DEFAULT_CSS = """
    _Modal { align: center middle; }
    _Modal > Vertical { width: 80; height: auto; max-height: 90%; border: thick $primary; background: $surface;
                        padding: 1 2; }
    _Modal .title { text-style: bold; margin-bottom: 1; }
    _Modal OptionList { height: auto; max-height: 20; }
    """
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "dismiss_none", "Close")
    ]

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class HelpScreen(_Modal):
    """Every key binding of the app, from the app's own binding table."""

    def __init__(self, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.bindings_table = bindings

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("ragkit: keys", classes="title")
            rows = [f"[b]{escape(key):>10}[/b]  {escape(text)}" for key, text in self.bindings_table]
            rows += [
                "",
                "Click a [b]\\[n][/b] in an answer, or pick it in Sources, to see the cited passage.",
                "Questions are answered from your indexed documents only; unverified answers say so.",
            ]
            yield Static("\n".join(rows), id="help-text")


class ModelScreen(_Modal):
    """Pick the chat model: the installed ones, and the known ones you could pull."""

    def __init__(self, models: list[dict[str, Any]], current: str | None) -> None:
        super().__init__()
        self.models = models
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Chat model (Enter picks, Esc closes)", classes="title")
            options = []
            for m in self.models:
                mark = "●" if m["name"] == self.current else " "
                state = m["profile"] if m["installed"] else f"not downloaded: ragkit model pull {m['name']}"
                options.append(Option(f"{mark} {m['name']}  ({state})", id=m["name"], disabled=not m["installed"]))
            yield OptionList(*options, id="models")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ConversationsScreen(_Modal):
    """Saved conversations, newest first."""

    def __init__(self, conversations: list[dict[str, Any]]) -> None:
        super().__init__()
        self.conversations = conversations

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Saved conversations (Enter opens, Esc closes)", classes="title")
            if not self.conversations:
                yield Static("No saved conversations yet.")
            options = [
                Option(
                    f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(c['created']))}  "
                    f"{escape(c['title'] or '(untitled)')}  · {c['turns']} turns",
                    id=c["id"],
                )
                for c in self.conversations
            ]
            yield OptionList(*options, id="conversations")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
