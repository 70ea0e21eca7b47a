"""Rows as documents: a database's text columns indexed like files, cited as db:NAME/TABLE/ID,
kept in step as rows are added, changed and deleted, and consistent after a kill -9."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ragkit.assistant.local import open_ragkit
from tests.helpers.cli import ragkit
from tests.helpers.index import assert_consistent


def office_db(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY, subject TEXT, body TEXT, status TEXT)")
    db.execute("CREATE TABLE notes (note TEXT)")  # no primary key: its rows are known by rowid
    db.executemany(
        "INSERT INTO tickets VALUES (?, ?, ?, ?)",
        [(1, "Printer jam", "The Tolsvik printer on floor 2 jams every morning.", "open"),
         (2, "VPN", "Cannot reach the VPN from the Oslo office.", "closed"),
         (3, "Keys", "Lost keys to the Bergen archive room.", "open")],
    )  # fmt: skip
    db.executemany("INSERT INTO notes VALUES (?)", [("Remember the Acme renewal in June.",), ("Zanzibar opens.",)])
    db.commit()
    db.close()


def found(home: Path, query: str) -> list[str]:
    return [f["path"] for f in ragkit("find", query, "--json", home=home).json()["files"]]


def test_rows_are_indexed_kept_in_step_and_cited_by_their_source(tmp_path: Path) -> None:
    path, home = tmp_path / "office.db", tmp_path / "home"
    office_db(path)
    added = ragkit(
        "db",
        "add",
        "office",
        f"sqlite:///{path}",
        "--text-columns",
        "tickets.subject,tickets.body,notes.note",
        home=home,
    )
    assert added.code == 0, added.stderr
    synced = ragkit("db", "sync", "--json", home=home).json()
    assert synced["databases"] == [{"database": "office", "rows": 5, "read": 5, "written": 5, "removed": 0}]
    assert synced["index"]["added"] == 5
    shown = ragkit("find", "tolsvik", home=home).stdout
    assert "db:office/tickets/1" in shown  # cited by its source, not the file that carries it
    hit = ragkit("find", "tolsvik", "--json", home=home).json()["hits"][0]
    assert hit["source"] == "db:office/tickets/1" and Path(hit["path"]).is_file()  # and in JSON, beside the path
    assert len(found(home, "zanzibar")) == 1
    searched = ragkit("search", "which printer jams in the morning", "-k", "1", home=home).stdout
    assert "db:office/tickets/1" in searched
    # the database changes: a row edited, one deleted, one added
    db = sqlite3.connect(path)
    db.execute("UPDATE tickets SET body = 'The Hamar printer jams now.' WHERE id = 1")
    db.execute("DELETE FROM tickets WHERE id = 3")
    db.execute("INSERT INTO notes VALUES ('Quarterly Quokka review on Friday.')")
    db.commit()
    db.close()
    again = ragkit("db", "sync", "--json", home=home).json()
    assert again["databases"][0] == {"database": "office", "rows": 5, "read": 5, "written": 2, "removed": 1}
    assert found(home, "tolsvik") == [] and len(found(home, "hamar")) == 1
    assert found(home, "bergen") == [] and len(found(home, "quokka")) == 1
    unchanged = ragkit("db", "sync", "--json", home=home).json()
    assert unchanged["databases"][0]["written"] == 0 and unchanged["index"]["unchanged"] == 5
    # ragkit index keeps the rows in step too
    db = sqlite3.connect(path)
    db.execute("UPDATE notes SET note = 'Remember the Fjord renewal in July.' WHERE note LIKE '%Acme%'")
    db.commit()
    db.close()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "memo.txt").write_text("A memo about the Oslo office.\n")
    indexed = ragkit("index", docs, "--json", home=home)
    assert indexed.code == 0, indexed.stderr
    assert indexed.json()["rows"]["databases"][0]["written"] == 1
    assert found(home, "acme") == [] and len(found(home, "fjord")) == 1
    rk = open_ragkit(home=home)
    try:
        assert_consistent(rk)
        assert rk.status()["files"] == 6  # five rows and the memo
    finally:
        rk.close()


@pytest.mark.parametrize("point", ["row-written:2", "before-manifest-commit:2"])
def test_a_kill_during_a_sync_leaves_the_index_consistent(tmp_path: Path, point: str) -> None:
    path, home = tmp_path / "office.db", tmp_path / "home"
    office_db(path)
    spec = "tickets.subject,tickets.body,notes.note"
    assert ragkit("db", "add", "office", f"sqlite:///{path}", "--text-columns", spec, home=home).code == 0
    killed = ragkit("db", "sync", home=home, env={"RAGKIT_KILL_AT": point})
    assert killed.code == -9, killed.stderr
    assert ragkit("db", "sync", home=home).code == 0
    rk = open_ragkit(home=home)
    try:
        assert_consistent(rk)
        assert rk.status()["files"] == 5
    finally:
        rk.close()
    assert len(found(home, "tolsvik")) == 1 and len(found(home, "acme")) == 1


def test_a_cursor_column_reads_only_the_rows_changed_since_the_last_sync(tmp_path: Path) -> None:
    path, home = tmp_path / "crm.db", tmp_path / "home"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, updated TEXT)")
    notes = [(i, f"note number {i} about the Vardo depot", f"2024-01-{i:02d}") for i in range(1, 31)]
    db.executemany("INSERT INTO notes VALUES (?, ?, ?)", notes)
    db.commit()
    spec = ("db", "add", "crm", f"sqlite:///{path}", "--text-columns", "notes.body", "--cursor", "notes.updated")
    assert ragkit(*spec, home=home).code == 0
    first = ragkit("db", "sync", "--json", home=home).json()["databases"][0]
    assert first == {"database": "crm", "rows": 30, "read": 30, "written": 30, "removed": 0}
    db.execute("UPDATE notes SET body = 'moved to the Kirkenes depot', updated = '2024-02-01' WHERE id = 4")
    db.execute("DELETE FROM notes WHERE id = 7")
    db.execute("INSERT INTO notes VALUES (31, 'a new note on the Alta depot', NULL)")  # no value: read every time
    db.commit()
    db.close()
    second = ragkit("db", "sync", "--json", home=home).json()["databases"][0]
    # read: row 30 (at the last value), row 4 (past it) and row 31 (no value); not the 27 others
    assert second == {"database": "crm", "rows": 30, "read": 3, "written": 2, "removed": 1}
    assert len(found(home, "kirkenes")) == 1 and len(found(home, "alta")) == 1
    assert found(home, '"number 7"') == [] and len(found(home, '"number 8"')) == 1
    third = ragkit("db", "sync", "--json", home=home).json()["databases"][0]
    assert third["read"] == 2 and third["written"] == 0  # row 4 (the last value now) and row 31


def test_the_watcher_syncs_rows_on_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No command run: the watcher's periodic rows sync picks up a changed row."""
    import time

    from ragkit.core.config import load_settings

    path, docs = tmp_path / "office.db", tmp_path / "docs"
    office_db(path)
    docs.mkdir()
    (docs / "memo.txt").write_text("A memo about the Oslo office.\n")
    home = tmp_path / "home"
    assert ragkit("db", "add", "office", f"sqlite:///{path}", "--text-columns", "tickets.body", home=home).code == 0
    monkeypatch.setenv("RAGKIT_HOME", str(home))
    rk = open_ragkit(load_settings())
    assert list(rk.settings.databases) == ["office"]
    live = rk.live_sync([docs], rows_s=0.5)
    live.start()
    try:
        assert live.started.wait(120) and live.error is None
        assert len(rk.find("tolsvik").hits) == 1  # the catch-up synced the rows
        db = sqlite3.connect(path)
        db.execute("UPDATE tickets SET body = 'The Vadso printer jams.' WHERE id = 1")
        db.commit()
        db.close()
        deadline = time.monotonic() + 60
        while not rk.find("vadso").hits and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(rk.find("vadso").hits) == 1 and rk.find("tolsvik").hits == []
        assert live.snapshot()["rows_error"] is None
        path.rename(tmp_path / "away.db")  # the database goes away: reported, and the watcher goes on
        deadline = time.monotonic() + 30
        while live.snapshot()["rows_error"] is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "away" not in str(live.snapshot()["rows_error"]) and live.snapshot()["rows_error"]
        assert live.running and len(rk.find("vadso").hits) == 1  # its rows stay as last synced
    finally:
        live.close()
        rk.close()
