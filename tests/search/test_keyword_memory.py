"""The ranked keyword index held in memory (``retrieve.keyword_memory``, for ``serve`` and the
TUI) ranks exactly as SQLite's bm25() over the stemmed FTS5 index does, bit for bit, through
additions, edits, deletions, renames and reused rowids; while it is behind a write, SQLite
answers, so no search ever sees an older index."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from ragkit.assistant.local import Ragkit, open_ragkit
from ragkit.index.embed import SentenceTransformerEmbedder
from ragkit.index.onnxembed import OnnxEmbedder
from ragkit.search.bm25 import MAX_SEGMENTS
from ragkit.search.keywords import KeywordIndex
from tests.conftest import SAMPLES

WORDS = (
    "ledger harbour cargo vessel minister transfer payment invoices invoiced audit audits auditing café Zürich"
    " naïve Müller 10-K 2,500 2023 revenue revenues bank banking shipment shipments director directors"
    " tolsvik mutation mutations mutated kinase protein proteins cell cells signalling pathway inhibitor"
).split()
FILLER = "the of and to in a was by for on with as at from".split()


def write_corpus(folder: Path, rng: random.Random, count: int, tag: str) -> None:
    """Markdown files with titles and headings (every column of the index used), common and
    rare words, stems shared between forms, accents and numbers."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        lines = [f"# {rng.choice(WORDS).title()} report {tag}{n}", ""]
        for section in range(rng.randint(1, 4)):
            lines += [f"## {' '.join(rng.sample(WORDS, 2))} {section}", ""]
            for _ in range(rng.randint(1, 5)):
                words = [rng.choice(WORDS if rng.random() < 0.3 else FILLER) for _ in range(rng.randint(8, 60))]
                lines += [" ".join(words).capitalize() + ".", ""]
        (folder / f"{tag}{n:03d}.md").write_text("\n".join(lines), encoding="utf-8")


def queries(rng: random.Random) -> list[str]:
    found = [
        "Where are the shared MIME-info database XML files installed?",
        "which user id does root have",
        "the of and",  # function words alone
        "ACME 10-K 2023 revenue",
        "Zurich cafe naive",  # accents folded
        "nothing here matches: xylophone quagmire",
    ]
    for _ in range(30):
        found.append(" ".join(rng.sample(WORDS, rng.randint(1, 7)) + rng.sample(FILLER, rng.randint(0, 3))))
    return found


def assert_same_ranking(rk: Ragkit, asked: list[str]) -> None:
    """Memory and SQLite agree on every query: the same chunks, the same scores, to the bit."""
    library = rk.library
    memory = library.keywords.memory
    assert memory is not None
    memory.wait(60)
    assert memory.generation == library.manifest.generation()
    sqlite_only = KeywordIndex(library.manifest)
    used = 0
    for query in asked:
        held = library.keywords.ranked(query, 50)
        assert held == sqlite_only.ranked(query, 50), query
        used += bool(held)
    assert used >= len(asked) - 2  # not an agreement on empty lists
    # and the memory did answer: the generation it holds is current, and it gives rows
    assert memory.ranked(["ledger"], 10, library.manifest.generation())


def test_memory_ranks_exactly_as_sqlite_through_every_change(
    tmp_path: Path, rk: Ragkit, embedder: SentenceTransformerEmbedder, onnx_embedder: OnnxEmbedder
) -> None:
    rng = random.Random(7)
    docs = tmp_path / "docs"
    shutil.copytree(SAMPLES, docs / "samples")
    write_corpus(docs / "reports", rng, 40, "r")
    rk.index([docs])
    asked = queries(rng)

    reader = open_ragkit(embedder=embedder, query_embedder=onnx_embedder)  # as `ragkit serve` holds it
    reader.library.keep_warm()
    assert_same_ranking(reader, asked)
    memory = reader.library.keywords.memory
    assert memory is not None and memory.reads == 1
    held = memory.size_bytes()
    postings = sum(len(s.rows) for s in memory._state.segments) if memory._state else 0
    assert held >= postings * 8 > 0  # a row id and a weighted count each, at least

    # added, edited, deleted and renamed files, each indexed by another process's writer
    write_corpus(docs / "later", rng, 5, "l")
    rk.index([docs])
    assert_same_ranking(reader, asked)
    edited = docs / "reports" / "r003.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nTolsvik audited the harbour ledger twice.\n")
    rk.index([docs])
    assert_same_ranking(reader, asked)
    (docs / "reports" / "r004.md").unlink()
    (docs / "reports" / "r005.md").rename(docs / "reports" / "renamed.md")
    rk.index([docs])
    assert_same_ranking(reader, asked)

    # the newest file's rows deleted and new ones written: SQLite gives the new rows the same rowids
    db = rk.library.manifest.db
    newest = db.execute("SELECT f.path, max(c.rowid) FROM chunks c JOIN files f ON f.doc = c.doc").fetchone()
    freed = {
        r[0]
        for r in db.execute("SELECT c.rowid FROM chunks c JOIN files f ON f.doc = c.doc WHERE f.path = ?", (newest[0],))
    }
    Path(newest[0]).unlink()
    rk.index([docs])
    write_corpus(docs / "reused", rng, 1, "u")
    rk.index([docs])
    reused = {r[0] for r in db.execute("SELECT rowid FROM chunks")} & freed
    assert reused  # the case is really exercised
    assert_same_ranking(reader, asked)

    # many small writes: the later segments are merged, never the whole index read again
    for n in range(12):
        write_corpus(docs / f"small{n}", rng, 1, f"s{n}-")
        rk.index([docs])
        memory.wait(60)
    state = memory._state
    assert state is not None and len(state.segments) <= MAX_SEGMENTS
    assert_same_ranking(reader, asked)
    assert memory.reads == 1

    # hybrid search gives the same passages with the memory as without
    fresh = open_ragkit(embedder=embedder, query_embedder=onnx_embedder)
    for query in asked[:10]:
        assert [(h.id, h.score) for h in reader.search(query, 5)] == [(h.id, h.score) for h in fresh.search(query, 5)]
    fresh.close()
    reader.close()


def test_a_search_right_after_a_write_sees_it_while_the_memory_catches_up(
    tmp_path: Path, rk: Ragkit, embedder: SentenceTransformerEmbedder, onnx_embedder: OnnxEmbedder
) -> None:
    rng = random.Random(3)
    docs = tmp_path / "docs"
    write_corpus(docs, rng, 10, "a")
    rk.index([docs])
    reader = open_ragkit(embedder=embedder, query_embedder=onnx_embedder)
    reader.library.keep_warm()
    memory = reader.library.keywords.memory
    assert memory is not None
    memory.wait(60)

    (docs / "new.md").write_text("# Quagmire\n\nThe xylophone quagmire memo was filed late.\n", encoding="utf-8")
    rk.index([docs])
    # the memory holds the write before; the search must not be answered from it
    assert memory.generation != reader.library.manifest.generation()
    found = reader.library.keywords.ranked("xylophone quagmire", 5)
    assert found and reader.library.manifest.chunks_by_id([found[0][0]])[found[0][0]].text.count("xylophone") == 1
    memory.wait(60)
    assert reader.library.keywords.ranked("xylophone quagmire", 5) == found
    reader.close()


def test_keyword_memory_can_be_turned_off(
    rk: Ragkit, embedder: SentenceTransformerEmbedder, onnx_embedder: OnnxEmbedder
) -> None:
    rk.index([SAMPLES])
    off = open_ragkit(embedder=embedder, query_embedder=onnx_embedder, retrieve={"keyword_memory": False})
    off.library.keep_warm()
    assert off.library.keywords.memory is None
    assert off.library.keywords.ranked("MIME database", 5)
    off.close()


def test_when_the_memory_cannot_hold_the_index_sqlite_ranks_and_says_why(
    rk: Ragkit, embedder: SentenceTransformerEmbedder, onnx_embedder: OnnxEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    rk.index([SAMPLES])
    expected = rk.library.keywords.ranked("MIME database glob", 10)
    monkeypatch.setattr("ragkit.search.bm25.MAX_ROWID", 1)  # as an index whose rowids grew past what arrays should span
    reader = open_ragkit(embedder=embedder, query_embedder=onnx_embedder)
    reader.keep_warm()
    memory = reader.library.keywords.memory
    assert memory is not None
    with pytest.raises(RuntimeError, match="rowids past 1"):
        memory.wait(60)
    assert reader.library.keywords.ranked("MIME database glob", 10) == expected
    assert memory._pending is not None and memory._pending.done()
    pending = memory._pending
    reader.library.keywords.ranked("MIME database glob", 10)
    assert memory._pending is pending  # not tried again until the index changes
    reader.close()
