"""Checks shared by the integration tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ragkit import Ragkit
from ragkit.investigate import near


def assert_consistent(rk: Ragkit) -> None:
    """The vector store holds exactly the chunks of ready documents, each once, and every
    document is pointed at by at least one file."""
    db = rk.library.manifest.db
    assert db.execute("SELECT count(*) FROM docs WHERE state = 'pending'").fetchone()[0] == 0
    manifest_ids = {row[0] for row in db.execute("SELECT id FROM chunks")}
    assert rk.library.store.ids() == manifest_ids
    orphans = db.execute(
        "SELECT count(*) FROM docs WHERE NOT EXISTS (SELECT 1 FROM files WHERE files.doc = docs.hash)"
    ).fetchone()[0]
    assert orphans == 0
    for doc, n_chunks in db.execute("SELECT hash, n_chunks FROM docs"):
        assert db.execute("SELECT count(*) FROM chunks WHERE doc = ?", (doc,)).fetchone()[0] == n_chunks
    # the keyword index holds exactly the chunks' text and the names of the files with content
    db.execute("INSERT INTO chunk_fts(chunk_fts, rank) VALUES ('integrity-check', 1)")  # raises if not
    db.execute("INSERT INTO stem_fts(stem_fts, rank) VALUES ('integrity-check', 1)")  # (the stemmed one too)
    names = db.execute("SELECT count(*) FROM name_fts").fetchone()[0]
    assert names == db.execute("SELECT count(*) FROM files WHERE doc IS NOT NULL").fetchone()[0]
    # entity mentions belong to documents that exist, each once
    stray = db.execute("SELECT count(*) FROM entities WHERE doc NOT IN (SELECT hash FROM docs)").fetchone()[0]
    assert stray == 0
    mentions = db.execute(
        "SELECT count(*), count(DISTINCT doc || type || COALESCE(page, '-') || '/' || start) FROM entities"
    )
    total, distinct = mentions.fetchone()
    assert total == distinct
    # each ready document's MinHash is the one its chunks give (none yet: indexed before they were
    # kept, and recorded by the next index run: test_near.py)
    for doc, minhash in db.execute("SELECT hash, minhash FROM docs WHERE minhash IS NOT NULL").fetchall():
        spans = db.execute('SELECT start, "end", text FROM chunks WHERE doc = ? ORDER BY ord', (doc,)).fetchall()
        assert minhash == near.signature(near.document_text(spans)), doc
    # each chunk's vector is recorded with it, and is the one the store holds
    recorded = dict(db.execute("SELECT id, vec FROM chunks").fetchall())
    stored = rk.library.store.vectors(sorted(recorded))
    assert set(stored) == set(recorded)
    for chunk, blob in recorded.items():
        assert blob is not None, chunk
        assert np.allclose(np.frombuffer(blob, np.float32), np.frombuffer(stored[chunk], np.float32), atol=1e-6)


def snapshot(rk: Ragkit, root: Path) -> dict[str, object]:
    """What the index says about each file under ``root`` (relative paths): its status and
    its chunks' pages, spans and texts; plus the vector ids."""
    db = rk.library.manifest.db
    files: dict[str, object] = {}
    for path, doc, status, error in db.execute("SELECT path, doc, status, error FROM files ORDER BY path"):
        rows = db.execute('SELECT id, page, start, "end", text FROM chunks WHERE doc = ? ORDER BY ord', (doc,))
        minhash = db.execute("SELECT minhash FROM docs WHERE hash = ?", (doc,)).fetchone()
        files[str(Path(path).relative_to(root))] = (status, error, [tuple(r) for r in rows], minhash)
    return {"files": files, "vectors": sorted(rk.library.store.ids())}
