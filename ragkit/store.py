"""Vector stores. The interface is three methods; Chroma is one implementation."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkit.errors import RagkitError

if TYPE_CHECKING:
    import numpy as np

COLLECTION = "ragkit-chunks"


@dataclass(frozen=True)
class VectorHit:
    id: str
    score: float  # cosine similarity, higher is closer


class VectorStore(abc.ABC):
    """Stores one vector per chunk id. Writing an existing id replaces it."""

    @abc.abstractmethod
    def upsert(self, ids: Sequence[str], vectors: np.ndarray, docs: Sequence[str]) -> None: ...

    @abc.abstractmethod
    def delete(self, ids: Sequence[str]) -> None: ...

    @abc.abstractmethod
    def query(self, vector: np.ndarray, k: int) -> list[VectorHit]: ...


def _guard_embedding_function() -> Any:
    """A Chroma embedding function that refuses to run.

    ragkit always passes its own vectors; this keeps Chroma from ever building its
    default embedding function, which would download a model.
    """
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
    from chromadb.utils.embedding_functions import register_embedding_function

    @register_embedding_function
    class RagkitProvidedEmbeddings(EmbeddingFunction[Documents]):
        def __init__(self) -> None:
            pass

        def __call__(self, input: Documents) -> Embeddings:
            raise RagkitError("internal: Chroma was asked to embed text; ragkit always provides vectors")

        @staticmethod
        def name() -> str:
            return "ragkit-provided"

        def get_config(self) -> dict[str, Any]:
            return {}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> RagkitProvidedEmbeddings:
            return RagkitProvidedEmbeddings()

        def is_legacy(self) -> bool:
            return False

    return RagkitProvidedEmbeddings()


class ChromaStore(VectorStore):
    """Chroma, embedded (``PersistentClient``) or a ``chroma run`` server by URL."""

    def __init__(self, path: Path | None = None, url: str | None = None) -> None:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        if url:
            from urllib.parse import urlparse

            parsed = urlparse(url)
            try:
                self.client = chromadb.HttpClient(
                    host=parsed.hostname or "localhost",
                    port=parsed.port or 8000,
                    ssl=parsed.scheme == "https",
                    settings=settings,
                )
            except Exception as exc:
                raise RagkitError(
                    f"cannot reach the Chroma server at {url} ({exc}); start it with: chroma run"
                ) from exc
        else:
            assert path is not None
            path.mkdir(parents=True, exist_ok=True)
            self.client = chromadb.PersistentClient(path=str(path), settings=settings)
        self.path, self.url, self._settings = path, url, settings
        self.collection = self._open_collection()

    def reopen(self) -> None:
        """See what other processes wrote. Embedded Chroma keeps the vectors it loaded in
        memory, per process and path: only a new client, after every client on the path is
        closed, loads them again from disk. A server needs nothing."""
        if self.url:
            return
        import chromadb

        self._close_client()
        self.client = chromadb.PersistentClient(path=str(self.path), settings=self._settings)
        self.collection = self._open_collection()

    def close(self) -> None:
        self._close_client()

    def _close_client(self) -> None:
        close = getattr(self.client, "close", None)  # not on ClientAPI's type, but on both clients
        if close is not None:
            close()

    def _open_collection(self) -> Any:
        return self.client.get_or_create_collection(
            COLLECTION,
            embedding_function=_guard_embedding_function(),
            configuration={"hnsw": {"space": "cosine"}},
        )

    def clear(self) -> None:
        """Remove every vector (for ``index --rebuild``)."""
        self.client.delete_collection(COLLECTION)
        self.collection = self._open_collection()

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, docs: Sequence[str]) -> None:
        if not ids:
            return
        limit = self.client.get_max_batch_size()
        for i in range(0, len(ids), limit):
            self.collection.upsert(
                ids=list(ids[i : i + limit]),
                embeddings=vectors[i : i + limit],
                metadatas=[{"doc": d} for d in docs[i : i + limit]],
            )

    def delete(self, ids: Sequence[str]) -> None:
        limit = self.client.get_max_batch_size()
        for i in range(0, len(ids), limit):
            self.collection.delete(ids=list(ids[i : i + limit]))

    def query(self, vector: np.ndarray, k: int) -> list[VectorHit]:
        count = self.collection.count()
        if count == 0:
            return []
        result = self.collection.query(
            query_embeddings=vector.reshape(1, -1), n_results=min(k, count), include=["distances"]
        )
        ids = result["ids"][0]
        distances = (result["distances"] or [[]])[0]
        return [VectorHit(id=i, score=1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

    def ids(self) -> set[str]:
        """Every id in the collection (for consistency checks)."""
        found: set[str] = set()
        page = 10_000
        offset = 0
        while True:
            batch = self.collection.get(include=[], limit=page, offset=offset)["ids"]
            found.update(batch)
            if len(batch) < page:
                return found
            offset += page

    def count(self) -> int:
        return int(self.collection.count())
