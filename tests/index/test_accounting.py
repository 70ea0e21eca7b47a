"""Every file under the roots is accounted for: added, failed (with the reason), skipped
(no loader) or ignored (with the rule that ignored it) — their sum is the files on disk."""

from __future__ import annotations

import os
from pathlib import Path

from tests.helpers.cli import ragkit


def test_added_failed_skipped_and_ignored_add_up_to_the_files_on_disk(tmp_path: Path) -> None:
    docs, home = tmp_path / "docs", tmp_path / "home"
    for name, text in {
        "a.txt": "A plain note.", "b/c.md": "# Title\nSome text.", ".hidden/d.txt": "hidden", ".hidden/e.txt": "hidden",
        ".git/HEAD": "ref: refs/heads/main", ".git/objects/ab": "x", "draft.txt~": "backup", "f.tmp": "temp",
        "private/g.txt": "kept out", "notes.bak": "old", "h.xyz": "no loader", "broken.pdf": "not a pdf at all",
        ".ragignore": "private/\n*.bak\n",
    }.items():  # fmt: skip
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text)
    on_disk = sum(len(files) for _, _, files in os.walk(docs))
    report = ragkit("index", docs, "--json", home=home).json()
    assert report["added"] == 2 and [Path(f["path"]).name for f in report["failed"]] == ["broken.pdf"]
    assert report["skipped"] == 1  # h.xyz
    assert report["added"] + len(report["failed"]) + report["skipped"] + report["ignored"] == on_disk
    rules = {Path(i["path"]).name: (i["rule"], i["files"]) for i in report["ignored_paths"]}
    assert rules[".hidden"] == ("hidden", 2) and rules[".git"] == ("hidden", 2)
    assert rules["f.tmp"] == ("default rule *.tmp", 1) and rules["draft.txt~"] == ("default rule *~", 1)
    assert rules["private"] == (f".ragignore in {docs}: private/", 1)
    assert rules["notes.bak"] == (f".ragignore in {docs}: *.bak", 1)
    status = ragkit("status", "--json", home=home).json()
    assert status["ignored"] == report["ignored"]
    shown = ragkit("status", "--ignored", home=home).stdout
    assert f".ragignore in {docs}: private/" in shown and ".hidden (2 files): hidden" in shown
