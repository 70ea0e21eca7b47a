"""Investigating an archive: near-duplicates (how precise, what they cost an index run) and
``ask --each`` (documents per second), in one run.

The set: Rust RFCs from ../shared/data/corpus (all written on one template: the same
headings, the same boilerplate), and of each chosen RFC one copy per kind of edit, each of a
known size: 2, 5, 10 and 20 % of its words swapped for others; 1 and 3 % of its letters
misread (as a second OCR of the same page reads them); a forwarding header added; one
paragraph swapped for another RFC's. A pair found is right when both are of one RFC (the RFC
or its copies); recall counts each RFC found with each of its copies.

1. Shingle size, held out: the RFCs are split in two folds; on each, the shingle size (5, 7 or
   9 characters) with the best F1 at the default threshold is chosen, and reported on the
   other fold. Every pair is scored with the exact similarity, so this part is about the
   measure, not the LSH.
2. One real index run (in process, the packaged embedder, entities off) over the first fold's RFCs and
   copies: the seconds spent computing MinHashes against the seconds of the whole run; then
   ``duplicates --near`` as ragkit runs it (LSH, exact check, lines that differ): its time,
   precision and recall per kind of edit; then ``ask --each`` (extract mode) over every
   document that says "summary" (nearly all: the template's first heading), in documents per
   second.

    .venv/bin/python benchmarks/investigate.py [--rfcs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
DATA = ROOT.parent / "shared" / "data"

from ragkit.assistant.local import open_ragkit  # noqa: E402
from ragkit.investigate import near  # noqa: E402

KINDS = ["words2%", "words5%", "words10%", "words20%", "ocr1%", "ocr3%", "header", "paragraph"]
SIZES = [5, 7, 9]


def edit(kind: str, text: str, other: str, rng: random.Random) -> str:
    if kind.startswith("words"):
        words = text.split(" ")
        for i in rng.sample(range(len(words)), int(len(words) * float(kind[5:-1]) / 100)):
            words[i] = rng.choice(["data", "value", "thing", "system", "change", "model", "rule"])
        return " ".join(words)
    if kind.startswith("ocr"):
        letters = list(text)
        for i in rng.sample(range(len(letters)), int(len(letters) * float(kind[3:-1]) / 100)):
            if letters[i].isalpha():
                letters[i] = rng.choice("rnmli1ceo")
        return "".join(letters)
    if kind == "header":
        return "---------- Forwarded message ----------\nFrom: A <a@example.org>\nSubject: Fwd: RFC\n\n" + text
    paragraphs = text.split("\n\n")
    paragraphs[rng.randrange(len(paragraphs))] = other.split("\n\n")[0]
    return "\n\n".join(paragraphs)


def dataset(n: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Two folds of documents: each {name, text, of, kind} (``of``: the RFC a copy is made of)."""
    rng = random.Random(7)
    files = sorted((DATA / "corpus" / "rust-rfcs-md" / "text").glob("*.md"))
    texts = {f.name: f.read_text("utf-8") for f in files}
    chosen = rng.sample(sorted(name for name, t in texts.items() if len(t) > 3000), n)
    folds: list[list[dict[str, str]]] = [[], []]
    for i, name in enumerate(chosen):
        fold = folds[i % 2]
        fold.append({"name": name, "text": texts[name], "of": name, "kind": "original"})
        for kind in KINDS:
            copy = edit(kind, texts[name], texts[rng.choice(chosen)], rng)
            fold.append({"name": f"{kind}-{name}", "text": copy, "of": name, "kind": kind})
    return folds[0], folds[1]


def scores(fold: list[dict[str, str]], pairs: set[tuple[int, int]]) -> dict[str, Any]:
    """Precision of the pairs found (right: two documents of one RFC, its copies included);
    recall of each RFC with its own copies, in all and per kind of edit."""
    right = {(i, j) for i, j in pairs if fold[i]["of"] == fold[j]["of"]}
    originals = {d["of"]: i for i, d in enumerate(fold) if d["kind"] == "original"}
    wanted = {j: tuple(sorted((originals[d["of"]], j))) for j, d in enumerate(fold) if d["kind"] != "original"}
    recall = {}
    for kind in KINDS:
        copies = [j for j in wanted if fold[j]["kind"] == kind]
        recall[kind] = round(sum(1 for j in copies if wanted[j] in right) / len(copies), 3)
    precision = len(right) / len(pairs) if pairs else 1.0
    recall_all = sum(1 for pair in wanted.values() if pair in right) / len(wanted)
    f1 = 2 * precision * recall_all / (precision + recall_all) if right else 0.0
    return {"precision": round(precision, 3), "recall": round(recall_all, 3), "f1": round(f1, 3), "by_kind": recall}


def exact_pairs(fold: list[dict[str, str]], size: int, threshold: float) -> set[tuple[int, int]]:
    """Every pair whose exact similarity reaches ``threshold`` (intersections of all pairs at once)."""
    from scipy.sparse import csr_matrix

    sets = [near.shingles(d["text"], size) for d in fold]
    _, columns = np.unique(np.concatenate(sets), return_inverse=True)
    rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    matrix = csr_matrix((np.ones(len(rows), dtype=np.float64), (rows, columns)), shape=(len(sets), columns.max() + 1))
    shared = (matrix @ matrix.T).toarray()
    sizes = np.array([len(s) for s in sets], dtype=np.float64)
    similar = shared / np.maximum(sizes[:, None] + sizes[None, :] - shared, 1) >= threshold
    first, second = np.nonzero(np.triu(similar, k=1))
    return set(zip(first.tolist(), second.tolist(), strict=True))


def held_out(folds: tuple[list[dict[str, str]], list[dict[str, str]]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, (fit, test) in {"A→B": folds, "B→A": folds[::-1]}.items():
        fitted = {size: scores(fit, exact_pairs(fit, size, near.THRESHOLD)) for size in SIZES}
        best = max(SIZES, key=lambda s: (fitted[s]["f1"], s == near.SHINGLE))
        result[name] = {"fitted_f1": {s: fitted[s]["f1"] for s in SIZES}, "chosen": best,
                        "held_out": scores(test, exact_pairs(test, best, near.THRESHOLD))}  # fmt: skip
    return result


def timed(function: Callable[..., Any], spent: list[float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    return wrapper


def one_run(fold: list[dict[str, str]], work: Path) -> dict[str, Any]:
    docs = work / "docs"
    docs.mkdir()
    for d in fold:
        (docs / d["name"]).write_text(d["text"], "utf-8")
    spent: list[float] = []
    near.signature = timed(near.signature, spent)  # type: ignore[method-assign]
    rk = open_ragkit(home=work / "home", entities={"enabled": False})  # plain indexing: embedding alone
    try:
        start = time.perf_counter()
        report = rk.index([docs])
        indexing = time.perf_counter() - start
        start = time.perf_counter()
        groups = rk.near_duplicates(near.THRESHOLD)
        query = time.perf_counter() - start
        index_of = {str(docs / d["name"]): i for i, d in enumerate(fold)}
        pairs = {tuple(sorted((index_of[p["a"]], index_of[p["b"]]))) for g in groups for p in g["pairs"]}
        start = time.perf_counter()
        total, rows = rk.ask_each("What does this RFC propose?", "summary")
        answered = sum(1 for row in rows if row.answered)
        each = time.perf_counter() - start
    finally:
        rk.close()
    minhash = sum(spent)
    return {
        "documents": len(fold), "chunks": report.embedded, "index_s": round(indexing, 2),
        "minhash_s": round(minhash, 3), "minhash_ms_per_document": round(1000 * minhash / len(fold), 2),
        "minhash_share_of_indexing": round(minhash / indexing, 4),
        "near_query_s": round(query, 2), "groups": len(groups), "found": scores(fold, pairs),  # type: ignore[arg-type]
        "each_files": total, "each_answered": answered, "each_s": round(each, 2),
        "each_documents_per_s": round(total / each, 2),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rfcs", type=int, default=60, help="RFCs chosen (half in each fold), each with 8 copies")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folds = dataset(args.rfcs)
    result: dict[str, Any] = {"threshold": near.THRESHOLD, "shingle": near.SHINGLE, "held_out": held_out(folds)}
    with tempfile.TemporaryDirectory() as tmp:
        result["index_run"] = one_run(folds[0], Path(tmp))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name, fold in result["held_out"].items():
        print(f"shingle size fitted on fold {name[0]} (F1 {fold['fitted_f1']}): {fold['chosen']};"
              f" held out on {name[-1]}: {fold['held_out']}")  # fmt: skip
    run = result["index_run"]
    print(f"index run: {run['documents']} documents, {run['chunks']} chunks, {run['index_s']} s; MinHashes "
          f"{run['minhash_s']} s ({run['minhash_ms_per_document']} ms a document, "
          f"{run['minhash_share_of_indexing']:.2%} of the run)")  # fmt: skip
    print(f"duplicates --near: {run['near_query_s']} s, {run['groups']} groups, {run['found']}")
    print(f"ask --each (extract): {run['each_files']} files in {run['each_s']} s = {run['each_documents_per_s']}"
          f" documents/s ({run['each_answered']} with an answer)")  # fmt: skip


if __name__ == "__main__":
    main()
