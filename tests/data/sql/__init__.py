"""Question-to-SQL sets: questions with gold SQL and results over Chinook (the shared copy),
Harbour Supplies and Westshore Lettings (built here from a fixed seed), and how an answer
is compared with the gold rows."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
DATA = HERE.parent  # tests/data
# set → (its database, its question files); "lettings" was written after the rules, to check them
SETS = {
    "chinook": ("chinook", [DATA / "chinook_questions.jsonl", HERE / "chinook_shapes.jsonl"]),
    "harbour": ("harbour", [HERE / "harbour_questions.jsonl"]),
    "lettings": ("lettings", [HERE / "lettings_questions.jsonl"]),
}


def questions(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for path in SETS[name][1] for line in path.read_text(encoding="utf-8").splitlines()]


def database_file(name: str, folder: Path, chinook: Path) -> Path:
    """The SQLite file of set ``name``: Chinook's own, or the set's database built in ``folder``."""
    if name == "chinook":
        return chinook
    if name == "harbour":
        from tests.data.sql.harbour import build
    else:
        from tests.data.sql.lettings import build
    return build(folder / f"{name}.db")


def _norm(value: Any) -> Any:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return round(float(value), 2)
    return value


def same_answer(rows: Sequence[Sequence[Any]], gold: Sequence[Sequence[Any]]) -> bool:
    """Whether ``rows`` answer as ``gold`` does: the same number of rows, and some of their
    columns (as many as gold has, in any order) hold gold's values, numbers to the cent. An
    answer may show more than was asked (the count beside the names); never other rows."""
    if len(rows) != len(gold):
        return False
    if not gold:
        return True
    have = [tuple(map(_norm, r)) for r in rows]
    want = sorted((tuple(map(_norm, r)) for r in gold), key=repr)
    width = len(gold[0])
    return any(
        sorted((tuple(r[i] for i in pick) for r in have), key=repr) == want
        for pick in itertools.permutations(range(len(have[0])), width)
    )
