"""The suite's own rules: a test on real parts is marked slow by the conftest rule, never by
hand; each helper is written once, in tests/helpers."""

from __future__ import annotations

import ast
import subprocess
import sys
from difflib import SequenceMatcher

from tests.conftest import ROOT

TESTS = ROOT / "tests"


def _marks_slow(tree: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "slow" and ast.unparse(n) == "pytest.mark.slow"
               for n in ast.walk(tree))  # fmt: skip


def test_slow_is_set_by_the_conftest_rule_and_by_no_module() -> None:
    by_hand = [str(p.relative_to(ROOT)) for p in TESTS.rglob("test_*.py") if _marks_slow(ast.parse(p.read_text()))]
    assert by_hand == []
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "slow", "-p", "no:cacheprovider",
         "tests/search/test_query.py", "tests/search/test_find.py"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    slow = {line.split("::")[0] for line in collected.splitlines() if "::" in line}
    assert slow == {"tests/search/test_find.py"}  # find's tests index real files with the real embedder


def test_no_helper_is_written_twice() -> None:
    """No function of the tests is written again elsewhere under the same name with (nearly)
    the same body: a helper two modules need lives in tests/helpers. Fixtures are left out (a
    fixture's name stands for its module's own data)."""
    where: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.parse(path.read_text("utf-8")).body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name.startswith("test_"):
                continue
            if any("fixture" in ast.unparse(d) for d in node.decorator_list):
                continue
            body = ast.dump(ast.Module(body=node.body, type_ignores=[]))
            where.setdefault(node.name, []).append((str(path.relative_to(ROOT)), body))
    twice = [
        (name, first[0], second[0])
        for name, defined in where.items()
        for i, first in enumerate(defined)
        for second in defined[i + 1 :]
        if SequenceMatcher(None, first[1], second[1]).ratio() > 0.8
    ]
    assert twice == [], f"helpers written twice (move them to tests/helpers): {twice}"
