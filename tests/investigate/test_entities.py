"""Entities kept in step with the index: found after each run, through modify, delete,
rename and kill -9; merges and ignores that survive a rebuild; entity filters; duplicates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ragkit.assistant.local import open_ragkit
from tests.helpers.cli import ragkit
from tests.helpers.index import assert_consistent

MEMO = "Contact Jane at jane.doe@acme.org or +47 22 33 44 55. Pay to GB82 WEST 1234 5698 7654 32.\n"
NOTE = "Write to JANE.DOE@ACME.ORG, or to ops [at] acme [dot] org. Invoice of $1,250.00 sent on 3 May 2024.\n"


def entities(home: Path, *args: str) -> dict[str, dict[str, int | str]]:
    shown = ragkit("entities", *args, "--top", "0", "--json", home=home)
    assert shown.code == 0, shown.stderr
    return {e["name"]: e for e in shown.json()["entities"]}


def corpus(root: Path) -> Path:
    docs = root / "docs"
    (docs / "a").mkdir(parents=True)
    (docs / "b").mkdir()
    (docs / "a" / "memo.txt").write_text(MEMO)
    (docs / "b" / "note.txt").write_text(NOTE)
    shutil.copy(docs / "a" / "memo.txt", docs / "b" / "memo-copy.txt")
    return docs


def test_entities_follow_the_files_through_every_change(tmp_path: Path) -> None:
    docs, home = corpus(tmp_path), tmp_path / "home"
    indexed = ragkit("index", docs, "--json", home=home).json()
    assert indexed["entities"] == 2  # two contents (the copy shares the memo's)
    found = entities(home)
    assert set(found["jane.doe@acme.org"]) == {"name", "type", "files", "mentions", "aliases"}
    assert found["jane.doe@acme.org"]["type"] == "email" and found["jane.doe@acme.org"]["files"] == 3
    assert found["jane.doe@acme.org"]["mentions"] == 3 and found["ops@acme.org"]["files"] == 1
    assert found["+4722334455"]["type"] == "phone" and found["GB82WEST12345698765432"]["files"] == 2
    assert found["USD 1250"]["type"] == "amount" and found["2024-05-03"]["type"] == "date"
    only = entities(home, "--type", "phone")
    assert list(only) == ["+4722334455"]
    # changed: the old address goes, the new one comes
    (docs / "b" / "note.txt").write_text(NOTE.replace("ops [at] acme [dot] org", "legal@acme.org"))
    assert ragkit("index", docs, home=home).code == 0
    found = entities(home)
    assert "ops@acme.org" not in found and found["legal@acme.org"]["files"] == 1
    # renamed: its mentions stay, under the new name
    (docs / "a" / "memo.txt").rename(docs / "a" / "memo-2024.txt")
    assert ragkit("index", docs, home=home).code == 0
    shown = ragkit("entities", "show", "+47 22 33 44 55", "--json", home=home).json()["mentions"]
    assert sorted(Path(m["path"]).name for m in shown) == ["memo-2024.txt", "memo-copy.txt"]
    first = shown[0]
    text = Path(first["path"]).read_text()
    assert text[first["start"] : first["end"]] == "+47 22 33 44 55"  # the span as written in the file
    # deleted: both copies of the memo gone, so are its entities
    (docs / "a" / "memo-2024.txt").unlink()
    (docs / "b" / "memo-copy.txt").unlink()
    assert ragkit("index", docs, home=home).code == 0
    found = entities(home)
    assert "+4722334455" not in found and "GB82WEST12345698765432" not in found
    assert found["jane.doe@acme.org"]["files"] == 1
    rk = open_ragkit(home=home)
    try:
        assert_consistent(rk)
    finally:
        rk.close()


def test_entity_filters_in_find_and_search(tmp_path: Path) -> None:
    docs, home = corpus(tmp_path), tmp_path / "home"
    assert ragkit("index", docs, home=home).code == 0

    def files(query: str) -> list[str]:
        """Every file a query's hits name: each hit's, and the other copies of its content."""
        hits = ragkit("find", query, "--json", home=home).json()["hits"]
        return sorted({Path(p).name for h in hits for p in [h["path"], *h.get("also", [])]})

    assert files("acme email:jane.doe@acme.org") == ["memo-copy.txt", "memo.txt", "note.txt"]
    assert files("acme email:ops@acme.org") == ["note.txt"]
    assert files('acme phone:"0047 22 33 44 55"') == ["memo-copy.txt", "memo.txt"]  # typed another way
    assert files("acme iban:GB82WEST12345698765432 email:ops@acme.org") == []  # every filter holds
    hits = ragkit("search", "who should be paid email:ops@acme.org", "--json", home=home).json()["hits"]
    assert hits and {Path(h["path"]).name for h in hits} == {"note.txt"}


def test_merges_and_ignores_last_across_a_rebuild(tmp_path: Path) -> None:
    docs, home = corpus(tmp_path), tmp_path / "home"
    assert ragkit("index", docs, home=home).code == 0
    assert ragkit("entities", "merge", "ops@acme.org", "jane.doe@acme.org", home=home).code == 0
    assert ragkit("entities", "ignore", "2024-05-03", home=home).code == 0
    for _ in range(2):  # before and after a rebuild
        found = entities(home)
        merged = found["jane.doe@acme.org"]
        assert "ops@acme.org" not in found and merged["aliases"] == ["ops@acme.org"] and merged["mentions"] == 4
        assert "2024-05-03" not in found
        shown = ragkit("entities", "show", "jane.doe@acme.org", "--json", home=home).json()["mentions"]
        assert {m["text"] for m in shown} == {"jane.doe@acme.org", "ops@acme.org"}
        hits = ragkit("find", "acme email:ops@acme.org", "--json", home=home).json()["hits"]
        names = sorted({Path(p).name for h in hits for p in [h["path"], *h.get("also", [])]})
        assert names == ["memo-copy.txt", "memo.txt", "note.txt"]  # the filter takes the merge too
        assert ragkit("index", docs, "--rebuild", home=home).code == 0
    loop = ragkit("entities", "merge", "jane.doe@acme.org", "ops@acme.org", home=home)
    assert loop.code == 1 and "loop" in loop.stderr
    assert ragkit("entities", "unmerge", "ops@acme.org", home=home).code == 0
    assert "ops@acme.org" in entities(home)


@pytest.mark.parametrize("point", ["entities-written:1", "entities-written:2"])
def test_a_kill_while_entities_are_written_leaves_them_whole(tmp_path: Path, point: str) -> None:
    docs, home = tmp_path / "docs", tmp_path / "home"
    docs.mkdir()
    for n in range(40):  # three batches of documents
        (docs / f"m{n}.txt").write_text(f"Memo {n}: write to person{n}@acme.org or call +47 22 33 44 {n:02d}.\n")
    killed = ragkit("index", docs, home=home, env={"RAGKIT_KILL_AT": point})
    assert killed.code == -9
    found = ragkit("find", "memo", "--json", home=home).json()
    assert found["total"] == 40  # the files were searchable before their entities were found
    pending = ragkit("entities", "--json", home=home).json()["pending"]
    assert 0 < pending < 40
    assert ragkit("index", docs, home=home).code == 0  # the next run finds the rest
    found = entities(home, "--type", "email")
    assert len(found) == 40 and all(e["mentions"] == 1 for e in found.values())
    assert ragkit("entities", "--json", home=home).json()["pending"] == 0
    rk = open_ragkit(home=home)
    try:
        assert_consistent(rk)
    finally:
        rk.close()


def test_duplicates_lists_every_location_of_identical_content(tmp_path: Path) -> None:
    docs, home = corpus(tmp_path), tmp_path / "home"
    (docs / "c").mkdir()
    shutil.copy(docs / "a" / "memo.txt", docs / "c" / "again.txt")
    assert ragkit("index", docs, home=home).code == 0
    groups = ragkit("duplicates", "--json", home=home).json()["groups"]
    assert len(groups) == 1 and groups[0]["size"] == len(MEMO)
    assert sorted(Path(p).relative_to(docs).as_posix() for p in groups[0]["paths"]) == [
        "a/memo.txt", "b/memo-copy.txt", "c/again.txt",
    ]  # fmt: skip
    hit = ragkit("find", "GB82", "--json", home=home).json()["hits"][0]
    assert len(hit["also"]) == 2  # a hit names the other places of its content
    ranked = ragkit("search", "pay to the IBAN", "-k", "1", "--json", home=home).json()["hits"][0]
    assert sorted(Path(p).name for p in [ranked["path"], *ranked["also"]]) == ["again.txt", "memo-copy.txt", "memo.txt"]
    shown = ragkit("search", "pay to the IBAN", "-k", "1", home=home).stdout
    assert "(also at " in shown


def test_names_are_found_out_of_the_box_and_filter_searches(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("RAGKIT_ENTITIES__MODEL")  # as a new user has it: entities.model unset
    docs, home = tmp_path / "docs", tmp_path / "home"
    docs.mkdir()
    (docs / "visit.txt").write_text(
        "Angela Merkel met Barack Obama in Berlin on Monday. Siemens paid for the dinner.\n"
    )
    (docs / "trip.txt").write_text("Barack Obama flew on to Paris, where Microsoft had opened an office.\n")
    (docs / "other.txt").write_text("The committee met on Monday and paid for nothing.\n")
    indexed = ragkit("index", docs, "--json", home=home)  # names by the pipeline installed with ragkit
    assert indexed.code == 0 and indexed.json()["entities"] == 3, indexed.stderr
    people = entities(home, "--type", "person")
    assert people["Barack Obama"]["files"] == 2 and "Angela Merkel" in people
    places = entities(home, "--type", "place")
    assert {"Berlin", "Paris"} <= set(places)
    assert "Siemens" in entities(home, "--type", "org")
    found = ragkit("find", 'met person:"angela merkel"', "--json", home=home).json()
    assert {Path(h["path"]).name for h in found["hits"]} == {"visit.txt"}
    found = ragkit("find", "monday person:obama", "--json", home=home).json()  # a part of the name holds too
    assert {Path(h["path"]).name for h in found["hits"]} == {"visit.txt"}
    # changing the pipeline finds every document's entities again, by the new one (here: none)
    off = {"RAGKIT_ENTITIES__MODEL": ""}  # as entities.model = "" in the config: names off
    assert ragkit("index", docs, "--json", home=home, env=off).json()["entities"] == 3
    assert entities(home, "--type", "person") == {}
    assert 'are off: entities.model = ""' in ragkit("entities", home=home, env=off).stderr


PEOPLE = ["Angela Merkel", "Barack Obama", "Ada Lovelace", "Alan Turing", "Grace Hopper", "Linus Torvalds"]
CITIES = ["Berlin", "Paris", "London", "Oslo", "Madrid", "Chicago"]


def letters(docs: Path, n: int) -> None:
    docs.mkdir()
    for i in range(n):
        person, city = PEOPLE[i % len(PEOPLE)], CITIES[(i // len(PEOPLE)) % len(CITIES)]
        (docs / f"letter-{i:03d}.txt").write_text(
            f"Letter {i}. {person} travelled to {city} and met Microsoft there; write to desk{i}@example.org.\n"
        )


def mention_rows(rk) -> list[tuple]:  # type: ignore[no-untyped-def]
    return sorted(rk.library.manifest.db.execute('SELECT doc, type, value, "key", page, start, "end" FROM entities'))


def test_names_found_by_worker_processes_are_those_found_in_process(tmp_path: Path, monkeypatch) -> None:
    import multiprocessing as mp
    import os
    import signal

    from ragkit.investigate import entities as module
    from tests.conftest import spacy_pipeline

    monkeypatch.setattr(module, "POOL_MIN_CHUNKS", 1)  # these few letters count as a long run
    docs = tmp_path / "docs"
    letters(docs, 120)
    model = str(spacy_pipeline())
    found = {}
    for workers in (1, 2):
        rk = open_ragkit(home=tmp_path / f"home-{workers}", entities={"model": model, "workers": workers})
        assert rk.index([docs]).entities == 120
        found[workers] = mention_rows(rk)
        rk.close()
    assert found[1] == found[2]
    assert {r[2].lower() for r in found[1] if r[1] == "person"} >= {p.lower() for p in PEOPLE[:4]}

    # a worker killed mid-run (the kernel's OOM killer, say): the rest is found in process
    rk = open_ragkit(home=tmp_path / "home-killed", entities={"model": model, "workers": 2})
    rk.library.index([docs])  # (entities found here too: drop them to find them again)
    with rk.library.manifest.transaction() as db:
        db.execute("DELETE FROM entities")
        db.execute("UPDATE docs SET entities = NULL")
    killed: list[int] = []
    others = {child.pid for child in mp.active_children()}  # the parse workers, kept idle

    def kill_workers(done: int, total: int) -> None:
        if not killed:
            for child in [c for c in mp.active_children() if c.pid not in others]:
                os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
                killed.append(child.pid)  # type: ignore[arg-type]

    assert rk.library.entities.extract(progress=kill_workers) == 120
    assert killed and mention_rows(rk) == found[1]
    rk.close()
