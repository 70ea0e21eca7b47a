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

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from ragkit.databases import DatabaseError, configured
from ragkit.faults import kill_point

PAGE = 500  # rows read at a time
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


def rows_root(home: Path) -> Path:
    return home / "db-rows"


def source_name(path: str, home: Path) -> str | None:
    """``db:NAME/TABLE/ID`` for a row's file, else None."""
    root = str(rows_root(home)) + os.sep
    if not path.startswith(root) or not path.endswith(".txt"):
        return None
    parts = path[len(root) : -4].split(os.sep)
    return f"db:{parts[0]}/{parts[1]}/{unquote(parts[2])}" if len(parts) == 3 else None


@dataclass
class MirrorReport:
    database: str
    rows: int = 0
    written: int = 0
    removed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"database": self.database, "rows": self.rows, "written": self.written, "removed": self.removed}


def _columns_by_table(text_columns: list[str]) -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    for spec in text_columns:
        table, _, column = spec.partition(".")
        if not table or not column:
            raise DatabaseError(f"--text-columns takes table.column names, not {spec!r}")
        tables.setdefault(table, []).append(column)
    return tables


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rows(database: Any, table: str, key: str, columns: list[str]) -> Iterator[tuple[Any, ...]]:
    """Every row's id and text columns, a page at a time, through the guard."""
    last: Any = None
    selected = ", ".join([_quoted(key), *(_quoted(c) for c in columns)])
    while True:
        where = "" if last is None else f" WHERE {_quoted(key)} > {_literal(last)}"
        sql = f"SELECT {selected} FROM {_quoted(table)}{where} ORDER BY {_quoted(key)} LIMIT {PAGE}"
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
    """Bring ``db-rows/NAME`` in step with the database's rows (their text columns)."""
    found = settings.databases.get(name)
    database = configured(settings, name)
    report = MirrorReport(name)
    folder = rows_root(settings.home) / name
    tables = _columns_by_table(found.text_columns if found else [])
    kept: set[Path] = set()
    for table, columns in tables.items():
        key = _key(database, table)
        target = folder / table
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        for row in _rows(database, table, key, columns):
            ident = str(row[0])
            path = target / f"{ident if _SAFE_ID.match(ident) else quote(ident, safe='')}.txt"
            text = f"{table} {ident}\n" + "".join(f"{c}: {v}\n" for c, v in zip(columns, row[1:], strict=True) if v)
            kept.add(path)
            report.rows += 1
            try:
                if path.read_text(encoding="utf-8") == text:
                    continue
            except OSError:
                pass
            partial = path.with_suffix(".tmp")
            partial.write_text(text, encoding="utf-8")
            os.replace(partial, path)  # a reader sees the old row or the new one, never half
            report.written += 1
            kill_point("row-written")
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
