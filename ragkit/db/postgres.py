"""PostgreSQL, read through psycopg 3 (the ``postgres`` extra): the same three layers as a
SQLite file (:mod:`ragkit.db.connections`), the connection's being a READ ONLY transaction
that is rolled back, with the server's own ``statement_timeout``."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from ragkit.db import guard as sqlguard
from ragkit.db.base import (
    MAX_BYTES,
    MAX_ROWS,
    TIMEOUT_S,
    BaseDatabase,
    Column,
    DatabaseError,
    QueryResult,
    Table,
    fetch_capped,
)


class PostgresDatabase(BaseDatabase):
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
            columns, rows, truncated = fetch_capped(db.execute(checked), max_rows, max_bytes)
        except psycopg.errors.QueryCanceled:
            raise self._timed_out(timeout_s) from None
        except psycopg.Error as exc:
            raise DatabaseError(f"database {self.name}: {str(exc).strip()}") from None
        finally:
            db.rollback()
            db.close()
        return QueryResult(checked, columns, rows, truncated, time.perf_counter() - started)
