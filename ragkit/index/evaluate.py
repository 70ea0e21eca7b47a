"""Retrieval quality on any BEIR-layout folder (``corpus.jsonl``, ``queries.jsonl``,
``qrels/SPLIT.tsv``), through ragkit's own index and search: each corpus document becomes a
file, indexed as any file is, and each query is searched in every mode asked for.

Measures per mode: nDCG@10, recall@10, recall@100, MRR@10 (a document ranks where its best
passage ranks) and the search's latency p50/p95 (query embedding included, no model).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragkit.core import paths
from ragkit.core.config import Settings
from ragkit.core.errors import RagkitError
from ragkit.index.library import Library, SearchMode
from ragkit.index.report import Progress

DEPTH = 100  # passages retrieved per query


@dataclass(frozen=True)
class Beir:
    corpus: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load(folder: Path, split: str = "test", max_queries: int | None = None, max_docs: int | None = None) -> Beir:
    """Read a BEIR folder. ``max_queries`` keeps the first queries that have judgements;
    ``max_docs`` keeps their judged documents and fills up with others in corpus order."""
    needed = [folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"]
    for path in needed:
        if not path.is_file():
            raise RagkitError(
                f"{path} is missing: a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/{split}.tsv"
            )
    qrels: dict[str, dict[str, int]] = {}
    for line in needed[2].read_text("utf-8").splitlines()[1:]:
        if line.strip():
            query, doc, score = line.split("\t")[:3]
            if int(score) > 0:
                qrels.setdefault(query, {})[doc] = int(score)
    queries: dict[str, str] = {}
    with needed[1].open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row["_id"] in qrels:
                queries[row["_id"]] = row["text"]
    if max_queries is not None:
        queries = dict(list(queries.items())[:max_queries])
    qrels = {q: qrels[q] for q in queries}
    judged = {doc for docs in qrels.values() for doc in docs}
    corpus: dict[str, tuple[str, str]] = {}
    with needed[0].open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if max_docs is None or row["_id"] in judged or len(corpus) < max_docs:
                corpus[row["_id"]] = (row.get("title") or "", row.get("text") or "")
    return Beir(corpus, queries, qrels)


def _file_name(doc: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", doc)
    return f"{safe}-{hashlib.sha256(doc.encode()).hexdigest()[:8]}.txt"


def write_corpus(data: Beir, folder: Path) -> dict[str, str]:
    """Each document as a text file in ``folder`` (kept between runs); file name -> doc id."""
    folder.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    for doc, (title, text) in data.corpus.items():
        name = _file_name(doc)
        names[name] = doc
        path = folder / name
        content = f"{title}\n\n{text}\n" if title else f"{text}\n"
        if not path.is_file() or path.read_text("utf-8") != content:
            path.write_text(content, encoding="utf-8")
    for stale in folder.glob("*.txt"):
        if stale.name not in names:
            stale.unlink()
    return names


def metrics(ranking: Sequence[str], relevant: dict[str, int]) -> dict[str, float]:
    gains = [relevant.get(doc, 0) for doc in ranking[:10]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    first = next((i for i, doc in enumerate(ranking[:10]) if doc in relevant), None)
    return {
        "ndcg@10": dcg / idcg if idcg else 0.0,
        "recall@10": len(set(ranking[:10]) & relevant.keys()) / len(relevant),
        "recall@100": len(set(ranking[:100]) & relevant.keys()) / len(relevant),
        "mrr@10": 1.0 / (first + 1) if first is not None else 0.0,
    }


def evaluate(
    library: Library,
    data: Beir,
    names: dict[str, str],
    modes: Sequence[SearchMode],
    progress: Callable[[str, int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per mode: the mean of each measure over the queries, and latency p50/p95 (ms)."""
    rows = []
    for mode in modes:
        sums: dict[str, float] = {}
        latencies: list[float] = []
        for n, (query, text) in enumerate(data.queries.items(), start=1):
            started = time.perf_counter()
            hits = library.search(text, DEPTH, mode)
            latencies.append((time.perf_counter() - started) * 1000)
            ranking: list[str] = []
            for hit in hits:
                doc = names.get(Path(hit.path).name)
                if doc is not None and doc not in ranking:
                    ranking.append(doc)
            for key, value in metrics(ranking, data.qrels[query]).items():
                sums[key] = sums.get(key, 0.0) + value
            if progress:
                progress(mode, n, len(data.queries))
        count = max(1, len(data.queries))
        latencies.sort()
        rows.append(
            {
                "mode": mode,
                "queries": len(data.queries),
                **{key: round(value / count, 4) for key, value in sums.items()},
                "p50_ms": round(_percentile(latencies, 0.50), 1),
                "p95_ms": round(_percentile(latencies, 0.95), 1),
            }
        )
    return rows


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def eval_home(settings: Settings, folder: Path, split: str, max_queries: int | None, max_docs: int | None) -> Path:
    """Where the evaluation's own index of ``folder`` lives (kept, so a second run only searches)."""
    key = f"{folder.resolve()}|{split}|{max_queries}|{max_docs}"
    return paths.eval_dir(settings.home) / f"{folder.name}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def run_beir(
    settings: Settings,
    folder: Path,
    modes: Sequence[SearchMode],
    split: str = "test",
    max_queries: int | None = None,
    max_docs: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> list[dict[str, Any]]:
    """Index the folder's corpus (in an index of its own under the data directory, kept for the
    next run) and evaluate each mode on it: one row per mode."""
    data = load(folder, split, max_queries, max_docs)
    home = eval_home(settings, folder, split, max_queries, max_docs)
    names = write_corpus(data, home / "docs")
    library = Library(settings.model_copy(update={"home": home}))
    try:
        say(f"{len(data.corpus)} documents, {len(data.queries)} queries; index: {home}")
        report = library.index([home / "docs"], progress=progress)
        if report.failed:
            raise RagkitError(f"{len(report.failed)} documents failed to index, e.g. {report.failed[0]}")
        return evaluate(library, data, names, modes)
    finally:
        library.close()
