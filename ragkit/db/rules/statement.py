"""The statement the rules build: the tables joined along foreign keys, the conditions, the
grouping, the order and the limit, as sqlglot expressions written in the database's
dialect; and the names its computed columns get for the person reading the rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from ragkit.db.rules.links import Col, SchemaMap, Value, split_name
from ragkit.db.rules.question import Unsure

_UNCOUNTED = {"staff", "personnel", "equipment", "stock", "inventory", "data", "media", "information"}


@dataclass
class Built:
    """The statement the rules built, and what they read the question as."""

    sql: str
    shape: str
    tables: list[str]


@dataclass
class Query:
    """A statement as it is built: ``base`` is the table its rows come from."""

    schema: SchemaMap
    base: str  # the table the rows come from
    select: list[exp.Expr] = field(default_factory=list)
    where: list[exp.Expr] = field(default_factory=list)
    group: list[exp.Expr] = field(default_factory=list)
    order: exp.Expr | None = None
    desc: bool = True
    limit: int | None = None
    tables: set[str] = field(default_factory=set)

    def need(self, table: str) -> list[tuple[str, str, str, str]]:
        """Join ``table`` in; the steps from the base to it."""
        steps = self.schema.path(self.base, table)
        if steps is None:
            raise Unsure(f"no single way to join {self.base} and {table}")
        self.tables.add(table)
        return steps

    def fans_out(self) -> bool:
        return any(self.schema.many_side(s) for t in self.tables for s in self.schema.path(self.base, t) or [])

    def build(self, dialect: str) -> str:
        query = exp.select(*self.select).from_(table_ref(self.base))
        joined = {self.base}
        for table in sorted(self.tables, key=lambda t: len(self.schema.path(self.base, t) or [])):
            for left, col, right, right_col in self.schema.path(self.base, table) or []:
                if right in joined:
                    continue
                on = exp.EQ(this=qualified(left, col), expression=qualified(right, right_col))
                query = query.join(table_ref(right), on=on)
                joined.add(right)
        for condition in self.where:
            query = query.where(condition)
        if self.group:
            query = query.group_by(*self.group)
        if self.order is not None:
            query = query.order_by(exp.Ordered(this=self.order, desc=self.desc))
        if self.limit is not None:
            query = query.limit(self.limit)
        return query.sql(dialect=dialect)


def table_ref(name: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name, quoted=True))


def qualified(table: str, name: str) -> exp.Column:
    return exp.Column(this=exp.to_identifier(name, quoted=True), table=exp.to_identifier(table, quoted=True))


def col_ref(column: Col) -> exp.Column:
    return qualified(column.table, column.name)


def literal(value: Value) -> exp.Expr:
    if value.raw is not None:  # text stored in a legacy encoding: compared as the bytes it is
        return exp.Cast(this=exp.HexString(this=value.raw.hex()), to=exp.DataType.build("TEXT"))
    return exp.Literal.string(value.value)


def number_literal(value: int | float) -> exp.Expr:
    return exp.Literal.number(value)


def aliased(expression: exp.Expr, name: str) -> exp.Expr:
    """``expression`` named for the person reading the rows ("number of customers")."""
    return exp.Alias(this=expression, alias=exp.to_identifier(name, quoted=True))


def words_of(name: str) -> str:
    return " ".join(split_name(name))


def number_of(table: str) -> str:
    words = split_name(table)
    last = words[-1]
    if not last.endswith("s") and last not in _UNCOUNTED:
        words[-1] = last[:-1] + "ies" if last.endswith("y") and last[-2:-1] not in "aeiou" else last + "s"
    return "number of " + " ".join(words)


def described(expression: exp.Expr) -> str:
    """A measure in words: its column's name ("unit price", "unit price × quantity")."""
    columns = [words_of(c.name) for c in expression.find_all(exp.Column)]
    return " × ".join(columns) if columns else "value"


def with_having(sql: str, having: str, dialect: str) -> str:
    """``sql`` (a grouped SELECT) with the condition ``having`` on its groups."""
    tree = sqlglot.parse_one(sql, read=dialect)
    assert isinstance(tree, exp.Select)
    return tree.having(having, dialect=dialect).sql(dialect=dialect)
