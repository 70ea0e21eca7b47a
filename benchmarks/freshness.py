"""Freshness benchmark: how soon a written file can be found, and the catch-up scan cost.

1. With a live watcher, write a small file and time until `search` finds it: median and
   p95 over 20 trials (target <= 1.5 s). Baseline, same run: indexing the same kind of
   file directly (no watcher), so the ratio shows what watching adds.
2. The catch-up scan a watcher runs at start, over an unchanged, indexed corpus (target
   <= 2 s); baseline: a bare walk and stat of the same files.

    .venv/bin/python benchmarks/freshness.py [CORPUS] [--max-files N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

TRIALS = 20


def freshness(work: Path) -> None:
    from ragkit import open_ragkit

    folder = work / "live"
    folder.mkdir()
    (folder / "seed.txt").write_text("A seed document so the index is not empty.\n")
    rk = open_ragkit()
    rk.library.embedder.embed(["warm-up"])
    live = rk.live_sync([folder], rescan_s=3600)
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    live.started.wait()
    delays = []
    for i in range(TRIALS):
        token = f"zebrafinch{i}quokka"
        started = time.perf_counter()
        (folder / f"note-{i}.txt").write_text(f"Field note {i}: the word {token} appears only here.\n")
        while not any(token in h.text for h in rk.search(token, k=TRIALS + 5)):
            time.sleep(0.01)
        delays.append(time.perf_counter() - started)
        print(f"  trial {i + 1}: {delays[-1]:.3f} s", flush=True)
    live.stop()
    thread.join()
    direct = []
    for i in range(TRIALS):
        path = work / f"direct-{i}.txt"
        path.write_text(f"Direct note {i}: the word ibis{i}tapir appears only here.\n")
        started = time.perf_counter()
        rk.index([path])
        direct.append(time.perf_counter() - started)
    rk.close()
    median, p95 = statistics.median(delays), sorted(delays)[int(0.95 * (TRIALS - 1))]
    base = statistics.median(direct)
    print(f"freshness over {TRIALS} trials: median {median:.3f} s, p95 {p95:.3f} s  (target <= 1.5 s)")
    print(f"baseline: direct index of one small file, median {base:.3f} s; ratio {median / base:.1f}x")


def catch_up(work: Path, corpus: Path, max_files: int) -> None:
    from ragkit import open_ragkit

    copy = work / "corpus"
    files = sorted(p for p in corpus.rglob("*") if p.is_file())[: max_files or None]
    for src in files:
        dst = copy / src.relative_to(corpus)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
    os.environ["RAGKIT_HOME"] = str(work / "home-corpus")
    rk = open_ragkit()
    print(f"indexing {len(files)} corpus files once (not timed)...", flush=True)
    rk.index([copy])
    started = time.perf_counter()
    report = rk.index([copy])
    scan_s = time.perf_counter() - started
    started = time.perf_counter()
    count = sum(1 for p in copy.rglob("*") if p.is_file() and p.stat())
    walk_s = time.perf_counter() - started
    rk.close()
    print(f"catch-up scan of {report.unchanged} unchanged files: {scan_s:.3f} s  (target <= 2 s)")
    print(f"baseline: bare walk + stat of {count} files {walk_s:.3f} s; ratio {scan_s / max(walk_s, 1e-9):.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "corpus")
    parser.add_argument("--max-files", type=int, default=0, help="use only the first N corpus files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ragkit-fresh-") as tmp:
        work = Path(tmp)
        os.environ["RAGKIT_HOME"] = str(work / "home")
        freshness(work)
        if args.corpus.is_dir():
            catch_up(work, args.corpus, args.max_files)
        else:
            print(f"corpus not found at {args.corpus}: catch-up scan not measured")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
