"""Embeddings from a server (#33 item 2): a real ``ragkit serve`` on loopback embeds for another
ragkit home (``embed.url``) and for the official OpenAI client; the vectors are the local ones,
a server of another model is refused at index time, and a key is asked for once keys exist."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest

from ragkit.core import paths
from ragkit.index.embed import SentenceTransformerEmbedder
from ragkit.llm.catalog import packaged_chat_model
from tests.conftest import SAMPLES
from tests.helpers.cli import ragkit
from tests.helpers.servers import create_keys, free_port, running, serving


@dataclass
class Box:
    """The machine that embeds for the others: its URL, its home (indexed locally) and the docs."""

    url: str
    home: Path
    docs: Path
    key: str


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    root = tmp_path_factory.mktemp("embedbox")
    home, docs = root / "home", root / "docs"
    docs.mkdir()
    for name in ("users-and-groups.txt", "zlib_how.html"):
        shutil.copy(SAMPLES / name, docs)
    (docs / "ledger.md").write_text("# Ledger\n\nThe Tolsvik account paid 2,500 kroner to Acme on 3 May.\n")
    made = ragkit("index", docs, home=home)  # the reference: embedded on this machine
    assert made.code == 0, made.stderr
    key = create_keys(home, [("team", ["--read-only"])])["team"]
    with serving(home, root) as url:
        yield Box(url, home, docs, key)


def _chunks(home: Path) -> dict[tuple[str, int], tuple[int, int, str, np.ndarray]]:
    """Every chunk of an index: (document, ord) -> (start, end, text, vector)."""
    db = sqlite3.connect(paths.manifest_file(paths.index_dir(home)))
    try:
        rows = db.execute('SELECT doc, ord, start, "end", text, vec FROM chunks').fetchall()
    finally:
        db.close()
    return {(d, o): (s, e, t, np.frombuffer(v, dtype=np.float32)) for d, o, s, e, t, v in rows}


def _served(box: Box, **more: str) -> dict[str, str]:
    return {"RAGKIT_EMBED__URL": box.url, "RAGKIT_EMBED__API_KEY": box.key, **more}


def test_another_home_indexes_and_searches_with_the_servers_embedder(box: Box, tmp_path: Path) -> None:
    home = tmp_path / "client"
    made = ragkit("index", box.docs, home=home, env=_served(box))
    assert made.code == 0, made.stderr
    here, there = _chunks(box.home), _chunks(home)
    assert there and set(there) == set(here)  # the same chunks, from the same tokenizer
    for key, (start, end, text, vector) in here.items():
        assert there[key][:3] == (start, end, text)
        assert float(np.dot(vector, there[key][3])) >= 0.9999, key
    assert not (paths.models_dir(home) / "embed-onnx").exists()  # nothing was embedded on the client

    found = ragkit("search", "Tolsvik account kroner", "--mode", "dense", "--json", home=home, env=_served(box))
    assert found.code == 0, found.stderr
    assert found.json()["hits"][0]["path"].endswith("ledger.md")
    status = ragkit("status", "--json", home=home, env=_served(box))
    assert box.url in status.json()["embedding"]["queries"]
    # the same model here: the index moves back to local embedding without a rebuild
    local = ragkit("search", "Tolsvik account kroner", "--mode", "dense", "--json", home=home)
    assert local.code == 0, local.stderr
    assert local.json()["hits"][0]["path"].endswith("ledger.md")


def test_a_server_of_another_model_is_refused_at_index_time(box: Box, tmp_path: Path) -> None:
    home = tmp_path / "other"
    made = ragkit("index", box.docs, home=home, env=_served(box, RAGKIT_EMBED__MODEL="BAAI/bge-small-en-v1.5"))
    assert made.code != 0
    assert "all-MiniLM-L6-v2" in made.stderr and "bge-small-en-v1.5" in made.stderr, made.stderr
    assert "Traceback" not in made.stderr
    assert not paths.manifest_file(paths.index_dir(home)).exists() or not _chunks(home)


def test_the_server_asks_for_a_key_and_the_client_names_the_setting(box: Box, tmp_path: Path) -> None:
    for key in ("", "rk_wrong"):
        made = ragkit("index", box.docs, home=tmp_path / f"k{key}", env=_served(box, RAGKIT_EMBED__API_KEY=key))
        assert made.code != 0
        assert "401" in made.stderr and "embed.api_key" in made.stderr, made.stderr


def test_a_server_that_is_not_there_is_named_after_retries(box: Box, tmp_path: Path) -> None:
    gone = f"http://127.0.0.1:{free_port()}"
    made = ragkit("index", box.docs, home=tmp_path / "h", env=_served(box, RAGKIT_EMBED__URL=gone))
    assert made.code != 0
    assert gone in made.stderr and "4 tries" in made.stderr and "unset embed.url" in made.stderr, made.stderr
    status = ragkit("status", home=tmp_path / "h", env=_served(box, RAGKIT_EMBED__URL=gone))
    assert status.code == 0 and gone in status.stdout, status.stderr  # what is known is still told
    found = ragkit("find", "Tolsvik", "--json", home=box.home, env=_served(box, RAGKIT_EMBED__URL=gone))
    assert found.code == 0 and found.json()["total"] == 1, found.stderr  # exact words need no embedder


def test_the_openai_client_gets_the_local_vectors(box: Box) -> None:
    client = openai.OpenAI(base_url=box.url + "/v1", api_key=box.key, max_retries=0)
    texts = ["Who paid Acme?", "zlib inflates a stream of bytes"]
    local = SentenceTransformerEmbedder().embed(texts)
    # the SDK's default asks for base64 and decodes it; asked for by name, base64 is left to us
    for fmt in (openai.NOT_GIVEN, "float", "base64"):
        answer = client.embeddings.create(model="all-MiniLM-L6-v2", input=texts, encoding_format=fmt)
        assert answer.model == "all-MiniLM-L6-v2" and answer.usage.prompt_tokens > 0
        items = [d.embedding for d in sorted(answer.data, key=lambda d: d.index)]
        if fmt == "base64":
            items = [np.frombuffer(base64.b64decode(str(v)), dtype="<f4") for v in items]
        got = np.array(items, dtype=np.float32)
        assert got.shape == (2, 384)
        assert np.min(np.sum(local * got, axis=1)) >= 0.9999
    with pytest.raises(openai.NotFoundError, match="all-MiniLM-L6-v2"):
        client.embeddings.create(model="text-embedding-3-small", input="x")
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="all-MiniLM-L6-v2", input="x", dimensions=1536)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server (llama-cpp-python's) embedding with the packaged GGUF:
    another maker's server, which echoes any model a request names and lists its own."""
    model = packaged_chat_model()
    assert model is not None
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model.path), "--embedding", "true",
               "--model_alias", "smollm2", "--n_ctx", "1024", "--n_batch", "1024", "--port", str(port)]  # fmt: skip
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with running(command, lambda: httpx.get(url + "/v1/models").status_code == 200, log):
        yield url


def test_llama_cpps_server_embeds_for_an_index_and_another_model_name_is_refused(
    llama_server: str, tmp_path: Path
) -> None:
    env = {"RAGKIT_EMBED__URL": llama_server + "/v1", "RAGKIT_EMBED__MODEL": "smollm2"}
    home, docs = tmp_path / "llama", tmp_path / "docs"
    docs.mkdir()
    (docs / "ledger.md").write_text("# Ledger\n\nThe Tolsvik account paid 2,500 kroner to Acme on 3 May.\n")
    (docs / "boats.txt").write_text("The ferry to Hareid leaves at seven. The fishing boats return at dusk.\n")
    made = ragkit("index", docs, home=home, env=env)
    assert made.code == 0, made.stderr
    chunks = _chunks(home)
    assert chunks and {v.shape for *_, v in chunks.values()} == {(576,)}  # SmolLM2's width, not MiniLM's 384
    assert all(abs(float(np.linalg.norm(v)) - 1) < 1e-4 for *_, v in chunks.values())
    status = ragkit("status", "--json", home=home, env=env).json()
    assert "smollm2" in status["embedding"]["documents"] and "tokenizer" in status["embedding"]["documents"]
    found = ragkit("search", "Tolsvik account kroner", "--mode", "dense", "--json", home=home, env=env)
    assert found.code == 0 and found.json()["hits"], found.stderr

    other = ragkit("index", docs, home=tmp_path / "other", env={**env, "RAGKIT_EMBED__MODEL": "all-MiniLM-L6-v2"})
    assert other.code != 0 and "'smollm2'" in other.stderr and "all-MiniLM-L6-v2" in other.stderr, other.stderr


def test_a_body_over_the_limit_is_a_documented_413(box: Box) -> None:
    """Found by schemathesis in a fresh-clone run: 100,001 generated characters, escaped, are
    over the 1 MB body limit, refused before they are read with a status the document lacked."""
    headers = {"Authorization": f"Bearer {box.key}", "Content-Type": "application/json"}
    body = json.dumps({"input": "\U0001f600" * 100_001})  # each escaped: 12 bytes a character
    response = httpx.post(box.url + "/v1/embeddings", content=body, headers=headers)
    assert response.status_code == 413 and "serve.max_body_kb" in response.json()["error"]["message"]
    documented = httpx.get(box.url + "/openapi.json").json()["paths"]["/v1/embeddings"]["post"]["responses"]
    assert "413" in documented
