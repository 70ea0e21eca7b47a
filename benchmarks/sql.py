"""Question-to-SQL: execution accuracy per SQL mode, per question shape and per database, and
how often a wrong answer is shown as an answer.

Sets (tests/data/sql/): Chinook (the shared copy: 44 questions of the first round and 64 of
the office shapes, written before the rules), Harbour Supplies (32; the rules were built
on it and Chinook) and Westshore Lettings (32; written after the rules were built and
never used to change them: the held-out check). An answer is right when its rows hold the
gold rows (tests/data/sql `same_answer`: the same rows; columns beyond the asked ones
allowed). "Wrong" is an answer shown with rows that are not the gold ones; a declined
question ("the rules could not map …", or no query ran) is neither.

Modes, in one run:

- rules: `--sql-mode rules`, no model loaded;
- gold / broken: a scripted writer that returns the gold SQL (the pipeline's ceiling) or
  only SQL that fails (must fail cleanly, every retry counted);
- MODEL: `--sql-mode model` with each chat model installed here (the packaged SmolLM2-135M;
  others pulled with `ragkit model pull`), and auto+MODEL: the rules first, then the model.

    .venv/bin/python benchmarks/sql.py [--sets chinook harbour lettings] [--modes rules gold broken]
        [--models smollm2-135m] [--max-questions N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
DATA = ROOT.parent / "shared" / "data"

from ragkit.llm import LLM, GenerationParams, Message  # noqa: E402
from tests.data.sql import SETS, database_file, questions, same_answer  # noqa: E402


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


def run_mode(
    mode: str, llm: LLM | None, params: GenerationParams, database: Any, items: list[dict[str, Any]]
) -> dict[str, Any]:
    """Every question of ``items`` asked of ``database`` in ``mode`` ("rules", "model", "auto")."""
    from ragkit.db.ask import SqlAsker, answer_question

    asker = SqlAsker(llm, params) if llm is not None else None
    right = wrong = declined = retries = 0
    times: list[float] = []
    shapes: dict[str, list[int]] = {}
    shown_wrong: list[str] = []
    for q in items:
        started = time.perf_counter()
        today = date.fromisoformat(q.get("today", "2026-12-03"))
        model = (lambda: asker) if asker is not None else None
        answer = answer_question(q["question"], database, mode, model, today=today)  # type: ignore[arg-type]
        times.append(time.perf_counter() - started)
        retries += max(0, len([a for a in answer.attempts if a.error]) - (mode != "rules"))
        tally = shapes.setdefault(q["kind"], [0, 0, 0, 0])  # right, wrong, declined, questions
        tally[3] += 1
        if answer.result is None:
            declined, mark = declined + 1, "·"
            tally[2] += 1
        elif same_answer([list(r) for r in answer.result.rows], q["result"]):
            right, mark = right + 1, "✓"
            tally[0] += 1
        else:
            wrong, mark = wrong + 1, "✗"
            tally[1] += 1
            shown_wrong.append(f"{q['question']} -> {answer.result.sql}")
        print(f"  {mode:5} {mark} [{answer.sql_by}] {q['question'][:72]}", flush=True)
    n = len(items)
    return {
        "questions": n,
        "right": right / n,
        "wrong_shown": wrong / n,
        "declined": declined / n,
        "s_per_question": statistics.mean(times),
        "by_shape": {k: f"{a}/{t} right, {w} wrong" for k, (a, w, _, t) in sorted(shapes.items())},
        "wrong": shown_wrong,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    parser.add_argument("--modes", nargs="*", default=["rules", "gold", "broken"])
    parser.add_argument(
        "--models", nargs="*", default=None, help="chat models, as model and auto+model (default: installed)"
    )
    parser.add_argument("--max-questions", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from ragkit.core.config import load_settings
    from ragkit.db.connections import SqliteDatabase
    from ragkit.llm.loader import ChatModels

    chat = ChatModels(load_settings())
    models = args.models if args.models is not None else [m["name"] for m in chat.listing() if m["installed"]]
    loaded = {name: chat.load(name) for name in models}
    folder = Path(tempfile.mkdtemp(prefix="ragkit-sql-"))
    rows = []
    for name in args.sets:
        path = database_file(name, folder, DATA / "chinook" / "Chinook_Sqlite.sqlite")
        database = SqliteDatabase(name, f"sqlite:///{path}")
        items = questions(name)[: args.max_questions]
        gold = {q["question"]: q["sql"] for q in items}

        def gold_reply(messages: list[Message], gold: dict[str, str] = gold) -> str:
            if messages[0]["content"].startswith("Answer the question"):
                return "The answer is in the rows."
            return f"```sql\n{gold[re.findall(r'Question: (.*)', messages[1]['content'])[0].strip()]}\n```"

        broken = ["SELEC * FROM nothing", "DROP TABLE nothing", "SELECT NoSuchColumn FROM nothing"]
        runs: list[tuple[str, str, LLM | None, GenerationParams]] = []
        plain = GenerationParams()
        for mode in args.modes:
            if mode == "rules":
                runs.append(("rules", "rules", None, plain))
            elif mode == "gold":
                runs.append(("gold (scripted)", "model", Scripted("gold", gold_reply), plain))
            elif mode == "broken":

                def fail(messages: list[Message], broken: list[str] = broken) -> str:
                    return broken[min((len(messages) - 2) // 2, 2)]

                fails = Scripted("broken", fail)
                runs.append(("broken (scripted)", "model", fails, plain))
        for model, real in loaded.items():
            runs += [(model, "model", real, chat.params(real)), (f"auto+{model}", "auto", real, chat.params(real))]
        for label, mode, writer, params in runs:
            print(f"{name}: {label}", flush=True)
            result = run_mode(mode, writer, params, database, items)
            rows.append({"set": name, "mode": label, **result})
    print(f"\n{'set':9} {'mode':24} {'right':>6} {'wrong':>6} {'declined':>9} {'s/question':>11}")
    for r in rows:
        print(f"{r['set']:9} {r['mode']:24} {r['right']:>6.1%} {r['wrong_shown']:>6.1%} {r['declined']:>9.1%}"
              f" {r['s_per_question']:>11.2f}")  # fmt: skip
        print(f"{'':34} by shape: {r['by_shape']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
