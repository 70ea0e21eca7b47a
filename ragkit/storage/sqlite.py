"""SQLite helpers every store of ours uses: an ``IN`` list asked in batches, and WAL mode
switched on safely when several processes open a new file at once."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any


def rows_in(
    db: sqlite3.Connection, sql: str, values: Sequence[Any], params: Sequence[Any] = (), size: int = 500
) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sql``, whose ``{marks}`` stands for an ``IN`` list of ``values``, asked
    ``size`` values at a time (SQLite caps the variables of one statement); ``params`` fill the
    statement's other variables, which come before the list."""
    for first in range(0, len(values), size):
        part = list(values[first : first + size])
        yield from db.execute(sql.replace("{marks}", ",".join("?" * len(part))), [*params, *part])


def use_wal(connection: sqlite3.Connection, wait_s: float = 30.0) -> None:
    """Switch to WAL. On a new file that several processes open at once, the switch fails
    with "database is locked" without waiting for the busy timeout: retry it for a while."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
