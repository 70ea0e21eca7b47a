"""A full disk during an index run: a clear error naming the cause and the way out, the
previous index intact and searchable, and once space is freed the next run converges."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLES

ROOT = Path(__file__).resolve().parents[2]

# Runs in a private mount namespace, so the small disk made for the data directory goes
# away with it whatever happens; every result is written outside it, to OUT.
SCENE = r"""
set -u
mount -t tmpfs -o size=100m tmpfs "$RAGKIT_HOME"
ragkit() { "$PY" -m ragkit "$@"; }
ragkit index "$DOCS1" --json > "$OUT/first.json" 2> "$OUT/first.err"; echo $? > "$OUT/first.code"
free=$(df --output=avail -B1 "$RAGKIT_HOME" | tail -1)
fallocate -l $((free - 2 * 1024 * 1024)) "$RAGKIT_HOME/filler"  # 2 MB left: too little for DOCS2
ragkit index "$DOCS1" "$DOCS2" --json > "$OUT/full.json" 2> "$OUT/full.err"; echo $? > "$OUT/full.code"
ragkit search "user accounts and groups" --json > "$OUT/search.json" 2> "$OUT/search.err"
ragkit status --json > "$OUT/status.json" 2> "$OUT/status.err"
rm "$RAGKIT_HOME/filler"
ragkit index "$DOCS1" "$DOCS2" --json > "$OUT/after.json" 2> "$OUT/after.err"; echo $? > "$OUT/after.code"
"$PY" -c "
import sys
sys.path.insert(0, '$ROOT')
from ragkit.assistant.local import open_ragkit
from tests.helpers.index import assert_consistent
assert_consistent(open_ragkit())
" 2> "$OUT/check.err"; echo $? > "$OUT/check.code"
"""


def test_a_full_disk_stops_the_run_with_its_reason_and_loses_nothing(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.fail("this test makes a small disk (tmpfs in a private mount namespace): run it as root")
    docs, out, home = tmp_path / "docs", tmp_path / "out", tmp_path / "home"
    shutil.copytree(SAMPLES, docs / "one")
    words = (SAMPLES / "users-and-groups.txt").read_text().split()
    rng = random.Random(5)
    (docs / "two").mkdir()
    for i in range(150):
        start = rng.randrange(len(words) - 900)
        (docs / "two" / f"big-{i:03d}.txt").write_text(f"Big note {i}. " + " ".join(words[start : start + 900]))
    out.mkdir()
    home.mkdir()
    env = dict(os.environ, RAGKIT_HOME=str(home), PY=sys.executable, OUT=str(out),
               DOCS1=str(docs / "one"), DOCS2=str(docs / "two"), ROOT=str(ROOT))  # fmt: skip
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", SCENE], env=env,
                          capture_output=True, text=True, timeout=1200)  # fmt: skip
    assert done.returncode == 0, done.stderr

    def read(name: str) -> str:
        return (out / name).read_text()

    assert read("first.code").strip() == "0", read("first.err")
    assert read("full.code").strip() == "1"
    error = read("full.err")
    assert "disk holding ragkit's data is full" in error and "free some space" in error, error
    assert "Traceback" not in error and "--rebuild" not in error  # a full disk is not damage
    hits = json.loads(read("search.json"))["hits"]  # the index from before answers, as it was
    assert hits and all("/one/" in h["path"] for h in hits)
    assert json.loads(read("status.json"))["files"] >= len(list((docs / "one").iterdir()))
    assert read("after.code").strip() == "0", read("after.err")
    assert read("check.code").strip() == "0", read("check.err")  # consistent: nothing lost, nothing twice
    after = json.loads(read("after.json"))
    assert after["failed"] == [] and after["files"] == len(list(docs.rglob("*.*")))
