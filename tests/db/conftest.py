"""Fixtures of the database tests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragkit.db.connections import SqliteDatabase
from tests.conftest import shared_data


@pytest.fixture(scope="module")
def chinook() -> Iterator[SqliteDatabase]:
    """The shared Chinook database, read-only: its file is unchanged after the module's tests."""
    path = shared_data("chinook", "Chinook_Sqlite.sqlite")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    yield SqliteDatabase("chinook", f"sqlite:///{path}")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the database file changed"
    assert not Path(str(path) + "-journal").exists() and not Path(str(path) + "-wal").exists()
