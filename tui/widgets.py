"""Widgets of the terminal UI. They only show state handed to them: no I/O, no model calls."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.widget import AwaitMount
from textual.widgets import Collapsible, DataTable, Label, ListItem, ListView, ProgressBar, Static

_MARKER = re.compile(r"\\?\[(\d{1,3})\]")
FILES_SHOWN = 20  # per-file counts listed in a search's retrieval section


def short_path(path: str) -> str:
    home = str(Path.home())
    return "~" + path[len(home) :] if path.startswith(home + "/") else path


ROWS_SHOWN = 200  # rows of a database's answer shown in its table


def where(item: dict[str, Any]) -> str:
    """A passage's place as a person reads it: the file name and page, or a database row's source."""
    if item.get("source"):
        return str(item["source"])
    if item.get("member"):  # archive.zip!/inner/file.pdf, page 3
        return str(item["member"])
    parts = Path(item["path"]).parts
    if len(parts) > 4 and parts[-4] == "db-rows" and parts[-1].endswith(".txt"):  # ragkit's mirror of a row
        return f"db:{parts[-3]}/{parts[-2]}/{unquote(parts[-1][:-4])}"
    name = Path(item["path"]).name
    return f"{name}, p. {item['page']}" if item.get("page") is not None else name


def answer_markup(text: str, unsupported: Sequence[str] = (), short: str = "") -> str:
    """The answer with every ``[n]`` turned into a link that selects citation n, each
    sentence that did not verify dimmed, struck through and marked ✗, and the short answer
    that leads a quoted answer ("Maren Tolsvik, 1887 — …") highlighted."""
    markup = escape(text)
    if short and text.startswith(short):
        markup = f"[b reverse]{escape(short)}[/b reverse]{escape(text[len(short) :])}"
    for sentence in unsupported:
        quoted = escape(sentence)
        markup = markup.replace(quoted, f"[dim strike]{quoted}[/dim strike] [red]✗[/red]", 1)
    return _MARKER.sub(lambda m: f"[@click=app.cite({m.group(1)})][b]\\[{m.group(1)}][/b][/]", markup)


class TurnView(Vertical):
    """One question and its answer: reasoning and retrieval fold away."""

    DEFAULT_CSS = """
    TurnView { height: auto; margin: 0 0 1 0; }
    TurnView .question { color: $accent; text-style: bold; }
    TurnView .reasoning { color: $text-muted; text-style: italic; }
    TurnView .answer { margin: 0 0 0 1; }
    TurnView .state { color: $text-muted; }
    TurnView Collapsible { margin: 0; padding: 0; border: none; }
    TurnView.-selected { background: $boost; }
    TurnView .draft-box { display: none; }
    TurnView .draft { color: $text-warning; }
    """

    def __init__(self, turn_id: int, question: str, search_only: bool = False) -> None:
        super().__init__(id=f"turn-{turn_id}")
        self.turn_id = turn_id
        self.question = question
        self.search_only = search_only
        self.reasoning_text = ""
        self.answer_text = ""
        self.result: dict[str, Any] | None = None
        self.state = "searching" if search_only else "waiting"

    def compose(self) -> ComposeResult:
        prefix = "Search" if self.search_only else "You"
        yield Static(f"{prefix}: {escape(self.question)}", classes="question")
        if not self.search_only:
            with Collapsible(title="Reasoning", collapsed=False, classes="reasoning-box"):
                yield Static("", classes="reasoning")
        with Collapsible(title="Retrieval", collapsed=not self.search_only, classes="retrieval-box"):
            yield Static("", classes="retrieval")
        if not self.search_only:
            yield Static("", classes="answer")
            with Collapsible(title="Unverified draft", collapsed=True, classes="draft-box"):
                yield Static("", classes="draft")
        yield Static(self.state + "…", classes="state")

    def add_reasoning(self, chunk: str) -> None:
        self.reasoning_text += chunk
        self.query_one(".reasoning", Static).update(escape(self.reasoning_text))

    def add_text(self, chunk: str) -> None:
        if self.state != "answering":
            self.set_state("answering")
        self.answer_text += chunk
        self.query_one(".answer", Static).update(escape(self.answer_text))

    def set_state(self, state: str) -> None:
        self.state = state
        self.query_one(".state", Static).update(escape(state))

    def show_retrieval(self, result: dict[str, Any]) -> None:
        """The queries as searched, the filter, and every passage found with its score (for a
        database's answer: why it went there, and every statement tried)."""
        if result.get("mode") == "sql":
            self.query_one(".retrieval-box", Collapsible).title = "SQL"
            self.query_one(".retrieval", Static).update(escape("\n".join(sql_lines(result))))
            return
        retrieval = result.get("retrieval") or {}
        queries = retrieval.get("queries") or [result.get("question") or self.question]
        lines = [f"query: {escape(q)}" for q in queries]
        exact = retrieval.get("exact")
        if exact:  # search mode, exact: the total and the count per file, not scores
            files = exact["files"]
            lines.append(f"{exact['total']} passages in {len(files)} files (the first {len(result['sources'])} listed)")
            for word, found in (exact.get("expansions") or {}).items():
                lines.append(f"{escape(word)} matched: {escape(', '.join(found) or 'no word of the index')}")
            lines += [f"{f['count']:6d}  {escape(Path(f['path']).name)}" for f in files[:FILES_SHOWN]]
            if len(files) > FILES_SHOWN:
                lines.append(f"        … and {len(files) - FILES_SHOWN} more files")
            self.query_one(".retrieval", Static).update("\n".join(lines))
            return
        if retrieval.get("note"):
            lines.append(escape(retrieval["note"]))
        if retrieval.get("min_score") is not None:
            wider = f" (quotes sought in the top {retrieval['evidence_k']})" if retrieval.get("evidence_k") else ""
            lines.append(f"filter: top {retrieval['top_k']}, score ≥ {retrieval['min_score']}{wider}")
        elif retrieval.get("top_k"):
            lines.append(f"filter: top {retrieval['top_k']}")
        hits = retrieval.get("hits") or result.get("sources", [])
        for n, hit in enumerate(hits, start=1):
            dropped = "" if hit.get("kept", True) else "  (below the filter)"
            lines.append(f"{n}. {hit['score']:.3f}  {escape(where(hit))}{dropped}")
        if not hits:
            lines.append("no passages")
        self.query_one(".retrieval", Static).update("\n".join(lines))

    def finish(self, result: dict[str, Any]) -> AwaitMount | None:
        """Show the final answer; what it mounts (a database's table) can be awaited."""
        self.result = result
        if result.get("mode") == "sql":
            return self._finish_sql(result)
        if not self.search_only:
            unsupported = [] if result.get("declined") else result.get("unsupported", [])
            short = (result.get("short_answer") or {}).get("text", "")
            self.query_one(".answer", Static).update(answer_markup(result["answer"], unsupported, short))
            if result.get("draft"):  # the model's text, kept visible but clearly not an answer
                self.query_one(".draft", Static).update(escape(result["draft"]))
                self.query_one(".draft-box", Collapsible).display = True
            if result.get("reasoning"):
                self.query_one(".reasoning", Static).update(escape(result["reasoning"]))
                self.query_one(".reasoning-box", Collapsible).collapsed = True
            else:
                self.query_one(".reasoning-box", Collapsible).display = False
        verified = sum(1 for c in result.get("citations", []) if c["verified"])
        total = len(result.get("citations", []))
        exact = (result.get("retrieval") or {}).get("exact")
        if self.search_only and exact:
            state = f"{exact['total']} passages in {len(exact['files'])} files"
        elif self.search_only:
            state = f"{len(result.get('sources', []))} passages (closest by meaning)"
        elif result.get("grounded"):
            state = f"{verified} of {total} citations verified · {result.get('model', '')}"
        elif not result.get("declined") and result.get("unsupported"):
            state = (
                f"{len(result['unsupported'])} sentences not verified (struck through) · {verified} of {total} verified"
            )
        else:
            state = result.get("notice") or "not grounded"
        self.set_state(state)
        return None

    def _finish_sql(self, result: dict[str, Any]) -> AwaitMount | None:
        """A database's answer: the sentence, then the rows in a table."""
        self.query_one(".answer", Static).update(escape(result["answer"]))
        self.query_one(".reasoning-box", Collapsible).display = False
        if result.get("sql"):
            table: DataTable[str] = DataTable(classes="rows", zebra_stripes=True)
            mounted = self.mount(table, before=self.query_one(".state", Static))
            table.add_columns(*result["columns"])
            table.add_rows([["" if v is None else str(v) for v in row] for row in result["rows"][:ROWS_SHOWN]])
            more = len(result["rows"]) - ROWS_SHOWN
            shown = f" (the first {ROWS_SHOWN} shown)" if more > 0 else ""
            truncated = ", the first ones: the query's row cap" if result.get("truncated") else ""
            where_from = f"db:{result['database']} · {result['model']}"
            self.set_state(f"{result['row_count']} rows{shown}{truncated} · {where_from}")
            return mounted
        self.set_state(result.get("notice") or "no query ran")
        return None


def sql_lines(result: dict[str, Any]) -> list[str]:
    """How a database's answer came about: the route, every statement tried, the one that ran."""
    lines = []
    route = result.get("route")
    if route:
        lines.append(
            f"routed to {route['target']}: table {route['table']} {route['schema_score']:.2f},"
            f" closest passage {route['docs_score']:.2f}"
        )
    if result.get("sql_by") == "rules":
        lines.append(f"written by the rules, no model (read as {result.get('shape')!r})")
    elif result.get("unmapped"):
        lines.append(f"the rules could not map it ({result['unmapped']}); the model wrote:")
    for n, attempt in enumerate(result.get("attempts", []), start=1):
        lines.append(f"{n}. {attempt['sql']}")
        if attempt.get("error"):
            lines.append(f"   failed: {attempt['error']}")
    if result.get("sql"):
        lines.append(f"ran: {result['sql']} ({result['row_count']} rows, {result.get('seconds', 0)} s)")
    return lines


class SourcesPane(Vertical):
    """The selected answer's citations (or search hits), and the passage of the chosen one."""

    DEFAULT_CSS = """
    SourcesPane { width: 44; border-left: solid $primary; }
    SourcesPane ListView { height: 1fr; max-height: 12; }
    SourcesPane #passage { height: 2fr; padding: 0 1; overflow-y: auto; }
    SourcesPane .title { text-style: bold; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Label("Sources", classes="title")
        yield ListView(id="sources")
        yield Label("Passage (ctrl+o opens the file)", classes="title")
        yield Static("Select a citation to see its passage.", id="passage")

    def show(self, entries: list[dict[str, Any]]) -> AwaitMount:
        """List the entries; the returned awaitable is done once their rows are on screen."""
        view = self.query_one("#sources", ListView)
        view.clear()
        items = []
        for entry in entries:
            mark = {True: "✓", False: "✗", None: " "}[entry.get("verified")]
            items.append(ListItem(Label(f"[{entry['n']}] {mark} {escape(where(entry))}")))
        self.query_one("#passage", Static).update("Select a citation to see its passage." if entries else "")
        return view.extend(items)

    def show_query(self, result: dict[str, Any]) -> AwaitMount:
        """A database's answer: its source and the SQL that ran (the rows are in the answer)."""
        view = self.query_one("#sources", ListView)
        view.clear()
        self.query_one("#passage", Static).update(escape("\n".join(sql_lines(result))))
        return view.append(ListItem(Label(f"db:{escape(result['database'])}")))

    def show_passage(self, passage: dict[str, Any]) -> None:
        text = Text()
        text.append(f"{where(passage)}\n\n", style="bold")
        text.append(passage["before"], style="dim")
        text.append("⟦", style="bold yellow")
        span = Text(passage["span"], style="bold black on yellow")
        for start, end in passage.get("matches") or []:  # a search's matched words, within the span
            span.stylize("bold white on red", start, end)
        text.append_text(span)
        text.append("⟧", style="bold yellow")
        text.append(passage["after"], style="dim")
        self.query_one("#passage", Static).update(text)


class Sidebar(Vertical):
    """Folders, index size, live sync state and progress, and the problems list."""

    DEFAULT_CSS = """
    Sidebar { width: 34; border-right: solid $primary; padding: 0 1; }
    Sidebar .title { text-style: bold; margin-top: 1; }
    Sidebar ProgressBar { display: none; }
    Sidebar ProgressBar.-active { display: block; }
    Sidebar #problems { height: 1fr; }
    Sidebar #problems Label { width: 100%; }
    """

    def compose(self) -> ComposeResult:
        yield Label("Folders", classes="title")
        yield Static("none (ragkit folders add PATH)", id="folders")
        yield Label("Index", classes="title")
        yield Static("loading…", id="index")
        yield Label("Sync", classes="title")
        yield Static("not watching", id="sync")
        yield ProgressBar(id="progress", show_eta=False)
        yield Label("Problems", classes="title")
        yield ListView(id="problems")

    def show_status(self, status: dict[str, Any], now: float | None = None) -> None:
        folders = status.get("folders") or []
        self.query_one("#folders", Static).update(
            "\n".join(escape(short_path(f)) for f in folders) or "none (ragkit folders add PATH)"
        )
        index = f"{status['files']} files · {status['chunks']} chunks"
        if status.get("server"):  # a ragkit server's index, used over HTTP
            index += f"\non {escape(status['server'])}"
        self.query_one("#index", Static).update(index)
        watcher = status.get("watcher") or {}
        if watcher.get("live"):
            last = watcher.get("last_sync")
            ago = f"{int((now or time.time()) - last)} s ago" if last else "never"
            where_ = "here" if watcher.get("here") else f"pid {watcher.get('pid')}"
            where_ = "on the server" if status.get("server") else where_
            sync = f"live ({where_}) · queue {watcher.get('queue', 0)}\nlast sync {ago}"
        else:
            sync = "not watching"
        self.query_one("#sync", Static).update(sync)
        problems = self.query_one("#problems", ListView)
        failures = status.get("failures", [])
        shown = [item.name for item in problems.children if isinstance(item, ListItem)]
        wanted = [f["path"] for f in failures]
        if shown != wanted:
            problems.clear()
            for failure in failures:
                label = f"{Path(failure['path']).name}: {failure['reason']}"
                problems.append(ListItem(Label(escape(label)), name=failure["path"]))

    def show_progress(self, done: int, total: int) -> None:
        bar = self.query_one("#progress", ProgressBar)
        bar.add_class("-active")
        bar.update(total=max(total, 1), progress=done)
        if done >= total:
            bar.remove_class("-active")
