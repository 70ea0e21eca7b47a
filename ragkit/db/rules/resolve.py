"""What the rules resolve in any shape of question: which column a value is of, which number
a question compares, which date bounds it, which measure it adds up or ranks by, and the
tables it names; each either for sure or :class:`Unsure`."""

from __future__ import annotations

import re

from sqlglot import exp

from ragkit.db.rules.links import LENGTH, MONEY, STOP, Col, SchemaMap, Value, related, stems
from ragkit.db.rules.question import Link, Parsed, Unsure
from ragkit.db.rules.statement import Query, col_ref, literal, number_literal, qualified

SALES = frozenset({"spent", "spend", "sales", "revenue", "earned", "earn", "sold", "turnover", "invoiced", "paid"})
UNITS = {"millisecond": 1, "second": 1000, "minute": 60_000, "hour": 3_600_000}
MAX_WORDS = {"highest", "maximum", "max", "largest", "biggest", "greatest", "longest", "latest", "newest", "last",
            "expensive"}  # fmt: skip
MIN_WORDS = {"lowest", "minimum", "min", "smallest", "shortest", "earliest", "oldest", "first", "cheapest"}


class Resolver:
    """The parts of a question every shape uses, resolved against one database's map."""

    def __init__(self, schema: SchemaMap, dialect: str = "sqlite") -> None:
        self.schema = schema
        self.dialect = dialect
        self._every: list[Link] = []  # every link of the question, with those its words name less well

    def _first_table(self, links: list[Link], after: int = 0) -> Link:
        tables = [lk for lk in links if lk.kind == "table" and lk.mention.start >= after]
        if not tables:
            raise Unsure("no table is named")
        first = [lk for lk in tables if lk.mention.start == tables[0].mention.start]
        if len({lk.table for lk in first}) > 1:
            raise Unsure(f"{' '.join(first[0].mention.words)!r} may be any of {', '.join(lk.table for lk in first)}")
        return first[0]

    def _filters(self, q: Query, parsed: Parsed, links: list[Link]) -> None:
        """Values, numbers and dates of the question as conditions on ``q`` (joining what they need)."""
        for start, end, values in parsed.value_spans:
            value = self._which_value(q, start, end, values, links, parsed)
            q.need(value.table)
            q.where.append(exp.EQ(this=qualified(value.table, value.column), expression=literal(value)))
        for number in parsed.numbers:
            if counted_table(number.at, links) is not None:
                continue  # a condition on a count of rows, not on a column: see _having
            column = self._number_column(q, number.at, links)
            q.need(column.table)
            op: type[exp.Binary] = {"=": exp.EQ, "<": exp.LT, ">": exp.GT, "<=": exp.LTE, ">=": exp.GTE}[number.op]
            q.where.append(op(this=col_ref(column), expression=number_literal(number.value)))
        if parsed.dates:
            column = self._date_column(q, links)
            q.need(column.table)
            low, high = parsed.dates
            if low > "0001-01-01":
                q.where.append(exp.GTE(this=col_ref(column), expression=exp.Literal.string(low)))
            if high < "9999-12-31":
                q.where.append(exp.LT(this=col_ref(column), expression=exp.Literal.string(high)))

    def _which_value(
        self, q: Query, start: int, end: int, values: list[Value], links: list[Link], parsed: Parsed
    ) -> Value:
        text = " ".join(parsed.tokens[start:end])
        options = values
        between = {"the", "named", "called", "titled", "a", "an"}
        near = [lk for lk in links if adjacent(parsed.tokens, lk.mention.end, start, between)
                or adjacent(parsed.tokens, end, lk.mention.start, between)]  # fmt: skip
        for lk in sorted(near, key=lambda lk: min(abs(lk.mention.end - start), abs(lk.mention.start - end))):
            named = [v for v in options if v.table == lk.table and (lk.column is None or v.column == lk.column.name)]
            if named:
                options = named
                break
        if len({(v.table, v.column) for v in options}) > 1:
            words = set(parsed.tokens)
            said = [v for v in options if any(related(w) & stems(c) for w in words - STOP
                                              for c in self.schema.column(v.table, v.column).words)]  # fmt: skip
            options = said or options
        if len({(v.table, v.column) for v in options}) > 1:
            ours = [v for v in options if v.table == q.base]
            options = ours or options
        places = sorted({f"{v.table}.{v.column}" for v in options})
        if len(places) != 1:
            where = ", ".join(sorted({f"{v.table}.{v.column}" for v in values}))
            raise Unsure(f"{text!r} is a value of {where}: the rules cannot tell which is meant")
        exact = [v for v in options if v.value in " ".join(parsed.tokens)] or options
        return exact[0]

    def _number_column(self, q: Query, at: int, links: list[Link]) -> Col:
        after = [lk for lk in links if lk.column is not None and lk.column.numeric and lk.mention.start == at + 1]
        if after:  # "3 bedrooms"
            return after[0].column  # type: ignore[return-value]
        before = [lk for lk in links if lk.column is not None and lk.column.numeric and at - 4 <= lk.mention.end <= at]
        if before:  # "a total over 10"
            return before[-1].column  # type: ignore[return-value]
        money = self._measures(q.base, MONEY)
        if len(money) == 1:
            return money[0]
        raise Unsure("a number is compared, but the rules cannot tell with which column")

    def _date_column(self, q: Query, links: list[Link]) -> Col:
        named = [lk.column for lk in links if lk.column is not None and lk.column.date]
        ours = [c for c in named if c is not None and (c.table == q.base or c.table in q.tables)]
        if len(ours) == 1:
            return ours[0]  # type: ignore[return-value]
        for table in self._by_distance(q.base):
            if any(self.schema.many_side(s) for s in self.schema.path(q.base, table) or []):
                continue
            dates = [c for c in self.schema.tables[table] if c.date]
            if len(dates) == 1:
                return dates[0]
            if len(dates) > 1:
                raise Unsure(f"{table} has several dates ({', '.join(c.name for c in dates)}): say which")
        raise Unsure("a date is named, but no table of the question has a date column")

    def _by_distance(self, table: str) -> list[str]:
        """The tables joined to ``table`` (itself first), nearest first."""
        paths = {t: self.schema.path(table, t) for t in self.schema.tables}
        return sorted((t for t, p in paths.items() if p is not None), key=lambda t: (len(paths[t] or []), t))

    def _measures(self, table: str, kind: frozenset[str]) -> list[Col]:
        return [c for c in self.schema.tables[table] if c.numeric and any(related(w) & kind for w in c.words)]

    def _measure(self, table: str, parsed: Parsed, links: list[Link], words: set[str]) -> tuple[exp.Expr, str]:
        """The number a question ranks or adds up, near ``table``: a numeric column it names,
        else one its adjective implies (money, length), from the closest table that has one."""
        named = [lk.column for lk in links if lk.column is not None and lk.column.numeric
                 and not any(map(self.schema.many_side, reverse(self.schema.path(table, lk.table))))]  # fmt: skip
        if named:
            column = named[-1]
            assert column is not None
            return self._in_units(col_ref(column), column, parsed), column.table
        kind = LENGTH if words & {"longest", "shortest", "length", "long", "duration"} else MONEY
        sales = bool(words & SALES)
        for other in self._by_distance(table):
            if not all(map(self.schema.many_side, self.schema.path(table, other) or [])):
                continue  # what is added up for a row is in the rows that refer to it, never in those it refers to
            found = self._measures(other, kind)
            quantity = [c for c in self.schema.tables[other] if c.numeric and "quantity" in related(c.words[-1])]
            if sales and quantity and found:
                price = [c for c in found if c not in quantity]
                if len(price) == 1 and len(quantity) == 1:
                    return exp.Mul(this=col_ref(price[0]), expression=col_ref(quantity[0])), other
            if sales and not any(c.date for c in self.schema.tables[other]):
                continue  # what was spent is read from the table of sales, which has their dates
            if len(found) == 1:
                return self._in_units(col_ref(found[0]), found[0], parsed), other
            if len(found) > 1:
                raise Unsure(f"{other} has several such numbers ({', '.join(c.name for c in found)}): say which")
        raise Unsure("the rules cannot tell which number is meant")

    def _in_units(self, expression: exp.Expr, column: Col, parsed: Parsed) -> exp.Expr:
        have = next((u for u in UNITS if u in {s for w in column.words for s in stems(w)}), None)
        asked = re.search(r"\bin (milliseconds|seconds|minutes|hours)\b", " ".join(parsed.tokens))
        if have and asked and asked.group(1)[:-1] != have:
            factor = UNITS[asked.group(1)[:-1]] / UNITS[have]
            expression = exp.Div(this=expression, expression=exp.Literal.number(f"{float(factor)}"))
        return expression


def counted_table(at: int, links: list[Link]) -> Link | None:
    """The table a number counts rows of ("more than one customer"), if it is followed by one."""
    return next((lk for lk in links if lk.kind == "table" and lk.mention.start == at + 1), None)


def reverse(path: list[tuple[str, str, str, str]] | None) -> list[tuple[str, str, str, str]]:
    """The steps of ``path`` walked back (from its end to its start)."""
    return [(b, bc, a, ac) for a, ac, b, bc in reversed(path or [])]


def adjacent(tokens: list[str], end: int, start: int, between: set[str]) -> bool:
    """Whether the words from ``end`` to ``start`` are only a few connecting ones."""
    return 0 <= start - end <= 2 and all(t in between for t in tokens[end:start])
