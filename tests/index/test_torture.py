"""A torture corpus, generated here, indexed by the real command: every file is indexed,
failed with a reason or ignored with a rule; the run ends, and the next one is clean."""

from __future__ import annotations

import os
import random
import threading
import time
import zipfile
from pathlib import Path

import pytest

from ragkit.assistant.local import open_ragkit
from tests.helpers.cli import ragkit
from tests.helpers.index import assert_consistent


def torture(docs: Path, outside: Path) -> None:
    rng = random.Random(18)
    docs.mkdir()
    (docs / "binary.txt").write_bytes(bytes(rng.randrange(256) for _ in range(20_000)))
    (docs / "latin1.txt").write_bytes("Søren's café paid 1.250 kroner à Zoë.\n".encode("latin-1"))
    mixed = "First line in UTF-8: Zoë.\n".encode() + "Then Latin-1: Søren.\n".encode("latin-1")
    (docs / "mixed.txt").write_bytes(mixed)
    (docs / "invalid-utf8.md").write_bytes(b"# Notes\n\nValid start \xff\xfe\xc3 then \xed\xa0\x80 surrogates.\n")
    (docs / "one-paragraph.txt").write_text("\n".join(f"line {i} of one long paragraph" for i in range(10_000)))
    (docs / "deep.html").write_text("<div>" * 50_000 + "deep words" + "</div>" * 50_000)
    with open(docs / "sparse-2gb.txt", "wb") as sparse:  # 2 GB on paper, nothing on disk
        sparse.truncate(2 * 1024**3)
    (docs / "one-line.csv").write_text("a," * 3_000_000 + "end\n")  # 6 MB on one line (past the size limit set)
    (docs / "name\nwith newline.txt").write_text("A file whose name holds a newline.\n")
    (docs / "ünïcödé ©ʘ 🙂 名前.md").write_text("# Odd name\n\nText under an odd Unicode name.\n")
    (docs / ("n" * 251 + ".txt")).write_text("A file with a 255-byte name.\n")
    bomb = docs / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<w:p>" + b" " * 20_000_000 + b"</w:p>")
    (docs / "loop-a.txt").symlink_to(docs / "loop-b.txt")
    (docs / "loop-b.txt").symlink_to(docs / "loop-a.txt")
    (docs / "dangling.txt").symlink_to(docs / "gone.txt")
    (docs / "folder-loop").symlink_to(docs)
    (docs / "out.txt").symlink_to(outside)
    os.mkfifo(docs / "pipe.txt")  # opening it would wait for a writer forever
    (docs / "plain.txt").write_text("An ordinary note among the hostile files.\n")


def test_a_torture_corpus_is_accounted_for_file_by_file_and_the_run_goes_on(tmp_path: Path) -> None:
    docs, home, outside = tmp_path / "docs", tmp_path / "home", tmp_path / "outside.txt"
    outside.write_text("outside the roots\n")
    torture(docs, outside)
    entries = sorted(p.name for p in docs.iterdir())
    limits = {"RAGKIT_INDEX__MAX_FILE_MB": "4"}  # the 2 GB sparse file and the 6 MB line fail on size
    started = time.monotonic()
    done = ragkit("index", docs, "--json", home=home, env=limits, timeout=900)
    assert done.code in (0, 1), done.stderr  # 1: some files failed, as they should
    report = done.json()
    failed = {Path(f["path"]).name: f["reason"] for f in report["failed"]}
    ignored = {Path(i["path"]).name: i["rule"] for i in report["ignored_paths"]}
    assert report["added"] + len(failed) + report["skipped"] + len(ignored) == len(entries)
    assert set(failed) >= {"binary.txt", "sparse-2gb.txt", "one-line.csv", "bomb.docx"}
    assert "binary" in failed["binary.txt"] and "zip bomb" in failed["bomb.docx"]
    assert "MB" in failed["sparse-2gb.txt"] and "MB" in failed["one-line.csv"]
    assert ignored["loop-a.txt"] == ignored["loop-b.txt"] == "a symlink loop"
    assert ignored["dangling.txt"] == "a link to nothing" and ignored["pipe.txt"].startswith("not a regular file")
    assert ignored["folder-loop"].startswith("a link to a folder")
    assert all(reason.strip() for reason in failed.values())
    for name in ("latin1.txt", "mixed.txt", "invalid-utf8.md", "one-paragraph.txt", "deep.html", "plain.txt",
                 "name\nwith newline.txt", "ünïcödé ©ʘ 🙂 名前.md", "n" * 251 + ".txt"):  # fmt: skip
        assert name not in failed and name not in ignored, (name, failed.get(name))
    assert time.monotonic() - started < 600
    found = ragkit("find", "Søren", "--json", home=home).json()
    assert {Path(h["path"]).name for h in found["hits"]} == {"latin1.txt", "mixed.txt"}
    again = ragkit("index", docs, "--json", home=home, env=limits, timeout=900).json()
    assert again["added"] == again["updated"] == 0  # nothing read twice; the failures stay listed
    status = ragkit("status", "--json", home=home).json()
    assert {Path(f["path"]).name: f["reason"] for f in status["failures"]} == failed
    rk = open_ragkit(home=home)
    assert_consistent(rk)
    rk.close()


def test_files_that_grow_shrink_and_vanish_while_indexed_end_in_a_clean_index(tmp_path: Path) -> None:
    docs, home = tmp_path / "docs", tmp_path / "home"
    docs.mkdir()
    for i in range(30):
        (docs / f"steady-{i:02d}.txt").write_text(f"Steady note {i}. " * 200)
    grow, shrink, vanish = docs / "grow.txt", docs / "shrink.txt", docs / "vanish.txt"
    stop = threading.Event()

    def churn() -> None:  # a log being written, a file being cut down, one saved and deleted in turns
        n = 0
        started = time.monotonic()
        while not stop.is_set() and time.monotonic() - started < 60:
            n += 1
            with open(grow, "a") as out:
                out.write(f"Growing line {n}.\n")
            shrink.write_text(f"Shrinking text {n}. " * max(1, 400 - n))
            if n % 2:
                vanish.unlink(missing_ok=True)
            else:
                vanish.write_text(f"Here now {n}.\n")
            time.sleep(0.02)

    shrink.write_text("start")
    writer = threading.Thread(target=churn)
    writer.start()
    try:
        done = ragkit("index", docs, "--json", home=home, timeout=600)
    finally:
        stop.set()
        writer.join()
    assert done.code in (0, 1), done.stderr
    report = done.json()
    assert report["added"] >= 30 and all(f["reason"].strip() for f in report["failed"])
    final = ragkit("index", docs, "--json", home=home, timeout=600).json()  # the files at rest now
    assert not final["failed"]
    rk = open_ragkit(home=home)
    assert_consistent(rk)
    db = rk.library.manifest.db
    paths = {Path(p).name for (p,) in db.execute("SELECT path FROM files WHERE status = 'ok'")}
    assert paths == {p.name for p in docs.iterdir()}
    last = grow.read_text().strip().splitlines()[-1]
    assert rk.find(f'"{last.rstrip(".")}"').total == 1  # the grown file as it ended, found once
    rk.close()


def test_files_and_folders_that_cannot_be_read_are_failed_or_ignored_with_the_reason(tmp_path: Path) -> None:
    import json
    import shutil
    import subprocess
    import sys

    # root reads everything: as root, the run is made without the two capabilities that let it
    # (so the files' own permissions hold, as for anyone else)
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is needed to run without root's read-anything capabilities")
    docs, home = tmp_path / "docs", tmp_path / "home"
    (docs / "closed").mkdir(parents=True)
    (docs / "open.txt").write_text("A note anyone may read.\n")
    (docs / "secret.txt").write_text("A note nobody may read.\n")
    (docs / "closed" / "inside.txt").write_text("In a folder nobody may list.\n")
    (docs / "secret.txt").chmod(0o000)
    (docs / "closed").chmod(0o000)
    limited = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    try:
        done = subprocess.run([*limited, sys.executable, "-m", "ragkit", "index", str(docs), "--json"],
                              env=dict(os.environ, RAGKIT_HOME=str(home)), capture_output=True, text=True,
                              timeout=600)  # fmt: skip
    finally:
        (docs / "secret.txt").chmod(0o600)
        (docs / "closed").chmod(0o700)
    assert done.returncode == 0, done.stderr  # a failed file is reported, not an error of the run
    report = json.loads(done.stdout)
    failed = {Path(f["path"]).name: f["reason"] for f in report["failed"]}
    assert report["added"] == 1 and "permission denied" in failed["secret.txt"].lower()
    ignored = {Path(i["path"]).name: i["rule"] for i in report["ignored_paths"]}
    assert "cannot be read" in ignored["closed"] and "Traceback" not in done.stderr
