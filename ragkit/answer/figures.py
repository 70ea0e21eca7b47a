"""Answers that quote the figure: a question asking for an amount that a table holds gets the
table's row quoted and cited, read as a row (its label, each value under its period, the unit),
with the value of the period asked for leading the answer.

A table's row is a line of a passage that ends in two or more values ("Purchases of property,
plant and equipment (PP&E) $ (1,577) $ (1,373) $ (1,420)", as PDFium keeps a row on one line).
Its periods are the years of the column headers nearest above it (in the passage, else the
passage's heading, where a statement's columns travel with each of its passages:
:mod:`ingest.pdfcontext`), matched to the values one to one; its unit is the nearest "(in
millions)" above it.

A row answers a question that asks for an amount ("how much", "the total amount of", "what was
X for FY 2023") when the question names every word of its label (words such as "total" and "net"
aside, and the document's own name; a statement named as where to look, "shown in the income
statement", names no row): a
row found by half its words is as often another line of the statement. Of such rows, the one
naming most of the question's words, in the best-ranked passage, is quoted, its value leading
the answer with what it is ("11,588 (Net income, 2019, millions)"). A question asking for a
figure computed from rows (a ratio, a margin, a change, an average) gets every row it names
quoted, up to :data:`MAX_ROWS`, and is told that the figure is computed from them: ragkit
without a capable model does not do the arithmetic. Where a model wrote the computation, it leads
the answer only if it checks against the quoted rows (:mod:`ragkit.answer.arithmetic`). Nothing
here is fitted to a question set; the rule is what a reader does with a statement.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.pdfcontext import is_columns, years_of
from ragkit.answer.arithmetic import Computation, computations, number
from ragkit.answer.quotes import Quote
from ragkit.core.text import content_words
from ragkit.search.retrieve import Hit

MAX_ROWS = 3  # rows quoted for a computed figure
_VALUE = re.compile(r"^\(?[-−]?\d(?:[\d,]*\d)?(?:\.\d+)?\)?%?$|^[—–-]$")
_DATED = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?$", re.IGNORECASE)
_SYMBOL = frozenset("$€£%")
_UNIT = re.compile(r"\b(?:in\s+)?(millions|thousands|billions)\b", re.IGNORECASE)
_ASKED_YEAR = re.compile(r"\b(?:FY|fiscal(?:\s+year)?)\s?'?(\d{4}|\d{2})\b|\b((?:19|20)\d\d)\b", re.IGNORECASE)
# a question that asks for an amount
_AMOUNT = re.compile(
    r"\bhow (?:much|many)\b|\bamount\b|\btotal\b|\bvalue\b|\bfigure\b|\bwhat (?:percentage|number|sum|price|cost)\b"
    r"|\bin (?:usd |eur |gbp |\$ ?)?(?:millions|thousands|billions)\b",
    re.IGNORECASE,
)
# "what was X for FY 2023": an amount, where a row's label is X
_PERIOD_ASKED = re.compile(r"\bwhat (?:is|was|were|are)\b.*\b(?:FY|fiscal|(?:19|20)\d\d)", re.IGNORECASE)
# a statement named as where to look ("shown in the income statement") names no row
_STATEMENT = re.compile(
    r"\b(?:income|cash ?flows?|earnings|operations|P ?& ?L) statements?\b|\bbalance sheets?\b"
    r"|\bstatements? of [a-z ]{0,30}?(?:income|operations|earnings|cash ?flows?|financial position|equity)\b",
    re.IGNORECASE,
)
_COMPUTED = re.compile(
    r"\bratios?\b|\bmargins?\b|\bgrowth\b|\bchanges?\b|\baverage\b|\bconversion\b|\bturnover\b|\byear[- ]over[- ]year\b"
    r"|\bdays \w+ outstanding\b|\bper cent\b|\bpercent(?:age)?\b|\bcagr\b|\bdivided\b",
    re.IGNORECASE,
)
_GENERIC = content_words("total net other amount value year years fiscal ended end period current")


@dataclass(frozen=True)
class Cell:
    start: int  # within the passage's text
    end: int
    text: str
    period: str | None  # the column's year, when the columns and the values pair one to one


@dataclass(frozen=True)
class Row:
    hit: Hit
    start: int  # the row's line, within the passage's text
    end: int
    label: str
    cells: tuple[Cell, ...]
    unit: str  # "millions", or "" where the table does not say

    @property
    def text(self) -> str:
        return " ".join(self.hit.text[self.start : self.end].split())

    def table(self) -> str:
        """The row as a reader reads it: "Purchases of PP&E | 2018: (1,577) | 2017: (1,373) | millions"."""
        cells = [f"{c.period}: {c.text}" if c.period else c.text for c in self.cells]
        return " | ".join([self.label, *cells, *([self.unit] if self.unit else [])])

    def as_dict(self, number: Callable[[Hit], int]) -> dict[str, Any]:
        at = self.hit.start
        cells = [{"period": c.period, "text": c.text, "span": [at + c.start, at + c.end]} for c in self.cells]
        return {"label": self.label, "unit": self.unit, "table": self.table(), "source": number(self.hit),
                "span": [at + self.start, at + self.end], "cells": cells}  # fmt: skip


@dataclass(frozen=True)
class Figure:
    """The rows that answer a question, and the values of the periods it asks for."""

    rows: tuple[Row, ...]
    years: tuple[str, ...]  # the periods the question names
    computed: bool  # the question asks for a figure computed from the rows
    model: tuple[Computation, ...] = ()  # the equations a model's answer wrote

    @property
    def problems(self) -> list[str]:
        """What of the model's arithmetic does not check against the quoted rows' values."""
        cells = [c for row in self.rows for c in row.cells if any(d.isdigit() for d in c.text)]
        if self.years:  # the columns of the periods asked for (a column without a year may be any)
            cells = [c for c in cells if c.period is None or c.period in self.years]
        within = f" for {', '.join(self.years)}" if self.years else ""
        return [problem for c in self.model if (problem := c.problem([number(cell.text) for cell in cells], within))]

    @property
    def computation(self) -> Computation | None:
        """The model's result (its last equation), when all its arithmetic checks."""
        return self.model[-1] if self.computed and self.model and not self.problems else None

    @property
    def values(self) -> list[Cell]:
        """The first row's values under the periods asked for (empty when it asks for none of
        its periods, or the figure is to be computed)."""
        if self.computed:
            return []
        return [c for c in self.rows[0].cells if c.period is not None and c.period in self.years]

    @property
    def text(self) -> str:
        return ", ".join(c.text for c in self.values)

    def lead(self) -> str:
        """What leads the answer: the value, with what it is ("(1,577) (Purchases of PP&E, 2018,
        millions)"),
        the row read as a table where the question names none of its periods, or, for a computed
        figure, what the quoted rows are for."""
        if self.computed:
            done = self.computation
            return f"{done.result} = {done.expression.strip()}, from these rows" if done else "Computed from these rows"
        row = self.rows[0]
        unit = f", {row.unit}" if row.unit else ""
        values = ", ".join(f"{c.text} ({row.label}, {c.period}{unit})" for c in self.values)
        return values or self.rows[0].table()

    @property
    def notice(self) -> str:
        """What a reader should know of the figure: how it was read, or what it lacks."""
        if self.computed and self.computation:
            return "The model computed the figure; its arithmetic was checked: every number is a quoted row's."
        if self.computed and self.model:
            return f"The model's arithmetic does not check ({self.problems[0]}): compute it from the quoted rows."
        if self.computed:
            return "The figure asked for is computed from the quoted rows: they are quoted, the arithmetic is not done."
        periods = [c.period for c in self.rows[0].cells if c.period]
        if self.years and not self.values:
            held = f"its columns are {', '.join(periods)}" if periods else "its columns name no years"
            return f"The row found does not hold {', '.join(self.years)}: {held}."
        return "The amount is its table's row; the period and unit are the table's column headers."

    def render(self, number: Callable[[Hit], int]) -> str:
        """The rows quoted, each its own sentence with its source's ``[n]``."""
        return " ".join(f"{r.text} [{number(r.hit)}]." for r in self.rows)

    def quotes(self) -> list[Quote]:
        return [Quote(r.hit, r.start, r.end, r.text, 1.0) for r in self.rows]

    def as_dict(self, number: Callable[[Hit], int]) -> dict[str, Any]:
        first = self.values[0] if self.values else None
        hit = self.rows[0].hit
        span = [hit.start + first.start, hit.start + first.end] if first else None
        source = number(hit) if first else None
        done = self.computation
        checked = {"expression": done.expression.strip(), "result": done.result} if done else None
        return {"text": done.result if done else self.text, "kind": "figure", "computed": self.computed,
                "computation": checked, "problems": self.problems, "source": source, "span": span,
                "parts": [], "missing": [], "rows": [r.as_dict(number) for r in self.rows]}  # fmt: skip


def find(question: str, hits: Sequence[Hit], draft: str = "") -> Figure | None:
    """The table rows of ``hits`` that answer ``question``, or None where the question asks for
    no amount or no row's label is the question's; ``draft``: a model's answer, whose
    arithmetic a computed figure checks."""
    computed = bool(_COMPUTED.search(question))
    if not (computed or _AMOUNT.search(question) or _PERIOD_ASKED.search(question)):
        return None
    wanted = {w for w in content_words(_STATEMENT.sub(" ", question)) if not w[:1].isdigit()}
    scored: list[tuple[int, int, Row]] = []
    for rank, hit in enumerate(hits):
        for row in rows_of(hit):
            # the document's own name ("Total Amcor") is no line item
            words = {w for w in content_words(row.label) if not w[:1].isdigit()} - _GENERIC - content_words(hit.title)
            if words and words <= wanted:
                scored.append((len(words), -rank, row))
    if not scored:
        return None
    scored.sort(key=lambda s: s[:2], reverse=True)
    years = tuple(asked_years(question))
    if not computed:  # the best row; of rows as good, one with a period asked for
        best = [s for s in scored if s[:2] == scored[0][:2]]
        row = next((s[2] for s in best if any(c.period in years for c in s[2].cells)), best[0][2])
        return Figure((row,), years, False)
    chosen: list[Row] = []
    for *_, row in scored:
        if row.label.lower() not in {r.label.lower() for r in chosen}:
            chosen.append(row)
    return Figure(tuple(chosen[:MAX_ROWS]), years, True, tuple(computations(draft)))


def asked_years(question: str) -> list[str]:
    """The years a question names: "FY2018", "fiscal 2017", "FY 23", "in 2016"."""
    found = []
    for m in _ASKED_YEAR.finditer(question):
        year = m.group(1) or m.group(2)
        found.append(year if len(year) == 4 else f"20{year}")
    return list(dict.fromkeys(found))


def rows_of(hit: Hit) -> list[Row]:
    """The table rows of a passage, each with its periods and unit."""
    rows = []
    columns = _heading_columns(hit.heading)
    unit = _last_unit(hit.heading)
    at = 0
    for line in hit.text.split("\n"):
        start, at = at, at + len(line) + 1
        if is_columns(" ".join(line.split())):
            columns, unit = years_of(line), _last_unit(line) or unit
            continue
        parsed = _cells(line)
        if parsed is None:  # a line of words may say the unit of the rows below it
            unit = _last_unit(line) or unit
            continue
        label, cells = parsed
        pair = len(columns) == len(cells)
        typed = tuple(
            Cell(start + s, start + e, text, columns[i] if pair else None) for i, (s, e, text) in enumerate(cells)
        )
        rows.append(Row(hit, start, start + len(line.rstrip()), label, typed, unit))
    return rows


def _cells(line: str) -> tuple[str, list[tuple[int, int, str]]] | None:
    """A row's label and its values (with their offsets in ``line``), read from the line's end;
    None for a line that is no row (fewer than two values, or no words before them)."""
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", line)]
    cells: list[tuple[int, int, str]] = []
    at = len(tokens)
    while at > 0:
        start, end, token = tokens[at - 1]
        if token in _SYMBOL:  # "$ (1,577)", "91 %": a sign on its own
            at -= 1
            continue
        if not _VALUE.match(token.lstrip("$€£")):
            break
        cells.append((start, end, token))
        at -= 1
    label = line[: tokens[at - 1][1]] if at else ""
    if cells and _DATED.search(label):  # "Balance at February 2, 2019 13": the year is the label's
        label = line[: cells.pop()[1]]
    if len(cells) < 2:
        return None
    label = label.strip(" .:$")
    if not re.search(r"[A-Za-z]{3}", label):
        return None
    return " ".join(label.split()), cells[::-1]


def _heading_columns(heading: str) -> list[str]:
    for part in reversed(heading.split(" > ")):
        if is_columns(part):
            return years_of(part)
    return []


def _last_unit(text: str) -> str:
    found = _UNIT.findall(text)
    return found[-1].lower() if found else ""


__all__ = ["Cell", "Figure", "Row", "asked_years", "find", "rows_of"]
