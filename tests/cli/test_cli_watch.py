"""`ragkit watch` and `ragkit folders` as a user runs them: a real foreground process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.helpers import wait_until
from tests.helpers.cli import ragkit


def test_folders_add_list_remove(tmp_path: Path) -> None:
    home = tmp_path / "h"
    docs = tmp_path / "docs"
    docs.mkdir()
    assert "no folders yet" in ragkit("folders", "list", home=home).stdout
    assert ragkit("folders", "add", docs, home=home).code == 0
    assert ragkit("folders", "list", "--json", home=home).json() == {"folders": [str(docs.resolve())]}
    assert "folders = [" in (home / "config.toml").read_text()
    bad = ragkit("folders", "add", tmp_path / "missing", home=home)
    assert bad.code == 1 and "not a folder" in bad.stderr
    assert ragkit("folders", "remove", docs, home=home).code == 0
    assert ragkit("folders", "list", "--json", home=home).json() == {"folders": []}


def test_watch_without_folders_names_the_fix(tmp_path: Path) -> None:
    result = ragkit("watch", home=tmp_path / "h")
    assert result.code == 1 and "ragkit folders add" in result.stderr


def test_watch_runs_in_the_foreground_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    home = tmp_path / "h"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "one.txt").write_text("Otters use stones to open shellfish.\n")
    assert ragkit("folders", "add", docs, home=home).code == 0
    log = tmp_path / "watch.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ragkit", "watch"],
            env=dict(os.environ, RAGKIT_HOME=str(home)),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: ragkit("status", "--json", home=home).json()["watcher"].get("live") is True)
        (docs / "two.txt").write_text("Beavers build dams from branches and mud.\n")
        wait_until(lambda: ragkit("status", "--json", home=home).json()["files"] == 2)
        refused = ragkit("index", docs, home=home)
        assert refused.code == 1 and "writing to the index" in refused.stderr
        hits = ragkit("search", "beaver dams", "--json", home=home).json()["hits"]
        assert Path(hits[0]["path"]).name == "two.txt"
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    output = log.read_text()
    assert code == 0, output
    assert "stopped" in output and "Traceback" not in output
    status = ragkit("status", "--json", home=home).json()
    assert status["watcher"]["live"] is False
    assert ragkit("index", docs, home=home).code == 0  # the lock went with the watcher
