"""The manifest's rows as Python values: a file, what a document says of itself, a chunk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FileRow:
    path: str
    size: int
    mtime_ns: int
    hash: str | None
    status: str  # "ok" | "failed"
    error: str | None
    doc: str | None
    note: str | None = None  # indexed, with a warning (e.g. pages without a text layer)
    link: str | None = None  # a symlink's target when it was indexed; None for a file itself


@dataclass(frozen=True)
class DocInfo:
    """What a document says of itself: its own date (ns since the epoch) and source, its language."""

    date_ns: int | None = None
    date_source: str = ""
    lang: str | None = None
    messages: tuple[tuple[int, dict[str, Any]], ...] = ()  # e-mails: (offset, headers), in order


@dataclass(frozen=True)
class ChunkRow:
    id: str
    doc: str
    ord: int
    page: int | None
    start: int
    end: int
    text: str
    title: str
    heading: str


def chunk_id(doc: str, ordinal: int) -> str:
    return f"{doc[:32]}-{ordinal}"
