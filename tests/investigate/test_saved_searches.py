"""Batch searches of a name list and saved searches, on the command line: per-line counts
equal single finds, lines with no match and invalid lines are listed, and saved searches
report what later index runs bring in (renames and rebuilds bring no news)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.helpers.cli import ragkit
from tests.helpers.documents import write_corpus


def test_a_name_list_is_searched_line_by_line(tmp_path: Path) -> None:
    home, docs = tmp_path / "home", tmp_path / "docs"
    write_corpus(docs, files=8)
    (docs / "extra.txt").write_text("The acme ledger was kept by Müller in the harbour office.\n")
    assert ragkit("index", docs, home=home).code == 0
    names = tmp_path / "names.txt"
    lines = ["# people and firms", "tolsvik", '"acme ledger"', "", "nobodyhere", "harbour OR Müller -draft", "(tolsvik"]
    names.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = ragkit("find", "--batch", names, "--json", home=home)
    assert result.code == 1  # one line is not a valid query: the run goes on, and says so
    data = result.json()
    by_line = {q["line"]: q for q in data["queries"]}
    assert sorted(by_line) == [2, 3, 5, 6, 7]  # blank and comment lines are not queries
    for line in (2, 3, 6):
        single = ragkit("find", lines[line - 1], "--json", "--all", home=home).json()
        assert by_line[line]["total"] == single["total"] > 0
        assert by_line[line]["files"] == single["files"]
        assert by_line[line]["hits"] == single["hits"][:3]
    assert data["no_match"] == [{"line": 5, "query": "nobodyhere"}]
    assert [e["line"] for e in data["errors"]] == [7] and "not closed" in data["errors"][0]["error"]
    assert "line 7" in result.stderr and "Traceback" not in result.stderr

    rows = list(csv.DictReader(io.StringIO(ragkit("find", "--batch", names, "--csv", home=home).stdout)))
    assert [int(r["line"]) for r in rows] == [2, 3, 5, 6, 7]
    assert [int(r["total"]) for r in rows] == [by_line[n]["total"] for n in (2, 3, 5, 6, 7)]
    assert rows[0]["first_path"] == by_line[2]["hits"][0]["path"] and "not closed" in rows[4]["error"]

    text = ragkit("find", "--batch", names, "--first", "1", home=home)
    assert "matched nothing" in text.stdout and "line 5: nobodyhere" in text.stdout
    filtered = ragkit("find", "--batch", names, "--path", "note-0[0-1].txt", "--json", home=home).json()
    assert {f["path"].rsplit("/", 1)[1] for q in filtered["queries"] for f in q["files"]} <= {
        "note-00.txt",
        "note-01.txt",
    }

    stdin = ragkit("find", "--batch", "-", "--json", home=home, stdin="tolsvik\n").json()
    assert stdin["queries"][0]["total"] == by_line[2]["total"]
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("tolsvik\nM\xfcller\n".encode("latin-1"))
    bad = ragkit("find", "--batch", latin, home=home)
    assert bad.code == 1 and "line 2" in bad.stderr and "UTF-8" in bad.stderr


def test_saved_searches_report_new_matches_after_index_runs(tmp_path: Path) -> None:
    home, docs = tmp_path / "home", tmp_path / "docs"
    write_corpus(docs, files=6)
    assert ragkit("index", docs, home=home).code == 0
    saved = ragkit("find", "--save", "ledger", '"quarterly ledger" OR zanzibar', "--json", home=home).json()
    assert saved["saved"] == {**saved["saved"], "name": "ledger", "total": 0, "new": 0}

    (docs / "memo.txt").write_text("The quarterly ledger was sent to Zanzibar.\n\nNothing else.\n")
    report = ragkit("index", docs, "--json", home=home).json()
    assert report["new_matches"] == {"ledger": 1}
    status = ragkit("status", home=home).stdout
    assert "ledger (1 new)" in status and "ragkit searches run ledger" in status
    listed = ragkit("searches", "list", "--json", home=home).json()["searches"]
    assert [(s["name"], s["total"], s["new"]) for s in listed] == [("ledger", 1, 1)]

    run = ragkit("searches", "run", "ledger", "--json", home=home).json()
    assert [Path(m["path"]).name for m in run["new"]] == ["memo.txt"] and "**zanzibar**" in run["new"][0][
        "snippet"
    ].lower()
    assert run["result"]["total"] == 1 and run["search"]["new"] == 0
    again = ragkit("searches", "run", "ledger", home=home)
    assert "nothing new" in again.stdout

    # neither a renamed file nor a rebuilt index is news; the saved search outlives the rebuild
    (docs / "memo.txt").rename(docs / "memo-renamed.txt")
    assert ragkit("index", docs, "--json", home=home).json()["new_matches"] == {}
    assert ragkit("index", docs, "--rebuild", "--json", home=home).json()["new_matches"] == {}
    (docs / "other.txt").write_text("A second quarterly ledger.\n")
    assert ragkit("index", docs, "--json", home=home).json()["new_matches"] == {"ledger": 1}

    unknown = ragkit("searches", "run", "nope", home=home)
    assert unknown.code == 1 and "ledger" in unknown.stderr and "ragkit find --save" in unknown.stderr
    bad_name = ragkit("find", "--save", "no spaces", "x", home=home)
    assert bad_name.code == 1 and "name" in bad_name.stderr
    bad_query = ragkit("find", "--save", "broken", "(x", home=home)
    assert bad_query.code == 1 and "not closed" in bad_query.stderr
    assert ragkit("searches", "remove", "ledger", home=home).code == 0
    assert ragkit("searches", "list", "--json", home=home).json() == {"searches": []}
