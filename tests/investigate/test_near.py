"""Near-duplicates (ragkit duplicates --near): edited copies grouped with their originals, and
none between unrelated documents written on the same template; kept in step with renames,
deletes and edits; found in an index made before MinHashes were kept."""

from __future__ import annotations

import json
import random
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from ragkit.assistant.local import open_ragkit
from ragkit.investigate import near
from tests.conftest import SAMPLES
from tests.helpers.cli import ragkit
from tests.helpers.index import assert_consistent

WORDS = (SAMPLES / "users-and-groups.txt").read_text().split()
BUDGET = "The budget for the year is {} crowns, agreed by the board."


def report(n: int, rng: random.Random) -> str:
    """One of many reports written on the same template: its headings and closing lines are
    the template's, its paragraphs its own."""

    def paragraph() -> str:
        start = rng.randrange(len(WORDS) - 90)
        return " ".join(WORDS[start : start + rng.randrange(50, 90)])

    return "\n\n".join([
        f"QUARTERLY REPORT {n} OF THE REGIONAL OFFICE", "Summary", paragraph(), BUDGET.format(1000 + 7 * n),
        "Findings", paragraph(), paragraph(), "Next steps", paragraph(),
        "This report is confidential. Do not forward it outside the office. Questions go to the secretariat.",
    ]) + "\n"  # fmt: skip


def edited(text: str, rng: random.Random, share: float) -> str:
    """``text`` with ``share`` of its words swapped for others (an edited draft)."""
    words = text.split(" ")
    for i in rng.sample(range(len(words)), int(len(words) * share)):
        if "\n" not in words[i]:
            words[i] = rng.choice(WORDS)
    return " ".join(words)


def scanned(text: str, rng: random.Random, share: float) -> str:
    """``text`` as OCR might read it again: ``share`` of its letters misread."""
    letters = list(text)
    for i in rng.sample(range(len(letters)), int(len(letters) * share)):
        if letters[i].isalpha():
            letters[i] = rng.choice("rnmli1ceo")
    return "".join(letters)


def archive(root: Path) -> Path:
    rng = random.Random(11)
    docs = root / "docs"
    docs.mkdir()
    reports = [report(n, rng) for n in range(10)]
    for n, text in enumerate(reports):
        (docs / f"report-{n}.txt").write_text(text)
    draft = re.sub("^The budget .*$", BUDGET.format(1500), edited(reports[1], rng, 0.03), flags=re.M)
    (docs / "report-1-draft.txt").write_text(draft)
    forwarded = "---------- Forwarded message ----------\nFrom: Ana <ana@example.org>\nSubject: Fwd: report\n\n"
    (docs / "fwd-report-2.txt").write_text(forwarded + reports[2])
    (docs / "scan-of-report-3.txt").write_text(scanned(reports[3], rng, 0.01))
    return docs


def near_groups(home: Path, *args: str) -> list[set[str]]:
    shown = ragkit("duplicates", "--near", "--json", *args, home=home)
    assert shown.code == 0, shown.stderr
    return [{Path(p).name for d in g["documents"] for p in d["paths"]} for g in shown.json()["groups"]]


def test_edited_copies_are_grouped_with_their_originals_and_kept_in_step(tmp_path: Path) -> None:
    docs, home = archive(tmp_path), tmp_path / "home"
    assert ragkit("index", docs, home=home).code == 0
    expected = [
        {"report-1.txt", "report-1-draft.txt"},
        {"fwd-report-2.txt", "report-2.txt"},
        {"report-3.txt", "scan-of-report-3.txt"},
    ]
    found = near_groups(home)
    assert sorted(found, key=sorted) == sorted(expected, key=sorted)  # none among the other reports

    shown = ragkit("duplicates", "--near", "--json", home=home).json()
    draft = next(g for g in shown["groups"] if "report-1-draft.txt" in str(g))
    pair = draft["pairs"][0]
    assert near.THRESHOLD <= pair["similarity"] < 1
    assert Path(pair["a"]).name == "report-1-draft.txt"  # pairs are named in path order
    assert f"- {BUDGET.format(1500)}" in pair["differ"] and f"+ {BUDGET.format(1007)}" in pair["differ"]
    text = ragkit("duplicates", "--near", home=home).stdout
    assert "2 documents nearly the same" in text and f"+ {BUDGET.format(1007)}" in text

    # the template alone, nearer than the threshold, groups unrelated reports together
    assert len(max(near_groups(home, "--threshold", "0.1"), key=len)) > 3

    (docs / "scan-of-report-3.txt").rename(docs / "scan-renamed.txt")
    (docs / "fwd-report-2.txt").unlink()
    (docs / "report-1-draft.txt").write_text(report(99, random.Random(5)))
    (docs / "report-4-copy.txt").write_text((docs / "report-4.txt").read_text().replace("Summary", "Résumé"))
    assert ragkit("index", docs, home=home).code == 0
    assert sorted(near_groups(home), key=sorted) == [
        {"report-3.txt", "scan-renamed.txt"}, {"report-4-copy.txt", "report-4.txt"},
    ]  # fmt: skip
    rk = open_ragkit(home=home)
    try:
        assert_consistent(rk)  # every document's recorded MinHash is the one its chunks give
    finally:
        rk.close()


def test_an_index_made_before_minhashes_were_kept_is_searched_then_completed(tmp_path: Path) -> None:
    docs, home = archive(tmp_path), tmp_path / "home"
    assert ragkit("index", docs, home=home).code == 0
    before = near_groups(home)
    manifest = home / "index" / "manifest.sqlite"
    with sqlite3.connect(manifest) as db:  # as an earlier ragkit left it
        db.execute("UPDATE docs SET minhash = NULL")
    assert near_groups(home) == before  # read from the chunks meanwhile
    assert ragkit("index", docs, home=home).code == 0
    with sqlite3.connect(manifest) as db:
        assert db.execute("SELECT count(*) FROM docs WHERE minhash IS NULL").fetchone()[0] == 0
    rk = open_ragkit(home=home)
    try:
        assert_consistent(rk)
    finally:
        rk.close()


def test_text_is_read_once_across_overlapping_chunks() -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta"
    spans = [(0, 16, text[0:16]), (11, 29, text[11:29]), (24, 45, text[24:45])]
    assert near.document_text(spans) == text[:45]
    assert near.document_text([(0, 5, "alpha"), (11, 16, "gamma")]) == "alpha\ngamma"  # a gap is a line break
    assert near.similarity(text, text.upper()) == 1.0
    assert near.similarity(text, "something else entirely, said at length") == 0.0


@pytest.mark.parametrize("share", [0.02, 0.05])
def test_the_estimate_is_near_the_exact_similarity(share: float) -> None:
    rng = random.Random(3)
    a = report(1, rng)
    b = edited(a, rng, share)
    exact = near.similarity(a, b)
    from datasketch import MinHash

    def minhash(text: str) -> MinHash:
        values = np.frombuffer(near.signature(text), dtype="<u4")
        return MinHash(seed=near.SEED, hashvalues=values, scheme=near.SCHEME)

    assert abs(minhash(a).jaccard(minhash(b)) - exact) < 0.1


def test_a_documents_minhash_is_committed_with_it(tmp_path: Path) -> None:
    """Written in the transaction that makes the document searchable, not by a later step."""
    docs = archive(tmp_path)
    rk = open_ragkit(home=tmp_path / "home")
    try:
        rk.library.check_identity()
        report = rk.library.indexer().sync([docs])  # the sync alone, none of the run's later steps
        assert report.added == 13
        recorded = rk.library.manifest.db.execute("SELECT count(*), count(minhash) FROM docs").fetchone()
        assert recorded == (13, 13)
    finally:
        rk.close()


def test_a_server_gives_a_key_the_groups_within_its_collections_only(tmp_path: Path) -> None:
    from tests.helpers.servers import create_keys, serving

    rng, home, docs = random.Random(2), tmp_path / "home", tmp_path / "docs"
    (docs / "a").mkdir(parents=True)
    (docs / "b").mkdir()
    first, second = report(1, rng), report(2, rng)
    (docs / "a" / "report-1.txt").write_text(first)
    (docs / "a" / "report-1-draft.txt").write_text(edited(first, rng, 0.02))
    (docs / "b" / "report-1-copy.txt").write_text(edited(first, rng, 0.02))
    (docs / "b" / "report-2.txt").write_text(second)
    (docs / "b" / "report-2-fwd.txt").write_text("Fwd: the report\n\n" + second)
    assert ragkit("index", docs, home=home).code == 0
    for name in ("a", "b"):
        assert ragkit("collections", "add", name, docs / name, home=home).code == 0
    keys = create_keys(home, [("admin", []), ("a-only", ["--collections", "a"])])
    local = ragkit("duplicates", "--near", "--json", home=home).json()
    assert len(local["groups"]) == 2
    with serving(home, tmp_path) as url:

        def served(key: str) -> dict[str, object]:
            shown = ragkit("--server", url, "duplicates", "--near", "--json", home=home, env={"RAGKIT_API_KEY": key})
            assert shown.code == 0, shown.stderr
            result: dict[str, object] = shown.json()
            return result

        assert served(keys["admin"]) == local
        limited = served(keys["a-only"])
        assert [{Path(p).name for d in g["documents"] for p in d["paths"]} for g in limited["groups"]] == [
            {"report-1.txt", "report-1-draft.txt"}
        ]
        assert "/b/" not in json.dumps(limited)
        exact = ragkit("--server", url, "duplicates", "--json", home=home, env={"RAGKIT_API_KEY": keys["a-only"]})
        assert exact.json() == {"groups": []}
