"""Question-to-SQL on the Chinook database: execution accuracy and time per question, per model.

Every question of tests/data/chinook_questions.jsonl (counts, sums, joins over two and three
tables, top-N, dates, and questions whose answer is "none") is asked through `SqlAsker`, the
path `ragkit ask --db` takes; an answer counts as right when its rows equal the gold rows
(in any order, numbers to the cent). Models, in one run:

- gold: a scripted writer that returns the gold SQL: the pipeline's ceiling (must be 100 %);
- broken: a scripted writer that only writes SQL that fails (does not parse, is refused,
  names a missing column): must fail cleanly, with every retry counted;
- every chat model installed here (the packaged SmolLM2-135M; others pulled with `ragkit
  model pull`), for real.

    .venv/bin/python benchmarks/sql.py [--max-questions N] [--models gold broken smollm2-135m]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
DATA = ROOT.parent / "shared" / "data"

from ragkit.llm import LLM, GenerationParams, Message  # noqa: E402


class Scripted(LLM):
    """A chat model whose reply is computed from the conversation (the seam ragkit owns)."""

    def __init__(self, name: str, reply: Callable[[list[Message]], str]) -> None:
        self.name, self.reply, self.n_ctx = name, reply, 8192

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def _pieces(
        self, messages: Sequence[Message], params: GenerationParams, prefix: str, max_tokens: int
    ) -> Iterator[str]:
        yield self.reply(list(messages))


def same_rows(got: list[list[Any]], gold: list[list[Any]]) -> bool:
    def norm(row: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(round(float(v), 2) if isinstance(v, int | float | Decimal) else v for v in row)

    return sorted(map(norm, got), key=repr) == sorted(map(norm, gold), key=repr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-questions", type=int, default=None)
    parser.add_argument("--models", nargs="*", default=None, help="default: gold, broken and every installed model")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from ragkit.core.config import load_settings
    from ragkit.db.ask import SqlAsker
    from ragkit.db.connections import SqliteDatabase
    from ragkit.llm.loader import ChatModels

    questions = [json.loads(line) for line in (ROOT / "tests/data/chinook_questions.jsonl").read_text().splitlines()]
    questions = questions[: args.max_questions]
    database = SqliteDatabase("chinook", f"sqlite:///{DATA / 'chinook' / 'Chinook_Sqlite.sqlite'}")
    gold = {q["question"]: q["sql"] for q in questions}

    def gold_reply(messages: list[Message]) -> str:
        if messages[0]["content"].startswith("Answer the question"):
            return "The answer is in the rows."
        return f"```sql\n{gold[re.findall(r'Question: (.*)', messages[1]['content'])[0].strip()]}\n```"

    broken = ["SELEC * FROM Invoice", "DROP TABLE Invoice", "SELECT NoSuchColumn FROM Invoice"]
    settings = load_settings()
    chat = ChatModels(settings)
    installed = [m["name"] for m in chat.listing() if m["installed"]]
    wanted = args.models or ["gold", "broken", *installed]
    rows = []
    for name in wanted:
        if name == "gold":
            llm: LLM = Scripted("gold (scripted)", gold_reply)
        elif name == "broken":
            llm = Scripted("broken (scripted)", lambda m: broken[min((len(m) - 2) // 2, 2)])
        else:
            llm = chat.load(name)
        asker = SqlAsker(llm, chat.params(llm))
        right, times, retries, failed, by_kind = 0, [], 0, 0, {}
        for q in questions:
            started = time.perf_counter()
            answer = asker.ask(q["question"], database)
            times.append(time.perf_counter() - started)
            ok = answer.result is not None and same_rows([list(r) for r in answer.result.rows], q["result"])
            right += ok
            retries += len(answer.attempts) - 1
            failed += answer.result is None
            kind = by_kind.setdefault(q["kind"], [0, 0])
            kind[0] += ok
            kind[1] += 1
            print(f"  {llm.name}: {'✓' if ok else '✗'} {q['question'][:70]}", flush=True)
        rows.append(
            {
                "model": llm.name,
                "questions": len(questions),
                "accuracy": right / len(questions),
                "no_query_ran": failed,
                "retries": retries,
                "s_per_question": statistics.mean(times),
                "by_kind": {k: f"{a}/{n}" for k, (a, n) in sorted(by_kind.items())},
            }
        )
    print(f"\n{'model':28} {'accuracy':>9} {'no query':>9} {'retries':>8} {'s/question':>11}")
    for r in rows:
        rate, seconds = r["accuracy"], r["s_per_question"]
        print(f"{r['model']:28} {rate:>8.1%} {r['no_query_ran']:>9} {r['retries']:>8} {seconds:>11.2f}")
        print(f"{'':28} by kind: {r['by_kind']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
