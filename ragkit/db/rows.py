"""Rows as documents: the text columns of a database's rows, indexed like files.

For a database added with ``--text-columns table.col,…``, each row of those tables becomes a
small text file in the data directory (``db-rows/NAME/TABLE/ID.txt``: the row's id and its
text columns), written only when the row's text changed and removed when the row is gone;
the index then syncs that folder like any other, so rows get every guarantee files have
(incremental, crash-safe at every step, deleted rows removed) and are cited as
``db:NAME/TABLE/ID``. Rows are read through the same guard and read-only connection as any
query, a page at a time by their id (the primary key; SQLite's rowid when there is none).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from ragkit.core import paths
from ragkit.core.faults import kill_point
from ragkit.core.files import write_atomic
from ragkit.db.base import DatabaseError
from ragkit.db.connections import configured, quote_name

PAGE = 500  # rows read at a time
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


def rows_root(home: Path) -> Path:
    return paths.rows_dir(home)


def source_name(path: str, home: Path) -> str | None:
    """``db:NAME/TABLE/ID`` for a row's file, else None."""
    root = str(rows_root(home)) + os.sep
    if not path.startswith(root) or not path.endswith(".txt"):
        return None
    parts = path[len(root) : -4].split(os.sep)
    return f"db:{parts[0]}/{parts[1]}/{unquote(parts[2])}" if len(parts) == 3 else None


def with_sources(data: Any, home: Path) -> Any:
    """``data`` (JSON-like) with ``source`` (db:NAME/TABLE/ID) beside every ``path`` of a row's document."""
    if isinstance(data, list):
        return [with_sources(v, home) for v in data]
    if not isinstance(data, dict):
        return data
    found = {k: with_sources(v, home) for k, v in data.items()}
    path = found.get("path")
    if isinstance(path, str) and "source" not in found:
        named = source_name(path, home)
        if named:
            found["source"] = named
    return found


@dataclass
class MirrorReport:
    database: str
    rows: int = 0  # rows in the tables
    read: int = 0  # rows whose text was read (all of them, but for tables with a cursor)
    written: int = 0
    removed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"database": self.database, "rows": self.rows, "read": self.read, "written": self.written,
                "removed": self.removed}  # fmt: skip


def _columns_by_table(text_columns: list[str]) -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    for spec in text_columns:
        table, _, column = spec.partition(".")
        if not table or not column:
            raise DatabaseError(f"--text-columns takes table.column names, not {spec!r}")
        tables.setdefault(table, []).append(column)
    return tables


def _rows(
    database: Any, table: str, key: str, columns: list[str], since: tuple[str, Any] | None = None
) -> Iterator[tuple[Any, ...]]:
    """Every row's id and ``columns`` (with ``since``, a cursor column and its last value:
    only the rows at or past it, and those without a value), a page at a time, through the guard."""
    last: Any = None
    selected = ", ".join([quote_name(key), *(quote_name(c) for c in columns)])
    newer = ""
    if since is not None:
        column, value = quote_name(since[0]), _literal(since[1])
        newer = f"({column} >= {value} OR {column} IS NULL)"
    while True:
        conditions = [c for c in (newer, "" if last is None else f"{quote_name(key)} > {_literal(last)}") if c]
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        sql = f"SELECT {selected} FROM {quote_name(table)}{where} ORDER BY {quote_name(key)} LIMIT {PAGE}"
        page = database.run(sql, max_rows=PAGE, max_bytes=1 << 40).rows
        yield from page
        if len(page) < PAGE:
            return
        last = page[-1][0]


def _literal(value: Any) -> str:
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _key(database: Any, table: str) -> str:
    schema = {t.name.lower(): t for t in database.schema(samples=0)}
    found = schema.get(table.lower())
    if found is None:
        raise DatabaseError(f"database {database.name}: no readable table {table} for --text-columns")
    keys = [c.name for c in found.columns if c.primary_key]
    if len(keys) == 1:
        return keys[0]
    if database.kind == "sqlite":
        return "rowid"
    raise DatabaseError(
        f"database {database.name}: {table} has no single-column primary key, so its rows have no stable id"
    )


def mirror(settings: Any, name: str) -> MirrorReport:
    """Bring ``db-rows/NAME`` in step with the database's rows (their text columns). A table
    with a cursor column (``--cursor``) has only the rows at or past the last sync's value
    read again; every table has its ids read, so deleted rows are removed."""
    found = settings.databases.get(name)
    database = configured(settings, name)
    report = MirrorReport(name)
    folder = rows_root(settings.home) / name
    tables = _columns_by_table(found.text_columns if found else [])
    cursors = dict(spec.split(".", 1) for spec in (found.cursor_columns if found else []))
    kept: set[Path] = set()
    for table, columns in tables.items():
        key = _key(database, table)
        target = folder / table
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        cursor = cursors.get(table)
        state = _cursor_state(target, cursor)
        if cursor:  # every id, for deletions; the text of the rows changed since
            for (ident,) in _rows(database, table, key, []):
                kept.add(_row_path(target, str(ident)))
                report.rows += 1
        newest: Any = None
        since = (cursor, state) if cursor and state is not None else None
        for row in _rows(database, table, key, [*columns, *([cursor] if cursor else [])], since):
            ident = str(row[0])
            path = _row_path(target, ident)
            values = row[1 : 1 + len(columns)]
            if cursor and row[-1] is not None:
                newest = row[-1] if newest is None or _later(row[-1], newest) else newest
            text = f"{table} {ident}\n" + "".join(f"{c}: {v}\n" for c, v in zip(columns, values, strict=True) if v)
            report.read += 1
            kept.add(path)  # (a row added since its table's ids were read is kept too)
            if not cursor:
                report.rows += 1
            try:
                if path.read_text(encoding="utf-8") == text:
                    continue
            except OSError:
                pass
            write_atomic(path, text, durable=False)  # a reader sees the old row or the new one, never half
            report.written += 1
            kill_point("row-written")
        if cursor and newest is not None:  # recorded once the table's rows are written: a kill re-reads them
            _write_cursor(target, cursor, newest if state is None or _later(newest, state) else state)
    if folder.exists():
        for path in folder.rglob("*.txt"):
            if path not in kept:
                path.unlink()
                report.removed += 1
        for table_dir in folder.iterdir():
            if table_dir.is_dir() and table_dir.name not in tables:
                for leftover in table_dir.rglob("*"):
                    leftover.unlink()
                table_dir.rmdir()
    return report


def _row_path(target: Path, ident: str) -> Path:
    return target / f"{ident if _SAFE_ID.match(ident) else quote(ident, safe='')}.txt"


def _later(a: Any, b: Any) -> bool:
    try:
        return bool(a > b)
    except TypeError:  # values of mixed types (SQLite allows them): compare as text
        return str(a) > str(b)


CURSOR_FILE = ".cursor.json"  # a dot file: the index passes it by


def _cursor_state(target: Path, column: str | None) -> Any:
    """The cursor column's value at the last sync, or None (none yet, or another column)."""
    if not column:
        (target / CURSOR_FILE).unlink(missing_ok=True)
        return None
    try:
        state = json.loads((target / CURSOR_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return state.get("value") if state.get("column") == column else None


def _write_cursor(target: Path, column: str, value: Any) -> None:
    kept = value if isinstance(value, int | float) else str(value)
    write_atomic(target / CURSOR_FILE, json.dumps({"column": column, "value": kept}), durable=False)
