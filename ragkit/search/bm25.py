"""The stemmed keyword index held in memory, for ranked keyword search in a process that keeps
running (``ragkit serve``, the TUI).

SQLite's ``bm25()`` is called once for every passage that holds any of a question's words,
about 2 µs each: at 100,000 passages a ten-word question took 35 ms at the median and 80 at
p95 to rank, most of a hybrid search (measured). Here the same sums run over numpy arrays.

The postings are read out of the FTS5 index itself (through ``fts5vocab``), and passages
added later are split into words by the same tokenizer in an in-memory FTS5 table, so words,
counts and scores are SQLite's ``bm25(stem_fts, ...)`` to the last bit. It is only a cache:
nothing is written, and while it is being built, or is behind the last committed write, the
FTS5 index answers (and the cache is brought up to date in the background).
"""

from __future__ import annotations

import logging
import math
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ragkit.search.postings import Fts5Words, Segment, Stopped, merged, read_postings
from ragkit.storage.text_index import TextIndex

if TYPE_CHECKING:
    from ragkit.storage.manifest import Manifest

log = logging.getLogger(__name__)

K1, B = 1.2, 0.75  # SQLite's (fts5_aux.c)
MAX_ROWID = 16_000_000  # arrays are indexed by chunk rowid: past this, FTS5 alone answers
MAX_SEGMENTS = 8  # segments of later additions kept apart before everything is read anew


@dataclass(frozen=True)
class _State:
    generation: int
    identity: str
    ids: dict[int, str]  # each row's chunk id by rowid: what tells a reused rowid apart
    segments: tuple[Segment, ...]
    lengths: np.ndarray  # words in each row, by rowid
    tokens: int  # words in all rows

    def ranked(self, terms: Sequence[str], depth: int) -> list[tuple[int, float]]:
        """The ``depth`` best rows for ``terms`` (one phrase each, in the query's order):
        (rowid, score), best first; scores as ``-bm25()`` gives them."""
        n_rows = len(self.ids)
        if not n_rows:
            return []
        avgdl = float(self.tokens) / float(n_rows)
        scores = np.zeros(len(self.lengths), dtype=np.float64)
        for term in terms:
            found = [p for p in (s.postings(term) for s in self.segments) if p is not None]
            if not found:
                continue
            rows = np.concatenate([r for r, _ in found])
            if not len(rows):
                continue
            freqs = np.concatenate([f for _, f in found]).astype(np.float64)
            hits = len(rows)
            idf = math.log((n_rows - hits + 0.5) / (hits + 0.5))
            if idf <= 0.0:
                idf = 1e-6
            # the operations of fts5Bm25Function, in its order, so the sums agree bit for bit
            lengths = self.lengths[rows]
            scores[rows] += idf * ((freqs * (K1 + 1.0)) / (freqs + K1 * (1 - B + B * lengths / avgdl)))
        matched = np.flatnonzero(scores)
        found_scores = scores[matched]
        if len(matched) > depth:
            best = np.argpartition(-found_scores, depth - 1)[:depth]
            matched, found_scores = matched[best], found_scores[best]
        order = np.argsort(-found_scores, kind="stable")
        return [(int(r), float(s)) for r, s in zip(matched[order], found_scores[order], strict=True)]


class KeywordMemory:
    """The stemmed index's postings in memory, kept at the manifest's last committed write by
    a background thread. :meth:`ranked` answers only when it is exactly there."""

    def __init__(self, manifest: Manifest, tokenize: str, table: str, weights: Sequence[float]) -> None:
        self.manifest = manifest
        self.table = table
        self.weights = tuple(weights)
        self.tokenizer = Fts5Words(tokenize)
        self._state: _State | None = None
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="ragkit-keywords")
        self._pending: Future[None] | None = None
        self._stop = threading.Event()  # closing: a read in progress gives up
        self.reads = 0  # times every posting was read from the index (tests count them)
        self.problem: str | None = None  # why the last update failed
        self._failed_at: int | None = None  # at which write generation
        self._reading: int | None = None  # the generation being read

    @property
    def generation(self) -> int | None:
        """The write generation the memory holds (None: not read yet)."""
        state = self._state
        return None if state is None else state.generation

    def size_bytes(self) -> int:
        """What the memory holds, about: its arrays, and its words and chunk ids."""
        state = self._state
        if state is None:
            return 0
        total = state.lengths.nbytes + sys.getsizeof(state.ids) + sum(sys.getsizeof(i) for i in state.ids.values())
        for segment in state.segments:
            total += sum(a.nbytes for a in (segment.starts, segment.rows, segment.freqs, segment.alive))
            total += sys.getsizeof(segment.terms) + sum(sys.getsizeof(t) for t in segment.terms)
        return total

    def ranked(self, words: Sequence[str], depth: int, generation: int) -> list[tuple[int, float]] | None:
        """As ``SELECT rowid, -bm25(...) ... MATCH '"w1" OR "w2" ...' ORDER BY 2 DESC LIMIT depth``
        at write ``generation``; None if the memory is not at that generation (a refresh is
        then started) or a word is more than one token (a phrase, which postings cannot match)."""
        state = self._state
        if state is None or state.generation != generation:
            if self._failed_at != generation:  # else it failed at this very write: not again until the next
                self.refresh()
            return None
        terms = self.tokenizer.words(words)
        if any(len(t) != 1 for t in terms):
            return None
        return state.ranked([t[0] for t in terms], depth)

    def refresh(self) -> Future[None] | None:
        """Bring the memory to the last committed write, in the background (once at a time)."""
        with self._lock:
            if self._stop.is_set():
                return None
            if self._pending is None or self._pending.done():
                self._pending = self._worker.submit(self._update)
            return self._pending

    def wait(self, timeout: float | None = None) -> None:
        """Until the memory holds the last committed write (the benchmark and tests wait)."""
        for _ in range(100):  # each round catches up with the writes committed before it began
            future = self.refresh()
            if future is None:
                return
            future.result(timeout)
            if self.problem is not None:
                raise RuntimeError(f"the keyword index could not be held in memory: {self.problem}")
            if self._state is not None and self._state.generation == self.manifest.generation():
                return
        raise TimeoutError("the keyword index in memory did not catch up with the writes")

    def close(self) -> None:
        with self._lock:
            self._stop.set()
        self._worker.shutdown(wait=True, cancel_futures=True)

    def _update(self) -> None:
        try:
            self.problem = None
            self._update_once()
        except Stopped:
            pass
        except Exception as exc:  # the FTS5 index keeps answering; the next write tries again
            self.problem, self._failed_at = str(exc) or type(exc).__name__, self._reading
            log.exception("could not hold the keyword index in memory")
        finally:
            self.manifest.release()

    def _update_once(self) -> None:
        manifest = self.manifest
        tables = TextIndex(manifest)
        tables.vocab_tables(self.table)
        with manifest.snapshot():
            generation = self._reading = manifest.generation()
            identity = manifest.get_meta("identity") or ""
            state = self._state
            if state is not None and state.generation == generation:
                return
            ids = tables.chunk_ids_by_rowid()
            if ids and max(ids) >= MAX_ROWID:
                self.problem, self._failed_at = f"chunk rowids past {MAX_ROWID}: SQLite's index ranks", generation
                log.warning("%s", self.problem)
                return
            if state is not None and state.identity == identity:
                removed = [r for r, i in state.ids.items() if ids.get(r) != i]
                added = [r for r, i in ids.items() if state.ids.get(r) != i]
                if len(added) <= max(len(ids) // 4, 1_000):
                    self._state = self._with_changes(state, ids, removed, added, generation)
                    return
            reader = read_postings(tables.postings(self.table), self.weights, self._stop)
            self.reads += 1
            segment, counted, lengths = reader.finish()
            table = np.zeros(max(ids, default=-1) + 1, dtype=np.float64)
            table[counted] = lengths
            self._state = _State(generation, identity, ids, (segment,), table, int(lengths.sum()))

    def _with_changes(
        self,
        state: _State,
        ids: dict[int, str],
        removed: list[int],
        added: list[int],
        generation: int,
    ) -> _State:
        gone = np.unique(np.array(removed + added, dtype=np.int64))  # a reused rowid's old postings go too
        segments = [s.without(gone) for s in state.segments]
        table = np.zeros(max(max(ids, default=-1) + 1, len(state.lengths)), dtype=np.float64)
        table[: len(state.lengths)] = state.lengths
        tokens = state.tokens - int(table[gone[gone < len(table)]].sum()) if len(gone) else state.tokens
        table[gone[gone < len(table)]] = 0.0
        if added:
            texts = self.manifest.chunk_rows("text, title, heading", added)
            segment, counted, lengths = self.tokenizer.postings(texts, self.weights).finish()
            segments.append(segment)
            table[counted] = lengths
            tokens += int(lengths.sum())
        if len(segments) > MAX_SEGMENTS:  # the later ones as one; all as one once they weigh as much
            later = merged(segments[1:])
            segments = [segments[0], later] if len(later.rows) * 2 < len(segments[0].rows) else [merged(segments)]
        return _State(generation, state.identity, ids, tuple(segments), table, tokens)
