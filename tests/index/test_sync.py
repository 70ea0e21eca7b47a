"""Incremental sync on real files, real SQLite and real Chroma: nothing lost, nothing twice."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ingest import CHUNKER_VERSION
from ragkit import Ragkit, open_ragkit
from ragkit.core.errors import IndexMismatchError
from ragkit.index.embed import SentenceTransformerEmbedder
from tests.conftest import SAMPLES
from tests.helpers.index import assert_consistent


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def paths_found(rk: Ragkit, query: str) -> set[str]:
    return {Path(h.path).name for h in rk.search(query, k=10)}


ALPHA = "Alpha document. The migration of arctic terns covers seventy thousand kilometres every year.\n"
BETA = "Beta document. Sourdough bread rises because wild yeast and lactobacilli ferment the dough.\n"
GAMMA = "Gamma document. Basalt columns form when thick lava flows cool and contract slowly.\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    write(root / "alpha.txt", ALPHA * 3)
    write(root / "beta.md", "# Bread\n\n" + BETA * 3)
    write(root / "sub" / "gamma.txt", GAMMA * 3)
    return root


def test_unchanged_files_are_not_parsed_or_embedded_again(rk: Ragkit, folder: Path) -> None:
    first = rk.index([folder])
    assert (first.added, first.files) == (3, 3)
    second = rk.index([folder])
    assert (second.unchanged, second.added, second.updated, second.embedded) == (3, 0, 0, 0)
    os.utime(folder / "alpha.txt", (1, 1))  # touched, content the same: hashed, not embedded
    third = rk.index([folder])
    assert (third.unchanged, third.embedded) == (3, 0)
    assert_consistent(rk)


def test_modified_file_replaces_only_its_own_chunks(rk: Ragkit, folder: Path) -> None:
    rk.index([folder])
    before = {row[0] for row in rk.library.manifest.db.execute("SELECT id FROM chunks")}
    write(folder / "alpha.txt", "Alpha document rewritten. Volcanic glass is called obsidian.\n")
    report = rk.index([folder])
    assert (report.updated, report.unchanged, report.embedded) == (1, 2, 1)
    after = {row[0] for row in rk.library.manifest.db.execute("SELECT id FROM chunks")}
    assert len(before - after) == 1 and len(after - before) == 1
    assert "alpha.txt" in paths_found(rk, "obsidian volcanic glass")
    assert not any("terns" in h.text for h in rk.search("arctic tern migration", k=10))
    assert_consistent(rk)


def test_deleted_file_disappears(rk: Ragkit, folder: Path) -> None:
    rk.index([folder])
    (folder / "beta.md").unlink()
    report = rk.index([folder])
    assert (report.removed, report.files) == (1, 2)
    assert "beta.md" not in paths_found(rk, "sourdough yeast bread")
    assert_consistent(rk)


def test_deleted_folder_disappears(rk: Ragkit, folder: Path) -> None:
    rk.index([folder])
    shutil.rmtree(folder / "sub")
    report = rk.index([folder])
    assert (report.removed, report.files) == (1, 2)
    assert_consistent(rk)


def test_rename_and_move_repoint_without_embedding(rk: Ragkit, folder: Path) -> None:
    rk.index([folder])
    chunks_before = rk.status()["chunks"]
    (folder / "alpha.txt").rename(folder / "alpha-renamed.txt")
    (folder / "sub" / "gamma.txt").rename(folder / "gamma-moved.txt")
    report = rk.index([folder])
    assert (report.renamed, report.embedded, report.added, report.removed) == (2, 0, 0, 0)
    assert rk.status()["chunks"] == chunks_before
    assert paths_found(rk, "arctic tern migration") >= {"alpha-renamed.txt"}
    assert "alpha.txt" not in paths_found(rk, "arctic tern migration")
    assert_consistent(rk)


def test_identical_content_is_embedded_once(rk: Ragkit, folder: Path) -> None:
    shutil.copy(folder / "alpha.txt", folder / "alpha-copy.txt")
    shutil.copy(folder / "alpha.txt", folder / "sub" / "alpha-copy2.txt")
    report = rk.index([folder])
    assert report.files == 5
    assert report.embedded == 3  # alpha, beta and gamma: one chunk each
    (folder / "alpha.txt").unlink()
    (folder / "alpha-copy.txt").unlink()
    rk.index([folder])
    assert "alpha-copy2.txt" in paths_found(rk, "arctic tern migration")
    (folder / "sub" / "alpha-copy2.txt").unlink()
    rk.index([folder])
    assert not any("terns" in h.text for h in rk.search("arctic tern migration", k=10))
    assert_consistent(rk)


def test_failed_file_is_recorded_not_retried_until_changed(rk: Ragkit, folder: Path) -> None:
    bad = folder / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 not a pdf at all")
    first = rk.index([folder])
    assert [Path(f["path"]).name for f in first.failed] == ["broken.pdf"]
    assert rk.status()["failed"] == 1
    second = rk.index([folder])
    assert second.failed == [] and second.unchanged == 4
    shutil.copy(SAMPLES / "shared-mime-info-spec.pdf", bad)
    third = rk.index([folder])
    assert third.updated == 1 and third.failed == []
    assert rk.status()["failed"] == 0
    assert_consistent(rk)


def test_chunk_settings_changed_rebuild_the_index_by_itself_and_say_so_once(
    embedder: SentenceTransformerEmbedder, folder: Path
) -> None:
    rk = open_ragkit(embedder=embedder)
    rk.index([folder])
    rk.close()
    changed = open_ragkit(embedder=embedder, chunk={"overlap": 5})
    assert changed.search("arctic terns")  # the same vectors: searched as it is until the next run
    report = changed.index([folder])
    assert "overlap: 24 -> 5" in report.rebuilt and "rebuilt" in report.rebuilt
    assert report.added == 3 and report.unchanged == 0  # every file read again, cut the new way
    again = changed.index([folder])
    assert again.rebuilt == "" and again.unchanged == 3  # said once
    assert changed.search("arctic terns")
    assert_consistent(changed)


def test_another_embedding_model_is_refused_until_rebuilt(
    embedder: SentenceTransformerEmbedder, folder: Path, tmp_path: Path
) -> None:
    rk = open_ragkit(embedder=embedder)
    rk.index([folder])
    rk.close()
    other = tmp_path / "other-model"  # a model of another name (the same files: nothing is loaded)
    other.symlink_to(embedder.model_dir)
    changed = open_ragkit(embed={"model": str(other)})
    with pytest.raises(IndexMismatchError, match=r"embedder: all-MiniLM-L6-v2 -> .*other-model.*--rebuild"):
        changed.index([folder])
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        changed.search("anything")
    assert changed.library.manifest.counts()["chunks"] > 0  # nothing was dropped


def test_an_index_an_earlier_ragkit_made_is_searched_then_rebuilt_by_the_next_run(
    embedder: SentenceTransformerEmbedder, folder: Path
) -> None:
    import json

    rk = open_ragkit(embedder=embedder)
    rk.index([folder])
    described = json.loads(rk.library.manifest.get_meta("identity_desc") or "{}")
    with rk.library.manifest.transaction():  # as chunker 1 left it
        rk.library.manifest.set_meta("identity", "0" * 16)
        rk.library.manifest.set_meta("identity_desc", json.dumps({**described, "chunker": "1"}, sort_keys=True))
    assert rk.search("arctic terns")
    report = rk.index([folder])
    assert f"made by an earlier ragkit (chunker 1; this one makes {CHUNKER_VERSION}): rebuilt" in report.rebuilt
    assert report.added == 3
    assert rk.index([folder]).rebuilt == ""
    assert rk.search("arctic terns")
    assert_consistent(rk)


def test_ignore_rules_hidden_temp_ragignore_and_outside_symlinks(rk: Ragkit, folder: Path, tmp_path: Path) -> None:
    write(folder / ".hidden.txt", BETA)
    write(folder / ".git" / "notes.txt", BETA)
    write(folder / "draft.txt~", BETA)
    write(folder / ".#lock.txt", BETA)
    write(folder / "~$report.txt", BETA)
    write(folder / "private" / "secret.txt", BETA)
    write(folder / "sub" / "skip-me.md", BETA)
    write(folder / ".ragignore", "private/\n")
    write(folder / "sub" / ".ragignore", "skip-*.md\n")
    outside = write(tmp_path / "outside.txt", GAMMA)
    (folder / "link-out.txt").symlink_to(outside)
    (folder / "link-in.txt").symlink_to(folder / "alpha.txt")
    report = rk.index([folder])
    indexed = {Path(row.path).name for row in rk.library.manifest.files()}
    assert indexed == {"alpha.txt", "beta.md", "gamma.txt", "link-in.txt"}
    assert report.embedded == 3  # the inside link has the same content as alpha.txt
    assert report.skipped >= 1  # the link leading outside is counted, not followed


def test_unsupported_files_are_counted(rk: Ragkit, folder: Path) -> None:
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    report = rk.index([folder])
    assert report.skipped == 1 and report.failed == []


def test_file_over_the_size_cap_is_failed_with_the_fix(embedder: SentenceTransformerEmbedder, folder: Path) -> None:
    rk = open_ragkit(embedder=embedder, index={"max_file_mb": 0.0001})
    report = rk.index([folder])
    assert len(report.failed) == 3
    assert all("max_file_mb" in f["reason"] for f in report.failed)
