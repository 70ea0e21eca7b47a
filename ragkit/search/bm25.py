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
import sqlite3
import sys
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ragkit.storage.manifest import Manifest

log = logging.getLogger(__name__)

K1, B = 1.2, 0.75  # SQLite's (fts5_aux.c)
BLOCK = 1 << 21  # word instances turned into postings at a time while reading (bounds memory)
MAX_ROWID = 16_000_000  # arrays are indexed by chunk rowid: past this, FTS5 alone answers
MAX_SEGMENTS = 8  # segments of later additions kept apart before everything is read anew
COLUMNS = ("text", "title", "heading")

# each word's instances as "rowid*4 + column" numbers, one row per word: SQLite does the
# per-instance work, and Python sees one string per word instead of one row per instance
_POSTINGS_SQL = (
    "SELECT r.term, (SELECT group_concat(i.doc * 4 + CASE i.col WHEN 'text' THEN 0 WHEN 'title' THEN 1 ELSE 2 END)"
    " FROM {instance} i WHERE i.term = r.term) FROM {rows} r"
)


@dataclass(frozen=True)
class _Segment:
    """Postings read at one time: for word ``terms[w]``, ``rows[starts[w]:starts[w + 1]]``
    are the rowids holding it and ``freqs`` the column-weighted counts there."""

    terms: dict[str, int]
    starts: np.ndarray
    rows: np.ndarray
    freqs: np.ndarray
    alive: np.ndarray  # by rowid: False once that row was deleted (or its rowid reused)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        at = self.terms.get(term)
        if at is None:
            return None
        rows = self.rows[self.starts[at] : self.starts[at + 1]]
        keep = self.alive[rows]
        return rows[keep], self.freqs[self.starts[at] : self.starts[at + 1]][keep]

    def without(self, removed: np.ndarray) -> _Segment:
        alive = self.alive.copy()
        alive[removed[removed < len(alive)]] = False
        return _Segment(self.terms, self.starts, self.rows, self.freqs, alive)


class Stopped(Exception):
    """The memory was closed while it was being read."""


class _Reader:
    """Turns ``_POSTINGS_SQL``'s rows into a segment and each row's length in words."""

    def __init__(self, weights: Sequence[float], stop: threading.Event | None = None) -> None:
        self.stop = stop
        self.weights = np.array([*weights, 0.0], dtype=np.float64)
        self.terms: list[str] = []
        self.pending: list[np.ndarray] = []
        self.pending_size = 0
        self.term_parts: list[np.ndarray] = []
        self.row_parts: list[np.ndarray] = []
        self.freq_parts: list[np.ndarray] = []
        self.lengths = np.zeros(0, dtype=np.int64)  # words in each row, by rowid

    def read(self, rows: Iterable[tuple[str, str | None]]) -> None:
        for term, codes in rows:
            if self.stop is not None and self.stop.is_set():
                raise Stopped
            if not codes:
                continue
            parsed = np.fromstring(codes, dtype=np.int64, sep=",")
            self.terms.append(term)
            self.pending.append(parsed)
            self.pending_size += len(parsed)
            if self.pending_size >= BLOCK:
                self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        sizes = np.fromiter((len(p) for p in self.pending), dtype=np.int64, count=len(self.pending))
        first = len(self.terms) - len(self.pending)
        term = np.repeat(np.arange(first, len(self.terms), dtype=np.int64), sizes)
        code = np.concatenate(self.pending)
        self.pending, self.pending_size = [], 0
        steps = np.diff(code)
        if not ((steps >= 0) | (np.diff(term) != 0)).all():  # SQLite gives them in order, as a rule
            order = np.lexsort((code, term))
            term, code = term[order], code[order]
        self._count_lengths(code >> 2)
        # one entry per (word, row, column) with its count, then per (word, row) weighted
        firsts = np.flatnonzero(np.r_[True, (term[1:] != term[:-1]) | (code[1:] != code[:-1])])
        counts = np.diff(np.r_[firsts, len(code)])
        term, code = term[firsts], code[firsts]
        weighted = counts * self.weights[code & 3]
        row = code >> 2
        firsts = np.flatnonzero(np.r_[True, (term[1:] != term[:-1]) | (row[1:] != row[:-1])])
        self.term_parts.append(term[firsts].astype(np.int32))
        self.row_parts.append(row[firsts].astype(np.int32))
        self.freq_parts.append(np.add.reduceat(weighted, firsts).astype(np.float32))  # halves: exact

    def _count_lengths(self, rows: np.ndarray) -> None:
        counts = np.bincount(rows)
        if len(counts) > len(self.lengths):
            counts[: len(self.lengths)] += self.lengths
            self.lengths = counts
        else:
            self.lengths[: len(counts)] += counts

    def finish(self) -> tuple[_Segment, np.ndarray, np.ndarray]:
        """The segment, and the rowids with their lengths (words in all columns)."""
        self._flush()
        term = np.concatenate(self.term_parts) if self.term_parts else np.empty(0, dtype=np.int32)
        self.term_parts = []
        rows = np.concatenate(self.row_parts) if self.row_parts else np.empty(0, dtype=np.int32)
        self.row_parts = []
        freqs = np.concatenate(self.freq_parts) if self.freq_parts else np.empty(0, dtype=np.float32)
        self.freq_parts = []
        starts = np.searchsorted(term, np.arange(len(self.terms) + 1), side="left")
        del term
        lengths = self.lengths
        counted = np.flatnonzero(lengths)
        top = int(rows.max()) + 1 if len(rows) else 0
        segment = _Segment({t: i for i, t in enumerate(self.terms)}, starts, rows, freqs, np.ones(top, dtype=bool))
        return segment, counted, lengths[counted]


def _read_postings(
    db: sqlite3.Connection, instance: str, rows: str, weights: Sequence[float], stop: threading.Event | None = None
) -> _Reader:
    reader = _Reader(weights, stop)
    reader.read(db.execute(_POSTINGS_SQL.format(instance=instance, rows=rows)))
    return reader


class Fts5Words:
    """Words as an FTS5 tokenizer makes them, from an in-memory FTS5 table of its own."""

    def __init__(self, tokenize: str) -> None:
        self.tokenize = tokenize
        self._lock = threading.Lock()
        self._db = self._open()
        self._cache: dict[str, tuple[str, ...]] = {}

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        columns = ", ".join(COLUMNS)
        db.execute(f"CREATE VIRTUAL TABLE t USING fts5({columns}, tokenize='{self.tokenize}')")
        db.execute("CREATE VIRTUAL TABLE t_instance USING fts5vocab(t, 'instance')")
        db.execute("CREATE VIRTUAL TABLE t_rows USING fts5vocab(t, 'row')")
        return db

    def words(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        """Each text's tokens, in order."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                db = self._db
                db.executemany("INSERT INTO t(rowid, text) VALUES (?, ?)", enumerate(missing))
                found: dict[int, list[tuple[int, str]]] = {}
                for term, doc, offset in db.execute("SELECT term, doc, offset FROM t_instance"):
                    found.setdefault(doc, []).append((offset, term))
                db.execute("DELETE FROM t")
                if len(self._cache) > 50_000:
                    self._cache.clear()
                for i, text in enumerate(missing):
                    self._cache[text] = tuple(term for _, term in sorted(found.get(i, [])))
            return [self._cache[t] for t in texts]

    def postings(self, rows: Iterable[tuple[int, str, str, str]], weights: Sequence[float]) -> _Reader:
        """The postings of ``rows`` (rowid, text, title, heading), read as the index would."""
        with self._lock:
            db = self._db
            db.executemany("INSERT INTO t(rowid, text, title, heading) VALUES (?, ?, ?, ?)", rows)
            try:
                return _read_postings(db, "t_instance", "t_rows", weights)
            finally:
                db.execute("DELETE FROM t")


@dataclass(frozen=True)
class _State:
    generation: int
    identity: str
    ids: dict[int, str]  # each row's chunk id by rowid: what tells a reused rowid apart
    segments: tuple[_Segment, ...]
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
        db = manifest.db
        instance, rows = f"{self.table}_ragkit_instance", f"{self.table}_ragkit_rows"
        db.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{instance} USING fts5vocab(main, {self.table}, 'instance')"
        )
        db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{rows} USING fts5vocab(main, {self.table}, 'row')")
        with manifest.snapshot():
            generation = self._reading = manifest.generation()
            identity = manifest.get_meta("identity") or ""
            state = self._state
            if state is not None and state.generation == generation:
                return
            ids: dict[int, str] = dict(db.execute("SELECT rowid, id FROM chunks"))
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
            reader = _read_postings(db, f"temp.{instance}", f"temp.{rows}", self.weights, self._stop)
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
            later = _merged(segments[1:])
            segments = [segments[0], later] if len(later.rows) * 2 < len(segments[0].rows) else [_merged(segments)]
        return _State(generation, state.identity, ids, tuple(segments), table, tokens)


def _merged(segments: Sequence[_Segment]) -> _Segment:
    """One segment holding the live postings of ``segments``."""
    vocabulary: dict[str, int] = {}
    terms, rows, freqs = [], [], []
    for segment in segments:
        ids = np.fromiter((vocabulary.setdefault(t, len(vocabulary)) for t in segment.terms), dtype=np.int64)
        term = np.repeat(ids, np.diff(segment.starts))
        keep = segment.alive[segment.rows]
        terms.append(term[keep])
        rows.append(segment.rows[keep])
        freqs.append(segment.freqs[keep])
    term, row, freq = np.concatenate(terms), np.concatenate(rows), np.concatenate(freqs)
    order = np.lexsort((row, term))
    term, row, freq = term[order], row[order], freq[order]
    starts = np.searchsorted(term, np.arange(len(vocabulary) + 1), side="left")
    top = int(row.max()) + 1 if len(row) else 0
    return _Segment(vocabulary, starts, row, freq, np.ones(top, dtype=bool))
