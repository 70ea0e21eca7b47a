"""The embeddings client (``embed.url``) against servers that misbehave in the ways real ones do:
a 503 while it starts, an answer that names another model, a wrong number of vectors, a vector
per token. Each is a small HTTP server on loopback answering as that kind of server would."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from ragkit.core.errors import ModelError
from ragkit.index.served import ServedEmbedder, decode, embeddings_url, same_model

Answer = Callable[[dict[str, Any], int], tuple[int, dict[str, Any]]]  # (request body, its number) -> reply


@contextmanager
def server(answer: Answer, models: list[str] | None = None) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An embeddings server on a free loopback port; yields its URL and the bodies it received."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, reply: dict[str, Any]) -> None:
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if models is None:
                self._send(404, {"error": "no such route"})
            else:
                self._send(200, {"object": "list", "data": [{"id": m} for m in models]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(body)
            self._send(*answer(body, len(received)))

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    finally:
        httpd.shutdown()
        httpd.server_close()


def vectors(texts: list[str], dim: int = 4) -> list[list[float]]:
    """A vector per text that depends on the text only (so order can be checked)."""
    return [[float(len(t)), 1.0, float(i % 2), 2.0][:dim] for i, t in enumerate(texts)]


def reply(body: dict[str, Any], model: str = "tiny-embedder", shuffle: bool = False) -> dict[str, Any]:
    texts = body["input"]
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors(texts))]
    return {"object": "list", "model": model, "data": data[::-1] if shuffle else data}


def test_endpoint_and_model_names_are_read_as_users_write_them() -> None:
    for written in ("http://h:8080", "http://h:8080/", "http://h:8080/v1", "http://h:8080/v1/embeddings"):
        assert embeddings_url(written) == "http://h:8080/v1/embeddings"
    assert same_model("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
    assert same_model("BAAI/bge-small-en-v1.5", "bge-small-en-v1.5")
    assert not same_model("all-MiniLM-L6-v2", "all-MiniLM-L12-v2")
    assert not same_model("MiniLM-L6-v2", "all-MiniLM-L6-v2")  # a name's end is not the name


def test_vectors_come_back_in_the_texts_order_unit_length_and_in_batches() -> None:
    with server(lambda body, n: (200, reply(body, shuffle=True))) as (url, received):
        embedder = ServedEmbedder(url, "tiny-embedder", batch_size=2)
        texts = ["a", "bbb", "cc", "dddd", "e"]
        got = embedder.embed(texts)
    assert [len(b["input"]) for b in received] == [2, 2, 1]  # batch_size texts a request
    assert all(b["model"] == "tiny-embedder" for b in received)
    expected = np.array([[len(t), 1.0, i % 2, 2.0] for i, t in enumerate(["a", "bbb", "cc", "dddd", "e"])])
    expected[2:4, 2], expected[4, 2] = [0, 1], 0  # each batch numbers its own texts from 0
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(got, expected, atol=1e-6) and embedder.dim == 4


def test_a_server_starting_up_is_tried_again_and_a_refusal_is_not() -> None:
    def starting(body: dict[str, Any], n: int) -> tuple[int, dict[str, Any]]:
        return (503, {"error": {"message": "loading model"}}) if n < 3 else (200, reply(body))

    with server(starting) as (url, received):
        assert ServedEmbedder(url, "tiny-embedder").embed(["x"]).shape == (1, 4)
    assert len(received) == 3
    with server(lambda body, n: (400, {"error": {"message": "input too long"}})) as (url, received):
        with pytest.raises(ModelError, match=r"refused the request.*input too long"):
            ServedEmbedder(url, "all-MiniLM-L6-v2").embed(["x"])
    assert len(received) == 1


def test_an_answer_from_another_model_is_refused_even_when_the_server_lists_none() -> None:
    """text-embeddings-inference ignores the model a request names and says which it ran."""
    with server(lambda body, n: (200, reply(body, model="BAAI/bge-small-en-v1.5"))) as (url, _):
        with pytest.raises(ModelError, match=re.escape("embeds with 'BAAI/bge-small-en-v1.5', not embed.model")):
            ServedEmbedder(url, "all-MiniLM-L6-v2").embed(["x"])


def test_vectors_of_another_size_than_the_models_are_refused() -> None:
    """all-MiniLM-L6-v2's folder is here: its 384 dimensions are known without asking."""
    with server(lambda body, n: (200, reply(body, model="all-MiniLM-L6-v2"))) as (url, _):
        embedder = ServedEmbedder(url, "all-MiniLM-L6-v2")
        assert embedder.dim == 384
        with pytest.raises(ModelError, match="gives vectors of 4 dimensions, not 384"):
            embedder.embed(["x"])


def test_a_server_that_echoes_the_model_is_held_to_the_models_it_lists() -> None:
    with server(lambda body, n: (200, reply(body, model=body["model"])), models=["nomic-embed"]) as (url, received):
        with pytest.raises(ModelError, match=re.escape("serves 'nomic-embed', not embed.model = 'all-MiniLM-L6-v2'")):
            ServedEmbedder(url, "all-MiniLM-L6-v2").embed(["x"])
        assert not received  # refused before a text was sent
        assert ServedEmbedder(url, "nomic-embed").embed(["x"]).shape == (1, 4)


def test_broken_answers_are_errors_that_name_the_server() -> None:
    broken: list[Callable[[dict[str, Any]], dict[str, Any]]] = [
        lambda body: {"data": reply(body)["data"][:-1], "model": "all-MiniLM-L6-v2"},  # a vector short
        lambda body: {"results": []},  # not an embeddings answer
        lambda body: {"data": [{"index": 0, "embedding": "not base64!"}]},
    ]
    for make in broken:
        with server(lambda body, n, make=make: (200, make(body))) as (url, _):  # type: ignore[misc]
            with pytest.raises(ModelError, match=re.escape(url)):
                ServedEmbedder(url, "all-MiniLM-L6-v2").embed(["x", "y"])


def test_a_vector_per_token_is_pooled_and_base64_is_decoded() -> None:
    assert decode({"embedding": [[1.0, 0.0], [3.0, 2.0]]}) == [2.0, 1.0]
    raw = np.array([0.5, -1.25, 3.0], dtype="<f4").tobytes()
    assert decode({"embedding": base64.b64encode(raw).decode()}) == [0.5, -1.25, 3.0]
    with pytest.raises(ValueError):
        decode({"embedding": []})


def test_a_refused_key_names_the_setting() -> None:
    with server(lambda body, n: (401, {"error": {"message": "unknown or revoked API key"}})) as (url, _):
        with pytest.raises(ModelError, match=r"refused the key.*embed\.api_key"):
            ServedEmbedder(url, "all-MiniLM-L6-v2", api_key="rk_x").embed(["x"])
