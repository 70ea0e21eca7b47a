"""A running watcher against real filesystem changes; waits on index state, never fixed sleeps."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragkit import Ragkit, open_ragkit
from ragkit.core.errors import IndexLockedError
from ragkit.index.embed import SentenceTransformerEmbedder
from ragkit.index.report import IndexReport
from ragkit.index.watch import LiveSync
from tests.helpers import wait_until
from tests.helpers.index import assert_consistent


class Running:
    def __init__(self, rk: Ragkit, live: LiveSync, thread: threading.Thread, reports: list[IndexReport]) -> None:
        self.rk, self.live, self.thread, self.reports = rk, live, thread, reports

    def indexed(self) -> dict[str, str | None]:
        return {Path(r.path).name: r.hash for r in self.rk.library.manifest.files() if r.status == "ok"}

    def paths(self) -> set[str]:
        return {r.path for r in self.rk.library.manifest.files()}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "watched"
    (root / "sub").mkdir(parents=True)
    (root / "first.txt").write_text("Kestrels hover over fields while hunting voles.\n")
    (root / "sub" / "inner.md").write_text("# Inner\n\nTide pools hold anemones and hermit crabs.\n")
    (root / "sub" / "inner2.txt").write_text("Glaciers carve U-shaped valleys over millennia.\n")
    return root


@pytest.fixture
def running(embedder: SentenceTransformerEmbedder, folder: Path) -> Iterator[Running]:
    rk = open_ragkit(embedder=embedder)
    reports: list[IndexReport] = []
    live = rk.live_sync([folder], debounce_s=0.1, rescan_s=3600, on_sync=reports.append)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            live.run()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert live.started.wait(120), "catch-up did not finish"
    yield Running(rk, live, thread, reports)
    live.stop()
    thread.join(30)
    assert not errors, errors
    assert_consistent(rk)
    rk.close()


def test_catch_up_scan_indexes_what_is_there(running: Running) -> None:
    assert set(running.indexed()) == {"first.txt", "inner.md", "inner2.txt"}


def test_create_and_modify(running: Running, folder: Path) -> None:
    (folder / "new.txt").write_text("Lichens grow slowly on bare granite.\n")
    wait_until(lambda: "new.txt" in running.indexed())
    before = running.indexed()["new.txt"]
    (folder / "new.txt").write_text("Lichens grow slowly on bare granite and on tree bark.\n")
    wait_until(lambda: running.indexed()["new.txt"] != before)
    hits = running.rk.search("lichen tree bark", k=1)
    assert "tree bark" in hits[0].text


def test_atomic_save_is_one_modification(running: Running, folder: Path) -> None:
    target = folder / "first.txt"
    before = running.indexed()["first.txt"]
    count = len(running.reports)
    tmp = folder / ".first.txt.swp"
    tmp.write_text("Kestrels hover, then stoop onto voles in the grass.\n")
    os.replace(tmp, target)
    wait_until(lambda: running.indexed().get("first.txt") not in (None, before) and len(running.reports) > count)
    report = running.reports[count]
    assert (report.updated, report.added, report.removed) == (1, 0, 0)
    assert not any("swp" in p for p in running.paths())


def test_rename_repoints_without_embedding(running: Running, folder: Path) -> None:
    count = len(running.reports)
    (folder / "first.txt").rename(folder / "kestrels.txt")
    wait_until(
        lambda: (
            "kestrels.txt" in running.indexed()
            and "first.txt" not in running.indexed()
            and len(running.reports) > count
        )
    )
    embedded = sum(r.embedded for r in running.reports[count:])
    assert embedded == 0


def test_move_folder_as_a_whole(running: Running, folder: Path) -> None:
    count = len(running.reports)
    (folder / "archive").mkdir()
    (folder / "sub").rename(folder / "archive" / "sub")
    expected = {str(folder / "archive" / "sub" / n) for n in ("inner.md", "inner2.txt")}
    wait_until(
        lambda: expected <= running.paths() and not any("/sub/" in p and "archive" not in p for p in running.paths())
    )
    assert sum(r.embedded for r in running.reports[count:]) == 0


def test_folder_moved_in_keeps_the_ignore_rules_of_the_folders_above_it(
    running: Running, folder: Path, tmp_path: Path
) -> None:
    seen = len(running.reports)
    (folder / ".ragignore").write_text("private-*\ndrafts/\n")
    wait_until(lambda: len(running.reports) > seen, what="the rescan a new .ragignore starts")
    outside = tmp_path / "incoming"
    (outside / "drafts").mkdir(parents=True)
    (outside / "report.txt").write_text("Quarterly figures for the harbour authority.\n")
    (outside / "private-salaries.txt").write_text("Salaries of the harbour staff.\n")
    (outside / "drafts" / "draft.txt").write_text("An unfinished draft about harbour fees.\n")
    count = len(running.reports)
    outside.rename(folder / "incoming")  # moved in as one folder: one event
    wait_until(lambda: "report.txt" in running.indexed() and len(running.reports) > count)
    assert "private-salaries.txt" not in running.indexed()  # the root's .ragignore applies below it
    assert "draft.txt" not in running.indexed()


def test_delete_folder(running: Running, folder: Path) -> None:
    shutil.rmtree(folder / "sub")
    wait_until(lambda: set(running.indexed()) == {"first.txt"})
    assert not running.rk.search("tide pools anemones", k=5) or all(
        "anemones" not in h.text for h in running.rk.search("tide pools anemones", k=5)
    )


def test_burst_of_500_files(running: Running, folder: Path) -> None:
    burst = folder / "burst"
    burst.mkdir()
    for i in range(500):
        (burst / f"f{i:03d}.txt").write_text(f"Burst file number {i} mentions the unique token zq{i}x.\n")
    wait_until(lambda: sum(1 for p in running.paths() if "/burst/" in p) == 500, deadline_s=240, what="500 files")
    assert running.rk.status()["files"] == 503
    hits = running.rk.search("Burst file number 417 mentions the unique token zq417x", k=1)
    assert hits and Path(hits[0].path).name == "f417.txt"


def test_second_writer_is_refused_while_searches_work(
    running: Running, embedder: SentenceTransformerEmbedder, folder: Path
) -> None:
    other = open_ragkit(embedder=embedder)
    with pytest.raises(IndexLockedError, match="writing to the index"):
        other.index([folder])
    assert other.search("kestrels hunting voles", k=1)
    status = other.status()["watcher"]
    assert status["live"] is True and status["last_sync"] and status["queue"] == 0
    other.close()


def test_changes_while_not_watching_are_caught_up(embedder: SentenceTransformerEmbedder, folder: Path) -> None:
    rk = open_ragkit(embedder=embedder)
    rk.index([folder])
    (folder / "sub" / "inner2.txt").unlink()
    (folder / "offline.txt").write_text("Written while no watcher ran: moss on north faces.\n")
    live = rk.live_sync([folder], debounce_s=0.1, rescan_s=3600)
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    assert live.started.wait(120)
    names = {Path(r.path).name for r in rk.library.manifest.files()}
    assert "offline.txt" in names and "inner2.txt" not in names
    live.stop()
    thread.join(30)
    assert rk.status()["watcher"]["live"] is False
    rk.close()


def test_saved_searches_report_what_the_watcher_brings_in(running: Running, folder: Path) -> None:
    rk = running.rk
    saved = rk.save_search("crabs", "crabs OR granite")
    assert (saved.total, saved.new) == (1, 0)  # inner.md: its match now is the baseline, not news
    (folder / "sub" / "later.txt").write_text("Granite tors stand above the moor.\n")
    wait_until(lambda: rk.saved_searches()[0].new == 1, what="the saved search's new match")
    assert any(r.new_matches == {"crabs": 1} for r in running.reports)
    assert [s["new"] for s in rk.status()["searches"]] == [1]
    search, result, news = rk.run_search("crabs")
    assert [Path(m.path).name for m in news] == ["later.txt"]
    assert result.total == search.total == 2 and search.new == 0  # looked at: no longer new
    # a renamed file brings nothing new; a new passage in an old file does
    count = len(running.reports)
    (folder / "sub" / "later.txt").rename(folder / "later-moved.txt")
    wait_until(lambda: len(running.reports) > count and "later-moved.txt" in running.indexed())
    assert rk.saved_searches()[0].new == 0
    (folder / "first.txt").write_text("Kestrels hover over fields while hunting voles.\n\nFiddler crabs wave.\n")
    wait_until(lambda: rk.saved_searches()[0].new == 1, what="the edited file's new match")
    (news_match,) = rk.run_search("crabs")[2]
    assert Path(news_match.path).name == "first.txt" and "\x02crabs\x03" in news_match.snippet.lower()
