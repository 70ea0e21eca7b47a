"""The one interface user interfaces program against: :class:`Assistant`.

The terminal UI types its backend as this Protocol, never as the concrete facade, so what
the UI may call is written down in one place and checked by mypy. Two classes satisfy it:
the local engine (:class:`~ragkit.assistant.local.Ragkit`) and a ragkit server used over HTTP
(:class:`~ragkit.assistant.remote.RemoteAssistant`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from ragkit.answer.answerer import Answer, Mode
from ragkit.answer.conversation import Conversation, ConversationStore
from ragkit.assistant.each import EachRow
from ragkit.core.config import Settings
from ragkit.db.ask import SqlAnswer, SqlMode
from ragkit.index.library import SearchMode
from ragkit.index.report import IndexReport, Progress
from ragkit.index.watch import LiveSync
from ragkit.investigate.graph import Graph
from ragkit.investigate.searches import NewMatch, SavedSearch
from ragkit.investigate.timeline import Period
from ragkit.llm import StreamEvent
from ragkit.llm.catalog import ModelRef
from ragkit.search.found import FindResult
from ragkit.search.retrieve import Hit

__all__ = [
    "Answer",
    "Assistant",
    "Conversation",
    "Hit",
    "IndexReport",
    "LiveSync",
    "Mode",
    "Progress",
    "SqlAnswer",
    "SqlMode",
]


class Assistant(Protocol):
    """Index, search, ask, show sources, report status."""

    settings: Settings
    conversations: ConversationStore

    def index(
        self,
        roots: Sequence[Path],
        rebuild: bool = ...,
        progress: Callable[[Progress], None] | None = ...,
        strict: bool = ...,
        stop: threading.Event | None = ...,
        within: Sequence[Path] = ...,
    ) -> IndexReport: ...

    def live_sync(
        self,
        roots: Sequence[Path],
        on_sync: Callable[[IndexReport], None] | None = ...,
        progress: Callable[[Progress], None] | None = ...,
        **options: Any,
    ) -> LiveSync: ...

    def search(
        self, query: str, k: int | None = ..., mode: SearchMode | None = ..., *, continued: bool = ...
    ) -> list[Hit]: ...

    def find(self, query: str, offset: int = ..., limit: int | None = ...) -> FindResult: ...

    def save_search(self, name: str, query: str) -> SavedSearch: ...

    def saved_searches(self) -> list[SavedSearch]: ...

    def remove_search(self, name: str) -> None: ...

    def run_search(self, name: str, limit: int | None = ...) -> tuple[SavedSearch, FindResult, list[NewMatch]]: ...

    def ask_stream(
        self,
        question: str,
        model: str | None = ...,
        conversation: Conversation | None = ...,
        mode: Mode | None = ...,
        databases: Sequence[str] | None = ...,
    ) -> Generator[StreamEvent | Answer | SqlAnswer, None, None]: ...

    def ask_each(self, question: str, query: str, mode: Mode | None = ...) -> tuple[int, Iterator[EachRow]]: ...
    def ask_database(
        self, question: str, name: str, model: str | None = ..., sql_mode: SqlMode | None = ...
    ) -> SqlAnswer: ...

    def load_model(self, model: str | None = ...) -> None: ...

    def model_ref(self, model: str | None = ...) -> ModelRef: ...

    def model_note(self, model: str | None = ...) -> str: ...

    def models(self) -> list[dict[str, Any]]: ...

    def passage(self, path: str, page: int | None, start: int, end: int, context: int = ...) -> dict[str, Any]: ...

    def open_file(self, path: str, page: int | None = ..., member: str = ...) -> list[str]: ...

    def entities(self, kind: str | None = ..., top: int | None = ...) -> list[dict[str, Any]]: ...

    def entity_mentions(self, name: str, kind: str | None = ...) -> list[dict[str, Any]]: ...

    def entity_state(self) -> dict[str, int]: ...

    def merge_entity(self, alias: str, name: str) -> None: ...

    def unmerge_entity(self, alias: str) -> None: ...

    def ignore_entity(self, name: str, undo: bool = ...) -> None: ...

    def update_entities(self) -> int: ...

    def threads(self) -> list[dict[str, Any]]: ...

    def thread(self, ident: str) -> dict[str, Any]: ...

    def thread_at(self, path: str, offset: int) -> dict[str, Any]: ...

    def duplicates(self) -> list[dict[str, Any]]: ...

    def near_duplicates(self, threshold: float = ...) -> list[dict[str, Any]]: ...

    def entity_graph(self, query: str | None = ..., kind: str | None = ..., min_weight: int = ...) -> Graph: ...

    def timeline(self, query: str | None = ..., by: Period = ..., entity: str | None = ...) -> list[dict[str, Any]]: ...

    def mark(
        self, kind: str, path: str, value: str, span: tuple[int | None, int, int] | None = ...
    ) -> dict[str, Any]: ...

    def unmark(self, kind: str, path: str, value: str) -> int: ...

    def marks(self, kind: str | None = ..., path: str | None = ...) -> list[dict[str, Any]]: ...

    def sync_rows(
        self,
        names: Sequence[str] | None = ...,
        progress: Callable[[Progress], None] | None = ...,
        stop: threading.Event | None = ...,
    ) -> dict[str, Any]: ...

    def status(self) -> dict[str, Any]: ...

    def keep_warm(self) -> None: ...

    def close(self) -> None: ...
