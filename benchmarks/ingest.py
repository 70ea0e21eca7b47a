"""Ingestion benchmark over a real corpus (default ../shared/data/corpus), in one run:

1. a first full index: files/s, chunks/s, and end-to-end throughput as a ratio of raw
   embedding throughput of the very same chunks, measured right after (target >= 0.85);
2. a second run over the unchanged corpus (target: under 2 s);
3. a rename of 100 files (target: zero chunks embedded).

The corpus is copied to a temporary folder first (the rename step changes it).

    .venv/bin/python benchmarks/ingest.py [CORPUS] [--max-files N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# run as a script, this file's folder comes first on sys.path and its name would hide the
# ``ingest`` package: put the project root there instead
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "corpus")
    parser.add_argument("--max-files", type=int, default=0, help="use only the first N files (sorted)")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="ragkit-bench-") as tmp:
        work = Path(tmp)
        corpus = work / "corpus"
        files = sorted(p for p in args.corpus.rglob("*") if p.is_file())
        if args.max_files:
            files = files[: args.max_files]
        for src in files:
            dst = corpus / src.relative_to(args.corpus)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        os.environ["RAGKIT_HOME"] = str(work / "home")
        from benchmarks.common import raw_embedding
        from ragkit import open_ragkit

        rk = open_ragkit()
        rk.library.embedder.embed(["warm-up"])  # loading the model is in neither measurement

        started = time.perf_counter()
        first = rk.index([corpus])
        pipeline_s = time.perf_counter() - started

        raw_chunks, raw_s = raw_embedding(rk)

        started = time.perf_counter()
        second = rk.index([corpus])
        second_s = time.perf_counter() - started

        ok_files = [Path(row.path) for row in rk.library.manifest.files() if row.status == "ok"][:100]
        for path in ok_files:
            path.rename(path.with_name("renamed-" + path.name))
        started = time.perf_counter()
        third = rk.index([corpus])
        rename_s = time.perf_counter() - started
        rk.close()

    pipeline_rate = first.embedded / pipeline_s
    raw_rate = raw_chunks / raw_s
    print(f"corpus: {args.corpus} ({len(files)} files copied)")
    failed = len(first.failed)
    print(f"first run:  {first.files} files indexed, {failed} failed, {first.chunks} chunks in {pipeline_s:.1f} s")
    print(f"            {first.files / pipeline_s:.2f} files/s, {pipeline_rate:.1f} chunks/s embedded end to end")
    print(f"baseline:   raw embedding of the same {raw_chunks} chunks: {raw_rate:.1f} chunks/s ({raw_s:.1f} s)")
    print(f"ratio:      end-to-end / raw embedding = {pipeline_rate / raw_rate:.3f}  (target >= 0.85)")
    print(f"second run: {second.unchanged} unchanged, {second.embedded} embedded, {second_s:.2f} s  (target < 2 s)")
    print(f"rename 100: {third.renamed} renamed, {third.embedded} chunks embedded, {rename_s:.2f} s  (target 0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
