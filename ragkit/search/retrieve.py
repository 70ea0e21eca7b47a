"""Retrieval: a query to ranked passages, each with its file, page and span."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ragkit.storage.manifest import Manifest
from ragkit.storage.vectors import VectorHit


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
    also: tuple[str, ...] = ()  # the same content at other paths
    continues: bool = False  # the passage after the one before it in a list, which its table runs on into

    @property
    def member(self) -> str:
        """``archive.zip!/inner/file.pdf`` for a passage of an archive's member, else ""."""
        return member_of(self.path, self.heading)

    @property
    def attachment(self) -> str:
        """'attachment NAME of the message "SUBJECT"' for a passage of an e-mail's attachment."""
        return attachment_of(self.heading)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "page": self.page,
            "start": self.start,
            "end": self.end,
            "member": self.member or None,
            "attachment": self.attachment or None,
            "score": round(self.score, 4),
            "text": self.text,
            "title": self.title,
            "heading": self.heading,
            "filetype": self.filetype,
            "mtime": self.mtime,
            "also": list(self.also),
            "continues": self.continues,
        }


def attachment_of(heading: str) -> str:
    """For a passage of an e-mail's attachment: 'attachment NAME of the message "SUBJECT"'."""
    parts = heading.split(" > ")
    for n, part in enumerate(parts):
        if part.startswith("attachment: ") and n > 0:
            return f'{part.replace(": ", " ", 1)} of the message "{parts[n - 1]}"'
    return ""


def member_of(path: str, heading: str) -> str:
    """The archive member a passage comes from (its heading's first part, as the archive
    loader writes it: ``NAME!/inner/file``), or "" for a passage of a plain file."""
    parts = heading.split(" > ")
    name = path.rsplit("/", 1)[-1]
    if not parts[0].startswith(name + "!/"):
        return ""
    page = f", {parts[1]}" if len(parts) > 1 and re.fullmatch(r"page \d+", parts[1]) else ""
    return parts[0] + page


class Retriever:
    def __init__(
        self,
        manifest: Manifest,
        prefer: Sequence[str] = (),
    ) -> None:
        self.manifest = manifest
        self.prefer = prefer  # folders whose copy of a content a hit names first

    def hits(self, found: Sequence[VectorHit]) -> list[Hit]:
        """The passages of ``found`` (chunk ids with scores), in its order, with their files;
        a chunk no committed file holds is left out."""
        rows = self.manifest.chunks_by_id([h.id for h in found])
        hits: list[Hit] = []
        for vector_hit in found:
            row = rows.get(vector_hit.id)
            if row is None:  # written to the store by a run that has not committed yet
                continue
            paths = present_first(self.manifest.paths_for_doc(row.doc), self.prefer)
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
                    also=tuple(paths[1:]),
                )
            )
        return hits


def present_first(paths: list[str], prefer: Sequence[str] = ()) -> list[str]:
    """Paths of one content in the order a hit should name them: under the folders this
    process indexed last (``prefer``: the checkout the user is in, not another with the same
    files), then those still on disk (a copy may be deleted with no sync since)."""
    if len(paths) < 2:
        return paths
    return sorted(paths, key=lambda p: (not any(p.startswith(r) for r in prefer), not os.path.exists(p)))


def merge_adjacent(hits: Sequence[Hit]) -> list[Hit]:
    """Hits that are pieces of one passage (the same document and page, their spans touching
    or overlapping, as neighbouring chunks do) as one hit with the joined span and text, at
    the better one's rank and with its score: a prompt then gives the passage whole, once."""
    merged: list[Hit] = []
    for hit in hits:
        merged.append(hit)
        at = len(merged) - 1
        while True:  # a joined span may reach yet another kept hit
            other = next((j for j, kept in enumerate(merged) if j != at and _touch(kept, merged[at])), None)
            if other is None:
                break
            first, second = min(at, other), max(at, other)
            merged[first] = _join(merged[first], merged[second])
            del merged[second]
            at = first
    return merged


def _touch(a: Hit, b: Hit) -> bool:
    return a.doc == b.doc and a.page == b.page and b.start <= a.end and a.start <= b.end


def _join(better: Hit, other: Hit) -> Hit:
    """One hit spanning both (the chunk texts are the page's or file's text at their spans)."""
    first, second = (better, other) if better.start <= other.start else (other, better)
    text = first.text + second.text[first.end - second.start :] if second.end > first.end else first.text
    return replace(
        better, start=first.start, end=max(first.end, second.end), text=text, score=max(better.score, other.score)
    )
