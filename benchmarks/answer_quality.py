"""Answer quality on SQuAD 2.0: right answers with verified citations, wrong ones shown as
verified, unanswerable questions declined, and seconds per question, for each answer mode.

The 5 shared SQuAD 2.0 dev articles are indexed as documents (one text file each); a seeded
sample of answerable and unanswerable questions is asked through the facade, as a user asks.

- gold in verified answer: the shown answer contains a gold span and has a verified citation
- verified but wrong: shown as verified, without any gold span (answerable questions)
- declined: the answer is "not in your documents" (unanswerable questions)

    .venv/bin/python benchmarks/answer_quality.py [--answerable 60] [--unanswerable 30]
        [--modes extract,auto,generate] [--seed 7] [--scores]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
SQUAD = ROOT.parent / "shared" / "data" / "squad2-dev" / "squad2-dev-5articles.json"


def normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def sample(answerable: int, unanswerable: int, seed: int) -> tuple[dict[str, str], list[dict]]:
    data = json.loads(SQUAD.read_text("utf-8"))
    articles = data["data"] if isinstance(data, dict) else data
    documents, questions = {}, []
    for article in articles:
        documents[article["title"]] = "\n\n".join(p["context"] for p in article["paragraphs"])
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                gold = sorted({a["text"] for a in qa.get("answers", [])})
                questions.append({"q": qa["question"], "gold": gold, "impossible": bool(qa.get("is_impossible"))})
    rng = random.Random(seed)
    yes = rng.sample([q for q in questions if not q["impossible"]], answerable)
    no = rng.sample([q for q in questions if q["impossible"]], unanswerable)
    return documents, yes + no


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answerable", type=int, default=60)
    parser.add_argument("--unanswerable", type=int, default=30)
    parser.add_argument("--modes", default="extract,auto,generate")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scores", action="store_true", help="print the best quote score per question")
    args = parser.parse_args()
    if not SQUAD.exists():
        sys.exit(f"shared data not found at {SQUAD} (../shared beside the clone)")

    os.environ["RAGKIT_HOME"] = tempfile.mkdtemp(prefix="ragkit-bench-quality-")
    from ragkit import open_ragkit
    from ragkit.answering import NOT_FOUND
    from ragkit.extract import rank

    documents, questions = sample(args.answerable, args.unanswerable, args.seed)
    folder = Path(tempfile.mkdtemp(prefix="squad-docs-"))
    for title, text in documents.items():
        (folder / f"{title}.txt").write_text(text, "utf-8")
    rk = open_ragkit()
    rk.index([folder])

    if args.scores:
        for item in questions:
            k = max(rk.settings.retrieve.top_k, rk.settings.retrieve.evidence_k)
            hits = [h for h in rk.search(item["q"], k) if h.score >= rk.settings.retrieve.min_score]
            best = rank(item["q"], hits, rk.library.query_embedder.embed)[:1]
            label = "unanswerable" if item["impossible"] else "answerable"
            print(f"{best[0].score if best else 0:.3f} {label:<12} {item['q']}")

    print(f"{len(documents)} articles, {args.answerable} answerable and {args.unanswerable} unanswerable questions")
    for mode in args.modes.split(","):
        right = wrong = declined = 0
        seconds = []
        for item in questions:
            started = time.perf_counter()
            answer = rk.ask(item["q"], mode=mode)  # type: ignore[arg-type]
            seconds.append(time.perf_counter() - started)
            verified = answer.grounded and any(c.verified for c in answer.attribution.citations)
            shown = normal(answer.answer)
            has_gold = any(normal(g) and normal(g) in shown for g in item["gold"])
            if item["impossible"]:
                declined += answer.answer == NOT_FOUND
            elif verified and has_gold:
                right += 1
            elif verified:
                wrong += 1
        print(
            f"  {mode:<8} gold in verified answer {right / args.answerable:6.1%}   "
            f"verified but wrong {wrong / args.answerable:6.1%}   "
            f"unanswerable declined {declined / max(args.unanswerable, 1):6.1%}   "
            f"{statistics.mean(seconds):.2f} s/question"
        )
    rk.close()


if __name__ == "__main__":
    main()
