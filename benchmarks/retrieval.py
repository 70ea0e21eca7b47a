"""Search latency at scale: hybrid search and `find` on indexes of about 10,000 and 100,000
chunks, p50 and p95, each against a baseline measured in the same run.

- hybrid: `Library.search(mode="hybrid")` as `ragkit serve` and the TUI run it, the model
  excluded: the query embedded by the ONNX export, the exact dense search, the ranked
  keyword search (from the postings held in memory), fused; and again with SQLite's bm25()
  ranking the keywords, as a one-shot `ragkit search` or `ask` does. Baseline: embedding the
  query alone (the floor of any search by meaning); a brute-force numpy product with every
  chunk vector is shown beside it.
- find: `ragkit find`'s first page with the total and the count per file, for a phrase, a
  fuzzy name (`word~1`) and a filtered query (`word type:md`). Baseline: a scan of every
  chunk's text in memory for the phrase (what `find` would be without its index).

Texts are real: Markdown and text documentation from ../shared/data/corpus and the SciFact
abstracts, written as files, in as many copies as the size needs (each copy's files carry a
line of their own, so none is a duplicate). Vectors are synthetic (a seeded random unit
vector per chunk, from an embedder that keeps the packaged model's identity, so indexing
100,000 chunks takes minutes, not hours); queries are real SciFact questions and phrases
drawn from the indexed text. Targets at 100k chunks: hybrid p95 <= 100 ms (held in memory),
find p95 <= 200 ms.

    .venv/bin/python benchmarks/retrieval.py [--sizes 10000 100000 1000000] [--queries 50]

Also: search by meaning alone, exact (every recorded vector) and approximate (Chroma's HNSW
index), with the share of the exact top ten the approximate one finds; the index's size on
disk and this process's peak memory; the build's time (synthetic vectors: what it costs
besides the embedder).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
DATA = ROOT.parent / "shared" / "data"
CHARS_PER_CHUNK = 640  # about what this corpus gives (measured), to know how much text to write for a size


class SyntheticEmbedder:
    """The packaged model's identity (name, folder, dimension, tokenizer) with a seeded
    random unit vector per text instead of its meaning: for building big indexes fast."""

    def __init__(self) -> None:
        from ragkit.index.embed import PACKAGED_EMBEDDER, SentenceTransformerEmbedder

        real = SentenceTransformerEmbedder(PACKAGED_EMBEDDER)
        self.name, self.dim, self.model_dir, self.tokenizer = real.name, real.dim, real.model_dir, real.tokenizer

    @property
    def precision(self) -> str:
        return "fp32"

    def embed(self, texts: Sequence[str]) -> Any:
        import numpy as np

        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            out[i] = np.random.default_rng(seed).standard_normal(self.dim)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def source_texts() -> list[tuple[str, str]]:
    """(file name, text) of the real documents the corpus is made of."""
    texts: list[tuple[str, str]] = []
    corpus = DATA / "corpus"
    for path in sorted(corpus.rglob("*")):
        if path.suffix in (".md", ".txt") and path.is_file():
            texts.append((f"{path.parent.name}-{path.name}", path.read_text("utf-8", errors="replace")))
    with open(DATA / "scifact" / "corpus.jsonl", encoding="utf-8") as lines:
        for line in lines:
            doc = json.loads(line)
            texts.append((f"scifact-{doc['_id']}.txt", f"{doc.get('title', '')}\n\n{doc['text']}\n"))
    return texts


def write_corpus(folder: Path, chunks: int) -> int:
    """Write about ``chunks`` chunks' worth of files; returns how many files."""
    pool = source_texts()
    budget = chunks * CHARS_PER_CHUNK
    written = 0
    copy = 0
    while budget > 0:
        for name, text in pool:
            target = folder / f"copy-{copy:02d}" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f"(copy {copy})\n\n{text}", encoding="utf-8")
            written += 1
            budget -= len(text)
            if budget <= 0:
                break
        copy += 1
    return written


def timed(run: Callable[[], object], repeat: Sequence[Any] | None = None) -> list[float]:
    """Milliseconds of each call."""
    times = []
    for _ in repeat or [None]:
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def dense_searches(library: Any, questions: list[str], size: int) -> dict[str, Any]:
    """Search by meaning alone, exact (every recorded vector compared) and approximate
    (Chroma's HNSW index, as above ``retrieve.exact_limit``), with how many of the exact top
    ten the approximate one finds."""
    retrieve = library.settings.retrieve
    runs: dict[str, list[float]] = {}
    found: dict[str, list[list[str]]] = {}
    for kind, limit in (("exact", max(size * 2, 100_000)), ("approximate", 0)):
        retrieve.exact_limit = limit
        library.search(questions[0], mode="dense")  # the vectors (or the HNSW index) read once
        runs[kind], found[kind] = [], []
        for q in questions:
            started = time.perf_counter()
            hits = library.search(q, k=10, mode="dense")
            runs[kind].append((time.perf_counter() - started) * 1000)
            found[kind].append([h.id for h in hits])
    retrieve.exact_limit = max(size * 2, 100_000)
    recall = [len(set(a) & set(e)) / max(len(e), 1) for a, e in zip(found["approximate"], found["exact"], strict=True)]
    return {"dense_exact": runs["exact"], "dense_hnsw": runs["approximate"], "hnsw_recall10": statistics.mean(recall)}


def measure(size: int, queries: int, work: Path) -> dict[str, Any]:
    import numpy as np

    from ragkit.core.config import load_settings
    from ragkit.index.library import Library

    docs = work / f"docs-{size}"
    files = write_corpus(docs, size)
    settings = load_settings(home=work / f"home-{size}", retrieve={"exact_limit": max(size * 2, 100_000)})
    from ragkit.index import onnxembed

    queries_by = onnxembed.for_settings(settings)  # queries are embedded for real, as a search does
    queries_by.prepare()
    library = Library(settings, embedder=SyntheticEmbedder(), query_embedder=queries_by)  # type: ignore[arg-type]
    started = time.perf_counter()
    report = library.index([docs])
    build_s = time.perf_counter() - started
    assert not report.failed, report.failed[:3]
    # searched as `ragkit search` or a restarted server finds the index: opened anew, without
    # the build's vector store client (Chroma goes on compacting what it was given for a while)
    library.close()
    library = Library(settings, embedder=SyntheticEmbedder(), query_embedder=queries_by)  # type: ignore[arg-type]
    rng = random.Random(size)
    db = library.manifest.db
    texts = [row[0] for row in db.execute("SELECT text FROM chunks")]

    questions = [json.loads(line)["text"] for line in open(DATA / "scifact" / "queries.jsonl", encoding="utf-8")]
    questions = rng.sample(questions, queries)
    library.query_embedder.embed(["warm-up"])
    library.search(questions[0], mode="hybrid")  # the vectors and keyword index read once
    hybrid_sqlite: list[float] = []
    for q in questions:
        hybrid_sqlite += timed(lambda q=q: library.search(q, mode="hybrid"))
    # as `ragkit serve` and the TUI hold it: the ranked keyword index read into memory
    started = time.perf_counter()
    library.keep_warm()
    assert library.keywords.memory is not None
    library.keywords.memory.wait()
    memory_s, memory_mb = time.perf_counter() - started, library.keywords.memory.size_bytes() / 1e6
    hybrid: list[float] = []
    for q in questions:
        hybrid += timed(lambda q=q: library.search(q, mode="hybrid"))

    dense = dense_searches(library, questions, size)
    vectors = np.stack([np.frombuffer(v, dtype=np.float32) for (v,) in db.execute("SELECT vec FROM chunks")])
    query_vectors = library.query_embedder.embed(questions)
    brute = [timed(lambda v=v: np.argpartition(-(vectors @ v), 10)[:10])[0] for v in query_vectors]
    embed = [timed(lambda q=q: library.query_embedder.embed([q]))[0] for q in questions]

    phrases, names = [], []
    while len(phrases) < queries:
        words = re.findall(r"[A-Za-z]{4,}", rng.choice(texts))
        if len(words) >= 2:
            i = rng.randrange(len(words) - 1)
            phrases.append(f"{words[i]} {words[i + 1]}".lower())
            long = [w for w in words if len(w) >= 7]
            if long:
                word = rng.choice(long).lower()
                j = rng.randrange(1, len(word) - 1)
                names.append(word[:j] + ("x" if word[j] != "x" else "y") + word[j + 1 :])
    names = names[:queries]
    finds = {
        "phrase": [f'"{p}"' for p in phrases],
        "fuzzy name": [f"{n}~1" for n in names],
        "filtered": [f"{p.split()[0]} type:md" for p in phrases],
    }
    find_ms = {kind: [t for q in qs for t in timed(lambda q=q: library.find(q, 0, 20))] for kind, qs in finds.items()}
    lowered = [t.lower() for t in texts]
    scan = [timed(lambda p=p: sum(1 for t in lowered if p in t))[0] for p in phrases[:10]]
    # a write of three new files: how long the memory takes to catch up (SQLite ranks meanwhile)
    for n in range(3):
        (docs / f"added-{n}.md").write_text(f"Added after the build, {n}.\n\n" + rng.choice(texts), encoding="utf-8")
    library.index([docs])
    started = time.perf_counter()
    library.keywords.memory.wait()
    catch_up_s = time.perf_counter() - started
    library.close()
    return dense | {
        # blocks in use, not the apparent size: Chroma's HNSW files are made sparse, ahead of their vectors
        "disk_mb": round(sum(f.stat().st_blocks * 512 for f in (work / f"home-{size}").rglob("*")) / 1e6),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "target_chunks": size,
        "chunks": len(texts),
        "files": files,
        "build_s": round(build_s, 1),
        "hybrid": hybrid,
        "hybrid_sqlite": hybrid_sqlite,
        "keyword_memory_s": round(memory_s, 1),
        "keyword_memory_mb": round(memory_mb),
        "keyword_catch_up_s": round(catch_up_s, 2),
        "brute_dense": brute,
        "embed_query": embed,
        "find": find_ms,
        "scan": scan,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (DATA / "corpus").is_dir() or not (DATA / "scifact").is_dir():
        print(f"the shared data is not at {DATA}", file=sys.stderr)
        return 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ragkit-retrieval-") as tmp:
        for size in args.sizes:
            print(f"building about {size} chunks…", file=sys.stderr, flush=True)
            rows.append(measure(size, args.queries, Path(tmp)))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        base_dense = statistics.median(row["brute_dense"])
        base_embed = statistics.median(row["embed_query"])
        base_scan = statistics.median(row["scan"])
        print(f"\n{row['chunks']} chunks in {row['files']} files (built in {row['build_s']} s; "
              f"{row['disk_mb']} MB on disk; this process peaked at {row['peak_rss_mb']} MB)")  # fmt: skip
        print(f"  {'':<22}{'p50 ms':>9}{'p95 ms':>9}  {'p50 / baseline':>15}")
        hybrid = row["hybrid"]
        h50, h95 = statistics.median(hybrid), pct(hybrid, 0.95)
        baselines = f"embedding the query alone {base_embed:.1f} ms; numpy scan of the vectors {base_dense:.1f} ms"
        print(f"  {'hybrid search':<22}{h50:9.1f}{h95:9.1f}  {h50 / base_embed:14.1f}x  ({baselines})")
        held = (
            f"keywords held in memory: read in {row['keyword_memory_s']} s, {row['keyword_memory_mb']} MB held,"
            f" {row['keyword_catch_up_s']} s to catch up after a write of 3 files"
        )
        print(f"  {'':<22}{'':>9}{'':>9}  {'':>15}  ({held}, as serve and the TUI hold it)")
        s50, s95 = statistics.median(row["hybrid_sqlite"]), pct(row["hybrid_sqlite"], 0.95)
        print(f"  {'  with SQLite bm25()':<22}{s50:9.1f}{s95:9.1f}  {s50 / base_embed:14.1f}x  (one-shot commands)")
        for kind, key in (("exact", "dense_exact"), ("HNSW", "dense_hnsw")):
            d50, d95 = statistics.median(row[key]), pct(row[key], 0.95)
            extra = f", finds {row['hnsw_recall10']:.0%} of the exact top 10" if kind == "HNSW" else ""
            print(f"  {'dense, ' + kind:<22}{d50:9.1f}{d95:9.1f}  {d50 / base_embed:14.1f}x  (meaning alone{extra})")
        for kind, times in row["find"].items():
            f50, f95 = statistics.median(times), pct(times, 0.95)
            ratio = f50 / base_scan
            print(f"  {'find, ' + kind:<22}{f50:9.1f}{f95:9.1f}  {ratio:14.2f}x  (text scan {base_scan:.1f} ms)")
        if row["target_chunks"] >= 100_000:
            worst_find = max(pct(t, 0.95) for t in row["find"].values())
            print(f"  targets at 100k: hybrid p95 {h95:.0f} ms (<= 100: {'met' if h95 <= 100 else 'NOT met'}),"
                  f" find p95 {worst_find:.0f} ms (<= 200: {'met' if worst_find <= 200 else 'NOT met'})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
