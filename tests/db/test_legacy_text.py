"""A database as an older office application left it: text in a legacy encoding, tables and
columns named with spaces, quotes, reserved words and mixed case, a view. Read as it is by
every command, and its errors reported as the database's, never as damage to the index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ragkit.db.connections import SqliteDatabase
from ragkit.db.text import TextDecoder
from ragkit.llm import Message
from tests.helpers.cli import ragkit
from tests.helpers.scripted import FunctionLLM

CITIES = ["Ærøskøbing", "Tórshavn", "Göteborg", "Málaga", "Besançon", "Kraków"]


def legacy_db(path: Path, encoding: str = "cp1252") -> Path:
    """A small company's database whose text was written in ``encoding`` by an old program."""
    db = sqlite3.connect(path)
    db.execute('CREATE TABLE "Order Details" ("Order ID" INTEGER PRIMARY KEY, "Ship City" TEXT, "Unit Price" REAL)')
    db.execute('CREATE TABLE "Group" ("select" TEXT, "CompanyName" VARCHAR(40))')
    db.execute('CREATE VIEW "Big Orders" AS SELECT * FROM "Order Details" WHERE "Unit Price" > 10')
    for n, city in enumerate(CITIES, start=1):
        raw = city.encode(encoding, errors="replace")  # what the old program stored: not UTF-8
        db.execute('INSERT INTO "Order Details" VALUES (?, CAST(? AS TEXT), ?)', (n, raw, 5.0 * n))
    db.execute('INSERT INTO "Group" VALUES (?, CAST(? AS TEXT))', ("a", "Brødrene Ødegård".encode(encoding)))
    db.commit()
    db.close()
    return path


def test_text_that_is_not_utf8_is_read_in_the_database_encoding(tmp_path: Path) -> None:
    database = SqliteDatabase("office", f"sqlite:///{legacy_db(tmp_path / 'office.db')}")
    rows = database.run('SELECT "Ship City" FROM "Order Details" ORDER BY "Order ID"').rows
    assert [r[0] for r in rows] == CITIES  # too few to detect from: read as cp1252, the commonest
    assert "not UTF-8" in database.note() and "cp1252" in database.note()
    utf8 = SqliteDatabase("plain", f"sqlite:///{legacy_db(tmp_path / 'plain.db', 'utf-8')}")
    assert [r[0] for r in utf8.run('SELECT "Ship City" FROM "Order Details"').rows] == CITIES
    assert utf8.note() == ""  # nothing to say of a database whose text is UTF-8


def test_a_given_encoding_is_used_and_a_wrong_name_is_refused(tmp_path: Path) -> None:
    path = legacy_db(tmp_path / "dos.db", "cp850")
    database = SqliteDatabase("dos", f"sqlite:///{path}", encoding="cp850")
    assert [r[0] for r in database.run('SELECT "Ship City" FROM "Order Details"').rows] == CITIES
    with pytest.raises(Exception, match="unknown text encoding 'klingon'"):
        TextDecoder("klingon")


def test_every_command_reads_it_as_it_is(tmp_path: Path) -> None:
    home, path = tmp_path / "home", legacy_db(tmp_path / "office.db")
    added = ragkit("db", "add", "office", f"sqlite:///{path}", "--text-columns", "Order Details.Ship City", home=home)
    assert added.code == 0, added.stderr
    schema = ragkit("db", "schema", "office", home=home)
    assert schema.code == 0, schema.stderr
    assert schema.stdout.startswith("note: database office: some text is not UTF-8 and is read as cp1252")
    assert "Big Orders (view, 4 rows)" in schema.stdout and "Ærøskøbing" in schema.stdout
    shown = ragkit("db", "schema", "office", "--json", home=home).json()
    assert {t["name"]: t["kind"] for t in shown["tables"]} == {
        "Big Orders": "view", "Group": "table", "Order Details": "table"
    }  # fmt: skip
    query = 'SELECT g."select", g."CompanyName", "Ship City" FROM "Group" g, "Big Orders" WHERE "Order ID" = 3'
    ran = ragkit("db", "query", "office", query, "--json", home=home)
    assert ran.code == 0, ran.stderr
    assert ran.json()["rows"] == [["a", "Brødrene Ødegård", "Göteborg"]]
    synced = ragkit("db", "sync", "--json", home=home)  # rows as documents, decoded the same way
    assert synced.code == 0, synced.stderr
    found = ragkit("find", "ærøskøbing", "--json", home=home).json()
    assert found["total"] == 1 and "Ærøskøbing" in found["hits"][0]["snippet_text"]
    wrong = ragkit("db", "add", "bad", f"sqlite:///{path}", "--encoding", "klingon", home=home)
    assert wrong.code == 1 and "unknown text encoding 'klingon'" in wrong.stderr


def test_a_database_error_is_the_databases_never_the_index(tmp_path: Path) -> None:
    home, path = tmp_path / "home", legacy_db(tmp_path / "office.db")
    added = ragkit("db", "add", "office", f"sqlite:///{path}", "--text-columns", "Order Details.Ship City", home=home)
    assert added.code == 0, added.stderr
    data = bytearray(path.read_bytes())
    page = 4096 if len(data) > 8192 else len(data) // 2
    data[page:] = b"\xde\xad\xbe\xef" * ((len(data) - page) // 4)  # the file damaged after it was added
    path.write_bytes(bytes(data))
    for command in (["db", "schema", "office"], ["db", "query", "office", 'SELECT * FROM "Order Details"'],
                    ["db", "sync"]):  # fmt: skip
        shown = ragkit(*command, home=home)
        assert shown.code == 1, (command, shown.stdout)
        assert "database office" in shown.stderr, (command, shown.stderr)
        assert "rebuild" not in shown.stderr, shown.stderr  # the index is not what is damaged
        assert "Traceback" not in shown.stderr


def test_ask_db_shows_the_legacy_text_to_the_model_and_in_the_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ragkit.cli.main import main
    from ragkit.llm.loader import ChatModels

    monkeypatch.setenv("RAGKIT_HOME", str(tmp_path / "home"))
    assert main(["db", "add", "office", f"sqlite:///{legacy_db(tmp_path / 'office.db')}"]) == 0
    prompts: list[str] = []

    def writer(messages: list[Message]) -> str:  # the model, at our own seam: it sees the schema, writes SQL
        prompts.append(" ".join(m["content"] for m in messages))
        if messages[0]["content"].startswith("Answer the question"):
            return "It went to Ærøskøbing."
        return '```sql\nSELECT "Ship City" FROM "Order Details" WHERE "Order ID" = 1\n```'

    monkeypatch.setattr(ChatModels, "load", lambda self, model=None: FunctionLLM(writer, "writer"))
    capsys.readouterr()
    assert main(["ask", "--db", "office", "Where did the first order ship to?", "--sql-mode", "model"]) == 0
    shown = capsys.readouterr().out
    assert "Ærøskøbing" in prompts[0]  # the schema's samples, decoded, are what the model reads
    assert shown.startswith("It went to Ærøskøbing [db:office].") and "1 row(s)" in shown
