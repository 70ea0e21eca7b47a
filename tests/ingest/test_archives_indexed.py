"""Archives indexed like folders: members found, cited as archive.zip!/inner/file, their
passages shown and the member opened from the archive; a zip bomb fails with its reason."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from ragkit.assistant.local import open_ragkit
from tests.conftest import SAMPLES
from tests.helpers.cli import ragkit
from tests.helpers.documents import zipped


def test_archives_are_indexed_cited_shown_and_opened_by_member(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs, home = tmp_path / "docs", tmp_path / "home"
    docs.mkdir()
    inner = zipped(tmp_path / "inner.zip", {"deep/notes.txt": b"The Tolsvik ledger: ask ledger@tolsvik.no.\n"})
    zipped(
        docs / "leak.zip",
        {"spec.pdf": (SAMPLES / "shared-mime-info-spec.pdf").read_bytes(), "nested/inner.zip": inner.read_bytes(),
         "photo.raw": b"\x00" * 10},
    )  # fmt: skip
    zipped(docs / "bomb.zip", {"zeros.txt": b"\0" * 60_000_000})
    indexed = ragkit("index", docs, "--json", home=home)
    report = indexed.json()
    assert report["added"] == 1 and [Path(f["path"]).name for f in report["failed"]] == ["bomb.zip"]
    assert "likely zip bomb" in report["failed"][0]["reason"]
    assert any("photo.raw (no loader for its type)" in w["note"] for w in report["warnings"])
    shown = ragkit("find", "tolsvik", home=home).stdout
    assert "leak.zip!/nested/inner.zip!/deep/notes.txt" in shown
    hit = ragkit("find", "tolsvik", "--json", home=home).json()["hits"][0]
    assert hit["member"] == "leak.zip!/nested/inner.zip!/deep/notes.txt" and hit["path"] == str(docs / "leak.zip")
    pdf = ragkit("find", '"magic rules"', "--json", home=home).json()["hits"][0]
    assert pdf["member"].startswith("leak.zip!/spec.pdf, page ")
    emails = ragkit("entities", "--type", "email", "--json", home=home).json()["entities"]
    assert [e["name"] for e in emails] == ["ledger@tolsvik.no"]  # entities of members too
    record = tmp_path / "opened.txt"
    script = tmp_path / "viewer.py"
    script.write_text(f"import sys; open({str(record)!r}, 'w').write(' '.join(sys.argv[1:]))")
    monkeypatch.setenv("RAGKIT_VIEWER", f"{sys.executable} {script} --page={{page}} {{path}}")
    monkeypatch.setenv("RAGKIT_HOME", str(home))
    rk = open_ragkit()
    try:
        passage = rk.passage(hit["path"], hit["page"], hit["start"], hit["end"])
        assert "Tolsvik" in passage["span"]  # read again from the member in the archive
        rk.open_file(hit["path"], hit["page"], hit["member"])
        deadline = time.monotonic() + 30
        while not record.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        opened = record.read_text().split()
        assert opened[0] == "--page=1" and Path(opened[1]).name == "notes.txt"
        assert Path(opened[1]).read_text().startswith("The Tolsvik ledger")  # the member, taken out
        record.unlink()
        page = int(pdf["member"].rsplit(" ", 1)[1])
        rk.open_file(pdf["path"], pdf["page"], pdf["member"])
        while not record.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert record.read_text().split()[0] == f"--page={page}" and record.read_text().endswith("spec.pdf")
    finally:
        rk.close()
