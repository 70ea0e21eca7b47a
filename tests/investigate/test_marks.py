"""Tags and notes (ragkit tag, ragkit note): on documents and passages, as filters of find,
search and ask, kept through a rebuild, a rename, an edit and a deletion; served to a team
with the key's name as the author, within the key's collections."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.cli import ragkit
from tests.helpers.servers import create_keys, serving

CONTRACT = "The supplier may end this contract with ninety days of written notice to Tolsvik AS.\n"
LETTER = "Dear Tolsvik AS, the invoice for March is overdue by thirty days. Kind regards, Acme.\n"
MEMO = "Internal memo: the Tolsvik account moves to the Bergen office in June.\n"


def archive(root: Path) -> tuple[Path, Path]:
    docs, home = root / "docs", root / "home"
    (docs / "a").mkdir(parents=True)
    (docs / "b").mkdir()
    (docs / "a" / "contract.txt").write_text(CONTRACT)
    (docs / "a" / "letter.txt").write_text(LETTER)
    (docs / "b" / "memo.txt").write_text(MEMO)
    assert ragkit("index", docs, home=home).code == 0
    return docs, home


def files(home: Path, query: str) -> set[str]:
    found = ragkit("find", query, "--json", home=home)
    assert found.code == 0, found.stderr
    return {Path(h["path"]).name for h in found.json()["hits"]}


def tagged(home: Path, name: str) -> set[str]:
    listed = ragkit("tag", "list", name, "--json", home=home).json()["tags"]
    return {Path(p).name for m in listed for p in m["paths"]}


def test_tags_and_notes_filter_searches_and_survive_rebuild_rename_and_edits(tmp_path: Path) -> None:
    docs, home = archive(tmp_path)
    contract, letter = docs / "a" / "contract.txt", docs / "a" / "letter.txt"
    assert ragkit("tag", "add", contract, "Legal", "urgent", home=home).code == 0
    assert ragkit("tag", "add", docs / "b" / "memo.txt", "legal", home=home).code == 0
    made = ragkit("note", "add", letter, "Ask accounts who approved it.", "--at", "15:44", home=home)
    assert made.code == 0, made.stderr
    assert tagged(home, "legal") == {"contract.txt", "memo.txt"}  # names are case-folded
    assert files(home, "tolsvik tag:legal") == {"contract.txt", "memo.txt"}
    assert files(home, "tolsvik tag:urgent") == {"contract.txt"}
    assert files(home, "tolsvik has:note") == {"letter.txt"}
    assert files(home, "tolsvik has:tag") == {"contract.txt", "memo.txt"}
    assert "NOT cannot apply to a filter" in ragkit("find", "tolsvik -tag:urgent", home=home).stderr
    hits = ragkit("search", "who owes money", "--json", home=home).json()["hits"]
    assert len({h["path"] for h in hits}) > 1
    only = ragkit("search", "who owes money tag:urgent", "--json", home=home).json()["hits"]
    assert only and {Path(h["path"]).name for h in only} == {"contract.txt"}
    answer = ragkit("ask", "What notice ends the contract? has:note", "--mode", "extract", "--json", home=home)
    assert {Path(s["path"]).name for s in answer.json()["sources"]} == {"letter.txt"}
    notes = ragkit("note", "list", "--json", home=home).json()["notes"]
    assert [(n["value"], n["start"], n["end"], n["author"]) for n in notes] == [
        ("Ask accounts who approved it.", 15, 44, "local")
    ]

    assert ragkit("index", docs, "--rebuild", home=home).code == 0  # kept apart from the index
    assert files(home, "tolsvik tag:legal") == {"contract.txt", "memo.txt"}
    contract.rename(docs / "a" / "contract-signed.txt")  # a rename follows the content
    letter.write_text(LETTER + "Paid on 2 April.\n")  # an edit keeps the path's marks
    (docs / "b" / "memo.txt").unlink()
    assert ragkit("index", docs, home=home).code == 0
    assert tagged(home, "urgent") == {"contract-signed.txt"}
    assert files(home, "tolsvik tag:legal") == {"contract-signed.txt"}
    assert files(home, "tolsvik has:note") == {"letter.txt"}
    gone = [m for m in ragkit("tag", "list", "legal", "--json", home=home).json()["tags"] if not m["paths"]]
    assert [Path(m["path"]).name for m in gone] == ["memo.txt"]  # listed, never silently lost
    shown = ragkit("tag", "list", "legal", home=home).stdout
    assert "memo.txt (no longer indexed)" in shown

    assert ragkit("tag", "remove", docs / "a" / "contract-signed.txt", "urgent", home=home).code == 0
    assert files(home, "tolsvik tag:urgent") == set()
    refused = ragkit("tag", "add", docs / "a" / "nowhere.txt", "x", home=home)
    assert refused.code != 0 and "not an indexed file" in refused.stderr
    assert "one word" in ragkit("tag", "add", letter, "two words", home=home).stderr
    assert "has: takes tag or note" in ragkit("find", "has:pdf", home=home).stderr


def test_a_team_marks_its_own_files_under_its_keys_names(tmp_path: Path) -> None:
    docs, home = archive(tmp_path)
    for name in ("a", "b"):
        assert ragkit("collections", "add", name, docs / name, home=home).code == 0
    keys = create_keys(home, [("ana", ["--collections", "a"]), ("bo", []), ("reader", ["--read-only"])])
    with serving(home, tmp_path) as url:

        def remote(key: str, *args: str | Path) -> tuple[int, str, str]:
            done = ragkit("--server", url, *args, home=home, env={"RAGKIT_API_KEY": keys[key]})
            return done.code, done.stdout, done.stderr

        assert remote("ana", "tag", "add", docs / "a" / "letter.txt", "overdue")[0] == 0
        assert remote("bo", "tag", "add", docs / "b" / "memo.txt", "overdue")[0] == 0
        assert remote("bo", "note", "add", docs / "b" / "memo.txt", "Bergen move: confirm the date")[0] == 0
        code, _, said = remote("ana", "tag", "add", docs / "b" / "memo.txt", "spy")
        assert code != 0 and "not an indexed file" in said  # another collection's file reads as none at all
        code, _, said = remote("reader", "tag", "add", docs / "a" / "letter.txt", "x")
        assert code != 0 and "read-only" in said
        code, listed, _ = remote("ana", "tag", "list", "overdue", "--json")
        seen = json.loads(listed)["tags"]
        assert [(Path(m["paths"][0]).name, m["author"]) for m in seen] == [("letter.txt", "ana")]
        assert "memo" not in listed and "Bergen" not in remote("ana", "note", "list", "--json")[1]
        everyone = json.loads(remote("bo", "tag", "list", "overdue", "--json")[1])["tags"]
        assert sorted((Path(m["paths"][0]).name, m["author"]) for m in everyone) == [
            ("letter.txt", "ana"), ("memo.txt", "bo"),
        ]  # fmt: skip
        found = remote("ana", "find", "tolsvik tag:overdue", "--json")[1]
        assert [Path(h["path"]).name for h in json.loads(found)["hits"]] == ["letter.txt"]
        assert remote("bo", "tag", "remove", docs / "a" / "letter.txt", "overdue")[0] == 0
    entries = ragkit("audit", "tail", "-n", "50", "--json", home=home).json()["entries"]
    marked = [(e["key"], e.get("author"), e["status"]) for e in entries if e["endpoint"] == "/v1/marks"]
    assert ("ana", "ana", 200) in marked and ("bo", "bo", 200) in marked
    assert ragkit("tag", "list", "overdue", "--json", home=home).json()["tags"][0]["author"] == "bo"
