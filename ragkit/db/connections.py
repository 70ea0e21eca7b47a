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

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ragkit.db import guard as sqlguard
from ragkit.db.base import (
    MAX_BYTES,
    MAX_ROWS,
    MAX_VALUE,
    TIMEOUT_S,
    BaseDatabase,
    Column,
    DatabaseError,
    QueryResult,
    Table,
    fetch_capped,
)
from ragkit.db.postgres import PostgresDatabase
from ragkit.db.text import TextDecoder

SCAN = 5_000  # values of each text column the schema reads to find text that is not UTF-8


def quote_name(name: str) -> str:
    """A table or column name quoted for SQL, whatever it holds (spaces, quotes, reserved words)."""
    return '"' + name.replace('"', '""') + '"'


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


class SqliteDatabase(BaseDatabase):
    """A SQLite file opened read-only. ``tables``: those that may be read (lower case; empty:
    every table of the file)."""

    kind = "sqlite"

    def __init__(self, name: str, url: str, tables: Sequence[str] = (), encoding: str | None = None) -> None:
        self.name = name
        self.text = TextDecoder(encoding, self._legacy_sample)  # UTF-8, else the database's own encoding
        self.path = sqlite_path(url)
        if not self.path.is_file():
            raise DatabaseError(f"database {name}: no SQLite file at {self.path}")
        self._allow(tables)

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5, check_same_thread=False)
            db.execute("PRAGMA query_only = ON")
            db.text_factory = self.text
        except sqlite3.Error as exc:
            raise DatabaseError(f"database {self.name}: cannot open {self.path} read-only ({exc})") from exc
        return db

    def _objects(self) -> dict[str, str]:
        """Every table and view of the file: name → "table" or "view"."""
        db = self._connect()
        try:
            rows = db.execute(
                "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
            )
            return dict(rows.fetchall())
        except sqlite3.Error as exc:
            raise DatabaseError(f"database {self.name}: {self.path} is not a readable SQLite database ({exc})") from exc
        finally:
            db.close()

    def _table_names(self) -> list[str]:
        return list(self._objects())

    def schema(self, samples: int = 3) -> list[Table]:
        """The allowed tables and views: columns, keys, row counts, a few values of each text
        column (their text read as :class:`TextDecoder` says; :meth:`note` tells how)."""
        objects = self._objects()
        db = self._connect()
        try:
            return [self._table(db, name, objects[name], samples) for name in sorted(objects)
                    if name.lower() in self.tables]  # fmt: skip
        except sqlite3.Error as exc:
            raise DatabaseError(f"database {self.name}: its schema cannot be read ({exc})") from exc
        finally:
            db.close()

    def _table(self, db: sqlite3.Connection, name: str, kind: str, samples: int) -> Table:
        quoted = quote_name(name)
        keys = {row[3]: f"{row[2]}.{row[4]}" for row in db.execute(f"PRAGMA foreign_key_list({quoted})")}
        columns = [
            Column(row[1], row[2] or "", bool(row[5]), keys.get(row[1], ""))
            for row in db.execute(f"PRAGMA table_info({quoted})")
        ]
        (count,) = db.execute(f"SELECT count(*) FROM {quoted}").fetchone()
        values = {}
        for c in columns:
            if samples and ("char" in c.type.lower() or "text" in c.type.lower()):
                column = quote_name(c.name)
                found = db.execute(f"SELECT DISTINCT {column} FROM {quoted} WHERE {column} IS NOT NULL LIMIT ?",
                                   (samples,)).fetchall()  # fmt: skip
                values[c.name] = [str(v[0])[:60] for v in found]
                # the first values of the column read too: text that is not UTF-8 shows in the note
                db.execute(f"SELECT {column} FROM {quoted} WHERE {column} IS NOT NULL LIMIT ?", (SCAN,)).fetchall()
        return Table(name, columns, count, values, kind)

    def note(self) -> str:
        """What a person should know of how this database's text is read ("" if nothing)."""
        return self.text.note(self.name)

    def _legacy_sample(self, limit: int = 64_000) -> bytes:
        """Text values of the database that are not UTF-8, joined by newlines (up to ``limit``
        bytes), read as bytes on a connection of their own."""
        found: list[bytes] = []
        size = 0
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
        try:
            for table in self._table_names():
                quoted = quote_name(table)
                for column in [row[1] for row in db.execute(f"PRAGMA table_info({quoted})")]:
                    name = quote_name(column)
                    for (raw,) in db.execute(f"SELECT CAST({name} AS BLOB) FROM {quoted} WHERE typeof({name}) = 'text'"
                                             f" LIMIT {SCAN}"):  # fmt: skip
                        try:
                            raw.decode("utf-8")
                        except UnicodeDecodeError:
                            found.append(raw)
                            size += len(raw) + 1
                            if size >= limit:
                                return b"\n".join(found)
        except sqlite3.Error:
            pass  # what was read so far decides; the query that met the value reports any damage
        finally:
            db.close()
        return b"\n".join(found)

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
            columns, rows, truncated = fetch_capped(db.execute(checked), max_rows, max_bytes)
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise self._timed_out(timeout_s) from None
            raise DatabaseError(f"database {self.name}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"database {self.name}: {exc}") from None
        finally:
            db.close()
        return QueryResult(checked, columns, rows, truncated, time.perf_counter() - started)


def open_database(
    name: str, url: str, tables: Sequence[str] = (), password_env: str | None = None, encoding: str | None = None
) -> Any:
    """The database at ``url``, opened read-only (or a clear error naming it)."""
    if kind_of(url) == "sqlite":
        return SqliteDatabase(name, url, tables, encoding)
    return PostgresDatabase(name, url, tables, password_env)


def configured(settings: Any, name: str) -> Any:
    """The database ``name`` of the settings, opened."""
    found = settings.databases.get(name)
    if found is None:
        known = ", ".join(sorted(settings.databases)) or "none"
        raise DatabaseError(f"no database is named {name!r} (databases: {known}; add one with: ragkit db add NAME URL)")
    return open_database(name, found.url, found.tables, found.password_env, found.encoding)
