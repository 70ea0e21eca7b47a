"""Vector stores. The interface is three methods; Chroma is one implementation."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkit.core.errors import RagkitError

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


class ExactStore(VectorStore):
    """Every vector in memory, compared with the query one by one: exact nearest neighbours
    in milliseconds for a personal index, without opening (or importing) a vector store.
    Read-only: it is built from the manifest's record of the vectors."""

    def __init__(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        import numpy as np

        self._ids = list(ids)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True) if len(vectors) else vectors
        self._unit = vectors / np.maximum(norms, 1e-12) if len(vectors) else vectors

    @classmethod
    def from_records(cls, records: Iterable[tuple[str, bytes]]) -> ExactStore:
        """From (id, float32 bytes) pairs, all of one length."""
        import numpy as np

        ids: list[str] = []
        blobs: list[bytes] = []
        for chunk, blob in records:
            if blobs and len(blob) != len(blobs[0]):
                raise RagkitError(
                    f"the vector recorded for chunk {chunk} has {len(blob) // 4} dimensions, not"
                    f" {len(blobs[0]) // 4}; rebuild the index with: ragkit index --rebuild PATH..."
                )
            ids.append(chunk)
            blobs.append(blob)
        dim = len(blobs[0]) // 4 if blobs else 0
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), dim)
        return cls(ids, matrix)

    def __len__(self) -> int:
        return len(self._ids)

    def updated(self, ids: Sequence[str], vectors_of: Callable[[Sequence[str]], dict[str, bytes]]) -> ExactStore:
        """A new store holding exactly ``ids``: the vectors this one has are kept, only the
        others are read (``vectors_of``), so a write of a few files costs a few rows, not the
        whole index again. This one is left as it is for searches still using it."""
        import numpy as np

        position = {chunk: i for i, chunk in enumerate(self._ids)}
        kept = [position[c] for c in ids if c in position]
        added = [c for c in ids if c not in position]
        fresh = ExactStore.from_records(vectors_of(added).items()) if added else None
        if fresh is not None and len(fresh) and len(self._ids) and fresh._unit.shape[1] != self._unit.shape[1]:
            raise RagkitError(
                f"new vectors have {fresh._unit.shape[1]} dimensions, the index's {self._unit.shape[1]};"
                " rebuild the index with: ragkit index --rebuild PATH..."
            )
        store = ExactStore([], np.empty((0, 0), dtype=np.float32))
        store._ids = [self._ids[i] for i in kept] + (fresh._ids if fresh is not None else [])
        parts = [self._unit[kept]] if kept else []
        parts += [fresh._unit] if fresh is not None and len(fresh) else []
        store._unit = np.vstack(parts) if parts else np.empty((0, 0), dtype=np.float32)
        return store

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, docs: Sequence[str]) -> None:
        raise RagkitError("internal: the exact store is read-only")

    def delete(self, ids: Sequence[str]) -> None:
        raise RagkitError("internal: the exact store is read-only")

    def query(self, vector: np.ndarray, k: int) -> list[VectorHit]:
        import numpy as np

        if not self._ids:
            return []
        query = vector.astype(np.float32).ravel()
        scores = self._unit @ (query / max(float(np.linalg.norm(query)), 1e-12))
        k = min(k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [VectorHit(id=self._ids[i], score=float(scores[i])) for i in best]


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

    def __init__(self, path: Path | None = None, url: str | None = None, collection: str = "") -> None:
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
        self.name = collection or COLLECTION
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
        # an HTTP client's connection pools (its own and its admin client's) outlive close():
        # closed here, not left to the garbage collector with their sockets open
        if self.url:
            for client in (self.client, getattr(self.client, "_admin_client", None)):
                session = getattr(getattr(client, "_server", None), "_session", None)
                if session is not None:
                    session.close()

    def _open_collection(self) -> Any:
        return self.client.get_or_create_collection(
            self.name,
            embedding_function=_guard_embedding_function(),
            configuration={"hnsw": {"space": "cosine"}},
        )

    def clear(self) -> None:
        """Remove every vector (for ``index --rebuild``)."""
        self.client.delete_collection(self.name)
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

    def vectors(self, ids: Sequence[str]) -> dict[str, bytes]:
        """The stored vectors of ``ids`` (float32 bytes); an id the store lacks is left out."""
        import numpy as np

        found: dict[str, bytes] = {}
        limit = self.client.get_max_batch_size()
        for i in range(0, len(ids), limit):
            got = self.collection.get(ids=list(ids[i : i + limit]), include=["embeddings"])
            embeddings = got["embeddings"] if got["embeddings"] is not None else []
            for chunk, vector in zip(got["ids"], embeddings, strict=True):
                found[chunk] = np.asarray(vector, dtype=np.float32).tobytes()
        return found

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
