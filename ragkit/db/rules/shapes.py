"""Questions to SQL without a model: the shapes office questions take, read by rules and built
as one statement with sqlglot, which then passes the same guard as any other.

The shapes: how many (rows, with filters; ``different`` values; units of a quantity),
total / average / highest / lowest of a column, top N by a measure or by a count, which X
has the most Y (grouped), lookups (the city of a person), lists filtered by values that
occur in the data, by numbers ("over 10") and by dates ("in 1997", "in March 2024",
"between … and …", "last year"). Joins follow foreign keys along the single shortest path.
Whatever the rules cannot map for sure (no table named, a value found in two columns, two
ways to join, a sum over joined rows that would count some twice) ends the attempt with
:class:`Unsure`, which says what was not mapped: the rules never guess.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlglot import exp

from ragkit.db.rules.links import STOP, Col
from ragkit.db.rules.question import ASC, DESC, Link, Parsed, Unsure, link_mentions, parse, tokenize
from ragkit.db.rules.resolve import MAX_WORDS, MIN_WORDS, SALES, Resolver, counted_table
from ragkit.db.rules.statement import (
    Built,
    Query,
    aliased,
    col_ref,
    described,
    number_literal,
    number_of,
    with_having,
    words_of,
)


class Rules(Resolver):
    """Question → SQL for one database's :class:`SchemaMap`."""

    def build(self, question: str, today: date | None = None) -> Built:
        parsed = parse(question, self.schema, today or date.today())
        every = link_mentions(parsed, self.schema)
        links = [lk for lk in every if lk.best]
        self._every = every  # with the columns a run of words names less well
        low = " ".join(parsed.tokens)
        _unknown_names(question, parsed, links)
        if low.startswith("how many"):
            return self._how_many(parsed, links)
        words = set(parsed.tokens)
        if words & (DESC | ASC) and re.match(r"(which|what are|what were|who|list|name|show|give)\b", low):
            return self._ranked(parsed, links, low)
        if re.match(r"(what|how much) (is|was|were|are) the (total|sum|average|mean|avg)\b", low) or (
            re.match(r"(what|how much) (is|was)\b", low) and words & (MAX_WORDS | MIN_WORDS | {"total", "average"})
        ):
            return self._aggregate(parsed, links, low)
        if parsed.value_spans and re.match(r"(in which|which|what|who|when|where)\b", low):
            asked = self._asked(parsed, links)
            if asked is not None:
                return self._lookup(parsed, links, asked)
        if re.match(r"(which|what|list|show|give|name)\b", low):
            return self._list(parsed, links)
        raise Unsure("the question is not one of the shapes the rules read")

    def _how_many(self, parsed: Parsed, links: list[Link]) -> Built:
        after = [lk for lk in links if lk.mention.start >= 2]
        if not after:
            raise Unsure("no table is named after 'how many'")
        first = after[0]
        distinct = parsed.tokens[2] in ("different", "distinct", "unique")
        if "each" in parsed.tokens or "per" in parsed.tokens:
            return self._per(parsed, links)
        if first.kind == "column" and first.column is not None and (first.column.numeric or first.column.text):
            q = Query(self.schema, first.table)
            column = first.column
            self._filters(q, parsed, links)
            if column.numeric and not distinct:
                if q.fans_out():
                    raise Unsure("the rows joined would count some twice")
                q.select = [aliased(exp.Sum(this=col_ref(column)), f"total {words_of(column.name)}")]
                return Built(q.build(self.dialect), "sum", sorted(q.tables | {q.base}))
            q.select = [
                aliased(
                    exp.Count(this=exp.Distinct(expressions=[col_ref(column)])), f"different {words_of(column.name)}"
                )
            ]
            return Built(q.build(self.dialect), "count", sorted(q.tables | {q.base}))
        table = self._first_table(links, 2) if first.kind == "table" else first
        q = Query(self.schema, table.table)
        self._filters(q, parsed, links)
        key = self.schema.primary_key(table.table)
        if q.fans_out() and key is not None:
            q.select = [aliased(exp.Count(this=exp.Distinct(expressions=[col_ref(key)])), number_of(table.table))]
        elif q.fans_out():
            raise Unsure("the rows joined would count some twice")
        else:
            q.select = [aliased(exp.Count(this=exp.Star()), number_of(table.table))]
        return Built(q.build(self.dialect), "count", sorted(q.tables | {q.base}))

    def _per(self, parsed: Parsed, links: list[Link]) -> Built:
        """How many Y each X has: "how many customers does each representative look after"."""
        at = parsed.tokens.index("each" if "each" in parsed.tokens else "per")
        counted = self._first_table(links, 2)
        group = self._first_table(links, at)
        q = Query(self.schema, counted.table)
        q.need(group.table)
        self._filters(q, parsed, links)
        key = self.schema.primary_key(group.table)
        shown = self.schema.labels(group.table)
        if q.fans_out():
            raise Unsure("the rows joined would count some twice")
        q.select = [*map(col_ref, shown), aliased(exp.Count(this=exp.Star()), number_of(counted.table))]
        q.group = [col_ref(key)] if key is not None else list(map(col_ref, shown))
        return Built(q.build(self.dialect), "count per", sorted(q.tables | {q.base}))

    def _aggregate(self, parsed: Parsed, links: list[Link], low: str) -> Built:
        words = set(parsed.tokens)
        tables = [lk for lk in links if lk.kind == "table"]
        columns = [lk.column for lk in links if lk.column is not None]
        named = {lk.table for lk in tables}
        dated = sorted((c for c in columns if c is not None and c.date), key=lambda c: c.table not in named)
        if dated and words & (MAX_WORDS | MIN_WORDS) and not any(c.numeric for c in columns if c is not None):
            column: Col = dated[0]  # type: ignore[assignment]
            q = Query(self.schema, column.table)
            self._filters(q, parsed, links)
            fn: Any = exp.Max if words & MAX_WORDS else exp.Min
            q.select = [
                aliased(
                    fn(this=col_ref(column)), f"{'latest' if fn is exp.Max else 'earliest'} {words_of(column.name)}"
                )
            ]
            return Built(q.build(self.dialect), "aggregate", sorted(q.tables | {q.base}))
        anchor = tables[0].table if tables else (columns[0].table if columns and columns[0] else None)
        if anchor is None:
            raise Unsure("no table or column is named")
        measure, table = self._measure(anchor, parsed, links, words)
        q = Query(self.schema, table)
        self._filters(q, parsed, links)
        if q.fans_out():
            raise Unsure("the rows joined would count some twice")
        m = re.search(r"\b(total|sum|average|mean|avg)\b", low)
        if m and not (words & (MAX_WORDS | MIN_WORDS) and low.index(m.group(1)) > 20):
            fn = exp.Sum if m.group(1) in ("total", "sum") else exp.Avg
        elif words & MAX_WORDS:
            fn = exp.Max
        elif words & MIN_WORDS:
            fn = exp.Min
        else:
            raise Unsure("the rules cannot tell whether a total, an average, a highest or a lowest is asked")
        value: exp.Expr = fn(this=measure)
        if re.search(r"\bround(?:ed)? to (?:a |the nearest )?whole number\b", low):
            value = exp.Round(this=value)
        what = {exp.Sum: "total", exp.Avg: "average", exp.Max: "highest", exp.Min: "lowest"}[fn]
        q.select = [aliased(value, f"{what} {described(measure)}")]
        return Built(q.build(self.dialect), "aggregate", sorted(q.tables | {q.base}))

    def _ranked(self, parsed: Parsed, links: list[Link], low: str) -> Built:
        """Top N rows by a measure, or the X with the most Y (grouped)."""
        words = set(parsed.tokens)
        desc = not (words & ASC) or bool(words & {"most", "highest"} and not words & {"fewest", "least"})
        if not links:
            raise Unsure("no table or column is named")
        subject = links[0]
        rest = [lk for lk in links[1:] if lk.mention.start > subject.mention.end - 1]
        counted = next((lk for lk in rest if lk.kind == "table" and lk.mention is not subject.mention), None)
        averaged = "average" in words or "mean" in words
        summed = bool(re.search(r"\btotal\b", low)) or bool(words & SALES)
        limit = parsed.limit or 1
        if subject.kind == "table" and counted is None and not averaged:
            measure, table = self._measure(subject.table, parsed, links[1:], words)
            if table == subject.table:  # its own rows ranked: "the 3 shortest tracks", "who earns the most"
                q = Query(self.schema, subject.table)
                self._filters(q, parsed, links)
                q.select = [*map(col_ref, self.schema.labels(subject.table)), measure]
                q.order, q.desc, q.limit = measure, desc, limit
                return Built(q.build(self.dialect), "top", sorted(q.tables | {q.base}))
        if counted is not None and not (averaged or summed):
            base = counted.table
            value_of: Any = None
        else:
            measure, base = self._measure(subject.table, parsed, links[1:], words)
            value_of = measure
        if subject.kind == "column" and subject.column is not None:
            same = [lk.column for lk in self._every if lk.mention is subject.mention and lk.column and lk.table == base]
            group_cols = [same[0]] if same else [subject.column]
            if not same and len({lk.table for lk in self._every if lk.mention is subject.mention and lk.best}) > 1:
                raise Unsure(f"{' '.join(subject.mention.words)!r} is a column of several tables")
            shown = group_cols
        else:
            key = self.schema.primary_key(subject.table)
            shown = self.schema.labels(subject.table)
            group_cols = [key] if key is not None else shown
        assert all(c is not None for c in group_cols)
        q = Query(self.schema, base)
        for c in group_cols:
            q.need(c.table)  # type: ignore[union-attr]
        self._filters(q, parsed, links)
        fans = q.fans_out()
        if value_of is None:
            key = self.schema.primary_key(base)
            if fans and key is None:
                raise Unsure("the rows joined would count some twice")
            value: exp.Expr = (
                exp.Count(this=exp.Distinct(expressions=[col_ref(key)])) if fans and key else exp.Count(this=exp.Star())
            )
        else:
            if fans:
                raise Unsure("the rows joined would count some twice")
            value = (exp.Avg if averaged else exp.Sum)(this=value_of)
        named = number_of(base) if value_of is None else f"{'average' if averaged else 'total'} {described(value_of)}"
        q.select = [*map(col_ref, shown), aliased(value, named)]  # type: ignore[arg-type]
        q.group = [col_ref(c) for c in group_cols]  # type: ignore[arg-type]
        q.order, q.desc, q.limit = value, desc, limit
        return Built(q.build(self.dialect), "most", sorted(q.tables | {q.base}))

    def _asked(self, parsed: Parsed, links: list[Link]) -> Link | None:
        """What a lookup asks for: a column, or a table named in the singular ("the artist")."""
        first_value = min(s for s, _, _ in parsed.value_spans)
        before = [lk for lk in links if lk.mention.end <= first_value]
        if parsed.tokens[0] == "when":
            dates = [lk for lk in links if lk.column is not None and lk.column.date]
            return dates[0] if dates else None
        if not before:
            return None
        first = before[0]
        if first.kind == "table" and first.mention.words[-1].endswith("s"):
            return None  # a plural: a list, not a lookup
        return first

    def _lookup(self, parsed: Parsed, links: list[Link], asked: Link) -> Built:
        values = [v for _, _, vs in parsed.value_spans for v in vs]
        home = sorted({v.table for v in values})
        candidates = [lk for lk in links if lk.mention is asked.mention]
        if asked.kind == "column":
            mine = [lk for lk in candidates if lk.table in home] or candidates
            if len({(lk.table, lk.column.name if lk.column else "") for lk in mine}) > 1:
                raise Unsure(f"{' '.join(asked.mention.words)!r} may be a column of {', '.join(sorted(home))}")
            column = mine[0].column
            assert column is not None
            q = Query(self.schema, column.table)
            self._filters(q, parsed, links)
            q.select = [col_ref(column)]
        else:
            q = Query(self.schema, asked.table)
            self._filters(q, parsed, links)
            q.select = list(map(col_ref, self.schema.labels(asked.table)))
        return Built(q.build(self.dialect), "lookup", sorted(q.tables | {q.base}))

    def _having(self, parsed: Parsed, links: list[Link], number: Any, counted: Link) -> Built:
        """The X with more (or fewer) than N Y: "which cities have more than one customer"."""
        subject = links[0]
        if subject.mention is counted.mention:
            raise Unsure("the rules cannot tell what is counted")
        q = Query(self.schema, counted.table)
        if subject.kind == "column":
            same = [lk.column for lk in self._every if lk.mention is subject.mention and lk.table == counted.table]
            if not same or same[0] is None:
                raise Unsure(f"{' '.join(subject.mention.words)!r} is not a column of {counted.table}")
            shown, group = [same[0]], [same[0]]
        else:
            key = self.schema.primary_key(subject.table)
            shown = self.schema.labels(subject.table)
            group = [key] if key is not None else shown
            q.need(subject.table)
        self._filters(q, parsed, links)
        if q.fans_out():
            raise Unsure("the rows joined would count some twice")
        op = {"=": exp.EQ, "<": exp.LT, ">": exp.GT, "<=": exp.LTE, ">=": exp.GTE}[number.op]
        count = exp.Count(this=exp.Star())
        q.select = [*map(col_ref, shown), aliased(count, number_of(counted.table))]
        q.group = list(map(col_ref, group))
        query = q.build(self.dialect)
        having = op(this=exp.Count(this=exp.Star()), expression=number_literal(number.value)).sql(dialect=self.dialect)
        return Built(with_having(query, having, self.dialect), "having", sorted(q.tables | {q.base}))

    def _list(self, parsed: Parsed, links: list[Link]) -> Built:
        for number in parsed.numbers:
            counted = counted_table(number.at, links)
            if counted is not None:
                return self._having(parsed, links, number, counted)
        table = self._first_table(links)
        q = Query(self.schema, table.table)
        self._filters(q, parsed, links)
        labels = self.schema.labels(table.table)
        key = self.schema.primary_key(table.table)
        filtered = {c.sql() for w in q.where for c in w.find_all(exp.Column)}
        if key is not None and all(col_ref(c).sql() in filtered for c in labels):
            labels = [key]  # the rows' names are what the question gave: say which rows they are
        q.select = list(map(col_ref, labels))
        if q.fans_out():
            q.select = [exp.Distinct(expressions=q.select)]
        return Built(q.build(self.dialect), "list", sorted(q.tables | {q.base}))


def _unknown_names(question: str, parsed: Parsed, links: list[Link]) -> None:
    """A capitalised word the rules could not place is a value the data does not hold (or
    spells differently): say so rather than answer without it."""
    placed = {i for s, e, _ in parsed.value_spans for i in range(s, e)} | parsed.date_words
    placed |= {i for lk in links for i in range(lk.mention.start, lk.mention.end)}
    for i, (text, start, _) in enumerate(tokenize(question)):
        if i in placed or text.lower() in STOP or not text[:1].isupper():
            continue
        if not question[:start].strip() or question[:start].rstrip()[-1] in ".?!:;":
            continue  # the first word of a sentence
        raise Unsure(f"no value {text!r} in the database")
