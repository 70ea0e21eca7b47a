"""What the MCP tools read, and who may read what of it: :class:`Backend`.

Two kinds stand behind the tools. :class:`LocalBackend` is the index on this machine, read as the
command line reads it (``ragkit mcp``, over stdio: the person who started it may read all of it).
The office server's (``ragkit.serve.mcp``) answers through the same rules as its HTTP routes:
a key limited to collections sees only their files, whatever the tool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from ragkit.answer import passages
from ragkit.answer.answerer import Mode
from ragkit.assistant.each import answered, each_file
from ragkit.assistant.local import Ragkit
from ragkit.core.errors import NotFound, RagkitError
from ragkit.db.rows import with_sources
from ragkit.index.library import SearchMode
from ragkit.storage.filters import Filters

Progress = Callable[[str], None]  # a line on what a long call is doing now


class Backend(Protocol):
    """The index as one caller may read it. Every method raises :class:`RagkitError` (or
    :class:`NotFound`) with a message the caller can act on."""

    who: str  # the key's name, "local" for this machine's own user

    def search(self, query: str, k: int, mode: SearchMode | None, collection: str | None) -> dict[str, Any]: ...
    def find(self, query: str, offset: int, limit: int, collection: str | None) -> dict[str, Any]: ...
    def ask(self, question: str, mode: Mode | None, collection: str | None, progress: Progress) -> dict[str, Any]: ...
    def each(
        self, question: str, query: str, mode: Mode | None, collection: str | None, progress: Progress
    ) -> dict[str, Any]: ...
    def passage(self, path: str, page: int | None, start: int, end: int) -> dict[str, Any]: ...
    def status(self) -> dict[str, Any]: ...
    def entities(self, kind: str | None, top: int, collection: str | None) -> dict[str, Any]: ...
    def mentions(self, name: str, kind: str | None, collection: str | None) -> dict[str, Any]: ...
    def thread(self, ident: str) -> dict[str, Any]: ...
    def documents(self) -> list[str]: ...
    def pages(self, path: str, page: int | None) -> list[tuple[int | None, str]]: ...
    def record(self, **entry: Any) -> None: ...


class LocalBackend:
    """This machine's index, all of it (or one of its collections, when named)."""

    who = "local"

    def __init__(self, rk: Ragkit) -> None:
        self.rk = rk
        self.generating = threading.Lock()  # one answer at a time on the model

    def limit(self, collection: str | None) -> Filters | None:
        if collection is None:
            return None
        folders = self.rk.settings.collections.get(collection)
        if folders is None:
            known = ", ".join(sorted(self.rk.settings.collections)) or "none"
            raise NotFound(f"no collection is named {collection!r} (collections: {known})")
        return Filters(within=tuple(str(p) for p in folders) or ("/nonexistent-collection",))

    def shown(self, result: Any) -> Any:
        return with_sources(result, self.rk.settings.home)

    def search(self, query: str, k: int, mode: SearchMode | None, collection: str | None) -> dict[str, Any]:
        hits = self.rk.search(query, k, mode, self.limit(collection))
        return {"hits": self.shown([h.as_dict() for h in hits])}

    def find(self, query: str, offset: int, limit: int, collection: str | None) -> dict[str, Any]:
        found: dict[str, Any] = self.shown(self.rk.find(query, offset, limit, self.limit(collection)).as_dict())
        return found

    def ask(self, question: str, mode: Mode | None, collection: str | None, progress: Progress) -> dict[str, Any]:
        scope = self.limit(collection)
        with self.generating:
            answer = answered(
                self.rk.ask_stream(question, mode=mode, scope=scope, databases=None if scope is None else []), progress
            )
        shown: dict[str, Any] = self.shown(answer.as_dict())
        return shown

    def each(
        self, question: str, query: str, mode: Mode | None, collection: str | None, progress: Progress
    ) -> dict[str, Any]:
        scope = self.limit(collection)
        with self.generating:
            found = each_file(self.rk, question, query, mode, scope, progress)
        shown: dict[str, Any] = self.shown(found)
        return shown

    def indexed(self, path: str) -> Any:
        row = self.rk.library.manifest.file(path)
        if row is None or row.status != "ok":
            raise NotFound(f"{path} is not an indexed file (the search tool gives the paths of those that are)")
        return row

    def passage(self, path: str, page: int | None, start: int, end: int) -> dict[str, Any]:
        self.indexed(path)
        return self.rk.passage(path, page, start, end)

    def status(self) -> dict[str, Any]:
        state = self.rk.status()
        state["collections"] = sorted(self.rk.settings.collections)
        try:
            state["model"] = self.rk.model_note()
        except RagkitError as exc:
            state["model"] = f"none ({exc})"
        return state

    def seen(self, collection: str | None) -> Callable[[str], bool] | None:
        scope = self.limit(collection)
        return None if scope is None else scope.admits

    def entities(self, kind: str | None, top: int, collection: str | None) -> dict[str, Any]:
        rows = self.rk.library.entities.top(kind, top or None, seen=self.seen(collection))
        return {"entities": [row.as_dict() for row in rows]}

    def mentions(self, name: str, kind: str | None, collection: str | None) -> dict[str, Any]:
        return {"mentions": self.rk.library.entities.show(name, kind, seen=self.seen(collection))}

    def thread(self, ident: str) -> dict[str, Any]:
        return self.rk.thread(ident)

    def documents(self) -> list[str]:
        return [row.path for row in self.rk.library.manifest.files() if row.status == "ok"]

    def pages(self, path: str, page: int | None) -> list[tuple[int | None, str]]:
        return passages.pages(path, self.indexed(path), page)

    def record(self, **entry: Any) -> None:
        """Nothing: on this machine, the calls are the person's own (the server audits its keys')."""
