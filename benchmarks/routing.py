"""Auto routing between the documents and a database: how often each question goes where it
belongs, and what deciding costs.

Documents: the five SQuAD 2.0 dev articles, one file each, indexed in a fresh data
directory; database: Chinook. Questions that belong to the database: the 44 of
tests/data/chinook_questions.jsonl; to the documents: every SQuAD question of those articles
(1,905, answerable or not: an unanswerable one is still about the documents). Each is routed
by `Ragkit.route`, the path `ragkit ask` takes; the time is the routing alone (the schema is
read once, then kept).

    .venv/bin/python benchmarks/routing.py [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
DATA = ROOT.parent / "shared" / "data"

from ragkit.assistant.local import open_ragkit  # noqa: E402
from ragkit.core.config import DatabaseSettings, load_settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    squad = json.loads((DATA / "squad2-dev" / "squad2-dev-5articles.json").read_text())
    chinook = [json.loads(line)["question"] for line in (ROOT / "tests/data/chinook_questions.jsonl").open()]
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        questions = []
        for article in squad["data"]:
            text = "\n\n".join(p["context"] for p in article["paragraphs"])
            (docs / f"{article['title']}.txt").write_text(text, encoding="utf-8")
            questions += [qa["question"] for p in article["paragraphs"] for qa in p["qas"]]
        url = f"sqlite:///{DATA / 'chinook' / 'Chinook_Sqlite.sqlite'}"
        settings = load_settings(home=Path(tmp) / "home", databases={"chinook": DatabaseSettings(url=url)})
        rk = open_ragkit(settings)
        rk.index([docs])
        rk.route("warm up")  # loads the query model and reads the schema once
        rows = {}
        for kind, asked, want in (("database", chinook, "chinook"), ("documents", questions, None)):
            times, right, wrong = [], 0, []
            for question in asked:
                start = time.perf_counter()
                route = rk.route(question)
                times.append(1000 * (time.perf_counter() - start))
                if route.database == want:
                    right += 1
                else:
                    wrong.append(question)
            times.sort()
            rows[kind] = {
                "questions": len(asked),
                "routed_right": right,
                "accuracy": round(right / len(asked), 4),
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
                "wrong": wrong[:10],
            }
        rk.close()
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'questions for':>14} {'n':>6} {'right':>6} {'accuracy':>9} {'p50 ms':>7} {'p95 ms':>7}")
    for kind, row in rows.items():
        print(f"{kind:>14} {row['questions']:>6} {row['routed_right']:>6} {row['accuracy']:>9.1%}"
              f" {row['p50_ms']:>7} {row['p95_ms']:>7}")  # fmt: skip
        for question in row["wrong"]:
            print(f"   sent elsewhere: {question}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
