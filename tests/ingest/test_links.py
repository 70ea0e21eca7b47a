"""Symlinks never lead out of the folder they live in: not to another collection, not to the rest
of the machine, also when the watcher hands a new link in as a changed path (security: #27)."""

from __future__ import annotations

from pathlib import Path

from ingest.scan import scan

EXTS = frozenset({".txt"})


def _tree(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    shared = tmp_path / "shared"
    a, b = shared / "A", shared / "B"
    a.mkdir(parents=True)
    b.mkdir()
    (a / "own.txt").write_text("A's own words\n")
    (b / "secret.txt").write_text("B's secret\n")
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not shared at all\n")
    return shared, a, b, outside


def test_a_link_into_another_collection_is_not_followed(tmp_path: Path) -> None:
    shared, a, b, _ = _tree(tmp_path)
    (a / "link.txt").symlink_to(b / "secret.txt")
    (a / "inside.txt").symlink_to(a / "own.txt")
    found = scan([shared], EXTS, fences=[a, b])
    assert a / "link.txt" in found.outside_links and a / "link.txt" not in found.files
    assert a / "inside.txt" in found.files  # a link within its own collection is fine
    # without collections, the whole shared folder is one: the same link is followed
    assert a / "link.txt" in scan([shared], EXTS).files


def test_a_link_in_a_nested_collection_does_not_reach_its_parent(tmp_path: Path) -> None:
    shared, a, _, _ = _tree(tmp_path)
    inner = a / "inner"
    inner.mkdir()
    (inner / "up.txt").symlink_to(a / "own.txt")
    (a / "down.txt").symlink_to(a / "own.txt")
    found = scan([shared], EXTS, fences=[a, inner])
    assert inner / "up.txt" in found.outside_links and a / "down.txt" in found.files


def test_a_changed_path_that_is_a_link_is_checked_like_any_other(tmp_path: Path) -> None:
    """The watcher scans a changed path as a root, ``within`` the watched folders: a new link to
    a file outside them was indexed before the next full rescan."""
    shared, a, b, outside = _tree(tmp_path)
    for name, target in (("out.txt", outside), ("passwd.txt", Path("/etc/passwd")), ("cross.txt", b / "secret.txt")):
        (a / name).symlink_to(target)
        found = scan([a / name], EXTS, within=[shared], fences=[a, b])
        assert found.files == [] and found.outside_links == [a / name], name
    (a / "ok.txt").symlink_to(a / "own.txt")
    assert scan([a / "ok.txt"], EXTS, within=[shared], fences=[a, b]).files == [a / "ok.txt"]
    (a / "folder").symlink_to(tmp_path)  # a new link to a folder: not walked
    found = scan([a / "folder"], EXTS, within=[shared])
    assert found.files == [] and [why for *_, why, _ in found.ignored] == [
        "a link to a folder (links to folders are not followed)"
    ]


def test_a_folder_the_user_names_through_a_link_is_still_indexed(tmp_path: Path) -> None:
    _, a, _, _ = _tree(tmp_path)
    alias = tmp_path / "alias"
    alias.symlink_to(a)
    assert [p.name for p in scan([alias], EXTS).files] == ["own.txt"]
