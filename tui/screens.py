"""Modal screens: help, model picker, saved conversations. They show data handed to them."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, OptionList, Sparkline, Static
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


class EntitiesScreen(_Modal):
    """The people, organisations and places (then the other kinds) the documents mention most;
    Enter lists where an entity is mentioned."""

    ORDER = ("person", "org", "place", "email", "phone", "iban", "url", "amount", "date")

    def __init__(self, entities: list[dict[str, Any]]) -> None:
        super().__init__()
        self.entities = entities

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Entities (Enter lists the mentions, Esc closes)", classes="title")
            if not self.entities:
                yield Static("No entities yet: index some documents (names need entities.model, a spaCy pipeline).")
            rows = sorted(self.entities, key=lambda e: (self.ORDER.index(e["type"]), -e["files"], e["name"]))
            options = [
                Option(
                    f"{e['type']:>7}  {escape(e['name'])}  · {e['files']} files, {e['mentions']} mentions",
                    id=f"{e['type']}\t{e['name']}",
                )
                for e in rows
            ]
            yield OptionList(*options, id="entities")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class MentionsScreen(_Modal):
    """Where one entity is mentioned; Enter shows the passage."""

    def __init__(self, name: str, mentions: list[dict[str, Any]]) -> None:
        super().__init__()
        self.name_shown = name
        self.mentions = mentions

    def compose(self) -> ComposeResult:
        with Vertical():
            files = len({m["path"] for m in self.mentions})
            yield Label(f"{escape(self.name_shown)}: {len(self.mentions)} mentions in {files} files (Enter shows one)",
                        classes="title")  # fmt: skip
            options = [
                Option(
                    f"{escape(m['path'].rsplit('/', 1)[-1])}"
                    + (f", p. {m['page']}" if m["page"] is not None else "")
                    + f"  chars {m['start']}-{m['end']}: {escape(m['text'])}",
                    id=str(n),
                )
                for n, m in enumerate(self.mentions)
            ]
            yield OptionList(*options, id="mentions")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.mentions[int(event.option.id or 0)])


class ThreadScreen(_Modal):
    """An e-mail thread as a tree of replies; a message the archive lacks shows as a gap."""

    def __init__(self, thread: dict[str, Any]) -> None:
        super().__init__()
        self.thread = thread

    def compose(self) -> ComposeResult:
        with Vertical():
            t = self.thread
            yield Label(f"Thread: {escape(t['subject'] or '(no subject)')} · {t['messages']} messages", classes="title")
            lines: list[str] = []

            def walk(node: dict[str, Any], depth: int) -> None:
                indent = "  " * depth
                if node["in_archive"]:
                    when = (node["date"] or "undated")[:16]
                    lines.append(f"{indent}• {escape(when)}  {escape(node['from'])}: {escape(node['subject'])}")
                else:
                    lines.append(f"{indent}• [dim](a message not in the archive: {escape(node['id'])})[/dim]")
                for reply in node["replies"]:
                    walk(reply, depth + 1)

            walk(t["tree"], 0)
            yield Static("\n".join(lines), id="thread")


class TagScreen(_Modal):
    """Tag a source's file: the tags it has, and a field for more (Enter saves, Esc closes)."""

    def __init__(self, path: str, tags: list[str]) -> None:
        super().__init__()
        self.path = path
        self.tags = tags

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Tag {escape(self.path.rsplit('/', 1)[-1])}", classes="title")
            yield Static("tags: " + (escape(", ".join(self.tags)) or "none yet"), id="tags-now")
            yield Input(placeholder="new tags, separated by spaces; Enter saves", id="tag-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.split() or None)


class TimelineScreen(_Modal):
    """The documents counted by month, as bars (and a sparkline of them all); Enter on a bar
    lists its documents."""

    def __init__(self, periods: list[dict[str, Any]]) -> None:
        super().__init__()
        self.periods = periods

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Timeline: documents by month (Enter lists a month's, Esc closes)", classes="title")
            if not self.periods:
                yield Static("Nothing dated yet: index some documents.")
                return
            yield Sparkline([p["files"] for p in self.periods], id="timeline-spark")
            top = max(p["files"] for p in self.periods)
            options = []
            for p in self.periods:
                guessed = p["dated_by"].get("file mtime", 0)
                note = f"  ({guessed} by file time)" if guessed else ""
                bar = "█" * max(1, round(40 * p["files"] / top))
                options.append(Option(f"{p['period']}  {bar:<40} {p['files']:>5} files{note}", id=p["period"]))
            yield OptionList(*options, id="timeline")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class PeriodScreen(_Modal):
    """The documents of one period of the timeline, the most passages first."""

    def __init__(self, period: str, files: list[tuple[str, int]]) -> None:
        super().__init__()
        self.period = period
        self.files = files

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{escape(self.period)}: {len(self.files)} documents (Esc closes)", classes="title")
            rows = [f"{escape(path)}  · {n} passages" for path, n in self.files]
            yield Static("\n".join(rows) or "none", id="period-files")


class EachScreen(_Modal):
    """One question over every file a query matches: the query (the find language), then the
    question; Enter in the question asks it of each file."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Ask every matching file (Enter runs it, Esc closes)", classes="title")
            yield Input(placeholder="which files: a find query, e.g. contract type:pdf", id="each-query")
            yield Input(placeholder="the question asked of each", id="each-question")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        query = self.query_one("#each-query", Input).value.strip()
        question = self.query_one("#each-question", Input).value.strip()
        if event.input.id == "each-query" or not query:
            self.query_one("#each-question" if query else "#each-query", Input).focus()
        elif question:
            self.dismiss((query, question))


class EachRowsScreen(_Modal):
    """The rows of one question over every match as they come: each file with the quote that
    answers it, or that nothing in it does. Esc closes and stops the run."""

    DEFAULT_CSS = """
    EachRowsScreen > Vertical { width: 95%; }
    EachRowsScreen DataTable { height: auto; max-height: 30; }
    """

    def __init__(self, question: str, query: str, total: int) -> None:
        super().__init__()
        self.question, self.query_text, self.total, self.done = question, query, total, 0
        self.answered = 0

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{escape(self.question)} · each of {self.total} files matching {escape(self.query_text)}",
                        classes="title")  # fmt: skip
            yield Static(f"0 of {self.total} files asked", id="each-progress")
            table: DataTable[str] = DataTable(id="each-rows", zebra_stripes=True)
            table.add_columns("file", "answers", "quote (or why not)")
            yield table

    def add(self, row: dict[str, Any]) -> None:
        self.done += 1
        self.answered += bool(row["answered"])
        quote = row["quotes"][0] if row["quotes"] else None
        where = f"p. {quote['page']}: " if quote and quote.get("page") is not None else ""
        said = f"{where}{quote['quote']}" if quote else row["answer"]
        name = row["path"].rsplit("/", 1)[-1]
        self.query_one("#each-rows", DataTable).add_row(name, "✓" if row["answered"] else "—", said[:200])
        self._progress()

    def finish(self, stopped: bool) -> None:
        self._progress(" (stopped)" if stopped else " (done)")

    def _progress(self, end: str = "") -> None:
        text = f"{self.done} of {self.total} files asked, {self.answered} answered{end}"
        self.query_one("#each-progress", Static).update(text)
