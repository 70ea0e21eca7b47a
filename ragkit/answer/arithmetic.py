"""A model's arithmetic, checked against the numbers it was given.

A figure computed from a table's rows (a ratio, a margin, a change) is something a capable model
can do and a reader cannot see done. Where its answer writes the computation ("9,412 / 61,300 =
0.154", "(61,300 - 55,012) / 55,012 ≈ 11.4%"), each such equation is read back: every number
it uses must be one of the quoted rows' values (or a constant a formula uses: 100, 365, 12…),
and the result it writes must follow from them, to the precision it is written with. Only then
does the answer lead with it; otherwise the rows are quoted and the note says what did not check.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

_NUM = r"-?\$?\d[\d,]*(?:\.\d+)?"
_OP = r"[-+*/×÷−]"
# an expression of two numbers or more (parentheses allowed), then = or ≈ and the number it makes
_EQUATION = re.compile(
    rf"(?P<expr>\(?\s*{_NUM}(?:\s*{_OP}\s*\(?\s*{_NUM}\s*\)?)+\s*\)?)\s*(?:=|≈|≅)\s*(?P<result>{_NUM}(?:\s*%)?)"
)
_LITERAL = re.compile(_NUM)
CONSTANTS = frozenset({1.0, 2.0, 4.0, 12.0, 100.0, 360.0, 365.0, 1000.0})  # what formulas multiply and divide by
_OPERATORS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
}  # fmt: skip


def number(text: str) -> float:
    """A number as documents write it: ``1,577``, ``$ 3.2``, ``(1,577)`` (negative)."""
    negative = text.strip().startswith("(") and text.strip().endswith(")")
    value = float(re.sub(r"[^\d.\-]", "", text))
    return -value if negative else value


@dataclass(frozen=True)
class Computation:
    """One equation of a model's answer: what it computed, and what it says that makes."""

    expression: str
    result: str  # as written, with its % if it has one

    @property
    def operands(self) -> list[float]:
        return [number(n) for n in _LITERAL.findall(self.expression)]

    def value(self) -> float | None:
        """The expression's value, or None when it cannot be read (unbalanced, a division by 0)."""
        text = self.expression.replace(",", "").replace("$", "")
        text = text.translate(str.maketrans("×÷−", "*/-"))
        try:
            return _evaluate(ast.parse(text, mode="eval").body)
        except (SyntaxError, ValueError, ZeroDivisionError):
            return None

    def problem(self, values: Iterable[float], within: str = "") -> str:
        """Why the equation does not check against ``values`` (the numbers it may use; ``within``:
        what they are the values of, " for 2021"), or ""."""
        given = {abs(v) for v in values} | CONSTANTS
        stray = [n for n in self.operands if abs(n) not in given]
        if stray:
            used = ", ".join(f"{n:,g}" for n in stray)
            return f"{self.expression.strip()} uses {used}, which the quoted rows do not hold{within}"
        value = self.value()
        if value is None:
            return f"{self.expression.strip()} cannot be read as arithmetic"
        claimed, percent = number(self.result.rstrip("% ")), self.result.endswith("%")
        if percent and not re.search(r"[*×]\s*100\b", self.expression):
            value *= 100  # a fraction written as a percentage
        decimals = len(self.result.rstrip("% ").partition(".")[2])
        if abs(value - claimed) > 0.5 * 10**-decimals + 1e-9 * abs(value):
            return f"{self.expression.strip()} makes {value:,.{decimals + 2}f}, not {self.result}"
        return ""


def computations(text: str) -> list[Computation]:
    """The equations written in ``text``, in order."""
    return [Computation(m["expr"].strip(), m["result"].replace(" ", "")) for m in _EQUATION.finditer(text)]


def _evaluate(node: ast.expr) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    raise ValueError("not arithmetic")
