"""kill -9 a real indexing process at many points; the next run must converge exactly."""

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
from ragkit.embed import SentenceTransformerEmbedder
from tests.conftest import SAMPLES
from tests.integration.helpers import assert_consistent, snapshot

pytestmark = pytest.mark.slow

KILLS = 8


def make_corpus(root: Path) -> None:
    shutil.copytree(SAMPLES, root)
    rng = random.Random(7)
    words = (SAMPLES / "users-and-groups.txt").read_text().split()
    for i in range(40):
        start = rng.randrange(len(words) - 600)
        text = " ".join(words[start : start + rng.randrange(50, 600)])
        (root / f"note-{i:02d}.txt").write_text(f"Note {i}. {text}\n")
    (root / "dup-of-note-03.txt").write_text((root / "note-03.txt").read_text())


def start_index(folder: Path, home: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, RAGKIT_HOME=str(home))
    home.mkdir(exist_ok=True)
    with (home.parent / f"{home.name}.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "ragkit", "index", str(folder), "--json"],
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
