"""Saved searches: queries in the query language of :mod:`ragkit.search.query`, re-run after every
index run that adds or changes files (the watcher's included), each reporting the passages
it had not matched before until someone has looked at them.

They live in ``searches.db`` in the data directory, beside the index rather than in it, so
``ragkit index --rebuild`` keeps them. A passage is known by a digest of its text
(:func:`ragkit.search.keywords.passage_key`): a renamed or copied file, or an edit elsewhere in a
document, brings no "new" match; an edited or added passage that matches does.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragkit.core.errors import NotFound, RagkitError
from ragkit.search.found import snippet_fields, snippet_of
from ragkit.search.keywords import KeywordIndex
from ragkit.search.query import parse
from ragkit.storage.sqlite import use_wal

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
KEEP_NEW = 1000  # new matches kept per search until looked at (the oldest go first)

SCHEMA = """
CREATE TABLE IF NOT EXISTS searches (
    name TEXT PRIMARY KEY, query TEXT NOT NULL, created REAL NOT NULL,
    checked REAL, total INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS seen (
    name TEXT NOT NULL REFERENCES searches(name) ON DELETE CASCADE, key TEXT NOT NULL,
    PRIMARY KEY (name, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS news (
    name TEXT NOT NULL REFERENCES searches(name) ON DELETE CASCADE, key TEXT NOT NULL,
    path TEXT NOT NULL, page INTEGER, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    snippet TEXT NOT NULL, found REAL NOT NULL, PRIMARY KEY (name, key)
)
"""


class SearchNotFound(NotFound):
    """No saved search has that name."""


@dataclass(frozen=True)
class SavedSearch:
    name: str
    query: str
    created: float
    checked: float | None  # when it was last run against the index
    total: int  # passages it matched then
    new: int  # matches found since someone last looked

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "query": self.query,
            "created": self.created,
            "checked": self.checked,
            "total": self.total,
            "new": self.new,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SavedSearch:
        return cls(data["name"], data["query"], data["created"], data.get("checked"), data["total"], data["new"])


@dataclass(frozen=True)
class NewMatch:
    search: str
    path: str
    page: int | None
    start: int
    end: int
    snippet: str  # with the keyword index's match marks
    found: float

    def as_dict(self, marks: tuple[str, str] = ("**", "**")) -> dict[str, Any]:
        return {
            "search": self.search,
            "path": self.path,
            "page": self.page,
            "start": self.start,
            "end": self.end,
            **snippet_fields(self.snippet, marks),
            "found": self.found,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NewMatch:
        return cls(
            data["search"], data["path"], data.get("page"), data["start"], data["end"], snippet_of(data), data["found"]
        )


class SavedSearches:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection for one operation, in one transaction (several processes share the
        file: a watcher records matches while the CLI lists them)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30.0, isolation_level=None)) as db:
            use_wal(db)
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in SCHEMA.split(";"):
                    db.execute(statement)
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # --- the list ----------------------------------------------------------------------

    def save(self, name: str, query: str, keywords: KeywordIndex) -> SavedSearch:
        """Save (or replace) ``name``; what the query matches now is its baseline, not news."""
        if not NAME.fullmatch(name):
            raise RagkitError(
                f"a saved search's name is 1-64 letters, digits, '.', '_' or '-', starting with a letter"
                f" or digit (got {name!r})"
            )
        parsed = parse(query)  # bad syntax is refused now, not at the next index run
        keys, _ = keywords.news(parsed, ())
        now = time.time()
        with self._db() as db:
            db.execute("DELETE FROM searches WHERE name = ?", (name,))
            db.execute(
                "INSERT INTO searches (name, query, created, checked, total) VALUES (?, ?, ?, ?, ?)",
                (name, query, now, now, len(keys)),
            )
            db.executemany("INSERT INTO seen (name, key) VALUES (?, ?)", [(name, k) for k in keys])
        return SavedSearch(name, query, now, now, len(keys), 0)

    def remove(self, name: str) -> None:
        with self._db() as db:
            if db.execute("DELETE FROM searches WHERE name = ?", (name,)).rowcount == 0:
                raise self._unknown(db, name)

    def saved(self) -> list[SavedSearch]:
        if not self.path.exists():
            return []
        with self._db() as db:
            rows = db.execute(
                "SELECT s.name, s.query, s.created, s.checked, s.total,"
                " (SELECT count(*) FROM news n WHERE n.name = s.name) FROM searches s ORDER BY s.name"
            ).fetchall()
        return [SavedSearch(*row) for row in rows]

    def get(self, name: str) -> SavedSearch:
        for search in self.saved():
            if search.name == name:
                return search
        with self._db() as db:
            raise self._unknown(db, name)

    @staticmethod
    def _unknown(db: sqlite3.Connection, name: str) -> SearchNotFound:
        names = [r[0] for r in db.execute("SELECT name FROM searches ORDER BY name")]
        known = f"saved searches: {', '.join(names)}" if names else "there are none yet"
        return SearchNotFound(
            f"no saved search is called {name!r} ({known}); save one with: ragkit find --save NAME QUERY"
        )

    # --- running them ------------------------------------------------------------------

    def check(self, keywords: KeywordIndex, names: Sequence[str] = ()) -> dict[str, int]:
        """Run the saved searches (``names``, or all) against the index as it is now and record
        the passages each had not matched before: {name: how many are new}. A search whose
        query no longer parses (the language grew stricter) is skipped with nothing recorded."""
        found: dict[str, int] = {}
        for search in self.saved():
            if names and search.name not in names:
                continue
            with self._db() as db:
                known = {r[0] for r in db.execute("SELECT key FROM seen WHERE name = ?", (search.name,))}
            try:
                keys, fresh = keywords.news(search.query, known)
            except RagkitError:
                continue
            now = time.time()
            with self._db() as db:
                if db.execute("SELECT 1 FROM searches WHERE name = ?", (search.name,)).fetchone() is None:
                    continue  # removed meanwhile
                db.execute("UPDATE searches SET checked = ?, total = ? WHERE name = ?", (now, len(keys), search.name))
                db.executemany(
                    "INSERT OR IGNORE INTO seen (name, key) VALUES (?, ?)", [(search.name, k) for k in keys - known]
                )
                db.executemany(
                    'INSERT OR IGNORE INTO news (name, key, path, page, start, "end", snippet, found)'
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(search.name, key, h.path, h.page, h.start, h.end, h.snippet, now) for key, h in fresh],
                )
                db.execute(
                    "DELETE FROM news WHERE name = ? AND key NOT IN"
                    " (SELECT key FROM news WHERE name = ? ORDER BY found DESC, rowid DESC LIMIT ?)",
                    (search.name, search.name, KEEP_NEW),
                )
            found[search.name] = len(fresh)
        return found

    def new_matches(self, name: str) -> list[NewMatch]:
        """The matches ``name`` found since someone last looked, oldest first."""
        self.get(name)
        with self._db() as db:
            rows = db.execute(
                'SELECT name, path, page, start, "end", snippet, found FROM news WHERE name = ?'
                " ORDER BY found, path, start",
                (name,),
            ).fetchall()
        return [NewMatch(*row) for row in rows]

    def acknowledge(self, name: str) -> None:
        """Someone has seen ``name``'s new matches: they are no longer news."""
        with self._db() as db:
            db.execute("DELETE FROM news WHERE name = ?", (name,))
