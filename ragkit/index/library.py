"""One index on disk: its parts, its identity, its single writer, sync and search.

The manifest (SQLite) is the record; the vector store follows it. Every committed change
to the manifest bumps its write generation, so a long-lived reader notices another
process's writes and reopens the vector store before it searches (embedded Chroma keeps
the vectors it loaded in memory and would not see them otherwise).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from ingest import CHUNKER_VERSION
from ingest.entities import key_of
from ragkit.core import paths
from ragkit.core.config import Settings
from ragkit.core.errors import (
    REBUILD_HINT,
    DiskFullError,
    IndexDamagedError,
    IndexMismatchError,
    RagkitError,
    disk_full,
)
from ragkit.core.faults import kill_point
from ragkit.core.files import write_atomic
from ragkit.index import onnxembed
from ragkit.index.embed import (
    Embedder,
    SentenceTransformerEmbedder,
    model_fingerprint,
)
from ragkit.index.onnxembed import OnnxEmbedder
from ragkit.index.sync import Indexer, IndexReport, Progress, doc_info
from ragkit.index.watch import WriterLock
from ragkit.investigate.entities import Entities
from ragkit.investigate.searches import SavedSearches
from ragkit.search.keywords import FindResult, KeywordIndex
from ragkit.search.query import Filters, merge_filters, split_filters
from ragkit.search.retrieve import Hit, Retriever
from ragkit.storage.manifest import Manifest
from ragkit.storage.vectors import COLLECTION, ChromaStore, ExactStore, VectorHit

log = logging.getLogger(__name__)
SearchMode = Literal["dense", "keyword", "hybrid"]
FUSE_DEPTH = 50  # candidates from each ranking that hybrid search fuses
# the dense list's share of a fused score: chosen on SciFact's 809 train queries (0.4-0.5
# best), then measured on its 300 test queries: nDCG@10 0.725 (reciprocal rank fusion, 0.710)
DENSE_WEIGHT = 0.5
NEAR_DUPLICATE = 0.985  # the cosine at which two passages say the same (search keeps the better)


def fuse(
    dense: list[tuple[str, float]], keyword: list[tuple[str, float]], dense_weight: float = DENSE_WEIGHT
) -> list[str]:
    """Hybrid ranking: each list's scores scaled to 0..1 (its best 1, its worst 0), then
    weighted and summed; a chunk missing from a list scores 0 there. Ties go by id."""

    def scaled(ranking: list[tuple[str, float]]) -> dict[str, float]:
        if not ranking:
            return {}
        high, low = max(s for _, s in ranking), min(s for _, s in ranking)
        if high - low < 1e-12:
            return dict.fromkeys((c for c, _ in ranking), 1.0)
        return {c: (s - low) / (high - low) for c, s in ranking}

    first, second = scaled(dense), scaled(keyword)
    scores = {
        c: dense_weight * first.get(c, 0.0) + (1 - dense_weight) * second.get(c, 0.0)
        for c in first.keys() | second.keys()
    }
    return sorted(scores, key=lambda c: (-scores[c], c))


_RESET = "store_reset_pending"  # set with the manifest's clearing, removed once the store is empty too


class Library:
    """The index at ``settings.home``; heavy parts load on first use."""

    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, query_embedder: Embedder | None = None
    ) -> None:
        self.settings = settings
        paths.make_private(settings.home)  # 0700: the index holds the text of private documents
        self.path = paths.index_dir(settings.home)
        self._lock = threading.RLock()  # short: opening the manifest and store, the writer count
        self._embedder_lock = threading.Lock()  # loading the embedder takes seconds: not under _lock
        self._index_lock = threading.Lock()  # long: one index run at a time in this process
        self._embedder = embedder
        # an embedder handed in also serves queries, unless a query embedder is handed in too
        self._query_embedder = query_embedder or embedder
        self.query_note = ""  # why queries are not embedded by the ONNX export, if they are not
        self._manifest: Manifest | None = None
        self._store: ChromaStore | None = None
        self._store_generation = -1  # the manifest generation the open store has seen
        self._store_use = threading.Condition()  # searches share the store; a reopen waits for them
        self._searching = 0
        self._reopening = False
        self._indexer: Indexer | None = None
        # the exact store, with the manifest generation and index identity it was read at
        self._exact: tuple[int, str, ExactStore] | None = None
        self._exact_update = threading.Lock()
        self._fingerprint: tuple[Path, str] | None = None  # the embedding model's, for the identity
        self._query_threads: ThreadPoolExecutor | None = None  # embed queries beside the vector search
        self._keywords: KeywordIndex | None = None
        self._entities: Entities | None = None
        self._rebuilding = False  # an index --rebuild under way: a damaged manifest is set aside, not an error
        self.prefer: tuple[str, ...] = ()  # the folders this process indexed last (see present_first)
        self.searches = SavedSearches(paths.searches_file(settings.home))  # outside the index: a rebuild keeps them
        self.writer_lock = WriterLock(paths.writer_lock_file(self.path))
        self._writer_depth = 0

    # --- parts, loaded on first use ------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """What embeds documents: sentence-transformers (``embed.backend = "torch"``, in
        ``embed.precision``) or the ONNX export."""
        with self._embedder_lock:
            if self._embedder is None:
                cfg = self.settings.embed
                if cfg.backend == "onnx":
                    self._embedder = self._onnx()
                else:
                    self._embedder = SentenceTransformerEmbedder(cfg.model, cfg.batch_size, precision=cfg.precision)
            return self._embedder

    @property
    def query_embedder(self) -> Embedder:
        """What embeds queries and checks answers: the ONNX export (no torch), made on first
        use if an index run has not made it; the document embedder if it cannot be made."""
        embedder = self.embedder
        with self._embedder_lock:
            if self._query_embedder is None:
                onnx = embedder if isinstance(embedder, OnnxEmbedder) else self._onnx()
                try:
                    onnx.prepare()
                    self._query_embedder = onnx
                except Exception as exc:  # the model cannot be exported: say so, and use torch
                    self.query_note = f"queries use {embedder.name} on torch: no ONNX export ({exc})"
                    log.warning("%s", self.query_note)
                    self._query_embedder = embedder
            return self._query_embedder

    def embedding_plan(self) -> dict[str, str]:
        """How documents and queries are embedded, without loading or exporting anything."""
        documents = self.embedder
        backend = "onnx" if isinstance(documents, OnnxEmbedder) else f"torch {documents.precision}"
        queries = self._query_embedder
        if queries is not None and not isinstance(queries, OnnxEmbedder):
            plan = self.query_note or f"{queries.name} (handed in)"
        elif (queries or self._onnx()).exported:
            plan = "onnx (exported)"
        else:
            plan = "onnx (exported at the next index run or search)"
        return {"documents": backend, "queries": plan}

    def _onnx(self) -> OnnxEmbedder:
        return onnxembed.for_settings(self.settings)

    @property
    def manifest(self) -> Manifest:
        with self._lock:
            if self._manifest is None:
                path = paths.manifest_file(self.path)
                try:
                    self._manifest = Manifest(path)
                except IndexDamagedError:
                    if not self._rebuilding:
                        raise
                    aside = path.with_name(f"manifest.damaged-{int(time.time())}.sqlite")
                    log.warning("the manifest is damaged: kept aside as %s, rebuilding", aside)
                    os.replace(path, aside)
                    for extra in ("-wal", "-shm"):
                        Path(str(path) + extra).unlink(missing_ok=True)
                    self._manifest = Manifest(path)
            return self._manifest

    @property
    def store(self) -> ChromaStore:
        with self._lock:
            if self._store is None:
                self._store_generation = self.manifest.generation()
                url = self.settings.store.url
                if url:  # a chroma run server: a collection of this index's own there
                    name = self.settings.store.collection or (
                        f"{COLLECTION}-{hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:12]}"
                    )
                    self._store = ChromaStore(url=url, collection=name)
                else:
                    self._store = self._open_local_store(paths.vectors_dir(self.path))
            return self._store

    def _open_local_store(self, folder: Path) -> ChromaStore:
        """The embedded Chroma store; one that cannot be read is an error naming --rebuild (and,
        in a rebuild, set aside and made anew: the vectors are rebuilt from the documents)."""
        try:
            return ChromaStore(folder)
        except RagkitError:
            raise
        except Exception as exc:  # chromadb raises its own kinds (InternalError, …) for a damaged file
            from chromadb.api.client import SharedSystemClient

            SharedSystemClient.clear_system_cache()  # chromadb keeps the failed client for the path otherwise
            if disk_full(exc):  # not damage: the store must not be set aside
                raise DiskFullError(exc, str(folder)) from exc
            if not self._rebuilding or not folder.exists():
                raise IndexDamagedError(
                    f"the index's vector store {folder} is damaged ({exc}): {REBUILD_HINT}"
                ) from exc
            aside = folder.with_name(f"chroma.damaged-{int(time.time())}")
            log.warning("the vector store is damaged: kept aside as %s, rebuilding", aside)
            os.replace(folder, aside)
            return ChromaStore(folder)

    def _refresh_store(self) -> None:
        """Reopen the vector store if another process committed since it was opened. Not
        while this process writes (its own writes are visible) or while a search reads it."""
        store = self.store
        generation = self.manifest.generation()
        with self._lock:
            if generation == self._store_generation or self._writer_depth:
                return
            self._store_generation = generation
        with self._store_use:
            self._reopening = True
            self._store_use.wait_for(lambda: self._searching == 0)
            try:
                store.reopen()
            finally:
                self._reopening = False
                self._store_use.notify_all()

    @contextmanager
    def _reading(self) -> Iterator[ChromaStore]:
        with self._store_use:
            self._store_use.wait_for(lambda: not self._reopening)
            self._searching += 1
        try:
            yield self.store
        finally:
            with self._store_use:
                self._searching -= 1
                self._store_use.notify_all()

    def max_chunk_tokens(self) -> int:
        window = self.embedder.tokenizer.max_content_tokens
        wanted = self.settings.chunk.max_tokens
        return min(window, wanted) if wanted else window

    def identity(self) -> tuple[str, str]:
        """Hash and description of everything that shapes the index."""
        model_dir = self.embedder.model_dir
        with self._lock:  # every search checks the identity: the model's files are read once
            if self._fingerprint is None or self._fingerprint[0] != model_dir:
                self._fingerprint = (model_dir, model_fingerprint(model_dir))
            fingerprint = self._fingerprint[1]
        described = {
            "embedder": self.embedder.name,
            "embedder_fingerprint": fingerprint,
            "dim": self.embedder.dim,
            "chunker": CHUNKER_VERSION,
            "chunk_tokens": self.max_chunk_tokens(),
            "overlap": self.settings.chunk.overlap,
            "ocr": self.settings.index.ocr,
        }
        text = json.dumps(described, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16], text

    def check_identity(self, rebuild: bool = False, write: bool = True) -> None:
        """Refuse to mix an index built with other settings; ``rebuild`` starts afresh."""
        digest, described = self.identity()
        stored = self.manifest.get_meta("identity")
        if rebuild:
            self._rebuild(digest, described)
        elif stored is not None and stored != digest:
            was = self.manifest.get_meta("identity_desc") or "other settings"
            raise IndexMismatchError(
                f"the index at {self.path} was built with {was}, but the settings now give {described}; "
                "rebuild it with: ragkit index --rebuild PATH..."
            )
        elif write and stored != digest:
            with self.manifest.transaction():
                self.manifest.set_meta("identity", digest)
                self.manifest.set_meta("identity_desc", described)
        if write:
            self._finish_reset()

    def _rebuild(self, digest: str, described: str) -> None:
        """Forget everything: the manifest first, in one transaction that also records that
        the store must be emptied; then the store. A crash between the two is finished by
        the next writer, so no vector outlives its manifest rows."""
        with self.manifest.transaction():
            self.manifest.clear()
            self.manifest.set_meta(_RESET, "1")
            self.manifest.set_meta("identity", digest)
            self.manifest.set_meta("identity_desc", described)
        kill_point("rebuild")

    def _finish_reset(self) -> None:
        if self.manifest.get_meta(_RESET) is None:
            return
        self.store.clear()
        with self.manifest.transaction():
            self.manifest.delete_meta(_RESET)

    def indexer(self) -> Indexer:
        """The indexer, kept between runs so its parse workers stay warm."""
        with self._lock:
            if self._indexer is None:
                self._indexer = Indexer(
                    manifest=self.manifest,
                    store=self.store,
                    embed=self.embedder.embed,
                    tokenizer_dir=self.embedder.model_dir,
                    max_tokens=self.max_chunk_tokens(),
                    overlap=self.settings.chunk.overlap,
                    max_file_bytes=int(self.settings.index.max_file_mb * 1e6),
                    batch_size=self.settings.embed.batch_size,
                    parse_timeout_s=self.settings.index.parse_timeout_s,
                    parse_workers=self.settings.index.parse_workers,
                    ocr=self.settings.index.ocr,
                    fences=lambda: [f for folders in self.settings.collections.values() for f in folders],
                )
            return self._indexer

    # --- operations -------------------------------------------------------------

    @contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the index's writer lock (re-entrant within this process)."""
        with self._lock:
            if self._writer_depth == 0:
                self.writer_lock.acquire()
            self._writer_depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._writer_depth -= 1
                if self._writer_depth == 0:
                    self.writer_lock.release()

    def index(
        self,
        roots: Sequence[Path],
        rebuild: bool = False,
        progress: Callable[[Progress], None] | None = None,
        strict: bool = True,
        stop: threading.Event | None = None,
        within: Sequence[Path] = (),
    ) -> IndexReport:
        self._rebuilding = rebuild  # (a damaged manifest is set aside only under the writer lock, below)
        try:
            return self._index(roots, rebuild, progress, strict, stop, within)
        finally:
            self._rebuilding = False

    def _index(
        self,
        roots: Sequence[Path],
        rebuild: bool,
        progress: Callable[[Progress], None] | None,
        strict: bool,
        stop: threading.Event | None,
        within: Sequence[Path],
    ) -> IndexReport:
        with self._index_lock, self.writer():  # searches never wait on these locks
            # hits (ranked and found) name the copy of a content under these folders first: the checkout in use
            self.keywords.prefer = self.prefer = tuple(str(Path(r).resolve()).rstrip(os.sep) + os.sep for r in roots)
            self.store  # noqa: B018  (opened before the run, so its own writes are not "news")
            self.check_identity(rebuild)
            self.record_missing_vectors()
            report = self.indexer().sync(list(roots), progress, strict, stop, within)
            if strict and not report.cancelled:
                self._record_ignored(roots, report)
            if report.added or report.updated:
                self._check_searches(report)
            self._find_entities(report, stop)
            if not report.cancelled:
                self.backfill(report, stop)
            if report.embedded and not (stop and stop.is_set()):
                self.query_embedder  # noqa: B018  (the ONNX export, made now while torch is loaded)
            with self._lock:
                self._store_generation = self.manifest.generation()
            return report

    def _record_ignored(self, roots: Sequence[Path], report: IndexReport) -> None:
        """What the last full run of each root left out by a rule (``status --ignored``)."""
        path = paths.ignored_file(self.path)
        try:
            kept = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            kept = {}
        for root in roots:
            mine = str(Path(os.path.abspath(root)))
            kept[mine] = [i for i in report.ignored if str(i["path"]).startswith(mine.rstrip(os.sep) + os.sep)]
        write_atomic(path, json.dumps(kept))

    def ignored(self) -> list[dict[str, Any]]:
        """Files and folders the rules left out in the last full run of each root still indexed."""
        try:
            kept = json.loads(paths.ignored_file(self.path).read_text("utf-8"))
        except (OSError, ValueError):
            return []
        return [item for root, items in sorted(kept.items()) if self.manifest.files([root]) for item in items]

    @property
    def entities(self) -> Entities:
        with self._lock:
            if self._entities is None:
                self._entities = Entities(self.manifest, self.settings)
            return self._entities

    def _find_entities(self, report: IndexReport, stop: threading.Event | None) -> None:
        """Entities of the documents the run made searchable (and any left to do): after the
        run, so they never delay a file; what goes wrong is a warning, as the run succeeded."""
        if report.cancelled or not self.settings.entities.enabled:
            return
        try:
            report.entities = self.entities.extract(stop)
        except (RagkitError, sqlite3.Error, OSError) as exc:
            report.warnings.append({"path": str(self.path), "note": f"entities not found: {exc}"})

    def backfill(self, report: IndexReport, stop: threading.Event | None = None) -> int:
        """Read again what documents indexed by an older ragkit lack, through the parse
        workers; nothing is embedded again: e-mails' thread headers (before schema 9), and
        documents' own dates and languages (before schema 6). A file that cannot be read now
        keeps its flag and is tried on the next run."""
        threads, about = dict(self.manifest.messages_due()), dict(self.manifest.about_due())
        due = sorted({**about, **threads}.items())
        if not due:
            return 0
        from ragkit.index.parsepool import ParseJob

        done = 0
        pool = self.indexer().pool
        for result in pool.run([ParseJob(doc, Path(path)) for doc, path in due], stop=stop):
            doc = result.job.key
            if result.error or not result.about:
                what = "thread headers" if doc in threads else "its own date and language"
                report.warnings.append({"path": str(result.job.path), "note": f"{what} not read: {result.error}"})
                continue
            info = doc_info(dict(result.about))
            with self.manifest.transaction():
                if doc in threads:
                    self.manifest.set_messages(doc, info.messages)
                if doc in about:
                    self.manifest.set_about(doc, info)
            done += 1
        return done

    def _check_searches(self, report: IndexReport) -> None:
        """Re-run the saved searches now that files were added or changed (each over the whole
        index: a passage is news only if its text was never matched before); what goes wrong
        is a warning on the report, as the index run itself succeeded."""
        try:
            found = self.searches.check(self.keywords)
        except (RagkitError, sqlite3.Error, OSError) as exc:
            report.warnings.append({"path": str(self.searches.path), "note": f"saved searches not re-run: {exc}"})
            return
        report.new_matches = {name: n for name, n in found.items() if n}

    def search(
        self, query: str, k: int | None = None, mode: SearchMode | None = None, filters: Filters | None = None
    ) -> list[Hit]:
        """The passages closest to ``query``, seeing every write committed so far by any
        process. ``mode``: dense, keyword or hybrid (default ``retrieve.mode``); filters typed
        in the query (``path:`` ``type:`` ``after:`` ``before:``) join ``filters``."""
        self.check_identity(write=False)
        query, typed = split_filters(query)
        filters = merge_filters(filters, typed)
        if not query.strip():
            return []
        k = k or self.settings.retrieve.top_k
        mode = mode or self.settings.retrieve.mode
        allowed = self.keywords.allowed_chunks(filters) if filters else None
        # the query is embedded while the vectors load (a cold start), on a thread kept for it:
        # a thread started per search cost a server under load a fifth of its time (measured)
        pool = self._query_pool()
        future = pool.submit(lambda: self.query_embedder.embed([query])[0])
        # the keyword half runs beside the dense half (SQLite and numpy both let go of the GIL)
        depth = max(FUSE_DEPTH, 2 * k) if mode == "hybrid" else 2 * k
        ranked = pool.submit(self.keywords.ranked, query, depth, filters) if mode != "dense" else None
        dense: list[VectorHit] = []
        if mode != "keyword":
            dense = self._dense(future, 2 * k if mode == "dense" else max(FUSE_DEPTH, 2 * k), allowed)
        vector = future.result()
        retriever = Retriever(self.manifest, self.prefer)
        if ranked is None:
            return retriever.hits(self._cosines(self._distinct([h.id for h in dense], k), vector, dense))
        keyword = ranked.result()
        order = [c for c, _ in keyword] if mode == "keyword" else fuse([(h.id, h.score) for h in dense], keyword)
        return retriever.hits(self._cosines(self._distinct(order, k), vector, dense))

    def _query_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._query_threads is None:
                self._query_threads = ThreadPoolExecutor(4, thread_name_prefix="ragkit-query")
            return self._query_threads

    def _distinct(self, order: list[str], k: int) -> list[str]:
        """The first ``k`` of ``order`` with near-duplicates left out: a passage whose recorded
        vector is within NEAR_DUPLICATE of a better one's (an edited copy of a document, a file
        saved again under another name) adds nothing the better one does not say."""
        import numpy as np

        recorded = self.manifest.vectors_of(order[: 3 * k])
        kept: list[str] = []
        seen = np.empty((0, 0), dtype=np.float32)  # the kept passages' unit vectors, one per row
        for chunk in order:
            blob = recorded.get(chunk)
            if blob is not None:
                vector = np.frombuffer(blob, dtype=np.float32)
                vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
                if len(seen) and float((seen @ vector).max()) >= NEAR_DUPLICATE:
                    continue
                seen = vector[None, :] if not len(seen) else np.vstack([seen, vector])
            kept.append(chunk)
            if len(kept) == k:
                break
        return kept

    def _dense(self, vector: Future[Any], k: int, allowed: set[str] | None) -> list[VectorHit]:
        """The ``k`` nearest chunks (among ``allowed``, if given)."""
        exact = self._exact_store()
        wanted = k if allowed is None else k * 20  # filters: ask for more, keep the allowed
        if exact is not None:
            found = exact.query(vector.result(), len(exact) if allowed is not None else k)
        else:
            self._refresh_store()
            with self._reading() as store:
                found = store.query(vector.result(), wanted)
        if allowed is not None:
            found = [h for h in found if h.id in allowed]
        return found[:k]

    def _cosines(self, order: list[str], vector: Any, known: list[VectorHit]) -> list[VectorHit]:
        """``order``'s chunks with the query's cosine to each (from the recorded vectors)."""
        import numpy as np

        scores = {h.id: h.score for h in known}
        missing = [c for c in order if c not in scores]
        query = vector / max(float(np.linalg.norm(vector)), 1e-12)
        for chunk, blob in self.manifest.vectors_of(missing).items():
            recorded = np.frombuffer(blob, dtype=np.float32)
            scores[chunk] = float(recorded @ query / max(float(np.linalg.norm(recorded)), 1e-12))
        return [VectorHit(c, scores.get(c, 0.0)) for c in order]

    @property
    def keywords(self) -> KeywordIndex:
        with self._lock:
            if self._keywords is None:
                self._keywords = KeywordIndex(self.manifest)
                self._keywords.entity_keys = lambda kind, name: self.entities.book.keys_for(key_of(kind, name))
            return self._keywords

    def keep_warm(self) -> None:
        """For a process that keeps running and searching (``ragkit serve``, the TUI): hold the
        ranked keyword index in memory (``retrieve.keyword_memory``), read in the background."""
        if self.settings.retrieve.keyword_memory:
            self.keywords.hold_in_memory()

    def find(self, query: str, offset: int = 0, limit: int | None = 20, scope: Filters | None = None) -> FindResult:
        """Every passage matching ``query`` in the query language (see :mod:`ragkit.search.query`),
        within ``scope`` if given."""
        self.check_identity(write=False)
        return self.keywords.find(query, offset, limit, scope)

    def search_plan(self) -> str:
        """Which search answers queries, without loading anything."""
        total, missing = self.manifest.vector_counts()
        limit = self.settings.retrieve.exact_limit
        if total > limit:
            return f"chroma hnsw ({total} chunks, over retrieve.exact_limit = {limit})"
        if missing:
            return f"chroma hnsw ({missing} of {total} chunks have no recorded vector until the next index run)"
        return f"exact ({total} chunks, read from the manifest)"

    def _exact_store(self) -> ExactStore | None:
        """The manifest's vectors in memory, if the index is small enough for an exact search
        and every chunk has its vector recorded; brought up to date after any committed write
        by reading only the chunks that are new (one thread reads, searches arriving meanwhile
        wait for it rather than read the same rows again)."""
        generation = self.manifest.generation()
        with self._lock:
            if self._exact is not None and self._exact[0] == generation:
                return self._exact[2]
        with self._exact_update:
            with self._lock:
                if self._exact is not None and self._exact[0] >= generation:
                    return self._exact[2]
            total, missing = self.manifest.vector_counts()
            if missing or total > self.settings.retrieve.exact_limit:
                return None
            with self.manifest.snapshot():  # the generation and the vectors agree
                generation = self.manifest.generation()
                identity = self.manifest.get_meta("identity") or ""
                previous = self._exact
                if previous is not None and previous[1] == identity:
                    exact = previous[2].updated(self.manifest.searchable_ids(), self.manifest.vectors_of)
                else:  # first read, or the index was rebuilt with other settings: every vector anew
                    exact = ExactStore.from_records(self.manifest.searchable_vectors())
            with self._lock:
                self._exact = (generation, identity, exact)
            return exact

    def record_missing_vectors(self, page: int = 2_000) -> int:
        """Copy into the manifest the vectors of chunks indexed before the manifest recorded
        them (from Chroma), so searches can be exact. Returns how many were recorded."""
        recorded = 0
        while ids := self.manifest.ids_without_vectors(page):
            found = self.store.vectors(ids)
            with self.manifest.transaction():
                self.manifest.set_vectors(found)
            recorded += len(found)
            if len(found) < len(ids):
                lacking = len(ids) - len(found)
                log.warning("%d chunks have no vector in Chroma either; rebuild with: ragkit index --rebuild", lacking)
                return recorded
        return recorded

    def release_thread(self) -> None:
        """Close the calling thread's database connection (a thread about to end calls it)."""
        with self._lock:
            manifest = self._manifest
        if manifest is not None:
            manifest.release()

    def close(self) -> None:
        with self._lock:
            keywords = self._keywords
        if keywords is not None:  # its memory's thread (the rest reopens as needed)
            keywords.close()
        with self._lock:
            if self._query_threads is not None:
                self._query_threads.shutdown(wait=True, cancel_futures=True)
                self._query_threads = None
            if self._indexer is not None:
                self._indexer.pool.close()
                self._indexer = None
            if self._manifest is not None:
                self._manifest.close()
                self._manifest = None
            if self._store is not None:
                self._store.close()
                self._store = None
