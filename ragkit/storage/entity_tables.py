"""The manifest's entities table (each document's mentions: type, value, lookup key, page and
span) and every query the entities layer makes of it (:mod:`ragkit.investigate.entities`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ragkit.storage.manifest import Manifest
from ragkit.storage.sqlite import rows_in

INSERT_MENTION = 'INSERT INTO entities(doc, type, value, "key", page, start, "end") VALUES (?, ?, ?, ?, ?, ?, ?)'
Mention = tuple[str, str, str, str, int | None, int, int]  # doc, type, value, key, page, start, end
ChunkText = tuple[str, int | None, int, int, str]  # doc, page, start, end, text


class EntityTables:
    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest

    def pending(self, version: str) -> list[str]:
        """The ready documents (with a file) whose entities were not found by ``version``, oldest first."""
        rows = self.manifest.db.execute(
            "SELECT hash FROM docs WHERE state = 'ready' AND (entities IS NULL OR entities != ?)"
            " AND EXISTS (SELECT 1 FROM files WHERE files.doc = docs.hash) ORDER BY created",
            (version,),
        )
        return [r[0] for r in rows]

    def write(self, docs: Sequence[str], found: Sequence[Mention], version: str) -> None:
        """``docs``' mentions replaced by ``found`` and the documents marked done by ``version``,
        in one transaction (a kill leaves each document done or to do)."""
        marks = ", ".join("?" * len(docs))
        with self.manifest.transaction() as db:
            db.execute(f"DELETE FROM entities WHERE doc IN ({marks})", list(docs))
            db.executemany(INSERT_MENTION, found)
            db.execute(f"UPDATE docs SET entities = ? WHERE hash IN ({marks}) AND state = 'ready'", [version, *docs])

    def chunks(self, docs: Sequence[str]) -> list[ChunkText]:
        """The chunks of ``docs`` (doc, page, start, end, text), in each document's order."""
        sql = 'SELECT doc, page, start, "end", text, ord FROM chunks WHERE doc IN ({marks})'
        rows = sorted(rows_in(self.manifest.db, sql, docs), key=lambda r: (r[0], r[5]))
        return [(doc, page, start, end, text) for doc, page, start, end, text, _ in rows]

    def chunk_count(self, docs: Sequence[str]) -> int:
        return sum(n for (n,) in rows_in(self.manifest.db, "SELECT count(*) FROM chunks WHERE doc IN ({marks})", docs))

    def per_doc(self, kind: str | None) -> list[tuple[str, str, str, str, int]]:
        """(type, key, value, doc, mentions) of every entity (of ``kind``) in every document."""
        where, params = ("WHERE e.type = ?", [kind]) if kind else ("", [])
        return self.manifest.db.execute(
            f'SELECT e.type, e."key", e.value, e.doc, count(*) FROM entities e {where} GROUP BY e.type, e."key", e.doc',
            params,
        ).fetchall()

    def files(self) -> list[tuple[str, str]]:
        """(doc, path) of every indexed file."""
        return self.manifest.db.execute(
            "SELECT doc, path FROM files WHERE status = 'ok' AND doc IS NOT NULL"
        ).fetchall()

    def mentions(self, kind: str, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        """(path, type, value, page, start, end) of each mention of ``keys``, in every file
        holding it, by path and place."""
        sql = (
            'SELECT f.path, e.type, e.value, e.page, e.start, e."end" FROM entities e'
            " JOIN files f ON f.doc = e.doc AND f.status = 'ok'"
            ' WHERE e.type = ? AND e."key" IN ({marks})'
        )
        rows = list(rows_in(self.manifest.db, sql, keys, [kind]))
        return sorted(rows, key=lambda r: (r[0], r[3] if r[3] is not None else -1, r[4]))

    def count(self) -> int:
        return int(self.manifest.db.execute("SELECT count(*) FROM entities").fetchone()[0])
