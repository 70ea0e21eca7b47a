"""Benchmarks, reported as ratios against a baseline measured in the same run.

ingest: end-to-end `index` of samples/ (parse, chunk, embed, store) against raw embedding
of the very same chunks. A ratio near 1 means the pipeline adds little over the embedder.

    .venv/bin/python benchmarks/run.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]


def bench_ingest(folder: Path) -> dict[str, float]:
    from benchmarks.common import raw_embedding
    from ragkit import open_ragkit

    with tempfile.TemporaryDirectory() as home:
        os.environ["RAGKIT_HOME"] = home
        rk = open_ragkit()
        rk.library.embedder.embed(["warm-up"])  # model load is not part of either measurement
        started = time.perf_counter()
        report = rk.index([folder])
        pipeline = time.perf_counter() - started
        raw_chunks, raw = raw_embedding(rk)
        rk.close()
    return {
        "files": report.files,
        "chunks": report.chunks,
        "pipeline_s": pipeline,
        "raw_embed_s": raw,
        "pipeline_chunks_per_s": report.embedded / pipeline,
        "raw_chunks_per_s": raw_chunks / raw,
        "ratio": (report.embedded / pipeline) / (raw_chunks / raw),
    }


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "samples"
    result = bench_ingest(folder)
    print(f"ingest of {folder}: {result['files']} files, {result['chunks']} chunks")
    print(f"  pipeline  {result['pipeline_chunks_per_s']:8.1f} chunks/s  ({result['pipeline_s']:.2f} s)")
    print(f"  raw embed {result['raw_chunks_per_s']:8.1f} chunks/s  ({result['raw_embed_s']:.2f} s)")
    print(f"  ratio pipeline / raw embedding: {result['ratio']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
