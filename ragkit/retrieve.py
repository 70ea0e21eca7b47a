"""Retrieval: a query to ranked passages, each with its file, page and span."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragkit.manifest import Manifest
from ragkit.store import VectorHit, VectorStore


@dataclass(frozen=True)
class Hit:
    id: str
    doc: str
    path: str
    page: int | None
    start: int
    end: int
    score: float
    text: str
    title: str = ""
    heading: str = ""
    filetype: str = ""
    mtime: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "page": self.page,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
            "text": self.text,
            "title": self.title,
            "heading": self.heading,
            "filetype": self.filetype,
            "mtime": self.mtime,
        }


class Retriever:
    def __init__(self, manifest: Manifest, store: VectorStore, embed: Callable[[Sequence[str]], Any]) -> None:
        self.manifest = manifest
        self.store = store
        self.embed = embed

    def search(self, query: str, k: int, vector: Any = None) -> list[Hit]:
        """The ``k`` passages closest to ``query`` (whose ``vector`` may be given, already embedded)."""
        if not query.strip():
            return []
        if vector is None:
            vector = self.embed([query])[0]
        return self.hits(self.store.query(vector, k))

    def hits(self, found: Sequence[VectorHit]) -> list[Hit]:
        """The passages of ``found`` (chunk ids with scores), in its order, with their files;
        a chunk no committed file holds is left out."""
        rows = self.manifest.chunks_by_id([h.id for h in found])
        hits: list[Hit] = []
        for vector_hit in found:
            row = rows.get(vector_hit.id)
            if row is None:  # written to the store by a run that has not committed yet
                continue
            paths = self.manifest.paths_for_doc(row.doc)
            if not paths:
                continue
            file = self.manifest.file(paths[0])
            hits.append(
                Hit(
                    id=row.id,
                    doc=row.doc,
                    path=paths[0],
                    page=row.page,
                    start=row.start,
                    end=row.end,
                    score=vector_hit.score,
                    text=row.text,
                    title=row.title,
                    heading=row.heading,
                    filetype=Path(paths[0]).suffix.lower().lstrip("."),
                    mtime=file.mtime_ns / 1e9 if file else None,
                )
            )
        return hits
