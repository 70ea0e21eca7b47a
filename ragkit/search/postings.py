"""Postings read out of an FTS5 index into numpy arrays (for :mod:`ragkit.search.bm25`): each
word's rows and column-weighted counts, and each row's length, exactly as SQLite counts them."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ragkit.storage.text_index import POSTINGS_SQL

BLOCK = 1 << 21  # word instances turned into postings at a time while reading (bounds memory)
COLUMNS = ("text", "title", "heading")


@dataclass(frozen=True)
class Segment:
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

    def without(self, removed: np.ndarray) -> Segment:
        alive = self.alive.copy()
        alive[removed[removed < len(alive)]] = False
        return Segment(self.terms, self.starts, self.rows, self.freqs, alive)


class Stopped(Exception):
    """The memory was closed while it was being read."""


class PostingsReader:
    """Turns ``POSTINGS_SQL``'s rows into a segment and each row's length in words."""

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

    def finish(self) -> tuple[Segment, np.ndarray, np.ndarray]:
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
        segment = Segment({t: i for i, t in enumerate(self.terms)}, starts, rows, freqs, np.ones(top, dtype=bool))
        return segment, counted, lengths[counted]


def read_postings(
    rows: Iterable[tuple[str, str | None]], weights: Sequence[float], stop: threading.Event | None = None
) -> PostingsReader:
    """The postings of ``rows`` (a word, and its instances as ``POSTINGS_SQL`` gives them)."""
    reader = PostingsReader(weights, stop)
    reader.read(rows)
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

    def postings(self, rows: Iterable[tuple[int, str, str, str]], weights: Sequence[float]) -> PostingsReader:
        """The postings of ``rows`` (rowid, text, title, heading), read as the index would."""
        with self._lock:
            db = self._db
            db.executemany("INSERT INTO t(rowid, text, title, heading) VALUES (?, ?, ?, ?)", rows)
            try:
                return read_postings(db.execute(POSTINGS_SQL.format(instance="t_instance", rows="t_rows")), weights)
            finally:
                db.execute("DELETE FROM t")


def merged(segments: Sequence[Segment]) -> Segment:
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
    return Segment(vocabulary, starts, row, freq, np.ones(top, dtype=bool))
