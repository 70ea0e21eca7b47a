"""Keyword search over the manifest's FTS5 index: ``find`` (exact and exhaustive, with the
query language of :mod:`ragkit.search.query`) and a ranked keyword list for hybrid retrieval."""

from __future__ import annotations

import hashlib
import heapq
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Container
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from ingest.entities import NAME_TYPES, key_of
from ingest.lang import FUNCTION_WORDS
from ragkit.search.bm25 import KeywordMemory
from ragkit.search.query import Filters, Query, compile_fts, merge_filters, parse
from ragkit.search.retrieve import attachment_of, member_of, present_first
from ragkit.storage.manifest import Manifest, rows_in
from ragkit.storage.migrations import STEM_TOKENIZER, basename_sql

MARK_START, MARK_END = "\x02", "\x03"  # around each matched word of a snippet
SNIPPET_WORDS = 24
BM25_WEIGHTS = (1.0, 0.5, 0.5)  # text, title, heading path (ranked keyword search)
# a file name's matches against a passage's own (ranked keyword search): a name is a short,
# deliberate description of the whole document, so a match in it counts double
NAME_WEIGHT = 2.0
PLACES_LOOKUP_MAX = 2_000  # documents whose files are looked up one by one; more: every file read


@dataclass(frozen=True)
class FindHit:
    id: str
    path: str
    page: int | None
    start: int
    end: int
    score: float  # BM25 (higher is better); 0 when only filters were given
    snippet: str  # with MARK_START / MARK_END around the matches
    date: str  # the date the date filters use (ISO): the document's own, else its file's
    date_source: str = "file mtime"  # or where the document's own came from ("pdf metadata", …)
    also: tuple[str, ...] = ()  # the same content at other paths
    matches: tuple[tuple[int, int], ...] = ()  # the matched words' spans, in the document's characters
    member: str = ""  # archive.zip!/inner/file.pdf, for a passage of an archive's member
    attachment: str = ""  # 'attachment NAME of the message "SUBJECT"', for a passage of an e-mail's attachment

    def as_dict(self, marks: tuple[str, str] = ("**", "**")) -> dict[str, Any]:
        return {
            "path": self.path,
            "page": self.page,
            "start": self.start,
            "end": self.end,
            **snippet_fields(self.snippet, marks),
            "score": round(self.score, 4),
            "date": self.date,
            "date_source": self.date_source,
            "also": list(self.also),
            "matches": [list(m) for m in self.matches],
            "member": self.member or None,
            "attachment": self.attachment or None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FindHit:
        """A hit back from :meth:`as_dict` (as a ragkit server sends it)."""
        snippet = snippet_of(data)
        return cls(
            id=data.get("id", ""), path=data["path"], page=data.get("page"), start=data["start"], end=data["end"],
            score=float(data.get("score", 0.0)), snippet=snippet, date=data.get("date", ""),
            date_source=data.get("date_source", "file mtime"), also=tuple(data.get("also", ())),
            matches=tuple((int(a), int(b)) for a, b in data.get("matches", ())), member=data.get("member") or "",
            attachment=data.get("attachment") or "",
        )  # fmt: skip


@dataclass(frozen=True)
class Place:
    """A file holding a document, with the file's time and the document's own date, if any."""

    path: str
    mtime_ns: int
    date_ns: int | None
    date_source: str | None


@dataclass
class FindResult:
    query: str
    total: int
    files: list[tuple[str, int]]  # every file with hits, most hits first
    hits: list[FindHit]  # the requested page, best first
    offset: int = 0
    expansions: dict[str, list[str]] = field(default_factory=dict)  # fuzzy term -> the words it matched

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "files": [{"path": p, "count": n} for p, n in self.files],
            "hits": [h.as_dict() for h in self.hits],
            "offset": self.offset,
            "expansions": self.expansions,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FindResult:
        return cls(
            query=data.get("query", ""),
            total=int(data["total"]),
            files=[(f["path"], int(f["count"])) for f in data.get("files", [])],
            hits=[FindHit.from_dict(h) for h in data.get("hits", [])],
            offset=int(data.get("offset", 0)),
            expansions={k: list(v) for k, v in (data.get("expansions") or {}).items()},
        )


def snippet_fields(snippet: str, marks: tuple[str, str] = ("**", "**")) -> dict[str, Any]:
    """A marked snippet as JSON: ``snippet`` with ``marks`` around the matches, and the same
    without marks (``snippet_text``) with where they were (``snippet_marks``): unambiguous
    when the text itself holds a mark such as "**"."""
    return {
        "snippet": snippet.replace(MARK_START, marks[0]).replace(MARK_END, marks[1]),
        "snippet_text": snippet.replace(MARK_START, "").replace(MARK_END, ""),
        "snippet_marks": [list(span) for span in marked_spans(snippet)],
    }


def snippet_of(data: dict[str, Any]) -> str:
    """The marked snippet back from :func:`snippet_fields`."""
    snippet = str(data.get("snippet_text", ""))
    for start, end in reversed(data.get("snippet_marks", [])):
        snippet = snippet[:start] + MARK_START + snippet[start:end] + MARK_END + snippet[end:]
    return snippet


def passage_key(text: str) -> str:
    """A passage's identity for saved searches: a digest of its text."""
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def marked_spans(marked: str) -> list[tuple[int, int]]:
    """The spans between MARK_START and MARK_END in ``marked``, as offsets into the text
    without the marks (none, if the text itself holds a mark character and so cannot tell)."""
    spans: list[tuple[int, int]] = []
    position, opened = 0, None
    for char in marked:
        if char == MARK_START:
            if opened is not None:
                return []
            opened = position
        elif char == MARK_END:
            if opened is None:
                return []
            spans.append((opened, position))
            opened = None
        else:
            position += 1
    return spans if opened is None else []


def fold(word: str) -> str:
    """A word as the index keeps it: lower case, accents removed."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class KeywordIndex:
    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.prefer: tuple[str, ...] = ()  # folders whose copy of a content a hit names first
        # an entity filter's name → the keys it matches (its merges applied): set by the Library
        self.entity_keys: Callable[[str, str], list[str]] = lambda kind, name: [key_of(kind, name)]
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
                words = [r[0] for r in self.manifest.db.execute("SELECT term FROM chunk_vocab")]
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
        files = sorted(counts.items(), key=lambda c: (-c[1], c[0]))
        return FindResult(parsed.text, total, files, hits, offset, expansions)

    def _ranked_page(
        self, parsed: Query, expansions: dict[str, list[str]], offset: int, limit: int | None
    ) -> tuple[int, dict[str, int], list[tuple[tuple[Any, ...], list[Place]]], str]:
        """For a query with words: the total, the count per file and the page of hits, best
        first (inside a snapshot). Each matching passage is scored, but only the page's are
        looked up: at 100,000 chunks a common word matches half of them, and reading each
        one's row took most of a search (measured)."""

        def expand(word: str, edits: int) -> list[str]:
            expansions[f"{word}~{edits}"] = found = self.expand(word, edits)
            return found

        where, params = _filter_sql(parsed.filters, self.entity_keys)
        expression = f"text : ({compile_fts(parsed.tree, expand)})" if parsed.tree is not None else ""
        db = self.manifest.db
        scored = db.execute(
            "SELECT rowid, -bm25(chunk_fts, 1.0, 0.5, 0.5) FROM chunk_fts WHERE chunk_fts MATCH ?", (expression,)
        ).fetchall()
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

    def _doc_of(self) -> dict[int, str]:
        """Each chunk's document by its rowid, read once per committed write (from the
        chunks' doc index: a tenth of a second at 100,000 chunks)."""
        generation = self.manifest.generation()
        with self._lock:
            if self._docs is not None and self._docs[0] == generation:
                return self._docs[1]
        docs = dict(self.manifest.db.execute("SELECT rowid, doc FROM chunks"))
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
            texts = self._texts([row[0] for row, _ in placed])
            for row, paths in placed:
                key = passage_key(texts[row[0]])
                if key not in keys and key not in known:
                    fresh.append((key, self._hit(row, paths, expression)))
                keys.add(key)
        return keys, fresh

    def _texts(self, rowids: list[int]) -> dict[int, str]:
        return dict(self.manifest.chunk_rows("text", rowids))

    def _matching(
        self, parsed: Query, expansions: dict[str, list[str]]
    ) -> tuple[list[tuple[tuple[Any, ...], list[Place]]], str]:
        """Every passage matching ``parsed`` in a file that passes its filters, best first,
        with the paths that hold it; and the FTS5 expression. (Inside a snapshot.)"""

        def expand(word: str, edits: int) -> list[str]:
            expansions[f"{word}~{edits}"] = found = self.expand(word, edits)
            return found

        where, params = _filter_sql(parsed.filters, self.entity_keys)
        db = self.manifest.db
        if parsed.tree is not None:
            # a passage's own words only: its document's title and headings would make every
            # passage of the document a hit (ranked search, below, weighs them in)
            expression = f"text : ({compile_fts(parsed.tree, expand)})"
            rows = db.execute(
                'SELECT c.rowid, c.id, c.doc, c.page, c.start, c."end", -bm25(chunk_fts, 1.0, 0.5, 0.5)'
                " FROM chunk_fts JOIN chunks c ON c.rowid = chunk_fts.rowid WHERE chunk_fts MATCH ?",
                (expression,),
            ).fetchall()
        else:
            expression = ""
            rows = db.execute('SELECT rowid, id, doc, page, start, "end", 0.0 FROM chunks').fetchall()
        places = self._places({r[2] for r in rows}, where, params)
        placed = [(r, places[r[2]]) for r in rows if r[2] in places]
        placed.sort(key=lambda p: (-p[0][6], p[1][0].path, p[0][4]))
        return placed, expression

    def _places(self, docs: set[str], where: str, params: list[Any]) -> dict[str, list[Place]]:
        """For each document, the files that hold it and pass the filters, with their dates."""
        places: dict[str, list[Place]] = {}
        sql = (
            "SELECT f.doc, f.path, f.mtime_ns, d.date_ns, d.date_source FROM files f JOIN docs d ON d.hash = f.doc"
            f" WHERE f.status = 'ok'{where}"
        )
        if len(docs) <= PLACES_LOOKUP_MAX:  # a few: looked up (reading every file's row took 70 ms at 18,000)
            rows: list[Any] = list(rows_in(self.manifest.db, sql + " AND f.doc IN ({marks})", sorted(docs), params))
            rows.sort(key=lambda r: r[1])
        else:
            rows = self.manifest.db.execute(f"{sql} ORDER BY f.path", params).fetchall()
        for doc, path, mtime_ns, date_ns, source in rows:
            if doc in docs:
                places.setdefault(doc, []).append(Place(path, mtime_ns, date_ns, source))
        return places

    def _hit(self, row: tuple[Any, ...], paths: list[Place], expression: str) -> FindHit:
        rowid, chunk, _doc, page, start, end, score = row
        matches: tuple[tuple[int, int], ...] = ()
        if expression:
            snippet, marked = self.manifest.db.execute(
                "SELECT snippet(chunk_fts, 0, ?, ?, '…', ?), highlight(chunk_fts, 0, ?, ?)"
                " FROM chunk_fts WHERE chunk_fts MATCH ? AND rowid = ?",
                (MARK_START, MARK_END, SNIPPET_WORDS, MARK_START, MARK_END, expression, rowid),
            ).fetchone()
            matches = tuple((start + a, start + b) for a, b in marked_spans(marked))
        else:
            (text,) = self.manifest.db.execute("SELECT text FROM chunks WHERE rowid = ?", (rowid,)).fetchone()
            words = text.split()
            snippet = " ".join(words[:SNIPPET_WORDS]) + (" …" if len(words) > SNIPPET_WORDS else "")
        if len(paths) > 1:  # the folders indexed last, then the places still on disk
            by_path = {p.path: p for p in paths}
            paths = [by_path[p] for p in present_first(list(by_path), self.prefer)]
        place = paths[0]
        when = datetime.fromtimestamp((place.date_ns or place.mtime_ns) / 1e9).isoformat(timespec="seconds")
        source = (place.date_source or "document") if place.date_ns else "file mtime"
        also = tuple(p.path for p in paths[1:])
        (heading,) = self.manifest.db.execute("SELECT heading FROM chunks WHERE rowid = ?", (rowid,)).fetchone()
        member, attached = member_of(place.path, heading or ""), attachment_of(heading or "")
        return FindHit(chunk, place.path, page, start, end, float(score), snippet, when, source, also, matches, member,
                       attached)  # fmt: skip

    # --- ranked keyword search (hybrid retrieval) ----------------------------------------

    def ranked(self, text: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """The ``k`` chunks that best match the words of ``text`` (any of them, BM25 over the
        stemmed index), a file name's matches counting for its passages too: (chunk id,
        score), best first."""
        found = {fold(w) for w in re.findall(r"[^\W_]+", text) if len(w) > 1 or w.isdigit()}
        # "10-K" is also "10K", as a file name may write it
        found |= {fold(re.sub(r"[\W_]+", "", w)) for w in re.findall(r"\w+(?:[-.]\w+)+", text)}
        # function words match nearly every passage and weigh next to nothing in BM25, yet
        # every passage they match must be scored: left out when other words remain
        words = sorted(found - FUNCTION_WORDS) or sorted(found)
        if not words:
            return []
        expression = " OR ".join(f'"{w}"' for w in words)
        where, params = _filter_sql(filters or Filters(), self.entity_keys)
        db = self.manifest.db
        with self.manifest.snapshot():
            named: dict[str, float] = {}
            for doc, score in db.execute(
                "SELECT f.doc, -bm25(name_fts) FROM name_fts JOIN files f ON f.rowid = name_fts.rowid"
                " WHERE name_fts MATCH ?",
                (expression,),
            ):
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
                bm25 = f"bm25(stem_fts, {', '.join(map(str, BM25_WEIGHTS))})"
                # the best rows first, then their chunks: joined before the LIMIT, every matching
                # row (tens of thousands at 100k chunks, for a common word) would be looked up
                for chunk, doc, score in db.execute(
                    f"SELECT c.id, c.doc, best.score FROM (SELECT rowid, -{bm25} AS score FROM stem_fts"
                    " WHERE stem_fts MATCH ? ORDER BY score DESC LIMIT ?) best JOIN chunks c ON c.rowid = best.rowid",
                    (expression, depth),
                ):
                    scores[chunk] = (doc, float(score))
            if named:  # the passages of files whose names match, even if their text does not
                marks = ",".join("?" * len(named))
                for chunk, doc in db.execute(f"SELECT id, doc FROM chunks WHERE doc IN ({marks})", list(named)):
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
        where, params = _filter_sql(filters, self.entity_keys)
        one = self.manifest.db.execute
        files = one(f"SELECT count(*) FROM files f WHERE f.status = 'ok'{where}", params).fetchone()[0]
        failed = one(f"SELECT count(*) FROM files f WHERE f.status = 'failed'{where}", params).fetchone()[0]
        chunks = one(
            "SELECT count(*) FROM chunks c JOIN docs d ON d.hash = c.doc AND d.state = 'ready' WHERE EXISTS"
            f" (SELECT 1 FROM files f WHERE f.doc = c.doc AND f.status = 'ok'{where})",
            params,
        ).fetchone()[0]
        return {"files": files, "chunks": chunks, "failed": failed}

    def allowed_chunks(self, filters: Filters) -> set[str]:
        """The ids of the chunks of files that pass ``filters``."""
        where, params = _filter_sql(filters, self.entity_keys)
        rows = self.manifest.db.execute(
            "SELECT c.id FROM chunks c WHERE EXISTS"
            f" (SELECT 1 FROM files f WHERE f.doc = c.doc AND f.status = 'ok'{where})",
            params,
        )
        return {r[0] for r in rows}


def _filter_sql(filters: Filters, entity_keys: Callable[[str, str], list[str]] | None = None) -> tuple[str, list[Any]]:
    """SQL conditions on ``files f`` for ``filters`` (each beginning with `` AND``);
    ``entity_keys``: an entity filter's name → the stored keys it matches."""
    where: list[str] = []
    params: list[Any] = []
    for kind, name in filters.entities:
        either, values = [], []
        for key in (entity_keys or (lambda k, n: [key_of(k, n)]))(kind, name):
            if kind in NAME_TYPES:  # a name matches the names that hold it as whole words: smith, john smith
                either.append("""(' ' || e."key" || ' ') LIKE ? ESCAPE '\\'""")
                values.append("% " + re.sub(r"([%_\\])", r"\\\1", key) + " %")
            else:
                either.append('e."key" = ?')
                values.append(key)
        where.append(
            f"EXISTS (SELECT 1 FROM entities e WHERE e.doc = f.doc AND e.type = ? AND ({' OR '.join(either) or '0'}))"
        )
        params += [kind, *values]
    if filters.paths:
        either = []
        for pattern in filters.paths:
            if "/" in pattern:
                either.append("f.path GLOB ?")
                params.append(pattern if pattern.startswith("/") else "*/" + pattern)
            else:
                either.append(f"{basename_sql('f.path')} GLOB ?")
                params.append(pattern)
        where.append("(" + " OR ".join(either) + ")")
    if filters.types:
        where.append("(" + " OR ".join("lower(f.path) GLOB ?" for _ in filters.types) + ")")
        params += [f"*.{t}" for t in filters.types]
    dated = "COALESCE((SELECT d.date_ns FROM docs d WHERE d.hash = f.doc), f.mtime_ns)"  # its own date, or the file's
    if filters.after:
        where.append(f"{dated} >= ?")
        params.append(_day_start_ns(filters.after))
    if filters.before:
        where.append(f"{dated} < ?")
        params.append(_day_start_ns(filters.before, days_after=1))
    if filters.within:
        where.append("(" + " OR ".join("f.path GLOB ?" for _ in filters.within) + ")")
        params += [glob_escape(folder.rstrip("/")) + "/*" for folder in filters.within]
    if filters.without:
        where.append("NOT (" + " OR ".join("f.path GLOB ?" for _ in filters.without) + ")")
        params += [glob_escape(folder.rstrip("/")) + "/*" for folder in filters.without]
    if filters.langs:
        marks = ", ".join("?" * len(filters.langs))
        where.append(f"(SELECT d.lang FROM docs d WHERE d.hash = f.doc) IN ({marks})")
        params += list(filters.langs)
    return "".join(" AND " + w for w in where), params


def glob_escape(text: str) -> str:
    """``text`` matched literally by SQLite's GLOB."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def _day_start_ns(day: date, days_after: int = 0) -> int:
    """Midnight of ``days_after`` days after ``day`` in local time, in nanoseconds since the epoch.
    Days the platform's clock cannot hold (year 1, the day after 9999-12-31) are counted in UTC, and
    the result is held within SQLite's 64-bit integers (about the years 1678 to 2262)."""
    try:
        ns = int(time.mktime(date.fromordinal(day.toordinal() + days_after).timetuple())) * 1_000_000_000
    except (OverflowError, ValueError):
        ns = (day.toordinal() + days_after - _EPOCH_ORDINAL) * 86_400 * 1_000_000_000
    return max(-(2**63), min(ns, 2**63 - 1))


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
