"""The manifest: a SQLite (WAL) record of every file, document and chunk in the index.

Documents are keyed by the SHA-256 of a file's bytes, so identical content at two paths is
stored and embedded once, and a renamed file only re-points its row. A document is written
``pending`` before its vectors go to the vector store and ``ready`` in the same transaction
that records its chunks and file row; a crash in between leaves a ``pending`` row that the
next run rolls back. Schema changes are numbered migrations.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest import Chunk
from ragkit.core.errors import REBUILD_HINT, DiskFullError, IndexDamagedError, disk_full
from ragkit.storage.migrations import MIGRATIONS, message_row
from ragkit.storage.rows import ChunkRow, DocInfo, FileRow, chunk_id
from ragkit.storage.sqlite import rows_in, use_wal

_FILE_COLUMNS = "path, size, mtime_ns, hash, status, error, doc, note, link"  # a FileRow's fields, in order


class Manifest:
    """Thin, typed access to the manifest database.

    Each thread gets its own connection, so a UI can search while a watcher thread writes
    (WAL lets readers and one writer work at once).
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._all: list[tuple[threading.Thread, sqlite3.Connection]] = []  # each with the thread that owns it
        self._all_lock = threading.Lock()
        self._migrated = False
        try:
            self._migrate()
            self.db.execute("SELECT count(*) FROM files").fetchone()  # the first pages read, too
        except sqlite3.DatabaseError as exc:
            self.close()
            if disk_full(exc):  # not damage: setting the manifest aside for a rebuild would lose it
                raise DiskFullError(exc, str(path)) from exc
            raise IndexDamagedError(f"the index's manifest {path} is damaged ({exc}): {REBUILD_HINT}") from exc

    @property
    def db(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "db", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            use_wal(connection)
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA recursive_triggers=ON")  # INSERT OR REPLACE fires the delete triggers
            self._local.db = connection
            with self._all_lock:
                self._all.append((threading.current_thread(), connection))
        return connection

    def release(self) -> None:
        """Close the calling thread's connection (a thread that is about to end calls it)."""
        connection: sqlite3.Connection | None = getattr(self._local, "db", None)
        if connection is None:
            return
        self._local.db = None
        with self._all_lock:
            self._all = [(t, c) for t, c in self._all if c is not connection]
        connection.close()

    def close(self) -> None:
        """Close this thread's connection and those of threads that have ended. A thread
        still running keeps its own and closes it with :meth:`release` (or at its end)."""
        self.release()
        with self._all_lock:
            ended = [(t, c) for t, c in self._all if not t.is_alive()]
            self._all = [(t, c) for t, c in self._all if t.is_alive()]
        for _, connection in ended:
            connection.close()

    def _migrate(self) -> None:
        """Bring the schema up to date. The version is read inside the write transaction,
        so two processes opening a new home at once cannot both run a migration."""
        while True:
            with self.transaction() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version >= len(MIGRATIONS):
                    self._migrated = True  # from now on, writes count in the generation
                    return
                MIGRATIONS[version](db)
                db.execute(f"PRAGMA user_version={version + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. If it changed anything, the write generation goes up with it."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            before = db.total_changes
            yield db
            if db.total_changes != before and self._migrated:
                db.execute(
                    "INSERT INTO meta(key, value) VALUES ('generation', '1')"
                    " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
                )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every read inside it sees the same committed state."""
        db = self.db
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def generation(self) -> int:
        """How many write transactions have committed (any process): a reader compares it to
        what it last saw to know whether the index changed."""
        value = self.get_meta("generation")
        return int(value) if value else 0

    # --- meta ---------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def delete_meta(self, key: str) -> None:
        self.db.execute("DELETE FROM meta WHERE key = ?", (key,))

    # --- files --------------------------------------------------------------

    def file(self, path: str) -> FileRow | None:
        row = self.db.execute(f"SELECT {_FILE_COLUMNS} FROM files WHERE path = ?", (path,)).fetchone()
        return FileRow(*row) if row else None

    def files(self, under: Sequence[str] = ()) -> list[FileRow]:
        rows = self.db.execute(f"SELECT {_FILE_COLUMNS} FROM files ORDER BY path")
        result = [FileRow(*row) for row in rows]
        if under:
            result = [r for r in result if any(_is_under(r.path, root) for root in under)]
        return result

    def put_file(self, row: FileRow) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO files(path, size, mtime_ns, hash, status, error, doc, note, link, indexed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.path,
                row.size,
                row.mtime_ns,
                row.hash,
                row.status,
                row.error,
                row.doc,
                row.note,
                row.link,
                time.time(),
            ),
        )

    def delete_file(self, path: str) -> None:
        self.db.execute("DELETE FROM files WHERE path = ?", (path,))

    def paths_for_doc(self, doc: str) -> list[str]:
        rows = self.db.execute("SELECT path FROM files WHERE doc = ? ORDER BY path", (doc,))
        return [r[0] for r in rows]

    # --- docs and chunks ------------------------------------------------------

    def doc_state(self, doc: str) -> str | None:
        row = self.db.execute("SELECT state FROM docs WHERE hash = ?", (doc,)).fetchone()
        return row[0] if row else None

    def messages_due(self) -> list[tuple[str, str]]:
        """(document, one of its paths) of the e-mails whose thread headers are still to read."""
        return self._due("messages_due")

    def messages(self) -> list[tuple[Any, ...]]:
        """Every e-mail's thread headers in every indexed file that holds it: (doc, ord, offset,
        message_id, in_reply_to, refs, subject, sender, date, path), by path and order."""
        return self.db.execute(
            "SELECT m.doc, m.ord, m.offset, m.message_id, m.in_reply_to, m.refs, m.subject, m.sender, m.date, f.path"
            " FROM messages m JOIN files f ON f.doc = m.doc AND f.status = 'ok' ORDER BY f.path, m.ord"
        ).fetchall()

    def about_due(self) -> list[tuple[str, str]]:
        """(document, one of its paths) of the documents whose own date and language are still
        to read (indexed before they were kept)."""
        return self._due("about_due")

    def _due(self, flag: str) -> list[tuple[str, str]]:
        rows = self.db.execute(
            "SELECT d.hash, min(f.path) FROM docs d JOIN files f ON f.doc = d.hash AND f.status = 'ok'"
            f" WHERE d.{flag} = 1 GROUP BY d.hash ORDER BY d.hash"
        )
        return [(r[0], r[1]) for r in rows]

    def set_about(self, doc: str, about: DocInfo) -> None:
        """Record a document's own date and language (in a transaction of the caller's)."""
        self.db.execute(
            "UPDATE docs SET date_ns = ?, date_source = ?, lang = ?, about_due = NULL WHERE hash = ?",
            (about.date_ns, about.date_source or None, about.lang, doc),
        )

    def set_messages(self, doc: str, messages: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Record a document's thread headers (in a transaction of the caller's)."""
        self.db.execute("DELETE FROM messages WHERE doc = ?", (doc,))
        self.db.executemany(
            "INSERT INTO messages(doc, ord, offset, message_id, in_reply_to, refs, subject, sender, date)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [message_row(doc, n, offset, m) for n, (offset, m) in enumerate(messages)],
        )
        self.db.execute("UPDATE docs SET messages_due = NULL WHERE hash = ?", (doc,))

    def add_pending_doc(self, doc: str, n_chunks: int, filetype: str, about: DocInfo | None = None) -> None:
        about = about or DocInfo()
        self.db.execute("DELETE FROM entities WHERE doc = ?", (doc,))  # found again once it is ready
        self.db.execute("DELETE FROM messages WHERE doc = ?", (doc,))
        self.db.executemany(
            "INSERT INTO messages(doc, ord, offset, message_id, in_reply_to, refs, subject, sender, date)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [message_row(doc, n, offset, m) for n, (offset, m) in enumerate(about.messages)],
        )
        self.db.execute(
            "INSERT OR REPLACE INTO docs(hash, state, n_chunks, filetype, created, date_ns, date_source, lang)"
            " VALUES (?, 'pending', ?, ?, ?, ?, ?, ?)",
            (doc, n_chunks, filetype, time.time(), about.date_ns, about.date_source or None, about.lang),
        )

    def mark_ready(
        self,
        doc: str,
        chunks: Iterable[Chunk],
        vectors: Mapping[int, bytes] | None = None,
        minhash: bytes | None = None,
    ) -> None:
        """Record the document's chunks, each with its vector (by ordinal) if given, and its
        MinHash (:mod:`ragkit.investigate.near`), and make it ready."""
        vectors = vectors or {}
        self.db.executemany(
            'INSERT OR REPLACE INTO chunks(id, doc, ord, page, start, "end", text, title, heading, context, vec)'
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    chunk_id(doc, c.ord),
                    doc,
                    c.ord,
                    c.page,
                    c.start,
                    c.end,
                    c.text,
                    c.title,
                    " > ".join(c.heading_path),
                    c.context,
                    vectors.get(c.ord),
                )
                for c in chunks
            ],
        )
        self.db.execute("UPDATE docs SET state = 'ready', minhash = ? WHERE hash = ?", (minhash, doc))

    def pending_docs(self) -> list[tuple[str, int]]:
        return list(self.db.execute("SELECT hash, n_chunks FROM docs WHERE state = 'pending'"))

    def orphan_docs(self) -> list[tuple[str, int]]:
        """Ready documents that no file points to any more."""
        return list(
            self.db.execute(
                "SELECT hash, n_chunks FROM docs WHERE state = 'ready'"
                " AND NOT EXISTS (SELECT 1 FROM files WHERE files.doc = docs.hash)"
            )
        )

    def drop_doc(self, doc: str) -> None:
        self.db.execute("DELETE FROM entities WHERE doc = ?", (doc,))
        self.db.execute("DELETE FROM messages WHERE doc = ?", (doc,))
        self.db.execute("DELETE FROM chunks WHERE doc = ?", (doc,))
        self.db.execute("DELETE FROM docs WHERE hash = ?", (doc,))

    def chunk_rows(self, columns: str, rowids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
        """(rowid, *columns) of the chunks at ``rowids`` (a comma-separated column list)."""
        yield from rows_in(self.db, f"SELECT rowid, {columns} FROM chunks WHERE rowid IN ({{marks}})", rowids)

    def pages_of(self, ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """The (document, page) of each of ``ids`` that is on a page."""
        sql = "SELECT id, doc, page FROM chunks WHERE page IS NOT NULL AND id IN ({marks})"
        return {row[0]: (row[1], row[2]) for row in rows_in(self.db, sql, ids)}

    def headings_of(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """The (document, section heading) of each of ``ids``."""
        sql = "SELECT id, doc, coalesce(heading, '') FROM chunks WHERE id IN ({marks})"
        return {row[0]: (row[1], row[2]) for row in rows_in(self.db, sql, ids)}

    def names_of(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """The documents of the chunks ``ids``, each with the paths of its files."""
        sql = "SELECT DISTINCT c.doc, f.path FROM chunks c JOIN files f ON f.doc = c.doc WHERE c.id IN ({marks})"
        names: dict[str, list[str]] = {}
        for doc, path in rows_in(self.db, sql, ids):
            names.setdefault(doc, []).append(path)
        return names

    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, ChunkRow]:
        sql = 'SELECT id, doc, ord, page, start, "end", text, title, heading FROM chunks WHERE id IN ({marks})'
        return {row[0]: ChunkRow(*row) for row in rows_in(self.db, sql, ids)}

    # --- vectors ------------------------------------------------------------

    def vector_counts(self) -> tuple[int, int]:
        """Chunks in the index, and how many of them have no vector recorded."""
        total, missing = self.db.execute("SELECT count(*), count(*) - count(vec) FROM chunks").fetchone()
        return int(total), int(missing)

    def ids_without_vectors(self, limit: int) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE vec IS NULL LIMIT ?", (limit,))]

    def set_vectors(self, vectors: Mapping[str, bytes]) -> None:
        self.db.executemany("UPDATE chunks SET vec = ? WHERE id = ?", [(v, i) for i, v in vectors.items()])

    def vectors_of(self, ids: Sequence[str]) -> dict[str, bytes]:
        """The recorded vectors of ``ids`` (those that have one)."""
        return dict(rows_in(self.db, "SELECT id, vec FROM chunks WHERE vec IS NOT NULL AND id IN ({marks})", ids))

    def searchable_ids(self) -> list[str]:
        """The ids of the chunks :meth:`searchable_vectors` gives, without their vectors."""
        rows = self.db.execute(
            "SELECT id FROM chunks WHERE vec IS NOT NULL AND EXISTS (SELECT 1 FROM files WHERE files.doc = chunks.doc)"
        )
        return [r[0] for r in rows]

    def searchable_vectors(self) -> Iterator[tuple[str, bytes]]:
        """Each chunk's id and vector, for chunks some file points to (one read transaction)."""
        yield from self.db.execute(
            "SELECT id, vec FROM chunks WHERE vec IS NOT NULL"
            " AND EXISTS (SELECT 1 FROM files WHERE files.doc = chunks.doc)"
        )

    def clear(self) -> None:
        """Forget every file, document and chunk, and the settings they were built with (for
        ``index --rebuild``), in the caller's transaction. The write generation is kept."""
        self.db.execute("DELETE FROM files")
        self.db.execute("DELETE FROM entities")
        self.db.execute("DELETE FROM messages")
        self.db.execute("DELETE FROM chunks")
        self.db.execute("DELETE FROM docs")
        self.db.execute("DELETE FROM meta WHERE key != 'generation'")

    def warnings(self) -> list[dict[str, str]]:
        rows = self.db.execute("SELECT path, note FROM files WHERE status = 'ok' AND note IS NOT NULL ORDER BY path")
        return [{"path": path, "note": note} for path, note in rows]

    def failures(self) -> list[dict[str, str]]:
        rows = self.db.execute("SELECT path, error FROM files WHERE status = 'failed' ORDER BY path")
        return [{"path": path, "reason": error or ""} for path, error in rows]

    # --- counts -------------------------------------------------------------

    def duplicates(self) -> list[tuple[str, int, list[str]]]:
        """Every group of indexed files with the same bytes: (hash, size, paths), the largest groups first."""
        rows = self.db.execute(
            "SELECT hash, size, path FROM files WHERE status = 'ok' AND hash IN"
            " (SELECT hash FROM files WHERE status = 'ok' GROUP BY hash HAVING count(*) > 1) ORDER BY hash, path"
        )
        groups: dict[str, tuple[int, list[str]]] = {}
        for digest, size, path in rows:
            groups.setdefault(digest, (size, []))[1].append(path)
        return sorted(((h, s, p) for h, (s, p) in groups.items()), key=lambda g: (-len(g[2]), g[2][0]))

    def counts(self) -> dict[str, int]:
        one = self.db.execute
        return {
            "files": one("SELECT count(*) FROM files WHERE status = 'ok'").fetchone()[0],
            "chunks": one(
                "SELECT count(*) FROM chunks JOIN docs ON docs.hash = chunks.doc WHERE docs.state = 'ready'"
            ).fetchone()[0],
            "failed": one("SELECT count(*) FROM files WHERE status = 'failed'").fetchone()[0],
        }


def _is_under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")
