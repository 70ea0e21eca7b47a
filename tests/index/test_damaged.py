"""A damaged index — its manifest truncated or overwritten, its vector store truncated — is
detected when opened, with a message that names ragkit index --rebuild, never a traceback;
and the rebuild sets the damaged file aside and brings the index back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers.cli import ragkit


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("damaged")
    docs, home = root / "docs", root / "home"
    shutil.copytree(Path(__file__).resolve().parents[2] / "samples", docs)
    assert ragkit("index", docs, home=home).code == 0
    return docs, home


def truncate(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        (lambda index: truncate(index / "manifest.sqlite", 20_000), "manifest"),
        (lambda index: (index / "manifest.sqlite").write_bytes(b"\x13garbage" * 999), "manifest"),
        (lambda index: truncate(index / "chroma" / "chroma.sqlite3", 30_000), "vector store"),
    ],
    ids=["manifest-truncated", "manifest-overwritten", "chroma-truncated"],
)
def test_damage_is_named_with_the_fix_and_a_rebuild_repairs_it(
    built: tuple[Path, Path], tmp_path: Path, damage: object, what: str
) -> None:
    docs, clean = built
    home = tmp_path / "home"
    shutil.copytree(clean, home)
    damage(home / "index")  # type: ignore[operator]
    # a damaged manifest stops everything; a damaged vector store stops the next write (searches read the
    # vectors the manifest keeps, so they go on)
    commands = [("status",), ("index", str(docs)), ("find", "mime"), ("search", "mime")]
    if what == "vector store":
        commands = [("index", str(docs))]
        assert ragkit("search", "mime", home=home).code == 0
    for command in commands:
        ran = ragkit(*command, home=home)
        assert ran.code == 1, (command, ran.stdout, ran.stderr)
        assert "Traceback" not in ran.stderr and "ragkit index --rebuild" in ran.stderr, (command, ran.stderr)
        assert f"the index's {what}" in ran.stderr
    rebuilt = ragkit("index", "--rebuild", str(docs), "--json", home=home)
    assert rebuilt.code == 0, rebuilt.stderr
    assert rebuilt.json()["added"] == 5 and "kept aside" in rebuilt.stderr
    assert ragkit("find", "mime", "--count", "--json", home=home).json()["total"] > 10
    assert ragkit("search", "which user id does root have", "-k", "1", home=home).code == 0
    assert list((home / "index").glob("*damaged*"))  # the damaged file, kept for whoever wants to look
