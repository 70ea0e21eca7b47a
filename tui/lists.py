"""Lists the app opens in a screen of their own: saved conversations (reopened turn by
turn), models, entities and their mentions, a source's e-mail thread, its file's tags, and
the timeline (a month's documents from its bar)."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

from textual import work
from textual.containers import VerticalScroll

from ragkit.assistant.protocol import Mode
from tui.base import live, recorded
from tui.messages import ConversationLoaded, Failed, Listed
from tui.screens import (
    ConversationsScreen,
    EachRowsScreen,
    EachScreen,
    EntitiesScreen,
    MentionsScreen,
    ModelScreen,
    PeriodScreen,
    TagScreen,
    ThreadScreen,
    TimelineScreen,
)
from tui.sources import WithSources
from tui.widgets import SourcesPane, TurnView


class WithLists(WithSources):
    """The app's list screens, each loaded by a worker and shown when its ``Listed`` arrives."""

    each_stop = threading.Event()  # the running ask-every-file's (replaced per run)
    each_rows: EachRowsScreen | None = None

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

    def action_ask_each(self) -> None:
        if self.facade is not None:
            self.push_screen(EachScreen(), self._each_chosen)

    def _each_chosen(self, chosen: tuple[str, str] | None) -> None:
        if chosen:
            self.each_stop.set()  # one run at a time: a new one ends the last
            self.each_stop = threading.Event()
            self._run_each(*chosen, self.each_stop)

    @work(thread=True, group="each")
    def _run_each(self, query: str, question: str, stop: threading.Event) -> None:
        mode: Mode = "auto" if self.answer_mode == "auto" else "extract"  # (--each never writes unchecked)
        try:
            total, rows = self.rk.ask_each(question, query, mode)
        except Exception as exc:
            self.post_message(Failed("asking every matching file", str(exc), severity="warning"))
            return
        self.post_message(Listed("each", [{"question": question, "query": query, "total": total}]))
        try:
            for row in rows:
                if stop.is_set():
                    break
                self.post_message(Listed("each-row", [row.as_dict()]))
        except Exception as exc:
            self.post_message(Failed("asking every matching file", str(exc), severity="warning"))
        finally:
            getattr(rows, "close", lambda: None)()
        self.post_message(Listed("each-done", [{"stopped": stop.is_set()}]))

    def _each_closed(self, _: object) -> None:
        self.each_stop.set()

    def action_timeline(self) -> None:
        if self.facade is not None:
            self._list("timeline")

    def _period_chosen(self, period: str | None) -> None:
        if period:
            self._list_period(period)

    @work(thread=True, group="list")
    def _list_period(self, period: str) -> None:
        try:
            found = self.rk.find(f"after:{period} before:{period}", 0, 0)
        except Exception as exc:
            self.post_message(Failed("listing the month's documents", str(exc)))
            return
        self.post_message(Listed("period", [{"period": period, "files": list(found.files)}]))

    def action_tag(self) -> None:
        entry = self.selected or (self.entries[0] if self.entries else None)
        if entry is None:
            self.notify("Select a source first: F4 tags the file it comes from.", severity="warning")
            return
        self._load_tags(entry["path"])

    @work(thread=True, group="list")
    def _load_tags(self, path: str) -> None:
        try:
            tags = [m["value"] for m in self.rk.marks("tag", path)]
        except Exception as exc:
            self.post_message(Failed("reading the tags", str(exc), severity="warning"))
            return
        self.post_message(Listed("tags", [{"path": path, "tags": tags}]))

    def _tags_chosen(self, path: str, names: list[str] | None) -> None:
        if names:
            self._save_tags(path, names)

    @work(thread=True, group="list")
    def _save_tags(self, path: str, names: list[str]) -> None:
        try:
            made = [self.rk.mark("tag", path, name) for name in names]
        except Exception as exc:
            self.post_message(Failed("tagging the file", str(exc), severity="warning"))
            return
        self.post_message(Listed("tagged", made))

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
            elif kind == "timeline":
                items = self.rk.timeline(None, "month")
            else:
                items = self.rk.conversations.list() if kind == "conversations" else self.rk.models()
        except Exception as exc:
            self.post_message(Failed(f"listing {kind}", str(exc)))
            return
        self.post_message(Listed(kind, items))

    @live
    def on_listed(self, message: Listed) -> None:
        if message.kind == "entities":
            self.push_screen(EntitiesScreen(message.items), self._entity_chosen)
        elif message.kind == "mentions":
            found = message.items[0]
            self.push_screen(MentionsScreen(found["name"], found["mentions"]), self._show_mention)
        elif message.kind == "thread":
            self.push_screen(ThreadScreen(message.items[0]))
        elif message.kind == "each":
            found = message.items[0]
            self.each_rows = EachRowsScreen(found["question"], found["query"], found["total"])
            self.push_screen(self.each_rows, self._each_closed)
        elif message.kind == "each-row" and self.each_rows is not None:
            self.each_rows.add(message.items[0])
        elif message.kind == "each-done" and self.each_rows is not None:
            self.each_rows.finish(bool(message.items[0]["stopped"]))
        elif message.kind == "timeline":
            self.push_screen(TimelineScreen(message.items), self._period_chosen)
        elif message.kind == "period":
            found = message.items[0]
            self.push_screen(PeriodScreen(found["period"], found["files"]))
        elif message.kind == "tags":
            path = message.items[0]["path"]
            self.push_screen(TagScreen(path, message.items[0]["tags"]), partial(self._tags_chosen, path))
        elif message.kind == "tagged":
            names = ", ".join(m["value"] for m in message.items)
            self.notify(f"tagged {message.items[0]['path'].rsplit('/', 1)[-1]}: {names}", title="Tagged")
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

    @recorded
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
