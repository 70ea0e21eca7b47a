"""Long documents: does search find the page of a filing that answers a question?

The development set is ``../shared/data/financebench-dev``: 12 SEC filings of five companies
(10-K, 10-Q, 8-K, earnings releases) and 23 FinanceBench questions, each with the page (or
pages) of its filing that holds the answer. Every filing is indexed in one index, as an
analyst's folder would be, and every question is searched across all of them.

- page hit@k: a gold page of the question's own filing is among the first k passages
  (passage hit), or among the first k distinct pages (page hit: passages grouped by their page);
- figure answered: of the questions whose gold answer is a number alone, those whose quoted
  answer (no model: ``mode="extract"``) is verified and writes that number;
- the time and the index size of each pipeline.

Both pipelines are measured in the same run, on the same machine: ``before`` is ragkit's code
at ``--baseline`` (the commit before the long-document work: pypdf's text, chunks embedded
without their context, questions searched as typed), checked out in a temporary git worktree
and run in a child process; ``ragkit`` is this checkout. One weight was fitted on this set, the
page weight (``PAGE_WEIGHT`` in :mod:`ragkit.index.searcher`): the run also reports page hit@k
with it chosen leaving one company out (``held out``), the figures to quote. The captions search
adds (:mod:`ragkit.search.expand`) are the statements' printed names and the measures'
definitions, the files searched first are the ones a question names by their names
(:mod:`ragkit.search.named`), the statement a question names leads within them, and the context
is read off each document: rules, none fitted.

    .venv/bin/python benchmarks/long_documents.py [--json] [--baseline REV] [--no-baseline] [--no-folds]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
# the baseline's child process (and its parse workers, which run this module again): that code first
if os.environ.get("RAGKIT_BENCH_CODE"):
    sys.path.insert(0, os.environ["RAGKIT_BENCH_CODE"])
DEV = ROOT.parent / "shared" / "data" / "financebench-dev"
KS = (1, 5, 10)
DEPTH = 50  # passages asked for per question (pages are grouped from them)
BASELINE = "e362426"  # main before the long-document work (#35)
WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0)  # the page weights tried (``PAGE_WEIGHT`` is chosen among them)


def questions() -> list[dict[str, Any]]:
    """The development questions: text, filing, company, gold pages (1-based)."""
    rows = []
    for line in (DEV / "questions.jsonl").read_text("utf-8").splitlines():
        item = json.loads(line)
        pages = sorted({int(e["evidence_page_num"]) + 1 for e in item["evidence"]})
        rows.append({"q": item["question"], "doc": item["doc_name"], "company": item["company"], "pages": pages,
                     "answer": item["answer"]})  # fmt: skip
    return rows


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build(name: str) -> tuple[Any, dict[str, Any]]:
    """A ragkit over a new home with every filing indexed: the facade, and what it took."""
    from ragkit import open_ragkit

    home = Path(tempfile.mkdtemp(prefix=f"ragkit-bench-long-{name}-"))
    os.environ["RAGKIT_HOME"] = str(home)
    rk = open_ragkit()
    started = time.perf_counter()
    report = rk.index([DEV / "pdfs"])
    seconds = time.perf_counter() - started
    chunks = rk.library.manifest.counts()["chunks"]
    return rk, {"index_s": round(seconds, 1), "chunks": chunks, "index_mb": round(folder_size(home) / 1e6, 1),
                "failed": len(report.failed)}  # fmt: skip


def ranks(hits: Sequence[Any], doc: str, pages: Sequence[int]) -> tuple[int | None, int | None]:
    """The 1-based rank of the first gold passage, and of the first gold page among the
    distinct pages the passages name (None: not found)."""
    passage = page = None
    seen: list[tuple[str, int | None]] = []
    for n, hit in enumerate(hits, 1):
        key = (Path(hit.path).stem, hit.page)
        if key not in seen:
            seen.append(key)
        if key[0] == doc and hit.page in pages:
            passage = passage or n
            page = page or seen.index(key) + 1
    return passage, page


def gold_number(answer: str) -> float | None:
    """The gold answer's value, where the answer is a number alone ("$1577.00", "30.8%")."""
    found = re.fullmatch(r"\s*\$?(-?[\d,]+(?:\.\d+)?)%?\s*", answer)
    return float(found.group(1).replace(",", "")) if found else None


def says(value: float, text: str) -> bool:
    """Whether ``text`` writes ``value`` ("11,588" for 11588.0; "(1,577)" for 1577.0)."""
    return any(abs(float(n.replace(",", "")) - value) < 1e-6 for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text))


def measure(rk: Any, items: list[dict[str, Any]]) -> dict[str, Any]:
    rows = []
    started = time.perf_counter()
    for item in items:
        hits = rk.search(item["q"], k=DEPTH)
        passage, page = ranks(hits, item["doc"], item["pages"])
        rows.append({"q": item["q"][:80], "doc": item["doc"], "passage_rank": passage, "page_rank": page})
    seconds = time.perf_counter() - started
    asked = [(item, row) for item, row in zip(items, rows, strict=True) if gold_number(item["answer"]) is not None]
    for item, row in asked:  # the quoted answer (no model): is the gold value in it, and verified?
        answer = rk.ask(item["q"], mode="extract")
        row["figure"] = bool(answer.grounded and says(gold_number(item["answer"]) or 0.0, answer.answer))
        row["answer"] = answer.answer[:160]
    figures: dict[str, Any] = {}
    for unit in ("passage", "page"):
        for k in KS:
            found = sum(1 for r in rows if r[f"{unit}_rank"] is not None and r[f"{unit}_rank"] <= k)
            figures[f"{unit}_hit@{k}"] = round(found / len(rows), 3)
    figures["search_ms"] = round(1000 * seconds / len(rows), 1)
    figures["figure_answered"] = f"{sum(row['figure'] for _, row in asked)}/{len(asked)}"
    return {"figures": figures, "rows": rows}


def page_ranks(rk: Any, items: list[dict[str, Any]], weight: float) -> list[int | None]:
    """Each question's gold page rank with the page weight set to ``weight``."""
    import functools

    import ragkit.index.searcher as searcher

    fuse = searcher.fuse
    searcher.fuse = functools.partial(fuse, page_weight=weight)
    try:
        return [ranks(rk.search(item["q"], k=DEPTH), item["doc"], item["pages"])[1] for item in items]
    finally:
        searcher.fuse = fuse


def held_out(rk: Any, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Page hit@k with the one fitted weight, the page weight, chosen leaving one company out:
    for each company, the weight of ``WEIGHTS`` best on the other companies' questions (their
    hits at 1, 5 and 10 summed; a tie to the smaller weight), measured on its own questions."""
    by_weight = {w: page_ranks(rk, items, w) for w in WEIGHTS}

    def hits(found: list[int | None], among: list[int]) -> int:
        return sum(1 for n in among for k in KS if (found[n] or DEPTH + 1) <= k)

    chosen: dict[str, float] = {}
    held: list[int | None] = [None] * len(items)
    for company in sorted({item["company"] for item in items}):
        others = [n for n, item in enumerate(items) if item["company"] != company]
        chosen[company] = max(WEIGHTS, key=lambda w: (hits(by_weight[w], others), -w))
        for n, item in enumerate(items):
            if item["company"] == company:
                held[n] = by_weight[chosen[company]][n]
    figures = {f"page_hit@{k}": round(sum(1 for r in held if (r or DEPTH + 1) <= k) / len(items), 3) for k in KS}
    return {"figures": figures, "chosen": chosen}


def baseline(rev: str) -> dict[str, Any]:
    """The figures of ragkit's code at ``rev``, measured by this script run on that code."""
    worktree = Path(tempfile.mkdtemp(prefix="ragkit-baseline-"))
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(worktree), rev], cwd=ROOT, check=True)
    env = {**os.environ, "RAGKIT_BENCH_CODE": str(worktree)}
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--no-baseline", "--no-folds", "--json"], cwd=ROOT, check=True,
            capture_output=True, text=True, env=env,
        )  # fmt: skip
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=False)
    return dict(json.loads(done.stdout)["ragkit"])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE, help="the commit to measure beside this checkout")
    parser.add_argument("--no-baseline", action="store_true", help="measure this checkout alone")
    parser.add_argument("--no-folds", action="store_true", help="skip the leave-one-company-out figures")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not DEV.exists():
        sys.exit(f"shared data not found at {DEV} (../shared beside the clone)")
    items = questions()
    results: dict[str, Any] = {}
    if not args.no_baseline:
        results["before"] = baseline(args.baseline)
    rk, built = build("ragkit")
    try:
        results["ragkit"] = {**built, **measure(rk, items)}
        if not args.no_folds:
            results["ragkit"]["held_out"] = held_out(rk, items)
    finally:
        rk.close()
        shutil.rmtree(os.environ["RAGKIT_HOME"], ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{len(items)} questions over {len(list((DEV / 'pdfs').glob('*.pdf')))} filings")
    keys = [f"{u}_hit@{k}" for u in ("passage", "page") for k in KS] + ["search_ms", "figure_answered"]
    print("pipeline | " + " | ".join(keys) + " | index s | chunks | index MB")
    for name, r in results.items():
        cells = [str(r["figures"][k]) for k in keys] + [str(r["index_s"]), str(r["chunks"]), str(r["index_mb"])]
        print(f"{name} | " + " | ".join(cells))
    if "held_out" in results["ragkit"]:
        folds = results["ragkit"]["held_out"]
        print(f"held out (page weight chosen leaving one company out): {folds['figures']}; chosen: {folds['chosen']}")
    for name, r in results.items():
        for row in r["rows"]:
            ranked = f"passage {row['passage_rank']!s:5} page {row['page_rank']!s:5}"
            print(f"  {name:7} {row['doc']:32} {ranked} {row['q']}")


if __name__ == "__main__":
    main()
