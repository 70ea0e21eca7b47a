"""Lifecycle of a facade and its watcher: stopping mid catch-up, readers in other processes,
model loads beside the writer lock, schema migrations raced by processes, stale passages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ragkit import Ragkit, open_ragkit
from ragkit.core.errors import RagkitError
from ragkit.index.embed import SentenceTransformerEmbedder
from ragkit.index.report import IndexReport, Progress
from ragkit.llm.loader import ChatModels
from tests.conftest import ROOT
from tests.helpers import wait_until
from tests.helpers.documents import many_files
from tests.helpers.index import assert_consistent


def test_stopping_live_sync_mid_catch_up_ends_the_run_and_leaves_the_index_consistent(
    rk: Ragkit, tmp_path: Path
) -> None:
    folder = many_files(tmp_path / "docs", 400)
    progress: list[Progress] = []
    reports: list[IndexReport] = []
    live = rk.live_sync([folder], progress=progress.append, on_sync=reports.append, rescan_s=3600)
    thread = live.start()
    wait_until(lambda: any(p.done >= 20 for p in progress), 120, "the catch-up to be under way")
    asked = time.monotonic()
    live.stop()
    thread.join(30)
    took = time.monotonic() - asked
    assert not thread.is_alive(), "the watcher did not stop"
    assert live.error is None, live.error
    print(f"stopped {took:.2f} s after being asked, mid catch-up")  # the figure, for the log
    (report,) = reports
    assert report.cancelled and report.files < 400  # it stopped before the end ...
    assert_consistent(rk)  # ... with nothing half-written
    assert rk.status()["watcher"]["live"] is False
    done = rk.index([folder])  # and the next run finishes the work
    assert done.files == 400 and not done.cancelled


def test_close_waits_for_the_watcher_and_closes_its_connections(rk: Ragkit, tmp_path: Path) -> None:
    folder = many_files(tmp_path / "docs", 3)
    live = rk.live_sync([folder], rescan_s=3600)
    thread = live.start()
    assert live.started.wait(120)
    rk.close()
    assert not thread.is_alive() and live.finished.is_set()
    assert rk.library._manifest is None  # closed; a later call opens it again


def test_ctrl_c_stops_ragkit_watch_mid_catch_up(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = many_files(tmp_path / "docs", 400)
    log = tmp_path / "watch.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ragkit", "watch", str(folder)],
            env=dict(os.environ, RAGKIT_HOME=str(home)),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        database = home / "index" / "manifest.sqlite"
        wait_until(lambda: _ready_files(database) >= 20, 120, "the catch-up to be under way")
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    output = log.read_text()
    assert code == 0 and "stopped" in output and "Traceback" not in output, output
    rk = open_ragkit(home=home)
    assert 0 < rk.status()["files"] < 400
    assert_consistent(rk)
    rk.close()


def _ready_files(database: Path) -> int:
    import sqlite3

    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM files WHERE status = 'ok'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_a_long_lived_reader_sees_another_process_s_writes(
    embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "first.txt").write_text("Puffins nest in burrows on grassy cliff tops.\n")
    reader = open_ragkit(embedder=embedder)
    assert reader.search("puffin burrows") == []  # its vector store is open before anything is written
    watcher = subprocess.Popen(
        [sys.executable, "-m", "ragkit", "watch", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: reader.status()["files"] == 1, 120, "the watcher's catch-up")
        assert reader.search("puffin burrows", k=1)[0].text.startswith("Puffins")
        for n, (name, text, query) in enumerate(
            [
                ("second.txt", "Narwhals have one long spiral tusk.", "narwhal tusk"),
                ("third.txt", "Axolotls regrow lost limbs and organs.", "axolotl regrows limbs"),
            ],
            start=2,
        ):
            (folder / name).write_text(text + "\n")
            wait_until(lambda n=n: reader.status()["files"] == n, 60, f"{name} to be committed")
            # committed by the other process: the very next search must find it
            hits = reader.search(query, k=1)
            assert hits and hits[0].text.strip() == text, (name, hits)
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=60)
        reader.close()


def test_a_model_load_does_not_hold_up_the_writer_lock(rk: Ragkit, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    loading = threading.Event()

    def slow_load(self: ChatModels, ref: object) -> object:  # stands in for a multi-second llama.cpp load
        loading.set()
        release.wait(60)
        raise RagkitError("load abandoned by the test")

    monkeypatch.setattr(ChatModels, "_local", slow_load)

    def load() -> None:
        with pytest.raises(RagkitError, match="abandoned"):
            rk.llm()

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    assert loading.wait(30)
    acquired = threading.Event()

    def write() -> None:
        with rk.writer():
            acquired.set()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    writer.join(10)
    held_up = not acquired.is_set()
    release.set()
    loader.join(30)
    assert not held_up, "the writer lock waited for a model load"


def test_two_processes_opening_a_new_home_at_once_both_migrate_safely(tmp_path: Path) -> None:
    database = tmp_path / "index" / "manifest.sqlite"
    go = tmp_path / "go"
    code = (
        "import os, sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from pathlib import Path\n"
        "from ragkit.storage.manifest import Manifest\nfrom ragkit.storage.migrations import MIGRATIONS\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
        f"m = Manifest(Path({str(database)!r}))\n"
        "assert m.db.execute('PRAGMA user_version').fetchone()[0] == len(MIGRATIONS)\n"
    )
    for _ in range(3):  # the race is in the first moments of a new file: try it several times
        for leftover in (database, database.with_name("manifest.sqlite-wal"), go):
            leftover.unlink(missing_ok=True)
        procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _ in range(8)]
        time.sleep(2.0)  # every process is waiting for the signal
        go.touch()
        results = [(p.communicate(timeout=60)[1], p.returncode) for p in procs]
        failures = [err for err, rc in results if rc != 0]
        assert not failures, failures[0]


def test_a_passage_is_refused_once_its_file_changed_even_at_the_same_length(rk: Ragkit, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    doc = folder / "note.txt"
    doc.write_text("The vault code is 4471 and the spare key hangs in the shed.\n")
    rk.index([folder])
    hit = rk.search("vault code", k=1)[0]
    assert rk.passage(hit.path, hit.page, hit.start, hit.end)["span"] == hit.text
    # touched, not changed: still shown
    os.utime(doc, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    assert rk.passage(hit.path, hit.page, hit.start, hit.end)["span"] == hit.text
    # changed, at the same length: the offsets would now point at other words
    before = doc.read_text()
    doc.write_text(before.replace("4471", "9913"))
    assert len(doc.read_text()) == len(before)
    with pytest.raises(RagkitError, match="changed since it was indexed"):
        rk.passage(hit.path, hit.page, hit.start, hit.end)
