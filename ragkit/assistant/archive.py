"""The local engine's archive tools: entities (and their clean-up), e-mail threads, identical
files. A mixin of :class:`~ragkit.assistant.local.Ragkit`, kept apart so the engine's own
module stays about indexing, searching and answering."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from ragkit.index.library import Library
from ragkit.investigate.graph import Graph, entity_graph
from ragkit.investigate.timeline import Period, periods


class LocalArchive:
    """Needs ``library`` and ``writer`` (the class it is mixed into has them)."""

    library: Library

    def writer(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    # --- entities -----------------------------------------------------------------------

    def entities(self, kind: str | None = None, top: int | None = 50) -> list[dict[str, Any]]:
        """The entities found, by the number of files that mention them (merges and ignores applied)."""
        return [row.as_dict() for row in self.library.entities.top(kind, top)]

    def entity_mentions(self, name: str, kind: str | None = None) -> list[dict[str, Any]]:
        """Every mention of ``name`` (and of what is merged into it): path, page, span, text, type."""
        return self.library.entities.show(name, kind)

    def entity_graph(self, query: str | None = None, kind: str | None = None, min_weight: int = 1) -> Graph:
        """Who appears with whom (:mod:`ragkit.investigate.graph`), in the files ``query`` (the
        find language) matches, or in all."""
        seen = None
        if query:
            seen = {path for path, _ in self.library.find(query, 0, 0).files}.__contains__
        return entity_graph(self.library.entities, seen, kind, min_weight)

    def timeline(
        self, query: str | None = None, by: Period = "month", entity: str | None = None
    ) -> list[dict[str, Any]]:
        """Files (or the mentions of ``entity``) per period, within the files ``query`` matches
        (:mod:`ragkit.investigate.timeline`)."""
        dated = self.library.keywords.dated(query)
        mentions = None if entity is None else [m["path"] for m in self.library.entities.show(entity)]
        return periods(dated, by, mentions)

    def entity_state(self) -> dict[str, int]:
        """``mentions``: how many are stored; ``pending``: documents not looked at yet."""
        return self.library.entities.counts()

    def merge_entity(self, alias: str, name: str) -> None:
        """Count ``alias`` as ``name`` from now on, across re-indexing."""
        self.library.entities.book.merge(alias, name)

    def unmerge_entity(self, alias: str) -> None:
        self.library.entities.book.unmerge(alias)

    def ignore_entity(self, name: str, undo: bool = False) -> None:
        """Leave ``name`` out of the entities (``undo``: list it again)."""
        self.library.entities.book.ignore(name, undo=undo)

    def update_entities(self) -> int:
        """Find the entities of the documents not looked at yet; how many were done."""
        with self.writer():
            return self.library.entities.extract()

    # --- e-mail threads and copies ------------------------------------------------------

    def threads(self) -> list[dict[str, Any]]:
        """Every e-mail thread of the indexed .eml and .mbox files, newest activity first."""
        from ragkit.investigate.threads import threads

        return [t.as_dict() for t in threads(self.library.manifest)]

    def thread(self, ident: str, seen: Callable[[str], bool] | None = None) -> dict[str, Any]:
        """The e-mail thread holding the message ``ident`` (a Message-ID or an .eml file's path),
        built from the messages of the files ``seen`` (all, by default)."""
        from ragkit.investigate.threads import thread_of

        return thread_of(self.library.manifest, ident, seen).as_dict()

    def thread_at(self, path: str, offset: int, seen: Callable[[str], bool] | None = None) -> dict[str, Any]:
        """The e-mail thread of the message at character ``offset`` of ``path``."""
        from ragkit.investigate.threads import thread_at

        return thread_at(self.library.manifest, path, offset, seen).as_dict()

    def duplicates(self) -> list[dict[str, Any]]:
        """Every group of indexed files with the same bytes (hash, size, paths), largest first."""
        return [{"hash": h, "size": size, "paths": places} for h, size, places in self.library.manifest.duplicates()]
