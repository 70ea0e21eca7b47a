"""Answer quality on documents the sentence model was not fitted on: SQuAD 2.0 articles held
out one at a time, and ragkit's own invented documents (``tests/data/invented/``).

SQuAD: the 5 shared SQuAD 2.0 dev articles are indexed as documents (one text file each). For
each article, the sentence model is fitted on the questions of the other four
(:mod:`ragkit.answer.fit`) and a seeded sample of the held-out article's questions is asked
through the facade, as a user asks: the figures are held-out-article figures, never training
ones. The invented set (Markdown, text, HTML, PDF and DOCX documents written for ragkit, with
who/when/where/how-many/why/which and compound questions, questions repeating a sentence that
does not answer them, and near-topic questions the documents cannot answer) is answered with
the packaged model, fitted on all five articles.

- gold in verified answer: the shown answer holds a gold span (invented set: every required
  fact) and has a verified citation
- verified but wrong: shown as verified without it (answerable questions)
- declined: the answer is "not in your documents" (unanswerable questions)
- short answer exact: the short answer equals a gold span (after normalising case and
  punctuation), of answerable questions asking for a name, time, place or amount

    .venv/bin/python benchmarks/answer_quality.py [--answerable 300] [--unanswerable 150]
        [--modes extract,auto] [--seed 7] [--examples]
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
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
SQUAD = ROOT.parent / "shared" / "data" / "squad2-dev" / "squad2-dev-5articles.json"
INVENTED = ROOT / "tests" / "data" / "invented"


def normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def squad() -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The articles as documents, and every question with its article and gold spans."""
    data = json.loads(SQUAD.read_text("utf-8"))
    articles = data["data"] if isinstance(data, dict) else data
    documents, questions = {}, []
    for article in articles:
        documents[article["title"]] = "\n\n".join(p["context"] for p in article["paragraphs"])
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                gold = sorted({a["text"] for a in qa.get("answers", [])})
                questions.append({"q": qa["question"], "gold": gold, "impossible": bool(qa.get("is_impossible")),
                                  "group": article["title"]})  # fmt: skip
    return documents, questions


def sample(questions: list[dict[str, Any]], answerable: int, unanswerable: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    yes = rng.sample([q for q in questions if not q["impossible"]], answerable)
    no = rng.sample([q for q in questions if q["impossible"]], unanswerable)
    return yes + no


def invented() -> tuple[Path, list[dict[str, Any]]]:
    """The invented documents (PDF and DOCX made from their text sources) and questions."""
    sys.path.insert(0, str(ROOT))
    from tests.data.invented.build import build

    folder = Path(tempfile.mkdtemp(prefix="invented-docs-"))
    build(folder)
    questions = [json.loads(line) for line in (INVENTED / "questions.jsonl").read_text("utf-8").splitlines() if line]
    for item in questions:
        item["gold"] = item.get("facts", [])
        item["impossible"] = not item["gold"]
        item["group"] = item.get("doc", "")
    return folder, questions


def remember_vectors(rk: Any) -> None:
    """Have ``rk``'s answerer embed each distinct sentence once: a benchmark asks hundreds of
    questions of the same few articles (the vectors are the embedder's, unchanged)."""
    import numpy as np

    embed, seen = rk.answerer.embed, dict[str, Any]()

    def cached(texts: Any) -> Any:
        new = [t for t in dict.fromkeys(texts) if t not in seen]
        if new:
            seen.update(zip(new, np.asarray(embed(new), dtype=np.float32), strict=True))
        return np.stack([seen[t] for t in texts])

    rk.answerer.embed = cached


INVENTED_WEIGHT = 12.0  # an invented question's rows count this many times (76 questions beside 1,905)


def collect(rk: Any, questions: list[dict[str, Any]], kind: str, progress: str = "") -> list[Any]:
    """Each question's candidate sentences as training rows (features, which hold gold)."""
    import numpy as np

    from ragkit.answer.fit import Question
    from ragkit.answer.quotes import features

    weight = INVENTED_WEIGHT if kind == "invented" else 1.0
    out = []
    for i, item in enumerate(questions):
        _, relevant = rk.answerer.evidence(item["q"], "extract")
        found, x, _ = features(item["q"], relevant, rk.answerer.embed, rk.answerer.finder)
        golds = [normal(g) for g in item["gold"] if normal(g)]
        hold = np.array([any(g in normal(c.text) for g in golds) for c in found], dtype=bool)
        out.append(Question(x, hold, not item["impossible"], item["group"], kind, weight))
        if progress and (i + 1) % 100 == 0:
            print(f"  {progress}: {i + 1}/{len(questions)} questions", file=sys.stderr, flush=True)
    return out


def open_squad() -> tuple[Any, dict[str, str], list[dict[str, Any]]]:
    """A ragkit over its own home with the SQuAD articles indexed; the articles; the questions."""
    from ragkit import open_ragkit

    if not SQUAD.exists():
        sys.exit(f"shared data not found at {SQUAD} (../shared beside the clone)")
    os.environ["RAGKIT_HOME"] = tempfile.mkdtemp(prefix="ragkit-bench-squad-")
    documents, questions = squad()
    folder = Path(tempfile.mkdtemp(prefix="squad-docs-"))
    for title, text in documents.items():
        (folder / f"{title}.txt").write_text(text, "utf-8")
    rk = open_ragkit()
    rk.index([folder])
    remember_vectors(rk)
    return rk, documents, questions


def open_invented(home: str | None = None) -> tuple[Any, list[dict[str, Any]], str]:
    """A ragkit with the invented documents indexed (in ``home``, or a new one)."""
    from ragkit import open_ragkit

    os.environ["RAGKIT_HOME"] = home or tempfile.mkdtemp(prefix="ragkit-bench-invented-")
    folder, questions = invented()
    rk = open_ragkit()
    rk.index([folder])
    remember_vectors(rk)
    return rk, questions, os.environ["RAGKIT_HOME"]


def ask_all(rk: Any, questions: list[dict[str, Any]], mode: str, every_fact: bool = False) -> dict[str, Any]:
    """Ask each question; count right, wrong, declined, short-answer exact matches."""
    from ragkit.answer.spans import asks

    counts: dict[str, Any] = defaultdict(int)
    seconds = []
    for item in questions:
        started = time.perf_counter()
        answer = rk.ask(item["q"], mode=mode)
        seconds.append(time.perf_counter() - started)
        verified = answer.grounded and any(c.verified for c in answer.attribution.citations)
        shown = normal(answer.answer)
        golds = [normal(g) for g in item["gold"] if normal(g)]
        found = all(g in shown for g in golds) if every_fact else any(g in shown for g in golds)
        if item["impossible"]:
            counts["unanswerable"] += 1
            counts["declined"] += answer.declined
            continue
        counts["answerable"] += 1
        if verified and found:
            counts["right"] += 1
        elif verified:
            counts["wrong"] += 1
            counts["wrong_examples"] = [*counts.get("wrong_examples", []), (item["q"], answer.answer[:160])]
        if any(p.kind in ("who", "when", "where", "number") for p in asks(item["q"])):
            counts["typed"] += 1
            short = normal((answer.short_answer or {}).get("text", ""))
            wanted = [normal(item["short"])] if item.get("short") else [normal(g) for g in item["gold"]]
            counts["exact"] += bool(short) and short in wanted
    counts["seconds"] = seconds
    return counts


def report(label: str, mode: str, c: dict[str, Any]) -> str:
    a, u = max(c["answerable"], 1), max(c["unanswerable"], 1)
    return (
        f"  {label:<28} {mode:<8} gold in verified answer {c['right'] / a:6.1%}   verified but wrong "
        f"{c['wrong'] / a:6.1%}   unanswerable declined {c['declined'] / u:6.1%}   short answer exact "
        f"{c['exact'] / max(c['typed'], 1):6.1%} (of {c['typed']})   "
        f"{statistics.mean(c['seconds'] or [0]):.2f} s/question"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answerable", type=int, default=300)
    parser.add_argument("--unanswerable", type=int, default=150)
    parser.add_argument("--modes", default="extract,auto")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--examples", action="store_true", help="print some verified-but-wrong answers")
    args = parser.parse_args()
    from ragkit.answer.fit import fit

    modes = args.modes.split(",")
    rk, questions_invented, home = open_invented()
    rows_invented = collect(rk, questions_invented, "invented")
    rk.close()

    rk, documents, questions = open_squad()
    started = time.perf_counter()
    rows = collect(rk, questions, "squad", "SQuAD features")
    print(f"  features of {len(questions)} questions in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    asked = sample(questions, args.answerable, args.unanswerable, args.seed)
    print(
        f"SQuAD 2.0: {len(documents)} articles, each held out in turn (the model fitted on the other four and the "
        f"invented set); {args.answerable} answerable and {args.unanswerable} unanswerable questions asked"
    )
    totals: dict[str, dict[str, Any]] = {m: defaultdict(int) for m in modes}
    for title in documents:
        rk.answerer.sentences = fit([r for r in rows if r.group != title] + rows_invented, {"held out": title})
        for mode in modes:
            add(totals[mode], ask_all(rk, [q for q in asked if q["group"] == title], mode))
    for mode in modes:
        print(report("SQuAD, held-out articles", mode, totals[mode]))
    rk.close()

    rk, _, _ = open_invented(home)
    docs = sorted({q["group"] for q in questions_invented})
    print(
        f"Invented set: {len(docs)} documents, each held out in turn (the model fitted on SQuAD and the other "
        f"documents); {sum(not q['impossible'] for q in questions_invented)} answerable and "
        f"{sum(q['impossible'] for q in questions_invented)} unanswerable questions"
    )
    totals = {m: defaultdict(int) for m in modes}
    for doc in docs:
        rk.answerer.sentences = fit(rows + [r for r in rows_invented if r.group != doc], {"held out": doc})
        for mode in modes:
            add(totals[mode], ask_all(rk, [q for q in questions_invented if q["group"] == doc], mode, every_fact=True))
    for mode in modes:
        print(report("invented, held-out documents", mode, totals[mode]))
        if args.examples:
            for q, a in totals[mode].get("wrong_examples", [])[:12]:
                print(f"    wrong: {q} -> {a}")
    rk.close()


def add(total: dict[str, Any], counts: dict[str, Any]) -> None:
    for key, value in counts.items():
        total[key] = [*total.get(key, []), *value] if isinstance(value, list) else total.get(key, 0) + value


if __name__ == "__main__":
    main()
