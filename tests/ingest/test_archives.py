"""Archives read member by member within limits: nested archives, zip bombs, link and path
tricks, and members with no loader listed rather than skipped in silence."""

from __future__ import annotations

import gzip
import io
import itertools
import tarfile
from pathlib import Path

import pytest

from ingest import archives, load_document
from ingest.types import LoadError
from tests.conftest import SAMPLES
from tests.helpers.documents import zipped


def headings(path: Path) -> list[str]:
    return [s.heading_path[0] for s in load_document(path).sections]


def test_members_are_read_and_named_inside_their_archive(tmp_path: Path) -> None:
    inner = zipped(tmp_path / "inner.zip", {"deep/notes.txt": b"The Tolsvik ledger is in the inner archive."})
    outer = zipped(
        tmp_path / "outer.zip",
        {"docs/users.txt": (SAMPLES / "users-and-groups.txt").read_bytes(),
         "spec.pdf": (SAMPLES / "shared-mime-info-spec.pdf").read_bytes(),
         "nested/inner.zip": inner.read_bytes(), "picture.bin": b"\x00\x01\x02"},
    )  # fmt: skip
    document = load_document(outer)
    names = [s.heading_path[0] for s in document.sections]
    assert "outer.zip!/docs/users.txt" in names and "outer.zip!/nested/inner.zip!/deep/notes.txt" in names
    pdf = [s for s in document.sections if s.heading_path[0] == "outer.zip!/spec.pdf"]
    assert len(pdf) > 5 and pdf[0].heading_path[1] == "page 1"  # a member's pages kept in its heading
    offsets = [(s.offset, s.offset + len(s.text)) for s in document.sections]
    assert all(a[1] < b[0] for a, b in itertools.pairwise(offsets))  # every passage its own place
    assert document.notes == ["1 archive member(s) not indexed: picture.bin (no loader for its type)"]
    with tarfile.open(tmp_path / "t.tar.gz", "w:gz") as tar:
        tar.add(SAMPLES / "users-and-groups.txt", "a/users.txt")
    assert headings(tmp_path / "t.tar.gz") == ["t.tar.gz!/a/users.txt"]
    with gzip.open(tmp_path / "notes.txt.gz", "wb") as packed:
        packed.write(b"Gzipped notes about Acme.")
    assert headings(tmp_path / "notes.txt.gz") == ["notes.txt.gz!/notes.txt"]


def test_a_zip_bomb_is_refused_with_the_reason(tmp_path: Path) -> None:
    bomb = zipped(tmp_path / "bomb.zip", {"zeros.txt": b"\0" * 50_000_000})
    with pytest.raises(LoadError, match="likely zip bomb"):
        load_document(bomb)


def test_nesting_members_and_total_size_are_limited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    level = zipped(tmp_path / "l0.zip", {"a.txt": b"bottom"})
    for n in range(1, 5):  # four archives around it: deeper than the three allowed
        level = zipped(tmp_path / f"l{n}.zip", {f"l{n - 1}.zip": level.read_bytes()})
    with pytest.raises(LoadError, match="nest deeper than 3"):
        load_document(level)
    assert headings(tmp_path / "l3.zip") == ["l3.zip!/l2.zip!/l1.zip!/l0.zip!/a.txt"]  # three deep is fine
    monkeypatch.setattr(archives, "LIMITS", archives.Limits(members=50, total_bytes=200_000))
    many = zipped(tmp_path / "many.zip", {f"m{n}.txt": b"x" for n in range(60)})
    with pytest.raises(LoadError, match="more than 50 members"):
        load_document(many)
    big = zipped(tmp_path / "big.zip", {f"b{n}.txt": bytes(range(256)) * 400 for n in range(3)})
    with pytest.raises(LoadError, match="past 200,000 bytes in all"):
        load_document(big)


def test_links_and_odd_paths_write_nothing_outside(tmp_path: Path) -> None:
    archive = tmp_path / "odd.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in (("../escape.txt", b"climbing out"), ("/abs/root.txt", b"absolute")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("passwd.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    document = load_document(archive)
    assert [s.text for s in document.sections] == ["climbing out", "absolute"]
    assert [s.heading_path[0] for s in document.sections] == ["odd.tar!/../escape.txt", "odd.tar!/abs/root.txt"]
    assert not (tmp_path.parent / "escape.txt").exists() and not Path("/abs/root.txt").exists()
    assert document.notes == ["1 archive member(s) not indexed: passwd.txt (a link)"]


def test_broken_archives_fail_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(LoadError, match="not a readable zip"):
        load_document(tmp_path / "broken.zip")
    (tmp_path / "broken.tar.gz").write_bytes(gzip.compress(b"not a tar at all" * 10))
    with pytest.raises(LoadError, match="not a readable tar archive"):
        load_document(tmp_path / "broken.tar.gz")
    (tmp_path / "notes.gz").write_bytes(gzip.compress(b"a gzipped text, no tar"))
    with pytest.raises(LoadError, match=r"no extractable text .*notes \(no loader for its type\)"):
        load_document(tmp_path / "notes.gz")  # "notes" has no type: the reason says so
