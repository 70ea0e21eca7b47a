"""Embeddings from a server: the OpenAI-compatible ``POST /v1/embeddings`` that llama.cpp's
server, vLLM, text-embeddings-inference and ``ragkit serve`` itself answer.

Set ``[embed] url`` and one machine with a GPU embeds for everyone, for indexing and for
queries. The server names the model it embedded with in every answer; a model other than
``embed.model`` is refused, so an index never mixes two models' vectors. Chunks are still
sized on this machine, by the model's own tokenizer when its folder is here (the packaged
model's, or ``embed.tokenizer``), else by the packaged model's, which ``ragkit status`` says.
Only the URL the user configured is ever contacted.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ragkit.core.errors import ModelError
from ragkit.index.embed import PACKAGED_EMBEDDER, EmbedderTokenizer, _dimension, resolve_embedder_path

if TYPE_CHECKING:
    import numpy as np

    from ragkit.core.config import EmbedSettings

_RETRIES = (0.5, 1.0, 2.0)  # seconds before each retry of a request that did not get through
_MIXED = "(and rebuild the index: its vectors would mix two models) or point embed.url at a server of the index's model"


def embeddings_url(url: str) -> str:
    """The full endpoint from what a user is likely to write: a host, ``…/v1`` or the endpoint."""
    base = url.rstrip("/")
    if base.endswith("/embeddings"):
        return base
    return base + ("/embeddings" if base.endswith("/v1") else "/v1/embeddings")


def same_model(asked: str, served: str) -> bool:
    """Whether a server's model name is the one asked for: equal, or one is the other with its
    organisation (``sentence-transformers/all-MiniLM-L6-v2`` is ``all-MiniLM-L6-v2``)."""
    a, s = asked.strip().lower(), served.strip().lower()
    return a == s or a.endswith("/" + s) or s.endswith("/" + a)


def decode(item: dict[str, Any]) -> list[float]:
    """One ``data`` item's vector: a list of floats, base64 of little-endian float32, or a
    vector per token."""
    import numpy as np

    value = item.get("embedding")
    if isinstance(value, str):
        return np.frombuffer(base64.b64decode(value), dtype="<f4").tolist()
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        # one vector per token (llama-cpp-python with a model that does not pool): their mean
        return np.asarray(value, dtype=np.float32).mean(axis=0).tolist()
    if isinstance(value, list) and value and all(isinstance(v, int | float) for v in value):
        return [float(v) for v in value]
    raise ValueError("an item has no embedding")


class ServedEmbedder:
    """Texts to unit vectors by an embeddings server; the same interface as the local embedders."""

    precision = "served"

    def __init__(
        self,
        url: str,
        model: str,
        tokenizer_dir: Path | None = None,
        batch_size: int = 32,
        api_key: str | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        self.url = embeddings_url(url)
        self.name = model
        self.batch_size = batch_size
        self.note = ""
        # the tokenizer's folder stands for the model in the index's identity: with the model's own
        # folder here, an index moves between embedding here and on a server without a rebuild
        self.model_dir = self._tokenizer_dir(model, tokenizer_dir)
        self.tokenizer = EmbedderTokenizer(self.model_dir)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout_s, connect=5), trust_env=False)
        # the model's own folder is here: its size is known without asking (find needs no server)
        self._dim: int | None = _dimension(self.model_dir) if tokenizer_dir is None and not self.note else None
        self._listed = False  # whether the server's list of models was checked for ``name``

    @classmethod
    def from_settings(cls, cfg: EmbedSettings) -> ServedEmbedder:
        assert cfg.url is not None
        return cls(cfg.url, cfg.model, cfg.tokenizer, cfg.batch_size, cfg.api_key, cfg.timeout_s)

    def _tokenizer_dir(self, model: str, given: Path | None) -> Path:
        if given is not None:
            if not (Path(given) / "tokenizer.json").is_file():
                raise ModelError(
                    f"embed.tokenizer = {str(given)!r} holds no tokenizer.json; name the served model's folder"
                )
            return Path(given)
        try:
            return resolve_embedder_path(model)
        except ModelError:
            self.note = (f"chunks are sized by {PACKAGED_EMBEDDER}'s tokenizer, not {model}'s: set embed.tokenizer "
                         "to a folder with the served model's tokenizer.json for exact sizes")  # fmt: skip
            return resolve_embedder_path(PACKAGED_EMBEDDER)

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.prepare()
        assert self._dim is not None
        return self._dim

    @property
    def described(self) -> str:
        return f"{self.name} at {self.url}" + (f" ({self.note})" if self.note else "")

    @property
    def exported(self) -> bool:  # as the ONNX embedder's: nothing to make before the first query
        return True

    def prepare(self) -> None:
        """Ask the server for one vector: it is reachable, serves ``name``, and gives its size."""
        self.embed(["ragkit: which model is served?"])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not self._listed:
            self._check_listed()
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        parts = [self._request(list(texts[i : i + self.batch_size])) for i in range(0, len(texts), self.batch_size)]
        out = np.concatenate(parts).astype(np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def _check_listed(self) -> None:
        """A server that lists its models (``GET …/v1/models``) must list ``name``: some echo
        whatever model a request names (llama-cpp-python), so the answer's own name proves
        nothing there. A server that lists none is taken at its answers' word."""
        try:
            response = self._client.get(self.url.removesuffix("/embeddings") + "/models")
            listed = [str(m["id"]) for m in response.json()["data"]] if response.status_code == 200 else []
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            listed = []
        if listed and not any(same_model(self.name, m) for m in listed):
            served = ", ".join(map(repr, listed))
            raise ModelError(f"the embeddings server at {self.url} serves {served}, not embed.model = {self.name!r}; "
                             f"set embed.model to the one it serves {_MIXED}")  # fmt: skip
        self._listed = True

    def _request(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        body = {"input": texts, "model": self.name, "encoding_format": "float"}
        response = self._post(body)
        try:
            answer = response.json()
            served = str(answer.get("model") or "")
            items = sorted(answer["data"], key=lambda d: int(d["index"]))
            vectors = np.array([decode(d) for d in items], dtype=np.float32)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"the embeddings server at {self.url} did not answer as an embeddings API does "
                             f"({exc})") from exc  # fmt: skip
        if served and not same_model(self.name, served):
            raise ModelError(f"the embeddings server at {self.url} embeds with {served!r}, not embed.model = "
                             f"{self.name!r}; set embed.model = {served!r} {_MIXED}")  # fmt: skip
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise ModelError(f"the embeddings server at {self.url} gave {len(vectors)} vectors for {len(texts)} texts")
        if self._dim is not None and vectors.shape[1] != self._dim:
            raise ModelError(f"the embeddings server at {self.url} gives vectors of {vectors.shape[1]} dimensions, "
                             f"not {self._dim} as {self.name} has: is it serving another model?")  # fmt: skip
        self._dim = vectors.shape[1]
        return vectors

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        """POST with retries for what may pass (no connection, a timeout, a 5xx); an answer
        that will not change (a refused key, an unknown model) is an error at once."""
        problem = ""
        for wait in (*_RETRIES, None):
            try:
                response = self._client.post(self.url, json=body)
            except httpx.HTTPError as exc:
                problem = f"cannot reach it: {exc or type(exc).__name__}"
            else:
                if response.status_code < 400:
                    return response
                problem = f"HTTP {response.status_code}: {_message(response)}"
                if response.status_code in (401, 403):
                    raise ModelError(f"the embeddings server at {self.url} refused the key ({problem}); set "
                                     "embed.api_key (or RAGKIT_EMBED__API_KEY) to a key it accepts")  # fmt: skip
                if response.status_code < 500 and response.status_code != 429:
                    raise ModelError(f"the embeddings server at {self.url} refused the request ({problem})")
            if wait is not None:
                time.sleep(wait)
        raise ModelError(f"the embeddings server at {self.url} failed after {len(_RETRIES) + 1} tries ({problem}); "
                         "start it, or unset embed.url to embed on this machine")  # fmt: skip


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
        text = error.get("message") if isinstance(error, dict) else error or response.json().get("detail")
    except (ValueError, AttributeError):
        text = response.text
    return str(text or response.reason_phrase)[:300]
