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
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest import CHUNKER_VERSION
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
from ragkit.index import cluster, onnxembed, steps
from ragkit.index.embed import (
    Embedder,
    SentenceTransformerEmbedder,
    model_fingerprint,
)
from ragkit.index.onnxembed import OnnxEmbedder
from ragkit.index.report import IndexReport, Progress
from ragkit.index.searcher import Searcher, SearchMode
from ragkit.index.served import ServedEmbedder
from ragkit.index.sync import Indexer
from ragkit.index.watch import WriterLock
from ragkit.investigate.entities import Entities
from ragkit.investigate.searches import SavedSearches
from ragkit.search.found import FindResult
from ragkit.search.keywords import KeywordIndex
from ragkit.search.retrieve import Hit
from ragkit.storage.filters import Filters
from ragkit.storage.manifest import Manifest
from ragkit.storage.vectors import COLLECTION, ChromaStore

log = logging.getLogger(__name__)

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
        self._indexer: Indexer | None = None
        self._fingerprint: tuple[Path, str] | None = None  # the embedding model's, for the identity
        self._entities: Entities | None = None
        self._rebuilding = False  # an index --rebuild under way: a damaged manifest is set aside, not an error
        self.prefer: tuple[str, ...] = ()  # the folders this process indexed last (see present_first)
        self.rebuilt = ""  # why the last index run rebuilt the index by itself, if it did
        self.searches = SavedSearches(paths.searches_file(settings.home))  # outside the index: a rebuild keeps them
        self.writer_lock = WriterLock(paths.writer_lock_file(self.path))
        self._writer_depth = 0
        self.searcher = Searcher(self)

    # --- parts, loaded on first use ------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """What embeds documents: the server at ``embed.url``, sentence-transformers or the ONNX export."""
        with self._embedder_lock:
            if self._embedder is None:
                cfg = self.settings.embed
                if cfg.url:
                    self._embedder = ServedEmbedder.from_settings(cfg)
                elif cfg.backend == "onnx":
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
            if self._query_embedder is None and isinstance(embedder, ServedEmbedder):
                self._query_embedder = embedder  # the server embeds queries too
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
        return steps.embedding_plan(self.embedder, self._query_embedder, self.query_note, self._onnx)

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

    def store_behind(self) -> bool:
        """Whether another process committed since the vector store was opened or last found
        behind (then it is counted as current: the caller reopens it). Never while this process
        writes: its own writes are visible."""
        generation = self.manifest.generation()
        with self._lock:
            if generation == self._store_generation or self._writer_depth:
                return False
            self._store_generation = generation
            return True

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
            if not steps.vectors_kept(was, described):
                raise IndexMismatchError(f"the index at {self.path} {steps.mismatch_reason(was, described)}; "
                                         "rebuild it with: ragkit index --rebuild PATH...")  # fmt: skip
            if write:  # the same vectors, cut otherwise: searched as it is until this run rebuilds it
                self.rebuilt = f"the index {steps.mismatch_reason(was, described)}: rebuilt, every file read again"
                log.warning("%s", self.rebuilt)
                self._rebuild(digest, described)
        elif write and stored != digest:
            with self.manifest.transaction():
                self.manifest.set_meta("identity", digest)
                self.manifest.set_meta("identity_desc", described)
        if write:
            self._finish_reset()

    def rebuild_due(self) -> str:
        """Why the next index run rebuilds the index by itself ("" if it does not, or cannot tell)."""
        return steps.rebuild_due(self.manifest, self.identity)

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
                    pool=cluster.pool_for(self.settings, self.embedder, self.max_chunk_tokens()),
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
            self.rebuilt = ""
            self.check_identity(rebuild)
            steps.record_missing_vectors(self.manifest, self.store)
            report = self.indexer().sync(list(roots), progress, strict, stop, within)
            report.rebuilt = self.rebuilt
            if strict and not report.cancelled:
                steps.record_ignored(self.path, roots, report)
            if report.added or report.updated:
                steps.check_searches(self.searches, self.keywords, report)
            steps.find_entities(self.entities, self.path, report, stop, self.indexer().pool)
            if not report.cancelled:
                steps.backfill(self.manifest, self.indexer().pool, report, stop)
                steps.record_missing_signatures(self.manifest, stop)
            if report.embedded and not (stop and stop.is_set()):
                self.query_embedder  # noqa: B018  (the ONNX export, made now while torch is loaded)
            with self._lock:
                self._store_generation = self.manifest.generation()
            return report

    @property
    def entities(self) -> Entities:
        with self._lock:
            if self._entities is None:
                self._entities = Entities(self.manifest, self.settings)
            return self._entities

    def ignored(self) -> list[dict[str, Any]]:
        """Files and folders the rules left out in the last full run of each root still indexed."""
        return steps.ignored(self.path, self.manifest)

    # --- searching: see ragkit.index.searcher ------------------------------------------

    def search(
        self, query: str, k: int | None = None, mode: SearchMode | None = None, filters: Filters | None = None
    ) -> list[Hit]:
        return self.searcher.search(query, k, mode, filters)

    def find(self, query: str, offset: int = 0, limit: int | None = 20, scope: Filters | None = None) -> FindResult:
        return self.searcher.find(query, offset, limit, scope)

    @property
    def keywords(self) -> KeywordIndex:
        return self.searcher.keywords

    def keep_warm(self) -> None:
        self.searcher.keep_warm()

    def search_plan(self) -> str:
        return self.searcher.search_plan()

    def release_thread(self) -> None:
        """Close the calling thread's database connection (a thread about to end calls it)."""
        with self._lock:
            manifest = self._manifest
        if manifest is not None:
            manifest.release()

    def close(self) -> None:
        self.searcher.close()
        with self._lock:
            if self._indexer is not None:
                self._indexer.pool.close()
                self._indexer = None
            if self._manifest is not None:
                self._manifest.close()
                self._manifest = None
            if self._store is not None:
                self._store.close()
                self._store = None
