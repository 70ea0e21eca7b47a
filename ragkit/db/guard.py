"""The SQL guard: what may run on a person's database, decided by parsing it (sqlglot).

This is the second of three layers (the first is a read-only connection, the third the
caps on rows, bytes and time in :mod:`ragkit.db.connections`). A statement passes only if it
parses, is exactly one statement, is a query (SELECT, a set operation of them, VALUES,
WITH … SELECT) with nothing inside that writes or locks (``INTO``, ``FOR UPDATE``, a
data-modifying CTE), names only allowed tables (and its own CTEs), and calls only functions
on an allow-list: anything unknown is refused, so ``pg_read_file``, ``dblink``, ``lo_*``,
``load_extension``, ``readfile`` and their like never run. The query comes back rewritten
with a LIMIT no larger than the row cap.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ragkit.core.errors import RagkitError

DIALECTS = {"sqlite": "sqlite", "postgresql": "postgres"}

# statements and clauses that write, lock, change the session or reach outside the database
_FORBIDDEN = tuple(
    getattr(exp, name)
    for name in (
        "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "TruncateTable", "Command",
        "Pragma", "Copy", "Set", "Transaction", "Commit", "Rollback", "Into", "Lock", "Use", "LoadData",
        "Attach", "Detach", "Analyze", "Grant", "Revoke", "Kill", "Cache", "Uncache", "Refresh", "Describe",
        "Show", "Declare", "Execute", "Comment",
    )
    if hasattr(exp, name)
)  # fmt: skip

# functions a question about the data needs: aggregates, text, numbers, dates, conditionals.
# sqlglot turns known functions into classes (by these names) and leaves others "Anonymous".
ALLOWED_FUNCTIONS = frozenset(
    {
        # aggregates
        "Count", "Sum", "Avg", "Min", "Max", "GroupConcat", "ArrayAgg", "StringAgg", "Stddev", "StddevPop",
        "StddevSamp", "Variance", "VariancePop", "CountIf", "Median", "ApproxDistinct",
        # text
        "Lower", "Upper", "Length", "Substring", "Trim", "Concat", "ConcatWs", "Replace", "StrPosition",
        "Left", "Right", "Initcap", "Lpad", "Rpad", "Reverse", "Repeat", "Split", "SplitPart", "RegexpLike",
        "Unicode", "Chr", "Ascii",
        # numbers
        "Abs", "Round", "Floor", "Ceil", "Sqrt", "Pow", "Exp", "Ln", "Log", "Sign", "Mod", "Greatest", "Least",
        # dates
        "TimeToStr", "StrToTime", "StrToDate", "TsOrDsToTimestamp", "TsOrDsToDate", "Date", "DateAdd", "DateSub",
        "DateDiff", "DateTrunc", "TimestampTrunc", "Extract", "CurrentDate", "CurrentTimestamp", "CurrentTime",
        "UnixToTime", "TimeToUnix", "Year", "Month", "Day", "DayOfWeek", "DayOfYear", "Quarter", "Week",
        "ToChar", "Datetime", "TimeStrToTime", "TimeStrToDate", "DateStrToDate", "Timestamp", "TsOrDsAdd",
        # conditionals and conversions
        "Coalesce", "Nullif", "If", "Case", "Cast", "TryCast", "Typeof",
        # window functions over the rows read
        "RowNumber", "Rank", "DenseRank", "PercentRank", "CumeDist", "Ntile", "Lag", "Lead", "FirstValue",
        "LastValue", "NthValue",
    }
)  # fmt: skip
ALLOWED_ANONYMOUS = frozenset(
    {
        "strftime", "julianday", "date", "datetime", "time", "substr", "instr", "ifnull", "iif", "printf",
        "format", "total", "char", "hex", "glob", "like", "ltrim", "rtrim", "likelihood", "to_char", "date_part",
        "age", "string_agg", "array_agg", "position", "strpos", "char_length", "character_length", "btrim",
        "make_date", "to_date", "to_timestamp", "justify_days", "nullif", "sign", "trunc", "round", "ceiling",
        "power", "isfinite", "unixepoch",
    }
)  # fmt: skip


class SqlRefused(RagkitError):
    """The guard refused a statement; the message says why."""


def dialect_of(kind: str) -> str:
    return DIALECTS[kind]


def check(sql: str, kind: str, tables: Collection[str], max_rows: int, others: Collection[str] = ()) -> str:
    """``sql`` as it may run on a database of ``kind`` ("sqlite" or "postgresql") whose
    readable tables are ``tables`` (lower case), with its LIMIT at most ``max_rows``; or
    :class:`SqlRefused` saying what is not allowed. ``others``: the database's other tables
    (a CTE may not take one's name, where a reference to it would reach the real table)."""
    dialect = dialect_of(kind)
    quiet = logging.getLogger("sqlglot")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its "falling back to a Command" warnings: the refusal says it
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except SqlglotError as exc:
        raise SqlRefused(f"the SQL does not parse, so it is not run ({str(exc).splitlines()[0]})") from None
    finally:
        quiet.setLevel(level)
    if len(statements) != 1:
        raise SqlRefused(f"exactly one statement may run; this is {len(statements)}")
    (tree,) = statements
    if not isinstance(tree, exp.Select | exp.SetOperation | exp.Values):
        raise SqlRefused(f"only queries may run (SELECT, UNION, VALUES, WITH … SELECT), not {_what(tree)}")
    own = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    shadowing = sorted(own & {t.lower() for t in others} - set(tables))
    if shadowing:
        raise SqlRefused(f"a WITH query may not be named like the table {shadowing[0]}, which may not be read")
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN):
            raise SqlRefused(f"{_what(node)} is not allowed: only reading is")
        if isinstance(node, exp.Func) and not isinstance(node, exp.Anonymous | exp.Cast | exp.Case | exp.Connector):
            name = type(node).__name__
            if name not in ALLOWED_FUNCTIONS:
                raise SqlRefused(f"the function {node.sql_name() or name} is not allowed in a question's SQL")
        elif isinstance(node, exp.Anonymous):
            name = str(node.name).lower()
            if name not in ALLOWED_ANONYMOUS:
                raise SqlRefused(f"the function {name} is not allowed in a question's SQL")
        elif isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            name = node.name.lower()
            if node.args.get("catalog") or (node.db and node.db.lower() not in ("main", "public")):
                raise SqlRefused(f"{node.sql(dialect)}: only the database's own tables may be read")
            if name not in own and name not in tables:
                allowed = ", ".join(sorted(tables)) or "none"
                raise SqlRefused(f"the table {node.name} is not one that may be read (allowed: {allowed})")
        elif isinstance(node, exp.Table) and node.this is not None and not isinstance(node.this, exp.Identifier):
            raise SqlRefused(f"{node.sql(dialect)}: only tables may be read from, not functions")
    return _limited(tree, max_rows, dialect)


def cte_names(sql: str, kind: str) -> set[str]:
    """The names of the WITH queries of ``sql`` (lower case)."""
    try:
        trees = sqlglot.parse(sql, read=dialect_of(kind))
    except SqlglotError:
        return set()
    return {cte.alias_or_name.lower() for tree in trees if tree for cte in tree.find_all(exp.CTE)}


def _limited(tree: exp.Expression, max_rows: int, dialect: str) -> str:
    """``tree`` as SQL with a LIMIT no larger than ``max_rows``."""
    if isinstance(tree, exp.Select):
        limit = tree.args.get("limit")
        value = limit.expression if isinstance(limit, exp.Limit) else None
        if isinstance(value, exp.Literal) and not value.is_string and int(value.this) <= max_rows:
            return tree.sql(dialect)
        if limit is None:
            return tree.limit(max_rows).sql(dialect)
    return f"SELECT * FROM ({tree.sql(dialect)}) AS limited LIMIT {int(max_rows)}"


def _what(node: Any) -> str:
    if isinstance(node, exp.Command):
        return f"the command {str(node.this).upper()}"
    if isinstance(node, exp.Into):
        return "SELECT … INTO"
    if isinstance(node, exp.Lock):
        return "a locking clause (FOR UPDATE/SHARE)"
    return type(node).__name__.upper()
