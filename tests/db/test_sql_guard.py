"""Guarded SQL on the real Chinook database (read in place): hostile statements are refused
or stopped, each layer holds on its own, honest queries run with their caps, and the
database file is byte for byte the same afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragkit.db import guard as sqlguard
from ragkit.db.base import DatabaseError, QueryTimeout
from ragkit.db.connections import SqliteDatabase, check_url
from ragkit.db.guard import SqlRefused
from tests.conftest import shared_data
from tests.helpers.cli import ragkit
from tests.helpers.sql import HOSTILE

TOO_COSTLY = [  # valid reads, stopped by the time limit
    "SELECT count(*) FROM Track a, Track b, Track c",
    # (+ 0: on c.GenreId itself SQLite searches Genre's rowid range, and the whole read takes
    # about 0.45 s on an idle machine, under the limit; this way it compares 125 M rows, 5 s)
    "SELECT count(*) FROM InvoiceLine a CROSS JOIN InvoiceLine b CROSS JOIN Genre c"
    " WHERE a.Quantity + b.Quantity > c.GenreId + 0",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
]


@pytest.mark.parametrize("sql", HOSTILE)
def test_hostile_statements_are_refused(chinook: SqliteDatabase, sql: str) -> None:
    with pytest.raises(SqlRefused) as refused:
        chinook.run(sql)
    assert str(refused.value)  # a reason, not an empty error


@pytest.mark.parametrize("sql", TOO_COSTLY)
def test_costly_reads_are_stopped_by_the_time_limit(chinook: SqliteDatabase, sql: str) -> None:
    with pytest.raises(QueryTimeout, match="was stopped"):
        chinook.run(sql, timeout_s=0.5)


def test_the_read_only_connection_holds_without_the_guard(
    chinook: SqliteDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Layer 1 alone: with the parse check turned off, writes, ATTACH, PRAGMA and other
    tables still fail on the connection itself."""
    monkeypatch.setattr(sqlguard, "check", lambda sql, *_: sql)
    limited = SqliteDatabase("chinook", f"sqlite:///{chinook.path}", ["Track"])
    monkeypatch.setattr(limited, "tables", {"track"})
    for sql in [
        "DELETE FROM Invoice", "UPDATE Track SET Name = 'x'", "DROP TABLE Track", "CREATE TABLE x (y)",
        f"ATTACH DATABASE '{tmp_path}/stolen.db' AS stolen", "PRAGMA query_only = OFF", "SELECT * FROM Customer",
        "SELECT * FROM sqlite_master", f"VACUUM INTO '{tmp_path}/copy.db'",
    ]:  # fmt: skip
        with pytest.raises(DatabaseError):
            limited.run(sql)
    assert not (tmp_path / "stolen.db").exists() and not (tmp_path / "copy.db").exists()  # no file made
    assert limited.run("SELECT count(*) FROM Track").rows == [(3503,)]


def test_honest_queries_run_with_their_caps(chinook: SqliteDatabase) -> None:
    top = chinook.run(
        "SELECT BillingCountry, count(*) AS n FROM Invoice GROUP BY BillingCountry ORDER BY n DESC, 1 LIMIT 3"
    )
    assert top.columns == ["BillingCountry", "n"] and top.rows == [("USA", 91), ("Canada", 56), ("Brazil", 35)]
    assert not top.truncated
    capped = chinook.run("SELECT TrackId FROM Track", max_rows=50)
    assert len(capped.rows) == 50 and capped.truncated and "LIMIT 51" in capped.sql  # 51: were there more?
    assert not chinook.run("SELECT TrackId FROM Track LIMIT 50", max_rows=50).truncated
    lowered = chinook.run("SELECT TrackId FROM Track LIMIT 100000", max_rows=10)
    assert len(lowered.rows) == 10
    small = chinook.run("SELECT Name FROM Track", max_bytes=200)
    assert small.truncated and sum(len(r[0]) for r in small.rows) <= 200
    joined = chinook.run(
        "WITH a AS (SELECT ArtistId FROM Artist WHERE Name = 'AC/DC')"
        " SELECT count(*) FROM Album JOIN a USING (ArtistId)"
    )
    assert joined.rows == [(2,)]
    assert chinook.run("SELECT 1 UNION SELECT 2").rows == [(1,), (2,)]


def test_only_the_allowed_tables_are_read(chinook: SqliteDatabase) -> None:
    limited = SqliteDatabase("chinook", f"sqlite:///{chinook.path}", ["Album", "artist"])
    assert limited.run("SELECT count(*) FROM Album JOIN Artist USING (ArtistId)").rows == [(347,)]
    with pytest.raises(SqlRefused, match="Customer"):
        limited.run("SELECT Email FROM Customer")
    with pytest.raises(SqlRefused, match="customer"):  # a WITH query named like a forbidden table
        limited.run("WITH Customer AS (SELECT * FROM Customer) SELECT Email FROM Customer")
    assert limited.run("WITH a AS (SELECT ArtistId FROM Album) SELECT count(*) FROM a").rows == [(347,)]
    assert {t.name for t in limited.schema()} == {"Album", "Artist"}
    with pytest.raises(DatabaseError, match="no table Nope"):
        SqliteDatabase("chinook", f"sqlite:///{chinook.path}", ["Nope"])


def test_urls_that_would_leak_or_mislead_are_refused() -> None:
    with pytest.raises(DatabaseError, match="--password-env"):
        check_url("postgresql://me:secret@127.0.0.1:5432/office")
    with pytest.raises(DatabaseError, match="absolute path"):
        check_url("sqlite:///relative.db")
    with pytest.raises(DatabaseError, match="sqlite"):
        check_url("mysql://me@host/db")


def test_the_db_commands(tmp_path: Path) -> None:
    path = shared_data("chinook", "Chinook_Sqlite.sqlite")
    home = tmp_path / "home"
    added = ragkit("db", "add", "chinook", f"sqlite:///{path}", "--tables", "Invoice,Customer", home=home)
    assert added.code == 0, added.stderr
    assert ragkit("db", "list", "--json", home=home).json()["databases"][0]["tables"] == ["Invoice", "Customer"]
    schema = ragkit("db", "schema", "chinook", "--json", home=home).json()
    invoice = next(t for t in schema["tables"] if t["name"] == "Invoice")
    assert invoice["rows"] == 412
    assert {"name": "CustomerId", "type": "INTEGER", "primary_key": False, "references": "Customer.CustomerId"} in (
        invoice["columns"]
    )
    ran = ragkit("db", "query", "chinook", "SELECT count(*) AS n FROM Invoice WHERE Total > 10", "--json", home=home)
    assert ran.json()["rows"] == [[64]] and ran.json()["columns"] == ["n"]
    refused = ragkit("db", "query", "chinook", "DELETE FROM Invoice", home=home)
    assert refused.code == 1 and "only queries may run" in refused.stderr and "Traceback" not in refused.stderr
    csv = ragkit("db", "query", "chinook", "SELECT FirstName, LastName FROM Customer LIMIT 2", "--csv", home=home)
    assert csv.stdout.splitlines()[0] == "FirstName,LastName" and len(csv.stdout.splitlines()) == 3
    assert ragkit("db", "remove", "chinook", home=home).code == 0
    missing = ragkit("db", "schema", "chinook", home=home)
    assert missing.code == 1 and "ragkit db add" in missing.stderr


def test_sqlites_own_tables_stay_closed_under_any_name(chinook: SqliteDatabase) -> None:
    """A WITH query named like an internal table once opened main.sqlite_master, and with it every
    table's CREATE statement, to a database limited with --tables."""
    limited = SqliteDatabase("chinook", f"sqlite:///{chinook.path}", ["Album"])
    for sql in (
        "WITH sqlite_master AS (SELECT 1 AS sql) SELECT sql FROM main.sqlite_master",
        "WITH sqlite_schema AS (SELECT 1 AS sql) SELECT sql FROM main.sqlite_schema",
        "WITH sqlite_master AS (SELECT 1 AS sql) SELECT sql FROM sqlite_master",
    ):
        try:
            result = limited.run(sql)
        except (SqlRefused, DatabaseError):
            continue
        assert not any("CREATE" in str(row) for row in result.rows), (sql, result.rows)


def test_no_value_a_query_builds_may_take_gigabytes(chinook: SqliteDatabase) -> None:
    """Values are held to MAX_VALUE (SQLite's length limit): a 900 MB string comes back NULL and
    a 120 MB one is refused, where each took 0.9 GB of memory before. (SQLite 3.40's printf
    still spends about 10 s counting out the characters it no longer stores: see
    docs/security.md.)"""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert chinook.run("SELECT printf('%.*c', 900000000, 'x')").rows == [(None,)]
    with pytest.raises(DatabaseError, match="too big"):  # 60 MB doubled: past the limit
        chinook.run("SELECT length(replace(printf('%.*c', 60000000, 'x'), 'x', 'xx'))")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # kB: well under 0.9 GB
    assert chinook.run("SELECT length(printf('%.*c', 1000, 'x'))").rows == [(1000,)]
