"""What every database kind shares: the caps on a query, the errors, the schema and result
types, reading rows up to the caps, and the tables a database may read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ragkit.core.errors import RagkitError

MAX_ROWS = 1000  # rows a query may return
MAX_BYTES = 2_000_000  # and bytes of values
TIMEOUT_S = 10.0  # and seconds it may run
MAX_VALUE = 64_000_000  # and bytes of any one value it reads or builds (SQLite's SQLITE_LIMIT_LENGTH)


class DatabaseError(RagkitError):
    """A database could not be opened or a query failed; the message says why and what to do."""


class QueryTimeout(DatabaseError):
    """A query ran past its time limit and was stopped."""


@dataclass
class Column:
    name: str
    type: str
    primary_key: bool = False
    references: str = ""  # "table.column" of a foreign key


@dataclass
class Table:
    name: str
    columns: list[Column]
    rows: int | None = None
    samples: dict[str, list[str]] = field(default_factory=dict)  # a few distinct values of text columns
    kind: str = "table"  # or "view"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "rows": self.rows,
            "columns": [
                {"name": c.name, "type": c.type, "primary_key": c.primary_key, "references": c.references or None}
                for c in self.columns
            ],
            "samples": self.samples,
        }


@dataclass
class QueryResult:
    sql: str  # as it ran (after the guard)
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool  # more rows (or bytes) than the caps: the first ones are shown
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "columns": self.columns,
            "rows": [list(r) for r in self.rows],
            "row_count": len(self.rows),
            "truncated": self.truncated,
            "seconds": round(self.seconds, 3),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueryResult:
        rows = [tuple(r) for r in data["rows"]]
        return cls(data["sql"], list(data["columns"]), rows, bool(data.get("truncated")), data.get("seconds", 0.0))


def fetch_capped(cursor: Any, max_rows: int, max_bytes: int) -> tuple[list[str], list[tuple[Any, ...]], bool]:
    """A query's columns and rows, a page at a time, up to ``max_rows`` rows and ``max_bytes``
    of values; and whether there was more."""
    columns = [d[0] for d in cursor.description or []]
    rows: list[tuple[Any, ...]] = []
    size = 0
    while batch := cursor.fetchmany(200):
        for row in batch:
            size += sum(len(str(v)) for v in row)
            if len(rows) >= max_rows or size > max_bytes:
                return columns, rows, True
            rows.append(tuple(row))
    return columns, rows, False


class BaseDatabase:
    """What both kinds share: the tables that may be read, and how a stopped query is said."""

    name: str
    all_tables: set[str]  # every table of the database (lower case)
    tables: set[str]  # those that may be read

    def _table_names(self) -> list[str]:
        raise NotImplementedError

    def _allow(self, tables: Sequence[str]) -> None:
        found = {t.lower(): t for t in self._table_names()}
        unknown = sorted(t for t in tables if t.lower() not in found)
        if unknown:
            raise DatabaseError(
                f"database {self.name}: no table {', '.join(unknown)} (it has: {', '.join(sorted(found))})"
            )
        self.all_tables = set(found)
        self.tables = {t.lower() for t in tables} or set(found)

    def _timed_out(self, timeout_s: float) -> QueryTimeout:
        return QueryTimeout(f"database {self.name}: the query ran past {timeout_s:g} s and was stopped; narrow it down")
