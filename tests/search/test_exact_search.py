"""Searches of an index within retrieve.exact_limit compare the query with every vector the
manifest records (no vector store opened); the answers are Chroma's, each chunk's vector is
recorded with it, an index made before vectors were recorded is completed by the next run,
and a search sees every committed change."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ragkit.assistant.local import Ragkit, open_ragkit
from ragkit.index.embed import SentenceTransformerEmbedder
from ragkit.index.onnxembed import OnnxEmbedder
from ragkit.storage.vectors import ExactStore
from tests.conftest import SAMPLES
from tests.helpers.index import assert_consistent

QUESTIONS = [
    "which user id does root have",
    "Where are the shared MIME-info database XML files installed?",
    "how is a glob pattern weighted",
    "a question about nothing in these files: the price of tea in 1820",
]


def test_the_exact_search_ranks_as_chroma_does(rk: Ragkit, onnx_embedder: OnnxEmbedder) -> None:
    rk.index([SAMPLES])
    library = rk.library
    assert library.search_plan().startswith("exact")
    exact = ExactStore.from_records(library.manifest.searchable_vectors())
    texts = [row[0] for row in library.manifest.db.execute("SELECT text FROM chunks ORDER BY id LIMIT 12")]
    for query in QUESTIONS + texts:
        vector = onnx_embedder.embed([query])[0]
        ours = exact.query(vector, 20)
        chroma = library.store.query(vector, 20)
        assert [h.id for h in ours] == [h.id for h in chroma], query
        assert np.allclose([h.score for h in ours], [h.score for h in chroma], atol=1e-4), query


def test_an_index_made_before_vectors_were_recorded_is_searched_by_chroma_then_completed(rk: Ragkit) -> None:
    rk.index([SAMPLES])
    before = [h.id for h in rk.search(QUESTIONS[0], 3)]
    with rk.library.manifest.transaction() as db:  # as a manifest migrated from before its vectors
        db.execute("UPDATE chunks SET vec = NULL")
    assert rk.library.search_plan().startswith("chroma")
    assert [h.id for h in rk.search(QUESTIONS[0], 3)] == before

    report = rk.index([SAMPLES])
    assert report.embedded == 0  # nothing embedded again: the vectors come from Chroma
    assert rk.library.search_plan().startswith("exact")
    assert [h.id for h in rk.search(QUESTIONS[0], 3)] == before
    assert_consistent(rk)


def test_over_the_limit_chroma_answers(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, onnx_embedder: OnnxEmbedder
) -> None:
    small = open_ragkit(embedder=embedder, query_embedder=onnx_embedder)
    small.index([SAMPLES])
    exact = [(h.id, round(h.score, 4)) for h in small.search(QUESTIONS[1], 5)]
    chunks = small.status()["chunks"]
    small.close()
    large = open_ragkit(embedder=embedder, query_embedder=onnx_embedder, retrieve={"exact_limit": chunks - 1})
    assert large.library.search_plan().startswith(f"chroma hnsw ({chunks} chunks, over")
    assert [(h.id, round(h.score, 4)) for h in large.search(QUESTIONS[1], 5)] == exact
    assert large.library._store is not None  # Chroma was opened to answer
    large.close()


def test_a_search_sees_what_another_writer_committed(
    tmp_path: Path, rk: Ragkit, embedder: SentenceTransformerEmbedder, onnx_embedder: OnnxEmbedder
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("The lighthouse keeper logs the ships passing the northern cape.\n")
    rk.index([folder])
    reader = open_ragkit(embedder=embedder, query_embedder=onnx_embedder)
    assert [Path(h.path).name for h in reader.search("lighthouse keeper", 1)] == ["a.txt"]

    (folder / "b.txt").write_text("Invoice 2291 for the bakery's flour was paid in March.\n")
    rk.index([folder])
    assert [Path(h.path).name for h in reader.search("bakery flour invoice", 1)] == ["b.txt"]

    (folder / "b.txt").unlink()
    rk.index([folder])
    assert {Path(h.path).name for h in reader.search("bakery flour invoice", 5)} == {"a.txt"}
    assert reader.library._store is None  # answered without opening Chroma
    reader.close()
