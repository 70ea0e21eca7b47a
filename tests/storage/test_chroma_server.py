"""The vectors in a real `chroma run` server on loopback (store.url) instead of embedded
Chroma: indexing, searching through its HNSW index, rebuilding, and two indexes sharing
one server without seeing each other's chunks."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ragkit.assistant.local import open_ragkit
from ragkit.index.embed import SentenceTransformerEmbedder
from ragkit.index.onnxembed import OnnxEmbedder
from tests.conftest import SAMPLES
from tests.helpers.index import assert_consistent
from tests.helpers.servers import free_port, running


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    folder = tmp_path_factory.mktemp("chroma-server")
    url = f"http://127.0.0.1:{port}"
    command = [str(chroma), "run", "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)]
    with running(command, lambda: httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200,
                 folder / "chroma.log"):  # fmt: skip
        yield url


def test_an_index_kept_in_a_chroma_server(
    chroma_url: str, tmp_path: Path, embedder: SentenceTransformerEmbedder, onnx_embedder: OnnxEmbedder
) -> None:
    through_server = {"store": {"url": chroma_url}, "retrieve": {"exact_limit": 0}}  # search through its HNSW
    rk = open_ragkit(embedder=embedder, query_embedder=onnx_embedder, home=tmp_path / "one", **through_server)
    other_docs = tmp_path / "other"
    other_docs.mkdir()
    shutil.copy(SAMPLES / "zlib_how.html", other_docs)
    other = open_ragkit(embedder=embedder, query_embedder=onnx_embedder, home=tmp_path / "two", **through_server)
    try:
        rk.index([SAMPLES])
        assert rk.library.store.url == chroma_url and "chroma hnsw" in rk.library.search_plan()
        hits = rk.search("which user id does root have", 3)
        assert Path(hits[0].path).name == "users-and-groups.txt"
        assert_consistent(rk)  # the server holds exactly the manifest's vectors
        # a second index on the same server keeps to its own collection
        other.index([other_docs])
        assert other.library.store.name != rk.library.store.name
        assert {Path(h.path).name for h in other.search("which user id does root have", 10)} == {"zlib_how.html"}
        assert_consistent(other)
        assert_consistent(rk)
        # a rebuild empties this index's collection, and only it
        before = other.library.store.collection.count()
        rk.index([SAMPLES], rebuild=True)
        assert_consistent(rk)
        assert other.library.store.collection.count() == before > 0
    finally:
        rk.close()
        other.close()
