"""The watcher's batching on a real folder: coalescing, atomic saves, files still being written."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from ingest.watcher import Change, Watcher


def collect(watcher: Watcher, until: float) -> list[set[tuple[Change, Path]]]:
    batches = []
    while time.monotonic() < until:
        batch = watcher.next_batch(timeout=0.3)
        if batch:
            batches.append(batch)
    return batches


def test_many_writes_to_one_file_are_one_change(tmp_path: Path) -> None:
    with Watcher([tmp_path], debounce_s=0.1) as watcher:
        target = tmp_path / "a.txt"
        for i in range(20):
            target.write_text(f"version {i}\n")
        batches = collect(watcher, time.monotonic() + 1.5)
    assert batches == [{(Change.CHANGED, target)}]


def test_atomic_save_is_one_change_of_the_target(tmp_path: Path) -> None:
    target = tmp_path / "notes.md"
    target.write_text("old\n")
    ignore_temp = lambda change, path: not path.name.startswith(".")  # noqa: E731
    with Watcher([tmp_path], filter=ignore_temp, debounce_s=0.1) as watcher:
        tmp = tmp_path / ".notes.md.tmp"
        tmp.write_text("new\n")
        os.replace(tmp, target)
        batches = collect(watcher, time.monotonic() + 1.5)
    assert batches == [{(Change.CHANGED, target)}]


def test_file_still_being_written_is_held_back(tmp_path: Path) -> None:
    target = tmp_path / "big.txt"
    done = threading.Event()

    def slow_copy() -> None:
        with target.open("w") as handle:
            for i in range(12):
                handle.write(f"block {i}\n" * 100)
                handle.flush()
                time.sleep(0.06)
        done.set()

    with Watcher([tmp_path], debounce_s=0.15, max_wait_s=0.3) as watcher:
        writer = threading.Thread(target=slow_copy)
        writer.start()
        batch = watcher.next_batch(timeout=5)
        released_after_done = done.is_set()
        writer.join()
    assert batch == {(Change.CHANGED, target)}
    assert released_after_done


def test_deleted_folder_is_reported_as_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "sub"
    folder.mkdir()
    for i in range(5):
        (folder / f"{i}.txt").write_text("x")
    with Watcher([tmp_path], debounce_s=0.1) as watcher:
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()
        batches = collect(watcher, time.monotonic() + 1.5)
    assert set().union(*batches) == {(Change.DELETED, folder)}  # the folder alone, not its 5 files


def test_moved_folder_is_reported_as_the_folder_at_both_ends(tmp_path: Path) -> None:
    folder = tmp_path / "sub"
    (folder / "deeper").mkdir(parents=True)
    for i in range(5):
        (folder / f"{i}.txt").write_text("x")
        (folder / "deeper" / f"{i}.txt").write_text("y")
    with Watcher([tmp_path], debounce_s=0.1) as watcher:
        folder.rename(tmp_path / "moved")
        batches = collect(watcher, time.monotonic() + 1.5)
    assert set().union(*batches) == {(Change.DELETED, folder), (Change.CHANGED, tmp_path / "moved")}


def test_polling_mode_sees_changes(tmp_path: Path) -> None:
    with Watcher([tmp_path], debounce_s=0.1, poll=True, poll_interval_s=0.2) as watcher:
        (tmp_path / "polled.txt").write_text("hello\n")
        batch = watcher.next_batch(timeout=5)
    assert batch == {(Change.CHANGED, tmp_path / "polled.txt")}
