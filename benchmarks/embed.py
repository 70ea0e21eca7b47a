"""The embedder's variants in one run, on the same chunks: throughput, agreement with torch
fp32 (the baseline), and retrieval quality.

1. Chunks: ``--chunks`` chunks cut by ragkit's own loaders and chunker from a seeded sample
   of files of ``../shared/data/corpus``; each variant embeds them all in the index's batch
   size, after a warm-up. Reported: chunks/s, the ratio to torch fp32, and the mean and least
   cosine to torch fp32's vectors.
2. Retrieval: SciFact (``../shared/data/scifact``), dense mode: the test queries' relevant
   abstracts and a seeded sample of the others (``--docs`` in all) are embedded by each
   variant and searched by cosine; nDCG@10 against the qrels.

Variants: torch fp32; torch bf16 (autocast; fast only where the CPU has native bf16 — AVX-512
BF16 or AMX — and reported either way); the ONNX export on onnxruntime. ``auto`` is what
``embed.precision = "auto"`` picks on this machine.

    .venv/bin/python benchmarks/embed.py [--chunks 256] [--docs 1200] [--variants fp32,bf16,onnx]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
DATA = ROOT.parent / "shared" / "data"


def corpus_chunks(count: int, seed: int) -> list[str]:
    from ingest import chunk_sections, load, loader_for
    from ragkit.index.embed import PACKAGED_EMBEDDER, Tokenizer, resolve_embedder_path

    tokenizer = Tokenizer(resolve_embedder_path(PACKAGED_EMBEDDER))
    files = sorted(p for p in (DATA / "corpus").rglob("*") if p.is_file() and loader_for(p) is not None)
    random.Random(seed).shuffle(files)
    chunks: list[str] = []
    for path in files:
        try:
            sections = load(path)
        except Exception:
            continue  # (the ingest benchmark accounts for failures; here only text matters)
        for chunk in chunk_sections(sections, tokenizer.token_spans, tokenizer.max_content_tokens, 24):
            chunks.append(chunk.text)
        if len(chunks) >= count:
            break
    return chunks[:count]


@dataclass
class SciFact:
    queries: dict[str, str]  # test query id -> text
    doc_ids: list[str]
    doc_texts: list[str]
    qrels: dict[str, dict[str, int]]


def scifact(docs: int, seed: int) -> SciFact:
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for line in (DATA / "scifact" / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        query, doc, score = line.split("\t")
        qrels[query][doc] = int(score)
    corpus = {}
    for line in (DATA / "scifact" / "corpus.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        corpus[row["_id"]] = f"{row.get('title', '')}. {row['text']}"
    queries = {}
    for line in (DATA / "scifact" / "queries.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        if row["_id"] in qrels:
            queries[row["_id"]] = row["text"]
    relevant = sorted({d for wanted in qrels.values() for d in wanted})
    others = sorted(set(corpus) - set(relevant))
    chosen = relevant + random.Random(seed).sample(others, max(0, docs - len(relevant)))
    return SciFact(queries, chosen, [corpus[d] for d in chosen], qrels)


def ndcg_at_10(ranked: list[str], wanted: dict[str, int]) -> float:
    gain = sum(wanted.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:10]))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(wanted))))
    return gain / ideal if ideal else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=256)
    parser.add_argument("--docs", type=int, default=1200, help="SciFact abstracts searched (the relevant ones first)")
    parser.add_argument("--variants", default="fp32,bf16,onnx")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    if not (DATA / "corpus").is_dir() or not (DATA / "scifact").is_dir():
        sys.exit(f"shared data not found under {DATA} (../shared beside the clone)")

    os.environ.setdefault("RAGKIT_HOME", tempfile.mkdtemp(prefix="ragkit-bench-embed-"))
    from ragkit.index.embed import PACKAGED_EMBEDDER, SentenceTransformerEmbedder, native_bf16, resolve_embedder_path
    from ragkit.index.onnxembed import OnnxEmbedder

    chunks = corpus_chunks(args.chunks, args.seed)
    data = scifact(args.docs, args.seed)

    def make(variant: str) -> object:
        if variant == "onnx":
            root = Path(os.environ["RAGKIT_HOME"]) / "models" / "embed-onnx"
            return OnnxEmbedder(resolve_embedder_path(PACKAGED_EMBEDDER), root, PACKAGED_EMBEDDER)
        return SentenceTransformerEmbedder(precision=variant)  # type: ignore[arg-type]

    print(
        f"{len(chunks)} corpus chunks; SciFact: {len(data.queries)} test queries over {len(data.doc_ids)} abstracts; "
        f"native bf16 on this CPU: {'yes' if native_bf16() else 'no'} (so precision 'auto' is "
        f"{'bf16' if native_bf16() else 'fp32'}); {os.cpu_count()} cores"
    )
    baseline: np.ndarray | None = None
    base_rate = 0.0
    for variant in args.variants.split(","):
        embedder = make(variant)
        embed = embedder.embed  # type: ignore[attr-defined]
        embed(chunks[:8])  # warm-up: loading (and exporting) is not throughput
        started = time.perf_counter()
        vectors = np.concatenate([embed(chunks[i : i + 32]) for i in range(0, len(chunks), 32)])
        rate = len(chunks) / (time.perf_counter() - started)
        if baseline is None:
            baseline, base_rate = vectors, rate
        cos = np.sum(vectors * baseline, axis=1)
        texts = data.doc_texts
        docs = np.concatenate([embed(texts[i : i + 32]) for i in range(0, len(texts), 32)])
        scores = embed(list(data.queries.values())) @ docs.T
        ranked = [[data.doc_ids[j] for j in np.argsort(-row)[:10]] for row in scores]
        ndcg = np.mean([ndcg_at_10(r, data.qrels[q]) for r, q in zip(ranked, data.queries, strict=True)])
        print(
            f"  {variant:<5} {rate:7.1f} chunks/s  ({rate / base_rate:4.2f}x fp32)   "
            f"cosine to fp32 mean {cos.mean():.6f} least {cos.min():.6f}   SciFact nDCG@10 {ndcg:.4f}"
        )


if __name__ == "__main__":
    main()
