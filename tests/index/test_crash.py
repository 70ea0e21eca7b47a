"""kill -9 a real indexing process, at each named step of the indexer (deterministic kill
points, ``ragkit.core.faults``) and at random times; the next run must converge exactly."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragkit import open_ragkit
from ragkit.core.faults import POINTS
from ragkit.index.embed import SentenceTransformerEmbedder
from tests.conftest import SAMPLES
from tests.helpers.index import assert_consistent, snapshot

KILLS = 4  # in the suite; benchmarks/crash.py kills and resumes 50 times


def make_corpus(root: Path) -> None:
    shutil.copytree(SAMPLES, root)
    rng = random.Random(7)
    words = (SAMPLES / "users-and-groups.txt").read_text().split()
    for i in range(40):
        start = rng.randrange(len(words) - 600)
        text = " ".join(words[start : start + rng.randrange(50, 600)])
        (root / f"note-{i:02d}.txt").write_text(f"Note {i}. {text}\n")
    (root / "dup-of-note-03.txt").write_text((root / "note-03.txt").read_text())


def change_corpus(root: Path) -> None:
    """What happens between two runs: a rename, a deletion, an edit and new files."""
    (root / "note-05.txt").rename(root / "renamed-05.txt")
    (root / "note-07.txt").unlink()
    with (root / "note-09.txt").open("a") as handle:
        handle.write("An added closing line about lighthouse keepers.\n")
    words = (SAMPLES / "users-and-groups.txt").read_text().split()
    for i in range(12):
        (root / f"new-{i:02d}.txt").write_text(
            f"New note {i}. " + " ".join(words[i * 40 : i * 40 + 60 + 15 * i]) + "\n"
        )


def start_index(folder: Path, home: Path, *options: str, kill_at: str | None = None) -> subprocess.Popen[bytes]:
    env = dict(os.environ, RAGKIT_HOME=str(home))
    if kill_at:
        env["RAGKIT_KILL_AT"] = kill_at
    home.mkdir(exist_ok=True)
    with (home.parent / f"{home.name}.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "ragkit", "index", str(folder), "--json", *options],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,  # so the kill reaches the parse workers too
        )


def ready_docs(home: Path) -> int:
    import sqlite3

    db_path = home / "index" / "manifest.sqlite"
    if not db_path.exists():
        return 0
    db = sqlite3.connect(db_path)
    try:
        return int(db.execute("SELECT count(*) FROM docs WHERE state = 'ready'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


class Scene:
    """A corpus indexed once (``before``), then changed; ``clean`` is the index an
    uninterrupted run over the changed corpus gives, starting from ``before``."""

    def __init__(self, base: Path) -> None:
        self.folder = base / "corpus"
        make_corpus(self.folder)
        self.before = base / "before"
        assert start_index(self.folder, self.before).wait(timeout=600) == 0, (base / "before.log").read_text()
        change_corpus(self.folder)
        self.clean = base / "clean"
        shutil.copytree(self.before, self.clean)
        assert start_index(self.folder, self.clean).wait(timeout=600) == 0, (base / "clean.log").read_text()


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return Scene(tmp_path_factory.mktemp("crash"))


def killed_at(point: str, scene: Scene, home: Path, *options: str) -> None:
    shutil.copytree(scene.before, home)
    proc = start_index(scene.folder, home, *options, kill_at=point)
    try:
        code = proc.wait(timeout=600)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its parse workers, if any are left
        except ProcessLookupError:
            pass
    log = (home.parent / f"{home.name}.log").read_text()
    assert code == -signal.SIGKILL, f"the run was not killed at {point!r} (exit {code}): {log}"


def assert_converges(scene: Scene, home: Path, embedder: SentenceTransformerEmbedder) -> None:
    finished = open_ragkit(embedder=embedder, home=home)
    finished.index([scene.folder])
    assert_consistent(finished)
    clean = open_ragkit(embedder=embedder, home=scene.clean)
    assert snapshot(finished, scene.folder) == snapshot(clean, scene.folder)
    again = finished.index([scene.folder])
    assert again.embedded == 0 and again.unchanged == again.files
    finished.close()
    clean.close()


ELSEWHERE = {"rebuild", "row-written", "each-row"}  # tested here below, in test_rowdocs.py, and in test_each.py


@pytest.mark.parametrize("point", sorted(set(POINTS) - ELSEWHERE))
def test_kill_at_each_named_step_then_rerun_gives_the_clean_index(
    point: str, scene: Scene, tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    home = tmp_path / "home"
    killed_at(point, scene, home)
    assert_converges(scene, home, embedder)


def test_kill_during_a_rebuild_then_rerun_gives_the_clean_index(
    scene: Scene, tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    home = tmp_path / "home"
    killed_at("rebuild", scene, home, "--rebuild")  # the manifest is cleared, the vector store not yet
    assert_converges(scene, home, embedder)


def test_kill_9_at_random_points_then_rerun_gives_the_clean_index(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    make_corpus(folder)

    clean_home = tmp_path / "clean"
    started = time.monotonic()
    proc = start_index(folder, clean_home)
    assert proc.wait(timeout=600) == 0, (tmp_path / "clean.log").read_text()
    full_run = time.monotonic() - started

    home = tmp_path / "crashy"
    rng = random.Random(2024)
    progress_seen = []
    for _ in range(KILLS):
        proc = start_index(folder, home)
        time.sleep(rng.uniform(0.3, full_run))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        progress_seen.append(ready_docs(home))
    # the kills landed at different stages, some mid-run
    assert len(set(progress_seen)) > 1, progress_seen

    embedder = SentenceTransformerEmbedder()
    finished = open_ragkit(embedder=embedder, home=home)
    finished.index([folder])
    assert_consistent(finished)
    clean = open_ragkit(embedder=embedder, home=clean_home)
    assert_consistent(clean)
    assert snapshot(finished, folder) == snapshot(clean, folder)
    # and a further run has nothing left to do
    again = finished.index([folder])
    assert again.embedded == 0 and again.unchanged == again.files
