"""Who appears with whom: the entities as a graph, for Gephi, Neo4j or a script.

Nodes are the entities (merges and ignores of ``entities.json`` applied), with their type and
their counts of files and mentions. An edge joins two entities that the same document mentions;
its weight is the number of files holding such a document (a copy counts, as in ``entities``).
Written as GraphML (opens in Gephi), as a pair of CSV files (``nodes.csv`` and ``edges.csv``,
with headers, for Neo4j's ``LOAD CSV``) or as JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import Any
from xml.etree import ElementTree as ET

from ragkit.investigate.entities import Entities

NODE_FIELDS = ("id", "name", "type", "files", "mentions")
EDGE_FIELDS = ("source", "target", "weight")


@dataclass
class Graph:
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "edges": self.edges}

    def json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2)

    def graphml(self) -> str:
        root = ET.Element("graphml", xmlns="http://graphml.graphdrawing.org/xmlns")
        for name, kind, owner in (("name", "string", "node"), ("type", "string", "node"), ("files", "int", "node"),
                                  ("mentions", "int", "node"), ("weight", "int", "edge")):  # fmt: skip
            ET.SubElement(root, "key", {"id": name, "for": owner, "attr.name": name, "attr.type": kind})
        graph = ET.SubElement(root, "graph", id="entities", edgedefault="undirected")
        for node in self.nodes:
            element = ET.SubElement(graph, "node", id=node["id"])
            for field in NODE_FIELDS[1:]:
                ET.SubElement(element, "data", key=field).text = str(node[field])
        for n, edge in enumerate(self.edges):
            element = ET.SubElement(graph, "edge", id=f"e{n}", source=edge["source"], target=edge["target"])
            ET.SubElement(element, "data", key="weight").text = str(edge["weight"])
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

    def csv(self) -> tuple[str, str]:
        """(nodes.csv, edges.csv)."""
        return _table(NODE_FIELDS, self.nodes), _table(EDGE_FIELDS, self.edges)


def _table(fields: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def entity_graph(
    entities: Entities, seen: Callable[[str], bool] | None = None, kind: str | None = None, min_weight: int = 1
) -> Graph:
    """The entities of the files ``seen`` (all, by default) and of ``kind`` (every kind, by
    default); the edges of weight ``min_weight`` or more, and the nodes they join."""
    rows, docs_of, files = entities.grouped(kind, seen)
    in_doc: dict[str, list[tuple[str, str]]] = {}
    for entity, docs in docs_of.items():
        for doc in docs:
            in_doc.setdefault(doc, []).append(entity)
    weights: Counter[tuple[tuple[str, str], tuple[str, str]]] = Counter()
    for doc, present in in_doc.items():
        for pair in combinations(sorted(present), 2):
            weights[pair] += files[doc]

    def ident(entity: tuple[str, str]) -> str:
        return f"{entity[0]}:{entity[1]}"

    kept = sorted(((a, b, w) for (a, b), w in weights.items() if w >= min_weight), key=lambda e: (-e[2], e[0], e[1]))
    joined = sorted({e for a, b, _ in kept for e in (a, b)}, key=lambda e: (-rows[e].files, rows[e].name.casefold()))
    nodes = [{"id": ident(e), "name": rows[e].name, "type": rows[e].type, "files": rows[e].files,
              "mentions": rows[e].mentions} for e in joined]  # fmt: skip
    edges = [{"source": ident(a), "target": ident(b), "weight": w} for a, b, w in kept]
    return Graph(nodes, edges)
