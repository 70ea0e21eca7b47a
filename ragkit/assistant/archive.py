"""The local engine's archive tools: entities (and their clean-up), e-mail threads, identical
files. A mixin of :class:`~ragkit.assistant.local.Ragkit`, kept apart so the engine's own
module stays about indexing, searching and answering."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from ragkit.core import paths
from ragkit.index.library import Library
from ragkit.investigate import near
from ragkit.investigate.graph import Graph, entity_graph
from ragkit.investigate.marks import MarkNotFound, Marks, placer
from ragkit.investigate.timeline import Period, periods
from ragkit.storage.rows import FileRow
from ragkit.storage.signatures import Signatures


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

    def entity_graph(
        self,
        query: str | None = None,
        kind: str | None = None,
        min_weight: int = 1,
        seen: Callable[[str], bool] | None = None,
    ) -> Graph:
        """Who appears with whom (:mod:`ragkit.investigate.graph`), in the files ``query`` (the
        find language) matches, or in all; with ``seen``, of the files it admits only."""
        within = seen
        if query:
            matched = {path for path, _ in self.library.find(query, 0, 0).files}
            within = (lambda p: p in matched and seen(p)) if seen else matched.__contains__
        return entity_graph(self.library.entities, within, kind, min_weight)

    def timeline(
        self,
        query: str | None = None,
        by: Period = "month",
        entity: str | None = None,
        seen: Callable[[str], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Files (or the mentions of ``entity``) per period, within the files ``query`` matches
        (:mod:`ragkit.investigate.timeline`); with ``seen``, of the files it admits only."""
        dated = [d for d in self.library.keywords.dated(query) if seen is None or seen(d[0])]
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

    # --- tags and notes -----------------------------------------------------------------

    def mark(
        self,
        kind: str,
        path: str,
        value: str,
        span: tuple[int | None, int, int] | None = None,
        author: str = "local",
        seen: Callable[[str], bool] | None = None,
    ) -> dict[str, Any]:
        """Put a tag (``kind`` "tag") or a note on the indexed file at ``path`` (or on its
        passage ``span``: page, start, end), made by ``author``."""
        row = self._indexed(path, seen)
        mark = self._marks.add(kind, value, path, row.doc, author, span)
        return mark.as_dict(placer(self.library.manifest)(mark.path, mark.doc))

    def unmark(self, kind: str, path: str, value: str, seen: Callable[[str], bool] | None = None) -> int:
        """Take the tag ``value`` (or the note whose id is ``value``) off the file at ``path``."""
        self._indexed(path, seen)
        return self._marks.remove(kind, value, [path], placer(self.library.manifest))

    def marks(
        self, kind: str | None = None, path: str | None = None, seen: Callable[[str], bool] | None = None
    ) -> list[dict[str, Any]]:
        """Every tag and note (of ``kind``; on the file at ``path``), each with the paths its
        document is at now; with ``seen``, only those on files it admits, named by them alone.
        A mark whose document is no longer indexed is listed with no path (never lost)."""
        found = []
        for mark, now in self._marks.placed(placer(self.library.manifest), kind):
            shown = [p for p in now if seen is None or seen(p)]
            if (seen is not None and not shown) or (path is not None and path not in shown):
                continue
            made = mark.as_dict(shown)
            if seen is not None and not seen(mark.path):  # marked where the key may not look: named by where it is
                made["path"] = shown[0]
            found.append(made)
        return found

    @property
    def _marks(self) -> Marks:
        return Marks(paths.marks_file(self.library.settings.home))

    def _indexed(self, path: str, seen: Callable[[str], bool] | None) -> FileRow:
        row = self.library.manifest.file(path)
        if row is None or row.status != "ok" or not row.doc or (seen is not None and not seen(path)):
            raise MarkNotFound(f"{path} is not an indexed file (index it first: ragkit index PATH; see ragkit status)")
        return row

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

    def duplicates(self, seen: Callable[[str], bool] | None = None) -> list[dict[str, Any]]:
        """Every group of indexed files with the same bytes (hash, size, paths), largest first;
        with ``seen``, of the paths it admits only."""
        groups = []
        for digest, size, places in self.library.manifest.duplicates():
            shown = [p for p in places if seen is None or seen(p)]
            if len(shown) > 1:
                groups.append({"hash": digest, "size": size, "paths": shown})
        return groups

    def near_duplicates(
        self, threshold: float = near.THRESHOLD, seen: Callable[[str], bool] | None = None
    ) -> list[dict[str, Any]]:
        """Groups of documents whose text is nearly the same (:mod:`ragkit.investigate.near`):
        each document with its paths, each pair at ``threshold`` or above with its similarity
        and the lines that differ; with ``seen``, among the paths it admits only. A document
        indexed before MinHashes were kept is read from its chunks here (and recorded by the
        next index run)."""
        tables = Signatures(self.library.manifest)

        def text_of(doc: str) -> str:
            return near.document_text(tables.spans(doc))

        places = {d: [p for p in ps if seen is None or seen(p)] for d, ps in tables.paths().items()}
        recorded = {doc: found for doc, found in tables.all().items() if places.get(doc)}
        signatures = {doc: found or near.signature(text_of(doc)) for doc, found in recorded.items()}
        found = [near.as_dict(group, places) for group in near.groups(signatures, text_of, threshold)]
        return sorted(found, key=lambda g: (-len(g["documents"]), g["documents"][0]["paths"]))
