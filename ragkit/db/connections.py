"""Office databases: read-only connections, their schema, and guarded queries.

Three layers stand between a statement and a person's data, each enough on its own for
what it covers:

1. the connection cannot write: SQLite is opened ``mode=ro`` with ``PRAGMA query_only`` and
   an authorizer that allows reading the allowed tables and nothing else (no ATTACH, no
   PRAGMA, no writes, no other tables); PostgreSQL runs each query in a ``READ ONLY``
   transaction that is rolled back;
2. the statement is parsed and checked (:mod:`ragkit.db.guard`);
3. what it may cost is capped: a LIMIT, rows fetched in pages up to the cap, a byte cap,
   and a time limit (SQLite's progress handler; PostgreSQL's ``statement_timeout``).

Passwords are never written to the config: a PostgreSQL URL names an environment variable
that holds it (``--password-env``).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ragkit.core.errors import RagkitError
from ragkit.db import guard as sqlguard

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

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
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


def kind_of(url: str) -> str:
    scheme = urlsplit(url).scheme.split("+")[0]
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise DatabaseError(f"{url!r}: ragkit reads sqlite:///PATH and postgresql://USER@HOST:PORT/NAME databases")


def check_url(url: str) -> str:
    """The URL as it may be stored in the config: its kind known, no password in it."""
    kind = kind_of(url)
    parts = urlsplit(url)
    if kind == "postgresql" and parts.password:
        raise DatabaseError(
            "the URL holds a password, which would be stored in plain text: leave it out and name an environment"
            " variable that holds it (--password-env VAR)"
        )
    if kind == "sqlite" and not sqlite_path(url).is_absolute():
        raise DatabaseError(f"{url!r}: give the SQLite file's absolute path (sqlite:////abs/path.db)")
    return url


def sqlite_path(url: str) -> Path:
    return Path(url.split("://", 1)[1][1:] if url.startswith("sqlite:///") else url.split("://", 1)[1])


def _fetch(cursor: Any, max_rows: int, max_bytes: int) -> tuple[list[str], list[tuple[Any, ...]], bool]:
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


class _Database:
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


class SqliteDatabase(_Database):
    """A SQLite file opened read-only. ``tables``: those that may be read (lower case; empty:
    every table of the file)."""

    kind = "sqlite"

    def __init__(self, name: str, url: str, tables: Sequence[str] = ()) -> None:
        self.name = name
        self.path = sqlite_path(url)
        if not self.path.is_file():
            raise DatabaseError(f"database {name}: no SQLite file at {self.path}")
        self._allow(tables)

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5, check_same_thread=False)
            db.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            raise DatabaseError(f"database {self.name}: cannot open {self.path} read-only ({exc})") from exc
        return db

    def _table_names(self) -> list[str]:
        db = self._connect()
        try:
            rows = db.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
            )
            return [r[0] for r in rows]
        except sqlite3.Error as exc:
            raise DatabaseError(f"database {self.name}: {self.path} is not a readable SQLite database ({exc})") from exc
        finally:
            db.close()

    def schema(self, samples: int = 3) -> list[Table]:
        """The allowed tables: columns, keys, row counts, a few values of each text column."""
        db = self._connect()
        try:
            tables = []
            for name in sorted(t for t in self._table_names() if t.lower() in self.tables):
                quoted = '"' + name.replace('"', '""') + '"'
                keys = {row[3]: f"{row[2]}.{row[4]}" for row in db.execute(f"PRAGMA foreign_key_list({quoted})")}
                columns = [
                    Column(row[1], row[2] or "", bool(row[5]), keys.get(row[1], ""))
                    for row in db.execute(f"PRAGMA table_info({quoted})")
                ]
                (count,) = db.execute(f"SELECT count(*) FROM {quoted}").fetchone()
                values = {}
                for c in columns:
                    if "char" in c.type.lower() or "text" in c.type.lower():
                        column = '"' + c.name.replace('"', '""') + '"'
                        found = db.execute(
                            f"SELECT DISTINCT {column} FROM {quoted} WHERE {column} IS NOT NULL LIMIT ?", (samples,)
                        )  # fmt: skip
                        values[c.name] = [str(v[0])[:60] for v in found]
                tables.append(Table(name, columns, count, values))
            return tables
        finally:
            db.close()

    def run(
        self, sql: str, max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES, timeout_s: float = TIMEOUT_S
    ) -> QueryResult:
        """``sql`` through the guard, then on a read-only connection with the caps."""
        # one row more than the cap is asked for: it tells whether there were more
        checked = sqlguard.check(sql, self.kind, self.tables, max_rows + 1, self.all_tables)
        db = self._connect()
        # its own WITH queries are read like tables; never under the name of a real one
        # (and never under the name of SQLite's own tables: WITH sqlite_master AS (…) … FROM main.sqlite_master
        # would read every table's CREATE statement)
        ctes = {n for n in sqlguard.cte_names(checked, self.kind) - self.all_tables if not n.startswith("sqlite_")}
        allowed = self.tables | ctes

        def authorize(action: int, first: str | None, second: str | None, _db: str | None, _src: str | None) -> int:
            if action == sqlite3.SQLITE_READ:
                table = (first or "").lower()
                return (
                    sqlite3.SQLITE_OK if table in allowed and not table.startswith("sqlite_") else sqlite3.SQLITE_DENY
                )
            if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE):
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY  # writes, ATTACH, PRAGMA, transactions, schema changes

        deadline = time.monotonic() + timeout_s
        db.set_authorizer(authorize)
        db.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        # no value a query builds (printf('%.*c', 900000000, 'x'), zeroblob, replace) may pass
        # MAX_VALUE: one function call would otherwise take gigabytes within the time cap
        db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE)
        started = time.perf_counter()
        try:
            columns, rows, truncated = _fetch(db.execute(checked), max_rows, max_bytes)
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise self._timed_out(timeout_s) from None
            raise DatabaseError(f"database {self.name}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"database {self.name}: {exc}") from None
        finally:
            db.close()
        return QueryResult(checked, columns, rows, truncated, time.perf_counter() - started)


class PostgresDatabase(_Database):
    """A PostgreSQL database read through psycopg 3: every query in a READ ONLY transaction
    with a ``statement_timeout``, rolled back. ``tables``: those of the ``public`` schema
    that may be read (lower case; empty: all of them). For a barrier the server enforces
    too, connect as a role that may only SELECT (docs/deploy.md)."""

    kind = "postgresql"

    def __init__(self, name: str, url: str, tables: Sequence[str] = (), password_env: str | None = None) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise DatabaseError("PostgreSQL needs psycopg: pip install 'ragkit[postgres]'") from None
        self.name, self.url = name, url
        self.password = None
        if password_env:
            self.password = os.environ.get(password_env)
            if self.password is None:
                raise DatabaseError(
                    f"database {name}: the environment variable {password_env} (its password) is not set"
                )
        self._allow(tables)

    def _connect(self) -> Any:
        import psycopg

        try:
            db = psycopg.connect(self.url, password=self.password, connect_timeout=10, autocommit=False)
        except psycopg.Error as exc:
            raise DatabaseError(f"database {self.name}: cannot connect ({str(exc).strip()})") from exc
        db.read_only = True
        return db

    def _table_names(self) -> list[str]:
        db = self._connect()
        try:
            rows = db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                " AND table_type IN ('BASE TABLE', 'VIEW')"
            )
            return [r[0] for r in rows]
        finally:
            db.rollback()
            db.close()

    def schema(self, samples: int = 3) -> list[Table]:
        from psycopg import sql as q

        db = self._connect()
        try:
            keys = {
                (r[0], r[1]): f"{r[2]}.{r[3]}"
                for r in db.execute(
                    "SELECT kcu.table_name, kcu.column_name, ccu.table_name, ccu.column_name"
                    " FROM information_schema.table_constraints tc"
                    " JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name"
                    " JOIN information_schema.constraint_column_usage ccu ON tc.constraint_name = ccu.constraint_name"
                    " WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = 'public'"
                )
            }
            primary = {
                (r[0], r[1])
                for r in db.execute(
                    "SELECT kcu.table_name, kcu.column_name FROM information_schema.table_constraints tc"
                    " JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name"
                    " WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = 'public'"
                )
            }
            tables = []
            for name in sorted(t for t in self._table_names() if t.lower() in self.tables):
                columns = [
                    Column(r[0], r[1], (name, r[0]) in primary, keys.get((name, r[0]), ""))
                    for r in db.execute(
                        "SELECT column_name, data_type FROM information_schema.columns"
                        " WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
                        (name,),
                    )
                ]
                table = q.Identifier("public", name)
                (count,) = db.execute(q.SQL("SELECT count(*) FROM {}").format(table)).fetchone() or (0,)
                values = {}
                for c in columns:
                    if "char" in c.type or c.type == "text":
                        column = q.Identifier(c.name)
                        distinct = q.SQL("SELECT DISTINCT {} FROM {} WHERE {} IS NOT NULL LIMIT %s")
                        found = db.execute(distinct.format(column, table, column), (samples,))
                        values[c.name] = [str(v[0])[:60] for v in found]
                tables.append(Table(name, columns, count, values))
            return tables
        finally:
            db.rollback()
            db.close()

    def run(
        self, sql: str, max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES, timeout_s: float = TIMEOUT_S
    ) -> QueryResult:
        import psycopg

        checked = sqlguard.check(sql, self.kind, self.tables, max_rows + 1, self.all_tables)
        db = self._connect()
        started = time.perf_counter()
        try:
            db.execute("SET LOCAL statement_timeout = %s" % int(timeout_s * 1000))  # noqa: UP031 (an int)
            db.execute("SET LOCAL search_path = public")
            columns, rows, truncated = _fetch(db.execute(checked), max_rows, max_bytes)
        except psycopg.errors.QueryCanceled:
            raise self._timed_out(timeout_s) from None
        except psycopg.Error as exc:
            raise DatabaseError(f"database {self.name}: {str(exc).strip()}") from None
        finally:
            db.rollback()
            db.close()
        return QueryResult(checked, columns, rows, truncated, time.perf_counter() - started)


def open_database(name: str, url: str, tables: Sequence[str] = (), password_env: str | None = None) -> Any:
    if kind_of(url) == "sqlite":
        return SqliteDatabase(name, url, tables)
    return PostgresDatabase(name, url, tables, password_env)


def configured(settings: Any, name: str) -> Any:
    """The database ``name`` of the settings, opened."""
    found = settings.databases.get(name)
    if found is None:
        known = ", ".join(sorted(settings.databases)) or "none"
        raise DatabaseError(f"no database is named {name!r} (databases: {known}; add one with: ragkit db add NAME URL)")
    return open_database(name, found.url, found.tables, found.password_env)
