"""Searching one index: dense (exact in memory or Chroma's HNSW), keyword (FTS5, BM25) and
hybrid, each hit with its cosine; and ``find``, the exact and exhaustive search.

A :class:`Searcher` reads the parts of its index (:class:`Parts`: manifest, vector store,
query embedder) and keeps only what searching needs between calls: the exact
store in memory, the keyword index, a thread pool for queries, and the count of searches
reading the vector store (a reopen after another process's write waits for them).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ingest.entities import key_of
from ragkit.core import paths
from ragkit.investigate.marks import Marks, placer
from ragkit.search.expand import expand, heads, statements
from ragkit.search.found import FindResult
from ragkit.search.keywords import KeywordIndex
from ragkit.search.named import asked, named_files
from ragkit.search.query import merge_filters, split_filters
from ragkit.search.retrieve import Hit, Retriever
from ragkit.storage.filters import Filters
from ragkit.storage.vectors import ChromaStore, ExactStore, VectorHit

if TYPE_CHECKING:
    from ragkit.core.config import Settings
    from ragkit.index.embed import Embedder
    from ragkit.investigate.entities import Entities
    from ragkit.storage.manifest import Manifest

SearchMode = Literal["dense", "keyword", "hybrid"]
FUSE_DEPTH = 50  # candidates from each ranking that hybrid search fuses
# the dense list's share of a fused score: chosen on SciFact's 809 train queries (0.4-0.5
# best), then measured on its 300 test queries: nDCG@10 0.725 (reciprocal rank fusion, 0.710)
DENSE_WEIGHT = 0.5
# a page's other passages' share of a passage's score (hybrid search, paged documents): chosen
# on the FinanceBench development filings leaving one company out (three folds of five chose
# 0.25, two chose 0), among 0, 0.1, 0.25, 0.5 and 1
PAGE_WEIGHT = 0.25
NEAR_DUPLICATE = 0.985  # the cosine at which two passages say the same (search keeps the better)


def fuse(
    dense: list[tuple[str, float]],
    keyword: list[tuple[str, float]],
    dense_weight: float = DENSE_WEIGHT,
    pages: Mapping[str, tuple[str, int]] | None = None,
    page_weight: float = PAGE_WEIGHT,
) -> list[str]:
    """Hybrid ranking: each list's scores scaled to 0..1 (its best 1, its worst 0), then
    weighted and summed; a chunk missing from a list scores 0 there. Ties go by id.

    ``pages``: the (document, page) of each chunk that has a page. A page is a unit of
    evidence too: each of its chunks gains ``page_weight`` times the scores of the page's other
    chunks, so a page where a table and its note both match rises above a page with one match."""

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
    if pages:
        totals: dict[tuple[str, int], float] = {}
        for c, score in scores.items():
            if c in pages:
                totals[pages[c]] = totals.get(pages[c], 0.0) + score
        scores = {c: s + page_weight * (totals[pages[c]] - s) if c in pages else s for c, s in scores.items()}
    return sorted(scores, key=lambda c: (-scores[c], c))


class Parts(Protocol):
    """What a searcher reads of its index (:class:`~ragkit.index.library.Library` has it)."""

    settings: Settings
    prefer: tuple[str, ...]  # the folders whose copy of a content a hit names first

    @property
    def manifest(self) -> Manifest: ...

    @property
    def store(self) -> ChromaStore: ...

    @property
    def query_embedder(self) -> Embedder: ...

    @property
    def entities(self) -> Entities: ...

    def check_identity(self, rebuild: bool = ..., write: bool = ...) -> None: ...

    def store_behind(self) -> bool: ...


class Searcher:
    """Search over an index's parts, seeing every write committed so far by any process."""

    def __init__(self, library: Parts) -> None:
        self.library = library
        self._lock = threading.Lock()
        self._store_use = threading.Condition()  # searches share the store; a reopen waits for them
        self._searching = 0
        self._reopening = False
        # the exact store, with the manifest generation and index identity it was read at
        self._exact: tuple[int, str, ExactStore] | None = None
        self._exact_update = threading.Lock()
        self._query_threads: ThreadPoolExecutor | None = None  # embed queries beside the vector search
        self._keywords: KeywordIndex | None = None

    def search(
        self, query: str, k: int | None = None, mode: SearchMode | None = None, filters: Filters | None = None
    ) -> list[Hit]:
        """The passages closest to ``query``, seeing every write committed so far by any
        process. ``mode``: dense, keyword or hybrid (default ``retrieve.mode``); filters typed
        in the query (``path:`` ``type:`` ``after:`` ``before:``) join ``filters``."""
        library = self.library
        library.check_identity(write=False)
        query, typed = split_filters(query)
        filters = merge_filters(filters, typed)
        if not query.strip():
            return []
        k = k or library.settings.retrieve.top_k
        mode = mode or library.settings.retrieve.mode
        question, query = query, expand(query)  # a statement's captions, where the question names it
        allowed = self.keywords.allowed_chunks(filters) if filters else None
        # the query is embedded while the vectors load (a cold start), on a thread kept for it:
        # a thread started per search cost a server under load a fifth of its time (measured)
        pool = self._query_pool()
        future = pool.submit(lambda: library.query_embedder.embed([query])[0])
        # the keyword half runs beside the dense half (SQLite and numpy both let go of the GIL)
        depth = max(FUSE_DEPTH, 2 * k) if mode == "hybrid" else 2 * k
        ranked = pool.submit(self.keywords.ranked, query, depth, filters) if mode != "dense" else None
        dense: list[VectorHit] = []
        if mode != "keyword":
            dense = self._dense(future, 2 * k if mode == "dense" else max(FUSE_DEPTH, 2 * k), allowed)
        vector = future.result()
        retriever = Retriever(library.manifest, library.prefer)
        if ranked is None:
            return retriever.hits(self._cosines(self._distinct([h.id for h in dense], k), vector, dense))
        keyword = ranked.result()
        if mode == "keyword":
            order = [c for c, _ in keyword]
        else:
            order, dense = self._led(question, query, self._fused(dense, keyword), dense, filters, future, depth)
        return retriever.hits(self._cosines(self._distinct(order, k), vector, dense))

    def _led(
        self, question: str, query: str, order: list[str], dense: list[VectorHit], filters: Filters | None,
        vector: Future[Any], depth: int,
    ) -> tuple[list[str], list[VectorHit]]:  # fmt: skip
        """``order`` led by what ``question`` points at: the passages of the files it names by
        their names, then the statements it names; a passage the search text repeats (one pasted
        to find its source) stays first whatever the text names. With the dense hits now known."""
        seen = filters or Filters()  # a file outside the caller's folders names nothing
        named: list[str] = []  # a question without a name (most) looks no file name up
        if asked(question):
            names = {d: [p for p in ps if seen.admits(p)] for d, ps in self.library.manifest.names_of(order).items()}
            named = named_files(question, names)
        if named:  # the files the question names by their names: their passages first
            narrowed = replace(seen, docs=tuple(named))
            more = self._query_pool().submit(self.keywords.ranked, query, depth, narrowed)
            inside = self._dense(vector, depth, self.keywords.allowed_chunks(narrowed))
            first = self._fused(inside, more.result())
            dense, taken = dense + inside, set(first)
            order = first + [c for c in order if c not in taken]
        titles = statements(question)
        if titles and order:  # the statements it names, before the discussion around them
            order = self._statements_first(order, titles, named)
        pasted = [h.id for h in dense if h.score >= NEAR_DUPLICATE]
        return list(dict.fromkeys(pasted + order)), dense

    def _statements_first(self, order: list[str], titles: list[re.Pattern[str]], named: list[str]) -> list[str]:
        """``order`` with, first, the best passage of each statement of ``titles`` (a page
        headed by it) in the files searched first: those ``named``, else the first passage's."""
        headings = self.library.manifest.headings_of(order)
        top = headings.get(order[0])
        docs = set(named) or ({top[0]} if top else set())
        lead: list[str] = []
        for title in titles:  # the best passage not yet leading, of a page headed by the statement
            best = next((c for c in order if c not in lead and c in headings and headings[c][0] in docs
                         and heads(title, headings[c][1])), None)  # fmt: skip
            lead += [best] if best else []
        return lead + [c for c in order if c not in lead]

    def _fused(self, dense: list[VectorHit], keyword: list[tuple[str, float]]) -> list[str]:
        """The hybrid ranking of a dense and a keyword list (:func:`fuse`), pages weighed in."""
        pages = self.library.manifest.pages_of([h.id for h in dense] + [c for c, _ in keyword])
        return fuse([(h.id, h.score) for h in dense], keyword, pages=pages)

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

        recorded = self.library.manifest.vectors_of(order[: 3 * k])
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
        for chunk, blob in self.library.manifest.vectors_of(missing).items():
            recorded = np.frombuffer(blob, dtype=np.float32)
            scores[chunk] = float(recorded @ query / max(float(np.linalg.norm(recorded)), 1e-12))
        return [VectorHit(c, scores.get(c, 0.0)) for c in order]

    @property
    def keywords(self) -> KeywordIndex:
        with self._lock:
            if self._keywords is None:
                library = self.library
                self._keywords = KeywordIndex(library.manifest)
                self._keywords.entity_keys = lambda kind, name: library.entities.book.keys_for(key_of(kind, name))
                marks, where = Marks(paths.marks_file(library.settings.home)), placer(library.manifest)
                self._keywords.marked = lambda kind, value: marks.paths(where, kind, value or None)
            return self._keywords

    def keep_warm(self) -> None:
        """For a process that keeps running and searching (``ragkit serve``, the TUI): hold the
        ranked keyword index in memory (``retrieve.keyword_memory``), read in the background."""
        if self.library.settings.retrieve.keyword_memory:
            self.keywords.hold_in_memory()

    def find(self, query: str, offset: int = 0, limit: int | None = 20, scope: Filters | None = None) -> FindResult:
        """Every passage matching ``query`` in the query language (see :mod:`ragkit.search.query`),
        within ``scope`` if given."""
        self.library.check_identity(write=False)
        return self.keywords.find(query, offset, limit, scope)

    def search_plan(self) -> str:
        """Which search answers queries, without loading anything."""
        total, missing = self.library.manifest.vector_counts()
        limit = self.library.settings.retrieve.exact_limit
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
        manifest = self.library.manifest
        generation = manifest.generation()
        with self._lock:
            if self._exact is not None and self._exact[0] == generation:
                return self._exact[2]
        with self._exact_update:
            with self._lock:
                if self._exact is not None and self._exact[0] >= generation:
                    return self._exact[2]
            total, missing = manifest.vector_counts()
            if missing or total > self.library.settings.retrieve.exact_limit:
                return None
            with manifest.snapshot():  # the generation and the vectors agree
                generation = manifest.generation()
                identity = manifest.get_meta("identity") or ""
                previous = self._exact
                if previous is not None and previous[1] == identity:
                    exact = previous[2].updated(manifest.searchable_ids(), manifest.vectors_of)
                else:  # first read, or the index was rebuilt with other settings: every vector anew
                    exact = ExactStore.from_records(manifest.searchable_vectors())
            with self._lock:
                self._exact = (generation, identity, exact)
            return exact

    def _refresh_store(self) -> None:
        """Reopen the vector store if another process committed since it was opened. Not
        while this process writes (its own writes are visible) or while a search reads it."""
        store = self.library.store
        if not self.library.store_behind():
            return
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
            yield self.library.store
        finally:
            with self._store_use:
                self._searching -= 1
                self._store_use.notify_all()

    def close(self) -> None:
        with self._lock:
            keywords = self._keywords  # kept: only its memory's thread stops
            threads, self._query_threads = self._query_threads, None
        if keywords is not None:
            keywords.close()
        if threads is not None:
            threads.shutdown(wait=True, cancel_futures=True)
