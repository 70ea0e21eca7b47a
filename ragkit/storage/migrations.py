"""The manifest's schema, as numbered migrations: each runs once, in order, in the transaction
that raises ``PRAGMA user_version`` to its number (``Manifest`` runs those a file lacks)."""

from __future__ import annotations

import sqlite3
from typing import Any


def basename_sql(path: str) -> str:
    """SQL for the file name in ``path`` (an SQL expression), without its folder."""
    return f"replace({path}, rtrim({path}, replace({path}, '/', '')), '')"


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run DDL statements inside the caller's transaction (executescript would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _m1(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE docs (
            hash TEXT PRIMARY KEY,
            state TEXT NOT NULL CHECK (state IN ('pending', 'ready')),
            n_chunks INTEGER NOT NULL,
            filetype TEXT NOT NULL DEFAULT '',
            created REAL NOT NULL
        );
        CREATE TABLE chunks (
            id TEXT PRIMARY KEY,
            doc TEXT NOT NULL REFERENCES docs(hash),
            ord INTEGER NOT NULL,
            page INTEGER,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            text TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            heading TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX chunks_doc ON chunks(doc);
        CREATE TABLE files (
            path TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            hash TEXT,
            status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
            error TEXT,
            doc TEXT REFERENCES docs(hash),
            indexed_at REAL NOT NULL
        );
        CREATE INDEX files_doc ON files(doc);
        CREATE INDEX files_hash ON files(hash);
        """,
    )


def _m2(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE files ADD COLUMN note TEXT")


def _m3(db: sqlite3.Connection) -> None:
    # each chunk's vector (float32 bytes), written with its row: the record an exact search
    # reads without opening the vector store; NULL in indexes made before it, until backfilled
    db.execute("ALTER TABLE chunks ADD COLUMN vec BLOB")


def _m4(db: sqlite3.Connection) -> None:
    # The keyword index: SQLite FTS5 over the chunks' own text (external content: the text is
    # stored once, in chunks) and over file names, kept in step by triggers, so it is written
    # in the same transaction as the rows it indexes. Accents and case are folded; a search
    # term with inner punctuation (an e-mail address, 10-K, 1,250.00) becomes a phrase.
    # (The chunks' and files' rowids key these tables: never VACUUM the manifest without
    # rebuilding them, as `INSERT INTO chunk_fts(chunk_fts) VALUES ('rebuild')` does.)
    new_name, old_name = basename_sql("NEW.path"), basename_sql("path")
    fts = "INSERT INTO chunk_fts(rowid, text, title, heading) VALUES (NEW.rowid, NEW.text, NEW.title, NEW.heading)"
    unfts = (
        "INSERT INTO chunk_fts(chunk_fts, rowid, text, title, heading)"
        " VALUES ('delete', OLD.rowid, OLD.text, OLD.title, OLD.heading)"
    )
    for statement in (
        "CREATE VIRTUAL TABLE chunk_fts USING fts5(text, title, heading,"
        f" content='chunks', content_rowid='rowid', tokenize='{FTS_TOKENIZER}')",
        "CREATE VIRTUAL TABLE chunk_vocab USING fts5vocab(chunk_fts, 'row')",
        f"CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN {fts}; END",
        f"CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN {unfts}; END",
        f"CREATE TRIGGER chunks_fts_update AFTER UPDATE OF text, title, heading ON chunks BEGIN {unfts}; {fts}; END",
        f"CREATE VIRTUAL TABLE name_fts USING fts5(name, tokenize='{FTS_TOKENIZER}')",
        "CREATE TRIGGER files_fts_insert AFTER INSERT ON files WHEN NEW.doc IS NOT NULL"
        f" BEGIN INSERT INTO name_fts(rowid, name) VALUES (NEW.rowid, {new_name}); END",
        "CREATE TRIGGER files_fts_delete AFTER DELETE ON files BEGIN DELETE FROM name_fts WHERE rowid = OLD.rowid; END",
        "CREATE TRIGGER files_fts_update AFTER UPDATE OF path, doc ON files BEGIN"
        " DELETE FROM name_fts WHERE rowid = OLD.rowid;"
        f" INSERT INTO name_fts(rowid, name) SELECT NEW.rowid, {new_name} WHERE NEW.doc IS NOT NULL; END",
        "INSERT INTO chunk_fts(chunk_fts) VALUES ('rebuild')",
        f"INSERT INTO name_fts(rowid, name) SELECT rowid, {old_name} FROM files WHERE doc IS NOT NULL",
    ):
        db.execute(statement)


def _m5(db: sqlite3.Connection) -> None:
    # A second keyword index over the same chunks, with English stemming (Porter), for ranked
    # keyword search only: "mutations" then meets "mutation" and "mutated" (SciFact nDCG@10,
    # keyword 0.649 -> 0.685). `find` keeps the unstemmed index: exact means exact.
    fts = "INSERT INTO stem_fts(rowid, text, title, heading) VALUES (NEW.rowid, NEW.text, NEW.title, NEW.heading)"
    unfts = (
        "INSERT INTO stem_fts(stem_fts, rowid, text, title, heading)"
        " VALUES ('delete', OLD.rowid, OLD.text, OLD.title, OLD.heading)"
    )
    for statement in (
        "CREATE VIRTUAL TABLE stem_fts USING fts5(text, title, heading,"
        f" content='chunks', content_rowid='rowid', tokenize='{STEM_TOKENIZER}')",
        f"CREATE TRIGGER chunks_stem_insert AFTER INSERT ON chunks BEGIN {fts}; END",
        f"CREATE TRIGGER chunks_stem_delete AFTER DELETE ON chunks BEGIN {unfts}; END",
        f"CREATE TRIGGER chunks_stem_update AFTER UPDATE OF text, title, heading ON chunks BEGIN {unfts}; {fts}; END",
        "INSERT INTO stem_fts(stem_fts) VALUES ('rebuild')",
    ):
        db.execute(statement)


def _m6(db: sqlite3.Connection) -> None:
    # a document's own date (nanoseconds since the epoch) and where it came from, and its
    # language: what the date and lang: filters use (NULL: none, or indexed before this)
    db.execute("ALTER TABLE docs ADD COLUMN date_ns INTEGER")
    db.execute("ALTER TABLE docs ADD COLUMN date_source TEXT")
    db.execute("ALTER TABLE docs ADD COLUMN lang TEXT")


def _m7(db: sqlite3.Connection) -> None:
    # entities (ragkit.investigate.entities): each document's mentions, written by a pass after the index
    # run; docs.entities is the extractor's version once done (NULL: to do)
    db.execute("ALTER TABLE docs ADD COLUMN entities TEXT")
    db.execute(
        'CREATE TABLE entities (doc TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL, "key" TEXT NOT NULL,'
        ' page INTEGER, start INTEGER NOT NULL, "end" INTEGER NOT NULL)'
    )
    db.execute("CREATE INDEX entities_doc ON entities(doc)")
    db.execute('CREATE INDEX entities_key ON entities(type, "key")')


def _m8(db: sqlite3.Connection) -> None:
    # e-mails' thread headers, one row per message of a document (ragkit.investigate.threads)
    db.execute(
        "CREATE TABLE messages (doc TEXT NOT NULL, ord INTEGER NOT NULL, offset INTEGER NOT NULL,"
        " message_id TEXT NOT NULL, in_reply_to TEXT NOT NULL, refs TEXT NOT NULL, subject TEXT NOT NULL,"
        " sender TEXT NOT NULL, date TEXT, PRIMARY KEY (doc, ord))"
    )
    db.execute("CREATE INDEX messages_id ON messages(message_id)")


def _m9(db: sqlite3.Connection) -> None:
    # e-mails indexed before their thread headers were kept: each gets a flag, cleared once the
    # next index run has read their headers again (Library.backfill_messages; nothing re-embedded)
    db.execute("ALTER TABLE docs ADD COLUMN messages_due INTEGER")
    db.execute(
        "UPDATE docs SET messages_due = 1 WHERE state = 'ready' AND NOT EXISTS"
        " (SELECT 1 FROM messages m WHERE m.doc = docs.hash) AND EXISTS (SELECT 1 FROM files f WHERE f.doc ="
        " docs.hash AND (lower(f.path) LIKE '%.eml' OR lower(f.path) LIKE '%.mbox'))"
    )


def _m10(db: sqlite3.Connection) -> None:
    # documents indexed before their own dates and languages were kept (schema 6) have neither:
    # each gets a flag, cleared once the next index run has read them again (Library.backfill;
    # nothing re-embedded). One read since that has neither is read once more, to no harm.
    db.execute("ALTER TABLE docs ADD COLUMN about_due INTEGER")
    db.execute("UPDATE docs SET about_due = 1 WHERE state = 'ready' AND date_ns IS NULL AND lang IS NULL")


def _m11(db: sqlite3.Connection) -> None:
    # a file is what was indexed only if it is still the same kind: a file swapped for a symlink
    # (or a link pointed elsewhere) reads as changed, even with the old size and mtime. Rows of
    # links indexed before this read as changed once, and are then hashed, not re-embedded.
    db.execute("ALTER TABLE files ADD COLUMN link TEXT")


def _m12(db: sqlite3.Connection) -> None:
    # what the embedder read before each chunk's text (its document's title, its section: see
    # ingest.chunker.embedding_text); chunks of an earlier chunker have none, and their index
    # asks to be rebuilt (its identity names the chunker)
    db.execute("ALTER TABLE chunks ADD COLUMN context TEXT NOT NULL DEFAULT ''")


def _m13(db: sqlite3.Connection) -> None:
    # each document's MinHash, for near-duplicates (ragkit.investigate.near); documents indexed
    # before have none, and get it from their chunks' text (nothing parsed or embedded again)
    db.execute("ALTER TABLE docs ADD COLUMN minhash BLOB")


def message_row(doc: str, n: int, offset: int, m: dict[str, Any]) -> tuple[Any, ...]:
    refs = " ".join(m.get("references") or ())
    fields = (m.get(k) or "" for k in ("message_id", "in_reply_to"))
    return (doc, n, offset, *fields, refs, m.get("subject") or "", m.get("sender") or "", m.get("date"))


FTS_TOKENIZER = "unicode61 remove_diacritics 2"
STEM_TOKENIZER = f"porter {FTS_TOKENIZER}"

MIGRATIONS = [_m1, _m2, _m3, _m4, _m5, _m6, _m7, _m8, _m9, _m10, _m11, _m12, _m13]
