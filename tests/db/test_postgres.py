"""PostgreSQL for real: a server from Debian's packages started on a loopback port in a
temporary directory, loaded with part of the Chinook database; the guard, the read-only
transaction on its own, the time limit, passwords from the environment, the commands."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragkit.db import guard as sqlguard
from ragkit.db.base import DatabaseError, QueryTimeout
from ragkit.db.guard import SqlRefused
from ragkit.db.postgres import PostgresDatabase
from tests.conftest import shared_data
from tests.helpers.cli import ragkit
from tests.helpers.servers import free_port
from tests.helpers.sql import HOSTILE

PASSWORD_ENV = "RAGKIT_TEST_PG_PASSWORD"
PASSWORD = "s3cret-for-tests"
TABLES = {  # the part of Chinook loaded: table -> (columns with types, source query)
    "artist": ("artistid int PRIMARY KEY, name text", "SELECT ArtistId, Name FROM Artist"),
    "album": (
        "albumid int PRIMARY KEY, title text, artistid int REFERENCES artist",
        "SELECT AlbumId, Title, ArtistId FROM Album",
    ),
    "genre": ("genreid int PRIMARY KEY, name text", "SELECT GenreId, Name FROM Genre"),
    "track": (
        "trackid int PRIMARY KEY, name text, albumid int REFERENCES album, genreid int REFERENCES genre,"
        " milliseconds int, unitprice numeric(10,2)",
        "SELECT TrackId, Name, AlbumId, GenreId, Milliseconds, UnitPrice FROM Track",
    ),
    "customer": (
        "customerid int PRIMARY KEY, firstname text, lastname text, country text, email text",
        "SELECT CustomerId, FirstName, LastName, Country, Email FROM Customer",
    ),
    "invoice": (
        "invoiceid int PRIMARY KEY, customerid int REFERENCES customer, invoicedate timestamp,"
        " billingcountry text, total numeric(10,2)",
        "SELECT InvoiceId, CustomerId, InvoiceDate, BillingCountry, Total FROM Invoice",
    ),
}
PG_HOSTILE = [
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_ls_dir('/')",
    "SELECT * FROM pg_catalog.pg_authid",
    "SELECT * FROM pg_shadow",
    "SELECT * FROM information_schema.tables",
    "COPY (SELECT 1) TO PROGRAM 'id'",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT lo_export(1, '/tmp/x')",
    "SELECT query_to_xml('DELETE FROM artist', true, true, '')",
    "SELECT dblink_exec('host=evil', 'DELETE FROM artist')",
    "CREATE EXTENSION dblink",
    "SET default_transaction_read_only = off",
    "SET TRANSACTION READ WRITE",
    "DO $$ BEGIN DELETE FROM artist; END $$",
    "CALL cleanup()",
    "PREPARE p AS DELETE FROM artist",
    "TRUNCATE artist",
    "LOCK TABLE artist",
    "SELECT * FROM artist FOR SHARE",
    "SELECT pg_sleep(100)",
    "SELECT pg_terminate_backend(1)",
    "LISTEN x",
]


def _bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    import psycopg

    binaries = _bin()
    if binaries is None:
        message = "PostgreSQL's binaries are not installed (scripts/install.sh installs Debian's postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # not under pytest's own temp folder: that is private to this user, and the server runs as another
    root = Path(tempfile.mkdtemp(prefix="ragkit-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root: run it as Debian's postgres user
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    (root / "pw").write_text(PASSWORD)
    if as_user:
        shutil.chown(root / "pw", "postgres")
    run = lambda *cmd: subprocess.run([*as_user, *map(str, cmd)], check=True, capture_output=True)  # noqa: E731
    run(binaries / "initdb", "-D", root / "data", "-U", "ragkit", "--pwfile", root / "pw", "--auth-host=scram-sha-256",
        "--auth-local=trust", "-E", "UTF8", "--no-sync")  # fmt: skip
    port = free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(binaries / "pg_ctl", "-D", root / "data", "-o", options, "-l", root / "log", "-w", "start")
    try:
        admin = f"postgresql://ragkit@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, password=PASSWORD, autocommit=True) as db:
            db.execute("CREATE DATABASE office")
        source = sqlite3.connect(f"file:{shared_data('chinook', 'Chinook_Sqlite.sqlite')}?mode=ro", uri=True)
        url = f"postgresql://ragkit@127.0.0.1:{port}/office"
        with psycopg.connect(url, password=PASSWORD) as db:
            for table, (columns, query) in TABLES.items():
                db.execute(f"CREATE TABLE {table} ({columns})")
                rows = source.execute(query).fetchall()
                marks = ", ".join(["%s"] * len(rows[0]))
                with db.cursor() as cursor:
                    cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        source.close()
        yield url
    finally:
        run(binaries / "pg_ctl", "-D", root / "data", "-m", "fast", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def office(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> PostgresDatabase:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    return PostgresDatabase("office", pg_url, password_env=PASSWORD_ENV)


@pytest.mark.parametrize("sql", HOSTILE + PG_HOSTILE)
def test_hostile_statements_are_refused(office: PostgresDatabase, sql: str) -> None:
    with pytest.raises(SqlRefused):
        office.run(sql)


def test_the_read_only_transaction_holds_without_the_guard(
    office: PostgresDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlguard, "check", lambda sql, *_: sql)
    for sql in [  # writes that would return rows: refused by the transaction, not by having none
        "DELETE FROM invoice WHERE invoiceid = 1 RETURNING invoiceid",
        "UPDATE artist SET name = 'x' RETURNING artistid",
        "INSERT INTO genre VALUES (999, 'x') RETURNING genreid",
        "WITH gone AS (DELETE FROM track RETURNING trackid) SELECT count(*) FROM gone",
    ]:
        with pytest.raises(DatabaseError, match="read-only transaction"):
            office.run(sql)
    for sql in [
        "DELETE FROM invoice", "UPDATE artist SET name = 'x'", "DROP TABLE track", "CREATE TABLE x (y int)",
        "TRUNCATE artist CASCADE", "SET TRANSACTION READ WRITE", "SELECT 1; DELETE FROM invoice",
        "INSERT INTO genre VALUES (999, 'x')", "SELECT * FROM artist FOR UPDATE",
    ]:  # fmt: skip
        with pytest.raises(DatabaseError):
            office.run(sql)
    with pytest.raises(QueryTimeout):
        office.run("SELECT pg_sleep(5)", timeout_s=0.5)
    assert office.run("SELECT count(*) FROM invoice").rows == [(412,)]  # nothing was changed


def test_honest_queries_and_their_caps(office: PostgresDatabase) -> None:
    top = office.run(
        "SELECT billingcountry, count(*) AS n FROM invoice GROUP BY billingcountry ORDER BY n DESC, 1 LIMIT 3"
    )
    assert top.columns == ["billingcountry", "n"] and top.rows == [("USA", 91), ("Canada", 56), ("Brazil", 35)]
    joined = office.run(
        "SELECT count(*) FROM track t JOIN album a ON a.albumid = t.albumid JOIN artist r ON r.artistid = a.artistid"
        " WHERE r.name = 'AC/DC'"
    )
    assert joined.rows == [(18,)]
    yearly = office.run(
        "SELECT EXTRACT(YEAR FROM invoicedate) AS y, sum(total) FROM invoice GROUP BY 1 ORDER BY 1 LIMIT 1"
    )
    assert yearly.rows[0][0] == 2021 or yearly.rows[0][0] == 2009
    capped = office.run("SELECT trackid FROM track", max_rows=20)
    assert len(capped.rows) == 20 and capped.truncated
    with pytest.raises(QueryTimeout, match="was stopped"):
        office.run("SELECT count(*) FROM track a, track b, track c", timeout_s=0.5)
    schema = {t.name: t for t in office.schema()}
    assert schema["invoice"].rows == 412
    column = next(c for c in schema["album"].columns if c.name == "artistid")
    assert column.references == "artist.artistid"
    assert next(c for c in schema["album"].columns if c.name == "albumid").primary_key


def test_passwords_come_from_the_environment_only(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(DatabaseError, match=PASSWORD_ENV):
        PostgresDatabase("office", pg_url, password_env=PASSWORD_ENV)
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    with pytest.raises(DatabaseError, match="cannot connect"):
        PostgresDatabase("office", pg_url, password_env=PASSWORD_ENV)
    home = tmp_path / "home"
    leaked = pg_url.replace("ragkit@", f"ragkit:{PASSWORD}@")
    refused = ragkit("db", "add", "office", leaked, home=home)
    assert refused.code == 1 and "--password-env" in refused.stderr
    env = {PASSWORD_ENV: PASSWORD}
    added = ragkit(
        "db", "add", "office", pg_url, "--password-env", PASSWORD_ENV, "--tables", "invoice", home=home, env=env
    )
    assert added.code == 0, added.stderr
    config = (home / "config.toml").read_text()
    assert PASSWORD not in config and PASSWORD_ENV in config
    ran = ragkit("db", "query", "office", "SELECT count(*) AS n FROM invoice", "--json", home=home, env=env)
    assert ran.json()["rows"] == [[412]]
    other = ragkit("db", "query", "office", "SELECT name FROM artist", home=home, env=env)
    assert other.code == 1 and "artist" in other.stderr  # only the tables given with --tables


def test_rows_as_documents_with_a_timestamp_cursor(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL's timestamps as the cursor: a second sync reads only the rows changed since."""
    import psycopg

    with psycopg.connect(pg_url, password=PASSWORD, autocommit=True) as db:  # the office's own writes
        db.execute("CREATE TABLE memos (id serial PRIMARY KEY, body text, updated timestamptz)")
        for n in range(1, 11):
            db.execute("INSERT INTO memos (body, updated) VALUES (%s, %s::timestamptz)",
                       (f"memo {n} on the Lofoten account", f"2024-03-{n:02d} 09:00+01"))  # fmt: skip
    home, env = tmp_path / "home", {PASSWORD_ENV: PASSWORD}
    added = ragkit("db", "add", "office", pg_url, "--password-env", PASSWORD_ENV, "--text-columns", "memos.body",
                   "--cursor", "memos.updated", home=home, env=env)  # fmt: skip
    assert added.code == 0, added.stderr
    first = ragkit("db", "sync", "--json", home=home, env=env).json()["databases"][0]
    assert first["rows"] == 10 and first["read"] == 10 and first["written"] == 10
    with psycopg.connect(pg_url, password=PASSWORD, autocommit=True) as db:
        db.execute("UPDATE memos SET body = 'memo 3 moved to Senja', updated = '2024-04-01 10:00+01' WHERE id = 3")
    second = ragkit("db", "sync", "--json", home=home, env=env).json()["databases"][0]
    assert second == {"database": "office", "rows": 10, "read": 2, "written": 1, "removed": 0}  # rows 10 and 3
    found = ragkit("find", "senja", "--json", home=home, env=env).json()
    assert found["total"] == 1 and found["hits"][0]["source"] == "db:office/memos/3"


def test_the_rules_write_postgresql(office: PostgresDatabase) -> None:
    """The rules' statements in PostgreSQL's dialect, through the same guard; names run
    together in lower case ("billingcountry") read as their words."""
    from ragkit.db.ask import answer_question

    asked = {
        "How many tracks are in the Rock genre?": [(1297,)],
        "Which artist has the most albums?": [("Iron Maiden", 21)],
        "How many invoices were issued in 2023?": [(83,)],
        "How many customers live in Brazil?": [(5,)],
    }
    for question, rows in asked.items():
        answer = answer_question(question, office, "rules", None)
        assert answer.sql_by == "rules" and answer.result is not None, answer.answer
        assert answer.result.rows == rows, answer.result.sql
    billed = answer_question("Which billing country has the most invoices?", office, "rules", None)
    assert billed.result is not None and '"invoice"."billingcountry"' in billed.result.sql
    assert billed.result.rows == [("USA", 91)]
