"""``ragkit graph``: entities as nodes and co-occurrence in a document as weighted edges, checked
against counts made by hand, through GraphML (parsed by networkx), the CSV pair and JSON; a query
restricts the files, merges apply, and a copy of a document counts as a file."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import networkx as nx

from tests.helpers.cli import ragkit

ANA, BO, CY, ANA_M = "ana@harbour.org", "bo@harbour.org", "cy@harbour.org", "ana.m@harbour.org"


def archive(tmp_path: Path) -> tuple[Path, Path]:
    home, docs = tmp_path / "home", tmp_path / "docs"
    (docs / "copies").mkdir(parents=True)
    (docs / "memo.txt").write_text(f"From {ANA} to {BO}: the crane costs more than planned.\n")
    (docs / "letter.txt").write_text(f"{ANA} wrote to {BO} and {CY} about the quay.\n")
    shutil.copy(docs / "letter.txt", docs / "copies" / "letter.txt")  # the same content, a second file
    (docs / "note.txt").write_text(f"Only {CY} signed the note.\n")
    (docs / "aside.txt").write_text(f"{ANA_M} met {CY} at the quay.\n")
    assert ragkit("index", docs, home=home).code == 0
    return home, docs


def weights(graph: nx.Graph) -> dict[frozenset[str], int]:
    names = nx.get_node_attributes(graph, "name")
    return {frozenset((names[a], names[b])): int(w) for a, b, w in graph.edges(data="weight")}


def test_the_graph_counts_who_appears_with_whom_as_counted_by_hand(tmp_path: Path) -> None:
    home, _ = archive(tmp_path)
    out = tmp_path / "all.graphml"
    made = ragkit("graph", "--type", "email", "--format", "graphml", "--out", out, home=home)
    assert made.code == 0, made.stderr
    graph = nx.read_graphml(out)
    # by hand: memo (ana, bo); letter twice (ana, bo, cy); aside (ana.m, cy); note (cy) alone
    assert weights(graph) == {
        frozenset((ANA, BO)): 1 + 2, frozenset((ANA, CY)): 2, frozenset((BO, CY)): 2, frozenset((ANA_M, CY)): 1,
    }  # fmt: skip
    files = {data["name"]: data["files"] for _, data in graph.nodes(data=True)}
    assert files == {ANA: 3, BO: 3, CY: 4, ANA_M: 1} and {d["type"] for _, d in graph.nodes(data=True)} == {"email"}

    strong = nx.parse_graphml(ragkit("graph", "--type", "email", "--min-weight", "3", home=home).stdout)
    assert weights(strong) == {frozenset((ANA, BO)): 3}  # and only the nodes it joins
    crane = nx.parse_graphml(ragkit("graph", "crane", "--type", "email", home=home).stdout)
    assert weights(crane) == {frozenset((ANA, BO)): 1}  # the files the query matches: the memo alone


def test_merges_apply_and_the_csv_pair_and_json_say_the_same(tmp_path: Path) -> None:
    home, _ = archive(tmp_path)
    assert ragkit("entities", "merge", ANA_M, ANA, home=home).code == 0
    folder = tmp_path / "neo4j"
    assert ragkit("graph", "--type", "email", "--format", "csv", "--out", folder, home=home).code == 0
    with (folder / "nodes.csv").open() as f:
        nodes = {row["id"]: row for row in csv.DictReader(f)}
    with (folder / "edges.csv").open() as f:
        edges = {frozenset((nodes[r["source"]]["name"], nodes[r["target"]]["name"])): int(r["weight"])
                 for r in csv.DictReader(f)}  # fmt: skip
    assert edges == {frozenset((ANA, BO)): 3, frozenset((ANA, CY)): 2 + 1, frozenset((BO, CY)): 2}
    assert {n["name"]: int(n["files"]) for n in nodes.values()} == {ANA: 4, BO: 3, CY: 4}
    data = json.loads(ragkit("graph", "--type", "email", "--format", "json", home=home).stdout)
    assert {(e["source"], e["target"], e["weight"]) for e in data["edges"]} == {
        (r["source"], r["target"], int(r["weight"]))
        for r in csv.DictReader((folder / "edges.csv").read_text().splitlines())
    }
    refused = ragkit("graph", "--format", "csv", home=home)
    assert refused.code != 0 and "--out DIR" in refused.stderr


def test_a_server_draws_a_keys_own_files_only(tmp_path: Path) -> None:
    from tests.helpers.servers import create_keys, serving

    home, docs = archive(tmp_path)
    assert ragkit("collections", "add", "copies", docs / "copies", home=home).code == 0
    keys = create_keys(home, [("all", []), ("copies", ["--collections", "copies"])])
    with serving(home, tmp_path) as url:

        def served(key: str, *args: str) -> nx.Graph:
            shown = ragkit(
                "--server", url, "graph", "--type", "email", *args, home=home, env={"RAGKIT_API_KEY": keys[key]}
            )
            assert shown.code == 0, shown.stderr
            return nx.parse_graphml(shown.stdout)

        assert weights(served("all")) == weights(nx.parse_graphml(ragkit("graph", "--type", "email", home=home).stdout))
        # by hand: the copies folder holds one letter (ana, bo, cy), once
        assert weights(served("copies")) == {frozenset((ANA, BO)): 1, frozenset((ANA, CY)): 1, frozenset((BO, CY)): 1}
        assert weights(served("copies", "crane")) == {}  # the memo that says crane is not the key's
