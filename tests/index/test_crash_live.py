"""kill -9 of the long-running writers, `ragkit watch` and `ragkit serve` (whose watcher keeps
the index in step), while they write changes; restarted, they give exactly the clean index."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ragkit.assistant.local import open_ragkit
from ragkit.index.embed import SentenceTransformerEmbedder
from tests.conftest import SAMPLES
from tests.helpers import wait_until
from tests.helpers.cli import ragkit
from tests.helpers.index import assert_consistent, snapshot
from tests.helpers.servers import free_port


def start(command: str, home: Path, log: Path, kill_at: str | None = None) -> subprocess.Popen[bytes]:
    args = ["watch"] if command == "watch" else ["serve", "--port", str(free_port())]
    env = dict(os.environ, RAGKIT_HOME=str(home))
    if kill_at:
        env["RAGKIT_KILL_AT"] = kill_at
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "ragkit", *args], env=env, stdout=out, stderr=out,
                                start_new_session=True)  # fmt: skip


def synced(home: Path, files: int) -> bool:
    status = ragkit("status", "--json", home=home).json()
    watcher = status["watcher"]
    return bool(watcher.get("live")) and status["files"] == files and not watcher.get("queue")


def change(docs: Path) -> None:
    """What a person does while the watcher runs: a rename, a deletion, an edit, new files."""
    (docs / "note-01.txt").rename(docs / "renamed-01.txt")
    (docs / "note-02.txt").unlink()
    with (docs / "note-03.txt").open("a") as handle:
        handle.write("\nA closing line about lighthouse keepers.\n")
    words = (SAMPLES / "users-and-groups.txt").read_text().split()
    for i in range(25):
        (docs / f"new-{i:02d}.txt").write_text(f"New note {i}. " + " ".join(words[i * 50 : i * 50 + 300]))


@pytest.mark.parametrize(
    ("command", "kill_at"),
    [("watch", "after-vector-write"), ("watch", None), ("serve", "before-manifest-commit")],
    ids=["watch-at-a-vector-write", "watch-at-a-random-time", "serve-before-a-commit"],
)
def test_a_killed_writer_restarted_gives_the_clean_index(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, command: str, kill_at: str | None
) -> None:
    docs, home, log = tmp_path / "docs", tmp_path / "home", tmp_path / "writer.log"
    docs.mkdir()
    words = (SAMPLES / "users-and-groups.txt").read_text().split()
    for i in range(10):
        (docs / f"note-{i:02d}.txt").write_text(f"Note {i}. " + " ".join(words[i * 80 : i * 80 + 400]))
    assert ragkit("folders", "add", docs, home=home).code == 0
    proc = start(command, home, log)  # first: in step with the folder
    wait_until(lambda: synced(home, 10))
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0, log.read_text()

    proc = start(command, home, log, kill_at)
    wait_until(lambda: ragkit("status", "--json", home=home).json()["watcher"].get("live") is True)
    change(docs)
    if kill_at is None:  # from outside, once the changes are being written
        wait_until(lambda: ragkit("status", "--json", home=home).json()["files"] != 10, 120)
        os.killpg(proc.pid, signal.SIGKILL)
    code = proc.wait(timeout=180)
    assert code == -signal.SIGKILL, log.read_text()[-3000:]
    files = len(list(docs.iterdir()))
    assert not synced(home, files) or kill_at is None  # a named kill landed before the sync was done

    proc = start(command, home, log)  # restarted: it takes over the dead writer's lock and catches up
    try:
        wait_until(lambda: synced(home, files))
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
    restarted = open_ragkit(home=home, embedder=embedder)
    assert_consistent(restarted)
    clean = open_ragkit(home=tmp_path / "clean", embedder=embedder)
    clean.index([docs])
    assert snapshot(restarted, docs) == snapshot(clean, docs)
    restarted.close()
    clean.close()
