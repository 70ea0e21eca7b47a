"""The sources pane: an answer's citations (or a search's hits), the passage each points at,
and opening the file it comes from."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.widget import AwaitMount
from textual.widgets import ListView

from tui.base import Shell, recorded
from tui.messages import Failed, PassageLoaded
from tui.widgets import SourcesPane, TurnView


class WithSources(Shell):
    """The app's sources pane and passages."""

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

    @recorded
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
