"""Keyword search over the manifest's FTS5 index: ``find`` (exact and exhaustive, with the
query language of :mod:`ragkit.search.query`) and a ranked keyword list for hybrid retrieval."""

from __future__ import annotations

import hashlib
import heapq
import re
import threading
import unicodedata
from collections.abc import Callable, Container
from dataclasses import replace
from datetime import datetime
from typing import Any

from ingest.entities import key_of
from ingest.lang import FUNCTION_WORDS
from ragkit.search.bm25 import KeywordMemory
from ragkit.search.found import MARK_END, MARK_START, SNIPPET_WORDS, FindHit, FindResult, Place, marked_spans
from ragkit.search.query import merge_filters, parse
from ragkit.search.query_tree import Query, compile_fts
from ragkit.search.retrieve import attachment_of, member_of, present_first
from ragkit.storage.filters import Filters, where_sql
from ragkit.storage.manifest import Manifest
from ragkit.storage.migrations import STEM_TOKENIZER
from ragkit.storage.text_index import TextIndex

BM25_WEIGHTS = (1.0, 0.5, 0.5)  # text, title, heading path (ranked keyword search)
# a file name's matches against a passage's own (ranked keyword search): a name is a short,
# deliberate description of the whole document, so a match in it counts double
NAME_WEIGHT = 2.0


def passage_key(text: str) -> str:
    """A passage's identity for saved searches: a digest of its text."""
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def fold(word: str) -> str:
    """A word as the index keeps it: lower case, accents removed."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class KeywordIndex:
    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.tables = TextIndex(manifest)
        self.prefer: tuple[str, ...] = ()  # folders whose copy of a content a hit names first
        # an entity filter's name → the keys it matches (its merges applied): set by the Library
        self.entity_keys: Callable[[str, str], list[str]] = lambda kind, name: [key_of(kind, name)]
        self.marked: Callable[[str, str], list[str]] | None = None  # a tag: or has: filter's files (the library's)
        self._vocab: tuple[int, list[str]] | None = None  # generation, words
        self._docs: tuple[int, dict[int, str]] | None = None  # generation, each chunk's document by rowid
        self.memory: KeywordMemory | None = None  # the stemmed index in memory, once held (hold_in_memory)
        self._lock = threading.Lock()

    def hold_in_memory(self) -> KeywordMemory:
        """From now on, rank keyword matches from postings held in memory (read in the
        background; SQLite's index answers until they are)."""
        with self._lock:
            if self.memory is None:
                self.memory = KeywordMemory(self.manifest, STEM_TOKENIZER, "stem_fts", BM25_WEIGHTS)
            memory = self.memory
        memory.refresh()
        return memory

    def close(self) -> None:
        with self._lock:
            memory, self.memory = self.memory, None
        if memory is not None:
            memory.close()

    # --- fuzzy terms -----------------------------------------------------------------

    def vocabulary(self) -> list[str]:
        generation = self.manifest.generation()
        with self._lock:
            if self._vocab is None or self._vocab[0] != generation:
                words = self.tables.vocabulary()
                self._vocab = (generation, words)
            return self._vocab[1]

    def expand(self, word: str, edits: int) -> list[str]:
        """The index's words within ``edits`` edits of ``word`` (closest first, at most 50)."""
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        target = fold(word)
        found = process.extract(target, self.vocabulary(), scorer=Levenshtein.distance, score_cutoff=edits, limit=50)
        return [w for w, _, _ in sorted(found, key=lambda f: (f[1], f[0]))]

    # --- find ------------------------------------------------------------------------

    def find(
        self, query: Query | str, offset: int = 0, limit: int | None = 20, scope: Filters | None = None
    ) -> FindResult:
        """Every passage matching ``query``: the total, the count per file, and the hits from
        ``offset`` (``limit`` of them; None: all), best first. ``scope``: filters that apply
        besides the query's own (a server key's collections)."""
        parsed = parse(query) if isinstance(query, str) else query
        if scope:
            parsed = replace(parsed, filters=merge_filters(scope, parsed.filters))
        expansions: dict[str, list[str]] = {}
        with self.manifest.snapshot():
            if parsed.tree is None:  # filters alone: every passage of the files they keep
                placed, expression = self._matching(parsed, expansions)
                counts: dict[str, int] = {}
                for _, paths in placed:
                    counts[paths[0].path] = counts.get(paths[0].path, 0) + 1
                total = len(placed)
                page = placed[offset : None if limit is None else offset + limit]
            else:
                total, counts, page, expression = self._ranked_page(parsed, expansions, offset, limit)
            hits = [self._hit(row, paths, expression) for row, paths in page]
            if scope and expansions:
                expansions = self._visible(expansions, parsed.filters)
        files = sorted(counts.items(), key=lambda c: (-c[1], c[0]))
        return FindResult(parsed.text, total, files, hits, offset, expansions)

    def _ranked_page(
        self, parsed: Query, expansions: dict[str, list[str]], offset: int, limit: int | None
    ) -> tuple[int, dict[str, int], list[tuple[tuple[Any, ...], list[Place]]], str]:
        """For a query with words: the total, the count per file and the page of hits, best
        first (inside a snapshot). Each matching passage is scored, but only the page's are
        looked up: at 100,000 chunks a common word matches half of them, and reading each
        one's row took most of a search (measured)."""

        expression, where, params = self._compiled(parsed, expansions)
        scored = self.tables.scored(expression)
        doc_of = self._doc_of()
        places = self._places({doc_of[r] for r, _ in scored}, where, params)
        counts: dict[str, int] = {}
        kept: list[tuple[float, str, int]] = []
        for rowid, score in scored:
            held = places.get(doc_of[rowid])
            if held is not None:
                path = held[0].path
                counts[path] = counts.get(path, 0) + 1
                kept.append((-score, path, rowid))
        total = len(kept)
        wanted = kept if limit is None else heapq.nsmallest(offset + limit + 1, kept)
        rowids = [r for _, _, r in wanted]
        rows = {row[0]: row for row in self.manifest.chunk_rows('id, doc, page, start, "end"', rowids)}
        ordered = sorted(wanted, key=lambda w: (w[0], w[1], rows[w[2]][4]))  # ties: file, then place in it
        page = ordered[offset : None if limit is None else offset + limit]
        return total, counts, [((*rows[r], -s), places[rows[r][2]]) for s, _, r in page], expression

    def _compiled(self, parsed: Query, expansions: dict[str, list[str]]) -> tuple[str, str, list[Any]]:
        """``parsed``'s words as an FTS5 expression over a passage's own text ("" for filters
        alone), each fuzzy term's expansion recorded in ``expansions``; and its filters' SQL.
        A passage's own words only: its document's title and headings would make every passage
        of the document a hit (ranked search weighs them in)."""

        def expand(word: str, edits: int) -> list[str]:
            expansions[f"{word}~{edits}"] = found = self.expand(word, edits)
            return found

        expression = f"text : ({compile_fts(parsed.tree, expand)})" if parsed.tree is not None else ""
        where, params = where_sql(parsed.filters, self.entity_keys, self.marked)
        return expression, where, params

    def _visible(self, expansions: dict[str, list[str]], filters: Filters) -> dict[str, list[str]]:
        """Each fuzzy term's expansion less the words that no passage of a file within
        ``filters`` holds: the vocabulary spans the whole index, and a key limited to some of it
        must not learn the words of the rest. (Inside a snapshot.)"""
        where, params = where_sql(filters, self.entity_keys, self.marked)

        def held(word: str) -> bool:
            docs = {row[2] for row in self.tables.matching('text : "' + word.replace('"', '""') + '"')}
            return bool(docs) and bool(self.tables.places(docs, where, params))

        return {term: [w for w in words if held(w)] for term, words in expansions.items()}

    def _doc_of(self) -> dict[int, str]:
        """Each chunk's document by its rowid, read once per committed write (from the
        chunks' doc index: a tenth of a second at 100,000 chunks)."""
        generation = self.manifest.generation()
        with self._lock:
            if self._docs is not None and self._docs[0] == generation:
                return self._docs[1]
        docs = self.tables.doc_of_rows()
        with self._lock:
            self._docs = (generation, docs)
        return docs

    def news(self, query: Query | str, known: Container[str]) -> tuple[set[str], list[tuple[str, FindHit]]]:
        """For a saved search: the keys of every passage that matches ``query`` now (a key is a
        digest of the passage's text, so a renamed file or an edit elsewhere in a document does
        not make its matches new), and (key, hit) for those not ``known``, best first."""
        parsed = parse(query) if isinstance(query, str) else query
        keys: set[str] = set()
        fresh: list[tuple[str, FindHit]] = []
        with self.manifest.snapshot():
            placed, expression = self._matching(parsed, {})
            texts = self.tables.texts([row[0] for row, _ in placed])
            for row, paths in placed:
                key = passage_key(texts[row[0]])
                if key not in keys and key not in known:
                    fresh.append((key, self._hit(row, paths, expression)))
                keys.add(key)
        return keys, fresh

    def _matching(
        self, parsed: Query, expansions: dict[str, list[str]]
    ) -> tuple[list[tuple[tuple[Any, ...], list[Place]]], str]:
        """Every passage matching ``parsed`` in a file that passes its filters, best first,
        with the paths that hold it; and the FTS5 expression. (Inside a snapshot.)"""

        expression, where, params = self._compiled(parsed, expansions)
        rows = self.tables.matching(expression)
        places = self._places({r[2] for r in rows}, where, params)
        placed = [(r, places[r[2]]) for r in rows if r[2] in places]
        placed.sort(key=lambda p: (-p[0][6], p[1][0].path, p[0][4]))
        return placed, expression

    def _places(self, docs: set[str], where: str, params: list[Any]) -> dict[str, list[Place]]:
        """For each document, the files that hold it and pass the filters, with their dates."""
        places: dict[str, list[Place]] = {}
        for doc, path, mtime_ns, date_ns, source in self.tables.places(docs, where, params):
            places.setdefault(doc, []).append(Place(path, mtime_ns, date_ns, source))
        return places

    def _hit(self, row: tuple[Any, ...], paths: list[Place], expression: str) -> FindHit:
        rowid, chunk, _doc, page, start, end, score = row
        matches: tuple[tuple[int, int], ...] = ()
        text, heading = self.tables.text_and_heading(rowid)
        if expression:
            snippet, marked = self.tables.snippet(expression, rowid, (MARK_START, MARK_END), SNIPPET_WORDS)
            matches = tuple((start + a, start + b) for a, b in marked_spans(marked))
        else:
            words = text.split()
            snippet = " ".join(words[:SNIPPET_WORDS]) + (" …" if len(words) > SNIPPET_WORDS else "")
        if len(paths) > 1:  # the folders indexed last, then the places still on disk
            by_path = {p.path: p for p in paths}
            paths = [by_path[p] for p in present_first(list(by_path), self.prefer)]
        place = paths[0]
        when = datetime.fromtimestamp((place.date_ns or place.mtime_ns) / 1e9).isoformat(timespec="seconds")
        source = (place.date_source or "document") if place.date_ns else "file mtime"
        also = tuple(p.path for p in paths[1:])
        member, attached = member_of(place.path, heading), attachment_of(heading)
        return FindHit(chunk, place.path, page, start, end, float(score), snippet, when, source, also, matches, member,
                       attached)  # fmt: skip

    def dated(self, query: Query | str | None = None) -> list[tuple[str, str, str]]:
        """(path, date, where the date comes from) of every file holding a passage that matches
        ``query`` (every indexed file, without one), dated as a hit of :meth:`find` is: the
        document's own date where it has one, else the file's."""
        with self.manifest.snapshot():
            if query is None:
                docs = set(self._doc_of().values())
                places = self._places(docs, "", [])
            else:
                parsed = parse(query) if isinstance(query, str) else query
                placed, _ = self._matching(parsed, {})
                places = {r[2]: paths for r, paths in placed}
        found = {}
        for held in places.values():
            for place in held:
                when = datetime.fromtimestamp((place.date_ns or place.mtime_ns) / 1e9).date().isoformat()
                found[place.path] = (when, (place.date_source or "document") if place.date_ns else "file mtime")
        return [(path, when, source) for path, (when, source) in sorted(found.items())]

    # --- ranked keyword search (hybrid retrieval) ----------------------------------------

    def ranked(self, text: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """The ``k`` chunks that best match the words of ``text`` (any of them, BM25 over the
        stemmed index), a file name's matches counting for its passages too: (chunk id,
        score), best first."""
        found = {fold(w) for w in re.findall(r"[^\W_]+", text) if len(w) > 1 or w.isdigit()}
        # "10-K" is also "10K", as a file name may write it
        found |= {fold(re.sub(r"[\W_]+", "", w)) for w in re.findall(r"\w+(?:[-.]\w+)+", text)}
        # "FY2019" is also the year "2019" a document writes
        found |= {n for w in found if not w.isdigit() for n in re.findall(r"(?<=[a-z])\d{4}\b", w)}
        # function words match nearly every passage and weigh next to nothing in BM25, yet
        # every passage they match must be scored: left out when other words remain
        words = sorted(found - FUNCTION_WORDS) or sorted(found)
        if not words:
            return []
        expression = " OR ".join(f'"{w}"' for w in words)
        where, params = where_sql(filters or Filters(), self.entity_keys, self.marked)
        with self.manifest.snapshot():
            named: dict[str, float] = {}
            for doc, score in self.tables.named(expression):
                named[doc] = max(named.get(doc, 0.0), float(score))
            scores: dict[str, tuple[str, float]] = {}
            depth = max(k * 4, 200)
            memory = self.memory
            best = memory.ranked(words, depth, self.manifest.generation()) if memory is not None else None
            if best is not None:  # the same BM25 from the postings in memory
                score_of = dict(best)
                for rowid, chunk, doc in self.manifest.chunk_rows("id, doc", list(score_of)):
                    scores[chunk] = (doc, score_of[rowid])
            else:
                for chunk, doc, score in self.tables.best_stemmed(expression, depth, BM25_WEIGHTS):
                    scores[chunk] = (doc, float(score))
            for chunk, doc in self.tables.chunks_of(
                list(named)
            ):  # files whose names match, even if their text does not
                scores.setdefault(chunk, (doc, 0.0))
            allowed = set(self._places({d for d, _ in scores.values()}, where, params)) if filters else None
        ranked = [
            (chunk, score + NAME_WEIGHT * named.get(doc, 0.0))
            for chunk, (doc, score) in scores.items()
            if allowed is None or doc in allowed
        ]
        ranked.sort(key=lambda r: (-r[1], r[0]))
        return ranked[:k]

    def counts(self, filters: Filters) -> dict[str, int]:
        """Files, chunks and failed files, as ``Manifest.counts``, of the files that pass ``filters``."""
        return self.tables.counts(*where_sql(filters, self.entity_keys, self.marked))

    def allowed_chunks(self, filters: Filters) -> set[str]:
        """The ids of the chunks of files that pass ``filters``."""
        return self.tables.chunk_ids(*where_sql(filters, self.entity_keys, self.marked))
