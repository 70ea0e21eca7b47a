"""The one atomic write: owner-only whatever the umask, old or new content and never half,
no temporary file shared between writers or left behind, and never written through a link."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from ragkit.core.files import write_atomic


def test_the_file_is_the_owners_only_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "keys.json"
    target.write_text("old")
    target.chmod(0o644)
    old = os.umask(0)
    try:
        write_atomic(target, '{"keys": []}')
    finally:
        os.umask(old)
    assert target.read_text() == '{"keys": []}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_failed_replace_keeps_the_old_content_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "config.toml"
    target.write_text("kept = true\n")

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, "half = ")
    assert target.read_text() == "kept = true\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_writers_in_several_threads_never_share_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "watch.json"
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(50):
                write_atomic(target, f"writer {n} write {i}\n" * 50, durable=False)
        except BaseException as exc:  # (a shared temporary name fails here: gone before its replace)
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    lines = set(target.read_text().splitlines())
    assert len(lines) == 1 and next(iter(lines)).startswith("writer ")  # one write whole, never a mix
    assert [p.name for p in tmp_path.iterdir()] == ["watch.json"]


def test_a_link_planted_at_the_temporary_name_is_never_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n")
    target = tmp_path / "entities.json"
    planted = tmp_path / f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    planted.symlink_to(victim)
    with pytest.raises(OSError):
        write_atomic(target, "{}")
    assert victim.read_text() == "untouched\n" and not target.exists()


def test_an_in_list_longer_than_sqlites_variable_limit_is_asked_in_parts() -> None:
    import sqlite3

    from ragkit.storage.sqlite import rows_in

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (kind TEXT, n INTEGER)")
    db.executemany("INSERT INTO t VALUES (?, ?)", [(k, n) for n in range(40_000) for k in ("a", "b")])
    wanted = list(range(0, 40_000, 1))  # more values than SQLite takes in one statement (32,766)
    found = list(rows_in(db, "SELECT n FROM t WHERE kind = ? AND n IN ({marks})", wanted, ["b"], size=999))
    assert sorted(n for (n,) in found) == wanted
    assert list(rows_in(db, "SELECT n FROM t WHERE n IN ({marks})", [])) == []
