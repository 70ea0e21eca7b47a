"""Tags and notes a person puts on documents (or on a passage of one) while reading.

They live in ``marks.db`` in the data directory, beside ``entities.json`` and apart from the
index, so ``ragkit index --rebuild`` keeps them. Each mark records the file's path and the
SHA-256 of its content when it was made: it belongs to the file at that path while the index
has one there (edited or not), and otherwise to the files that hold that content now (the file
renamed or moved). Who made it is recorded: "local" on this machine, the key's name through a
server.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ragkit.core.errors import NotFound, RagkitError
from ragkit.storage.manifest import Manifest
from ragkit.storage.sqlite import use_wal

TAG = re.compile(r"[^\s:\"()]{1,64}")  # a word: no spaces, quotes, colons or brackets (typed as tag:NAME)
MAX_NOTE = 10_000  # characters

SCHEMA = """
CREATE TABLE IF NOT EXISTS marks (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('tag', 'note')), value TEXT NOT NULL,
    path TEXT NOT NULL, doc TEXT, page INTEGER, start INTEGER, "end" INTEGER,
    author TEXT NOT NULL, created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS marks_value ON marks(kind, value);
"""


class MarkNotFound(NotFound):
    """No such tag or note on that document."""


@dataclass(frozen=True)
class Mark:
    id: int
    kind: str  # "tag" or "note"
    value: str  # the tag's name, or the note's text
    path: str  # where the file was when it was marked
    doc: str | None  # its content's SHA-256 then
    page: int | None  # a passage's page, start and end (None: the whole document)
    start: int | None
    end: int | None
    author: str
    created: float

    def as_dict(self, paths: Sequence[str] = ()) -> dict[str, Any]:
        """With ``paths``: where the marked document is now."""
        return {**asdict(self), "paths": list(paths)}


Where = Callable[[str, str | None], list[str]]  # (path, doc) of a mark -> the indexed paths it belongs to now


def placer(manifest: Manifest) -> Where:
    """Where a mark made at (path, doc) belongs now: the indexed file at its path, else the
    files holding its content (renamed or moved)."""

    def where(path: str, doc: str | None) -> list[str]:
        row = manifest.file(path)
        if row is not None and row.status == "ok":
            return [path]
        return manifest.paths_for_doc(doc) if doc else []

    return where


def tag_name(text: str) -> str:
    name = text.strip()
    if not TAG.fullmatch(name):
        raise RagkitError(f"a tag is one word of up to 64 characters, without spaces, quotes or colons: not {text!r}")
    return name.casefold()


class Marks:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
                use_wal(db)
                db.executescript(SCHEMA)
                yield db
        except sqlite3.DatabaseError as exc:
            raise RagkitError(f"cannot use {self.path} ({exc}): your tags and notes are kept there") from exc

    def add(self, kind: str, value: str, path: str, doc: str | None, author: str,
            span: tuple[int | None, int, int] | None = None) -> Mark:  # fmt: skip
        """Put a tag (``kind`` "tag") or a note on the document at ``path`` (or on its passage
        ``span``: page, start, end). Tagging twice is tagging once."""
        value = tag_name(value) if kind == "tag" else _note_text(value)
        page, start, end = span or (None, None, None)
        with self._db() as db:
            if kind == "tag":
                same = db.execute(
                    "SELECT id FROM marks WHERE kind = 'tag' AND value = ? AND path = ? AND start IS ? AND page IS ?",
                    (value, path, start, page),
                ).fetchone()
                if same:
                    return self._one(db, same[0])
            cursor = db.execute(
                'INSERT INTO marks(kind, value, path, doc, page, start, "end", author, created)'
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, value, path, doc, page, start, end, author, time.time()),
            )
            return self._one(db, int(cursor.lastrowid or 0))

    def remove(self, kind: str, value: str, paths: Sequence[str], where: Where) -> int:
        """Take the tag ``value`` (or the note with that id) off the document at any of ``paths``;
        how many marks went."""
        gone = [m.id for m in self.all(kind) if _matches(m, kind, value) and set(where(m.path, m.doc)) & set(paths)]
        if not gone:
            what = f"tag {value!r}" if kind == "tag" else f"note {value}"
            raise MarkNotFound(f"no {what} on {', '.join(paths)} (see: ragkit {kind} list)")
        with self._db() as db:
            db.executemany("DELETE FROM marks WHERE id = ?", [(i,) for i in gone])
        return len(gone)

    def all(self, kind: str | None = None) -> list[Mark]:
        if not self.path.exists():
            return []
        with self._db() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM marks WHERE ? IS NULL OR kind = ? ORDER BY created, id",
                              (kind, kind)).fetchall()  # fmt: skip
        return [Mark(*row) for row in rows]

    def placed(self, where: Where, kind: str | None = None) -> list[tuple[Mark, list[str]]]:
        """Every mark with the indexed paths it belongs to now (none: its document is gone)."""
        return [(m, where(m.path, m.doc)) for m in self.all(kind)]

    def paths(self, where: Where, kind: str, value: str | None = None) -> list[str]:
        """The indexed paths carrying the tag ``value`` (any note, for kind "note")."""
        found = {p for m, now in self.placed(where, kind) if value is None or m.value == value for p in now}
        return sorted(found)

    def _one(self, db: sqlite3.Connection, ident: int) -> Mark:
        return Mark(*db.execute(f"SELECT {_COLUMNS} FROM marks WHERE id = ?", (ident,)).fetchone())


_COLUMNS = 'id, kind, value, path, doc, page, start, "end", author, created'


def _matches(mark: Mark, kind: str, value: str) -> bool:
    return mark.value == tag_name(value) if kind == "tag" else str(mark.id) == value.strip()


def _note_text(text: str) -> str:
    note = text.strip()
    if not note or len(note) > MAX_NOTE:
        raise RagkitError(f"a note is 1 to {MAX_NOTE:,} characters: ragkit note add PATH TEXT")
    return note
