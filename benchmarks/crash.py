"""kill -9 an index run, 50 times, then resume it: what is lost or duplicated against a clean
build, and what the resumed runs cost.

The corpus: samples/ and 40 notes cut from it, indexed once ("before"), then changed as
people change folders (a rename, a deletion, an edit, new files). Each of the runs starts
from a copy of "before", runs `ragkit index` on the changed corpus in a process of its own,
and kills it with SIGKILL: first at every named kill point (ragkit.core.faults; `rebuild` during
`index --rebuild`, `entities-written` in the entities pass), then at random times within
the length of an uninterrupted run. A resumed run follows each kill. Reported against the
clean build (an uninterrupted run from the same copy): chunks lost, chunks duplicated (a
passage stored twice, or a vector without its chunk or a chunk without its vector), and the
resumed runs' time as a ratio of the clean run's. Targets: 0 lost, 0 duplicated.

    .venv/bin/python benchmarks/crash.py [--runs 50] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
SAMPLES = ROOT / "samples"

from ragkit.assistant.local import open_ragkit  # noqa: E402
from ragkit.core.faults import POINTS  # noqa: E402
from ragkit.index.embed import SentenceTransformerEmbedder  # noqa: E402

NAMED = [*sorted(set(POINTS) - {"row-written", "each-row"}), "entities-written"]  # no database, no ask --each here


def make_corpus(folder: Path) -> None:
    shutil.copytree(SAMPLES, folder)
    rng = random.Random(7)
    words = (SAMPLES / "users-and-groups.txt").read_text().split()
    for i in range(40):
        start = rng.randrange(len(words) - 600)
        (folder / f"note-{i:02d}.txt").write_text(
            f"Note {i}. " + " ".join(words[start : start + rng.randrange(50, 600)])
        )
    (folder / "copy-of-note-03.txt").write_text((folder / "note-03.txt").read_text())


def change_corpus(folder: Path) -> None:
    (folder / "note-05.txt").rename(folder / "renamed-05.txt")
    (folder / "note-07.txt").unlink()
    with (folder / "note-09.txt").open("a") as handle:
        handle.write("\nAn added closing line about lighthouse keepers.\n")
    words = (SAMPLES / "users-and-groups.txt").read_text().split()
    for i in range(12):
        (folder / f"new-{i:02d}.txt").write_text(f"New note {i}. " + " ".join(words[i * 40 : i * 40 + 60 + 15 * i]))


def run_index(folder: Path, home: Path, *options: str, kill_at: str | None = None) -> subprocess.Popen[bytes]:
    env = dict(os.environ, RAGKIT_HOME=str(home))
    env.pop("RAGKIT_KILL_AT", None)
    if kill_at:
        env["RAGKIT_KILL_AT"] = kill_at
    return subprocess.Popen([sys.executable, "-m", "ragkit", "index", str(folder), *options], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip


def timed_index(home: Path, folder: Path, embedder: SentenceTransformerEmbedder) -> float:
    """Seconds of one index run in this process (the embedder already loaded)."""
    rk = open_ragkit(home=home, embedder=embedder)
    try:
        started = time.perf_counter()
        rk.index([folder])
        return time.perf_counter() - started
    finally:
        rk.close()


def passages(home: Path, folder: Path, embedder: SentenceTransformerEmbedder) -> tuple[Counter[tuple[Any, ...]], int]:
    """Each passage the index holds (file, page, span, text digest), counted; and the number
    of vectors that do not match a chunk one to one (orphans, or chunks without one)."""
    rk = open_ragkit(home=home, embedder=embedder)
    try:
        db = rk.library.manifest.db
        found: Counter[tuple[Any, ...]] = Counter()
        rows = db.execute('SELECT f.path, c.page, c.start, c."end", c.text FROM files f JOIN chunks c ON c.doc = f.doc')
        for path, page, start, end, text in rows:
            found[(str(Path(path).relative_to(folder)), page, start, end, hashlib.sha1(text.encode()).hexdigest())] += 1
        ids = [r[0] for r in db.execute("SELECT id FROM chunks")]
        stored = rk.library.store.ids()
        mismatched = len(set(ids) ^ stored) + (len(ids) - len(set(ids)))
        return found, mismatched
    finally:
        rk.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    embedder = SentenceTransformerEmbedder()
    rng = random.Random(18)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ragkit-crash-") as tmp:
        work = Path(tmp)
        folder = work / "corpus"
        make_corpus(folder)
        before = work / "before"
        assert run_index(folder, before).wait(timeout=900) == 0, "the first index run failed"
        change_corpus(folder)
        clean = work / "clean"
        shutil.copytree(before, clean)
        started = time.perf_counter()
        assert run_index(folder, clean).wait(timeout=900) == 0, "the clean run failed"
        clean_process_s = time.perf_counter() - started
        resumed_clean = work / "resumed-clean"  # the baseline of a resumed run: the same run, in process
        shutil.copytree(before, resumed_clean)
        clean_s = timed_index(resumed_clean, folder, embedder)
        expected, clean_mismatch = passages(clean, folder, embedder)
        assert clean_mismatch == 0
        plan: list[str | None] = [*NAMED, *[None] * max(0, args.runs - len(NAMED))]  # None: a random time
        for i, point in enumerate(plan[: args.runs]):
            home = work / f"run-{i:02d}"
            shutil.copytree(before, home)
            options = ("--rebuild",) if point == "rebuild" else ()
            proc = run_index(folder, home, *options, kill_at=point)
            if point is None:
                at = rng.uniform(0.5, clean_process_s)
                try:
                    proc.wait(timeout=at)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait(timeout=900)
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # parse workers left behind
            except ProcessLookupError:
                pass
            resumed_s = timed_index(home, folder, embedder)
            found, mismatched = passages(home, folder, embedder)
            lost = sum((expected - found).values())
            duplicated = sum((found - expected).values()) + mismatched
            rows.append({"run": i, "kill": point or f"random {at:.1f} s", "killed": code == -signal.SIGKILL,
                         "lost": lost, "duplicated": duplicated, "resumed_s": round(resumed_s, 2)})  # fmt: skip
            shutil.rmtree(home)
            print(f"run {i:2d} {rows[-1]['kill']:<28} killed={rows[-1]['killed']!s:<5} lost={lost} "
                  f"duplicated={duplicated} resumed in {resumed_s:.1f} s", file=sys.stderr, flush=True)  # fmt: skip
    summary = {
        "runs": len(rows),
        "killed": sum(r["killed"] for r in rows),
        "lost": sum(r["lost"] for r in rows),
        "duplicated": sum(r["duplicated"] for r in rows),
        "clean_run_s": round(clean_s, 2),
        "resumed_median_s": round(statistics.median(r["resumed_s"] for r in rows), 2),
        "resumed_max_s": round(max(r["resumed_s"] for r in rows), 2),
        "passages": sum(expected.values()),
    }
    if args.json:
        print(json.dumps({"summary": summary, "runs": rows}, indent=2))
    else:
        print(
            f"\n{summary['runs']} runs ({summary['killed']} killed by SIGKILL, the rest ended before the kill)"
            f" over {summary['passages']} passages: {summary['lost']} lost, {summary['duplicated']} duplicated"
        )
        print(f"resumed runs: median {summary['resumed_median_s']} s, longest {summary['resumed_max_s']} s;"
              f" an uninterrupted run {summary['clean_run_s']} s (median ratio"
              f" {summary['resumed_median_s'] / max(summary['clean_run_s'], 1e-9):.2f}x)")  # fmt: skip
    return 0 if summary["lost"] == summary["duplicated"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
