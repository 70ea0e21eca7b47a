"""The manifest's full-text tables (FTS5 over the passages' text, their stemmed words and the
files' names), and every query keyword search makes of them. The search logic (the query
language, ranking, snippets) is in :mod:`ragkit.search.keywords`; the SQL is here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ragkit.storage.manifest import Manifest
from ragkit.storage.sqlite import rows_in

# each word's instances as "rowid*4 + column" numbers, one row per word: SQLite does the
# per-instance work, and Python sees one string per word instead of one row per instance
POSTINGS_SQL = (
    "SELECT r.term, (SELECT group_concat(i.doc * 4 + CASE i.col WHEN 'text' THEN 0 WHEN 'title' THEN 1 ELSE 2 END)"
    " FROM {instance} i WHERE i.term = r.term) FROM {rows} r"
)
PLACES_LOOKUP_MAX = 2_000  # documents whose files are looked up one by one; more: every file read
ChunkHit = tuple[int, str, str, int | None, int, int, float]  # rowid, id, doc, page, start, end, score
FilePlace = tuple[str, str, int, int | None, str | None]  # doc, path, mtime_ns, date_ns, date_source


class TextIndex:
    """Reads of the full-text tables, inside the caller's snapshot where it needs one."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest

    def vocabulary(self) -> list[str]:
        """Every word of the passages' text, as the index folds it."""
        return [r[0] for r in self.manifest.db.execute("SELECT term FROM chunk_vocab")]

    def chunk_ids_by_rowid(self) -> dict[int, str]:
        return dict(self.manifest.db.execute("SELECT rowid, id FROM chunks"))

    def vocab_tables(self, table: str) -> tuple[str, str]:
        """This connection's own ``fts5vocab`` tables over the FTS5 ``table`` (instances, rows),
        made once (outside a read transaction: the caller's first call)."""
        db = self.manifest.db
        instance, rows = f"temp.{table}_ragkit_instance", f"temp.{table}_ragkit_rows"
        db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {instance} USING fts5vocab(main, {table}, 'instance')")
        db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {rows} USING fts5vocab(main, {table}, 'row')")
        return instance, rows

    def postings(self, table: str) -> Iterator[tuple[str, str | None]]:
        """Each word of the FTS5 ``table`` with its instances (as ``POSTINGS_SQL`` gives them)."""
        instance, rows = self.vocab_tables(table)
        return self.manifest.db.execute(POSTINGS_SQL.format(instance=instance, rows=rows))

    def doc_of_rows(self) -> dict[int, str]:
        """Each chunk's document by its rowid."""
        return dict(self.manifest.db.execute("SELECT rowid, doc FROM chunks"))

    def scored(self, expression: str) -> list[tuple[int, float]]:
        """(rowid, BM25 score) of every passage whose text matches the FTS5 ``expression``."""
        return self.manifest.db.execute(
            "SELECT rowid, -bm25(chunk_fts, 1.0, 0.5, 0.5) FROM chunk_fts WHERE chunk_fts MATCH ?", (expression,)
        ).fetchall()

    def matching(self, expression: str) -> list[ChunkHit]:
        """Every passage whose own words match ``expression`` (every passage, if it is empty)."""
        if not expression:
            return self.manifest.db.execute('SELECT rowid, id, doc, page, start, "end", 0.0 FROM chunks').fetchall()
        return self.manifest.db.execute(
            'SELECT c.rowid, c.id, c.doc, c.page, c.start, c."end", -bm25(chunk_fts, 1.0, 0.5, 0.5)'
            " FROM chunk_fts JOIN chunks c ON c.rowid = chunk_fts.rowid WHERE chunk_fts MATCH ?",
            (expression,),
        ).fetchall()

    def places(self, docs: set[str], where: str, params: list[Any]) -> list[FilePlace]:
        """The indexed files that hold ``docs`` and pass the ``where`` conditions (on ``files
        f``), by path. A few documents are looked up; many: every file is read (reading each
        file's row took 70 ms at 18,000 files)."""
        sql = (
            "SELECT f.doc, f.path, f.mtime_ns, d.date_ns, d.date_source FROM files f JOIN docs d ON d.hash = f.doc"
            f" WHERE f.status = 'ok'{where}"
        )
        if len(docs) <= PLACES_LOOKUP_MAX:
            rows: list[Any] = list(rows_in(self.manifest.db, sql + " AND f.doc IN ({marks})", sorted(docs), params))
            return sorted(rows, key=lambda r: r[1])
        return [r for r in self.manifest.db.execute(f"{sql} ORDER BY f.path", params) if r[0] in docs]

    def snippet(self, expression: str, rowid: int, marks: tuple[str, str], words: int) -> tuple[str, str]:
        """The passage's snippet around its matches of ``expression`` and its whole text with
        every match marked (between ``marks``)."""
        start, end = marks
        row = self.manifest.db.execute(
            "SELECT snippet(chunk_fts, 0, ?, ?, '…', ?), highlight(chunk_fts, 0, ?, ?)"
            " FROM chunk_fts WHERE chunk_fts MATCH ? AND rowid = ?",
            (start, end, words, start, end, expression, rowid),
        ).fetchone()
        return row[0], row[1]

    def text_and_heading(self, rowid: int) -> tuple[str, str]:
        text, heading = self.manifest.db.execute(
            "SELECT text, heading FROM chunks WHERE rowid = ?", (rowid,)
        ).fetchone()
        return text, heading or ""

    def texts(self, rowids: Sequence[int]) -> dict[int, str]:
        return dict(self.manifest.chunk_rows("text", rowids))

    def named(self, expression: str) -> Iterable[tuple[str, float]]:
        """(document, BM25 score) for each file whose name matches ``expression``."""
        return self.manifest.db.execute(
            "SELECT f.doc, -bm25(name_fts) FROM name_fts JOIN files f ON f.rowid = name_fts.rowid"
            " WHERE name_fts MATCH ?",
            (expression,),
        )

    def best_stemmed(self, expression: str, depth: int, weights: Sequence[float]) -> list[tuple[str, str, float]]:
        """(chunk id, document, score) of the ``depth`` passages whose stemmed words best match
        ``expression``. The best rows first, then their chunks: joined before the LIMIT, every
        matching row (tens of thousands at 100k chunks, for a common word) would be looked up."""
        bm25 = f"bm25(stem_fts, {', '.join(map(str, weights))})"
        return self.manifest.db.execute(
            f"SELECT c.id, c.doc, best.score FROM (SELECT rowid, -{bm25} AS score FROM stem_fts"
            " WHERE stem_fts MATCH ? ORDER BY score DESC LIMIT ?) best JOIN chunks c ON c.rowid = best.rowid",
            (expression, depth),
        ).fetchall()

    def chunks_of(self, docs: Sequence[str]) -> list[tuple[str, str]]:
        """(chunk id, document) of every passage of ``docs``."""
        return list(rows_in(self.manifest.db, "SELECT id, doc FROM chunks WHERE doc IN ({marks})", docs))

    def counts(self, where: str, params: list[Any]) -> dict[str, int]:
        """Files, chunks and failed files of the files that pass the ``where`` conditions."""
        one = self.manifest.db.execute
        files = one(f"SELECT count(*) FROM files f WHERE f.status = 'ok'{where}", params).fetchone()[0]
        failed = one(f"SELECT count(*) FROM files f WHERE f.status = 'failed'{where}", params).fetchone()[0]
        chunks = one(
            "SELECT count(*) FROM chunks c JOIN docs d ON d.hash = c.doc AND d.state = 'ready' WHERE EXISTS"
            f" (SELECT 1 FROM files f WHERE f.doc = c.doc AND f.status = 'ok'{where})",
            params,
        ).fetchone()[0]
        return {"files": files, "chunks": chunks, "failed": failed}

    def chunk_ids(self, where: str, params: list[Any]) -> set[str]:
        """The ids of the chunks of the files that pass the ``where`` conditions."""
        rows = self.manifest.db.execute(
            "SELECT c.id FROM chunks c WHERE EXISTS"
            f" (SELECT 1 FROM files f WHERE f.doc = c.doc AND f.status = 'ok'{where})",
            params,
        )
        return {r[0] for r in rows}
