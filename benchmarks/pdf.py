"""PDF text against poppler: the files and pages where ragkit finds text, next to those where
poppler's pdftotext does, over every PDF in ../shared/data/pdfs and ../shared/data/corpus.

Each file is read twice by ragkit's own loader (in a worker process, one file at a time, with
a time limit): pypdf alone, then PDFium first with pypdf behind it (what ragkit does). A page where
pdftotext finds text is "indexed" if ragkit found text on it, "listed" if the file failed
with a reason or its notes name the page, and "lost" otherwise. Target: no page lost.
Baseline for the time: pdftotext over the same files, in the same run.

    .venv/bin/python benchmarks/pdf.py [--json] [--timeout 120]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
DATA = ROOT.parent / "shared" / "data"


def poppler_pages(path: Path, timeout: float) -> tuple[set[int], str | None]:
    """The pages where pdftotext finds text, or its error."""
    try:
        done = subprocess.run(["pdftotext", "-q", str(path), "-"], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return set(), "timed out"
    if done.returncode != 0:
        return set(), f"exit {done.returncode}"
    pages = done.stdout.decode("utf-8", "replace").split("\f")
    return {i + 1 for i, text in enumerate(pages) if text.strip()}, None


def _start(pdfium: bool) -> None:
    from ingest.loaders import set_options

    set_options(pdfium=pdfium)


def ragkit_pages(path: str) -> dict[str, Any]:
    """In a worker: the pages where ragkit's loader finds text, its notes, or its error."""
    from ingest import LoadError, load_document

    try:
        document = load_document(Path(path))
    except LoadError as exc:
        return {"pages": [], "notes": [], "error": str(exc)}
    return {"pages": sorted({s.page for s in document.sections if s.page}), "notes": document.notes, "error": None}


def listed_pages(notes: list[str]) -> tuple[set[int], bool]:
    """The pages the notes name, and whether a note lists only some of them ("and more")."""
    named: set[int] = set()
    for note in notes:
        for group in re.findall(r"\bpages? ([\d, -]+)|\(([\d, ]+)(?: and more)?\)", note):
            for part in re.findall(r"\d+(?:-\d+)?", group[0] or group[1]):
                first, _, last = part.partition("-")
                named.update(range(int(first), int(last or first) + 1))
    return named, any("and more" in n for n in notes)


def read_all(files: list[Path], pdfium: bool, timeout: float) -> tuple[dict[Path, dict[str, Any]], float]:
    import multiprocessing as mp

    results: dict[Path, dict[str, Any]] = {}
    started = time.perf_counter()
    pool = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=_start, initargs=(pdfium,))
    for path in files:
        future = pool.submit(ragkit_pages, str(path))
        try:
            results[path] = future.result(timeout=timeout)
        except FutureTimeout:
            results[path] = {"pages": [], "notes": [], "error": f"timed out after {timeout:.0f} s"}
            for process in list(pool._processes.values()):  # a hung worker is killed, as the parse pool does
                process.kill()
            pool.shutdown(wait=False, cancel_futures=True)
            pool = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=_start, initargs=(pdfium,))
        except Exception as exc:  # the worker died: the file is failed with that reason
            results[path] = {"pages": [], "notes": [], "error": f"worker died: {type(exc).__name__}"}
            pool = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=_start, initargs=(pdfium,))
    pool.shutdown()
    return results, time.perf_counter() - started


def compare(files: list[Path], poppler: dict[Path, set[int]], ours: dict[Path, dict[str, Any]]) -> dict[str, Any]:
    row: dict[str, Any] = {"files_with_text": 0, "pages_with_text": 0, "indexed": 0, "listed": 0, "lost": 0,
                           "only_ragkit": 0, "failed_files": 0, "lost_pages": []}  # fmt: skip
    for path in files:
        result = ours[path]
        found = set(result["pages"])
        row["files_with_text"] += bool(found)
        row["failed_files"] += bool(result["error"])
        row["pages_with_text"] += len(found)
        named, partial = listed_pages(result["notes"])
        for page in sorted(poppler[path]):
            if page in found:
                row["indexed"] += 1
            elif result["error"] or page in named or partial:
                row["listed"] += 1
            else:
                row["lost"] += 1
                row["lost_pages"].append(f"{path.relative_to(DATA)} p{page}")
        row["only_ragkit"] += len(found - poppler[path])
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per file (the parse workers' default)")
    args = parser.parse_args()
    if shutil.which("pdftotext") is None:
        print("pdftotext is not installed: apt-get install poppler-utils (scripts/install.sh does)", file=sys.stderr)
        return 2
    if not (DATA / "pdfs").is_dir():
        print(f"the shared data is not at {DATA}", file=sys.stderr)
        return 2
    files = sorted(p for d in ("pdfs", "corpus") for p in (DATA / d).rglob("*") if p.suffix.lower() == ".pdf")
    started = time.perf_counter()
    poppler: dict[Path, set[int]] = {}
    poppler_failed = 0
    for path in files:
        poppler[path], error = poppler_pages(path, args.timeout)
        poppler_failed += error is not None
    poppler_s = time.perf_counter() - started
    rows = {}
    for name, pdfium in (("pypdf alone", False), ("PDFium + pypdf (ragkit)", True)):
        ours, seconds = read_all(files, pdfium, args.timeout)
        rows[name] = compare(files, poppler, ours) | {"seconds": round(seconds, 1)}
    summary = {
        "files": len(files),
        "poppler": {"files_with_text": sum(1 for p in files if poppler[p]), "failed_files": poppler_failed,
                    "pages_with_text": sum(len(p) for p in poppler.values()), "seconds": round(poppler_s, 1)},
        "ragkit": rows,
    }  # fmt: skip
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    pop = summary["poppler"]
    print(f"{len(files)} PDFs; pdftotext finds text on {pop['pages_with_text']} pages of {pop['files_with_text']}"
          f" files ({pop['failed_files']} files it cannot read) in {pop['seconds']} s")  # fmt: skip
    print(f"\n{'':<26}{'files':>7}{'pages':>8}{'indexed':>9}{'listed':>8}{'lost':>6}{'extra':>7}{'time':>9}")
    for name, row in rows.items():
        ratio = row["seconds"] / max(pop["seconds"], 1e-9)
        print(f"{name:<26}{row['files_with_text']:>7}{row['pages_with_text']:>8}{row['indexed']:>9}"
              f"{row['listed']:>8}{row['lost']:>6}{row['only_ragkit']:>7}{ratio:>8.1f}x")  # fmt: skip
        for lost in row["lost_pages"][:10]:
            print(f"    lost: {lost}")
    print("\nindexed/listed/lost: of the pages where pdftotext finds text; extra: pages only ragkit finds text on;"
          " time: against pdftotext's")  # fmt: skip
    return 0 if all(row["lost"] == 0 for name, row in rows.items() if "PDFium" in name) else 1


if __name__ == "__main__":
    raise SystemExit(main())
