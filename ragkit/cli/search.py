"""Searching: search (by meaning and words), find (exact, exhaustive), saved searches, and
retrieval quality (eval)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ragkit.cli.common import DefaultGroup, FilterOptions, filter_options, filters_of, json_option, open_assistant
from ragkit.cli.output import ProgressLine, emit_json, find_csv, highlight, place, print_find, shown_path
from ragkit.core.errors import RagkitError

if TYPE_CHECKING:
    from ragkit.index.library import SearchMode
    from ragkit.search.found import FindResult


FIND_HELP = """Every passage that matches QUERY: the total, the hits per file, and each hit with its
file, page, span and the matched words highlighted. Not ranked by meaning: exact words.

\b
query language:
  word              the word, in any case, with or without accents
  "exact phrase"    the words next to each other, in this order
  a b   a AND b     both (AND is implied)
  a OR b            either
  NOT a   -a        not (after something to exclude it from: invoice -draft)
  (a OR b) c        grouping
  pre*              words starting with "pre"
  NEAR(a b, 5)      a and b within 5 words ("a b"~5 says the same)
  tolsvik~1         words in the index within 1 edit (at most 2) of "tolsvik"
  path:GLOB         files whose path matches (* and ?; without a / it matches the file name)
  type:pdf          files of that type
  after:2024-01     documents dated on or after (YYYY, YYYY-MM or YYYY-MM-DD)
  before:2024-06-30 documents dated on or before that day (a document's own date where it has
                    one: PDF metadata, an e-mail's Date header, DOCX properties; else its file's
                    modification time; each hit says which)
  lang:fr           documents in that language (two-letter code)
  tag:NAME          documents tagged NAME (ragkit tag add); has:tag, with any tag
  has:note          documents with a note (ragkit note add)

A term with inner punctuation (an e-mail address, 10-K, 1,250.00) is searched as a phrase.

\b
examples:
  ragkit find '"acme holdings" NOT draft type:pdf after:2023'
  ragkit find 'NEAR(tolsvik payment, 10)' --count
  ragkit find 'invoice*' --json --all > hits.json
  ragkit find --batch names.txt --csv > names.csv     (one query per line)
  ragkit find --save tolsvik 'tolsvik~1 OR "t. olsvik"' (then: ragkit searches list|run|remove)
"""


@click.command(
    epilog="Filters may also be typed in QUERY: path:GLOB type:pdf after:2024-01 before:2024-06-30"
    " (see: ragkit find --help)."
)
@click.argument("query")
@click.option("-k", type=int, default=None, help="number of results")
@click.option(
    "--mode", type=click.Choice(["dense", "keyword", "hybrid"]), default=None, help="ranking (default: retrieve.mode)"
)
@filter_options
@json_option()
def search(
    query: str,
    k: int | None,
    mode: SearchMode | None,
    path: tuple[str, ...],
    kind: tuple[str, ...],
    after: str | None,
    before: str | None,
    lang: tuple[str, ...],
    as_json: bool,
) -> int:
    """Search the index without a model: the passages that best match QUERY."""
    rk = open_assistant(warm_queries=True)
    hits = rk.search(filters_of(path, kind, after, before, lang).applied(query), k, mode, continued=True)
    if as_json:
        emit_json({"hits": [h.as_dict() for h in hits]})
        return 0
    if not hits:
        print("No results. Is anything indexed? See: ragkit status")
    n = 0
    for hit in hits:
        snippet = " ".join(hit.text.split())[:200]
        if hit.continues:  # the table of the hit above runs on into this passage
            where = f"page {hit.page}" if hit.page is not None else "the next passage"
            print(f"   continued on {where} (chars {hit.start}-{hit.end})\n   {snippet}")
            continue
        n += 1
        where = place(hit.path, hit.page, hit.member)
        where += f" (also at {', '.join(shown_path(p) for p in hit.also)})" if hit.also else ""
        section = f"\n   in: {hit.heading}" if hit.heading and not hit.member and not hit.attachment else ""
        print(f"{n}. {where}  (score {hit.score:.3f}, chars {hit.start}-{hit.end}){section}\n   {snippet}")
    return 0


@click.command(help=FIND_HELP, context_settings={"max_content_width": 100})
@click.argument("query", required=False)
@filter_options
@click.option(
    "--batch",
    type=click.Path(path_type=Path, allow_dash=True),
    default=None,
    metavar="FILE",
    help="one query per line of FILE (- for stdin): per line the count, the files and the first hits,"
    " then the lines that matched nothing",
)
@click.option("--first", type=int, default=3, metavar="N", help="with --batch: first hits shown per line (3)")
@click.option(
    "--save",
    default=None,
    metavar="NAME",
    help="also save the query as NAME: index runs and the watcher then report what it newly matches",
)
@click.option("--count", is_flag=True, help="only the total and the count per file")
@click.option("--page", type=int, default=1, help="which page of hits (default 1)")
@click.option("--per-page", type=int, default=20, help="hits per page (default 20)")
@click.option("--all", "every", is_flag=True, help="every hit, not one page")
@json_option('{"total", "files": [{"path", "count"}], "hits": [...]}')
@click.option("--csv", "as_csv", is_flag=True, help="one row per hit: path,page,start,end,score,date,snippet")
def find(query: str | None, path: tuple[str, ...], kind: tuple[str, ...], after: str | None, before: str | None,
         lang: tuple[str, ...], batch: Path | None, first: int, save: str | None, count: bool, page: int,
         per_page: int, every: bool, as_json: bool, as_csv: bool) -> int:  # fmt: skip
    filters = filters_of(path, kind, after, before, lang)
    if as_json and as_csv:
        raise RagkitError("--json and --csv: choose one")
    if batch is not None:
        if query is not None or save:
            raise RagkitError("--batch FILE takes its queries from the file: give no QUERY and no --save with it")
        return find_batch(batch, filters, first, as_json, as_csv)
    if query is None:
        raise RagkitError("give a query (ragkit find '\"exact phrase\" OR name') or a file of them: --batch FILE")
    rk = open_assistant()
    query = filters.applied(query)
    saved = rk.save_search(save, query) if save else None
    per_page = max(1, per_page)
    offset = 0 if every else (max(1, page) - 1) * per_page
    limit = 0 if count else None if every else per_page
    result = rk.find(query, offset, limit)
    if as_json:
        emit_json(result.as_dict() | ({"saved": saved.as_dict()} if saved else {}))
        return 0
    if as_csv:
        find_csv(result)
        return 0
    print_find(result, count, page)
    if saved:
        print(
            f"\nsaved as {saved.name!r}: ragkit index and the watcher will report passages it matches from now on"
            f" that it does not match now (ragkit status; ragkit searches run {saved.name})"
        )
    return 0


def read_batch(path: Path) -> list[tuple[int, str]]:
    """The queries of a batch file, with their line numbers: one per line; blank lines and
    lines starting with # are left out."""
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise RagkitError(f"cannot read the batch file {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RagkitError(f"{path}, line {line}: not UTF-8 text; save the list as UTF-8") from None
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)]
    return [(n, line) for n, line in lines if line and not line.startswith("#")]


@dataclass
class BatchLine:
    """One line of a name list, searched: what it found, or why it is not a valid query."""

    line: int
    query: str
    found: FindResult | None = None
    error: str | None = None

    @property
    def total(self) -> int:
        return self.found.total if self.found is not None else 0

    def as_dict(self) -> dict[str, object]:
        row: dict[str, object] = {"line": self.line, "query": self.query, "total": 0, "files": [], "hits": [],
                                  "error": self.error}  # fmt: skip
        if self.found is not None:
            row |= {k: v for k, v in self.found.as_dict().items() if k in ("total", "files", "hits", "expansions")}
        return row


def find_batch(batch: Path, filters: FilterOptions, first: int, as_json: bool, as_csv: bool) -> int:
    """One search per line of a name list: per line the count, the files and the first hits;
    then the lines that matched nothing, and the lines that are not valid queries."""
    rk = open_assistant()
    rows: list[BatchLine] = []
    for line, text in read_batch(batch):
        try:
            rows.append(BatchLine(line, text, found=rk.find(filters.applied(text), 0, max(0, first))))
        except RagkitError as exc:
            rows.append(BatchLine(line, text, error=str(exc)))
    no_match = [r for r in rows if not r.error and not r.total]
    errors = [r for r in rows if r.error]
    if as_json:
        listed = [{"line": r.line, "query": r.query} for r in no_match]
        invalid = [{"line": r.line, "query": r.query, "error": r.error} for r in errors]
        emit_json({"queries": [r.as_dict() for r in rows], "no_match": listed, "errors": invalid})
    elif as_csv:
        batch_csv(rows)
    else:
        for r in rows:
            if r.found is not None:
                print_batch_line(r.line, r.query, r.found)
        matched = len(rows) - len(no_match) - len(errors)
        print(f"\n{len(rows)} queries: {matched} matched, {len(no_match)} matched nothing, {len(errors)} not valid")
        if no_match:
            print("no match:")
            for r in no_match:
                print(f"  line {r.line}: {r.query}")
    for r in errors:
        print(f"ragkit: error: {batch}, line {r.line}: {r.error}", file=sys.stderr)
    return 1 if errors else 0


def print_batch_line(line: int, query: str, found: FindResult) -> None:
    files = len(found.files)
    print(f"line {line}: {query}  —  {found.total} passage(s) in {files} file(s)")
    for path, count in found.files[:5]:
        print(f"  {count:6d}  {shown_path(path)}")
    if files > 5:
        print(f"          … and {files - 5} more file(s)")
    for hit in found.hits:
        print(f"    {place(hit.path, hit.page, hit.member)}: {highlight(hit.snippet)}")


def batch_csv(rows: list[BatchLine]) -> None:
    import csv

    writer = csv.writer(sys.stdout)
    writer.writerow(
        ["line", "query", "total", "files", "top_files", "first_path", "first_page", "first_snippet", "error"]
    )
    for r in rows:
        files = r.found.files if r.found is not None else []
        hit = r.found.hits[0] if r.found is not None and r.found.hits else None
        snippet = " ".join(str(hit.as_dict(("", ""))["snippet"]).split()) if hit is not None else ""
        top = "; ".join(f"{path} ({count})" for path, count in files[:5])
        writer.writerow(
            [r.line, r.query, r.total, len(files), top, hit.path if hit else "", hit.page if hit else "", snippet,
             (r.error or "").split("\n")[0]]
        )  # fmt: skip


@click.group(
    cls=DefaultGroup,
    default="list",
    epilog="Saved searches are re-run by every index run and by the watcher; what they match that they did"
    " not match before is reported by ragkit status and the TUI until you run them.",
)
def searches() -> None:
    """Saved searches: list, run, remove (save one with: ragkit find --save NAME QUERY)."""


@searches.command("list")
@json_option()
def searches_list(as_json: bool) -> int:
    """Every saved search, with its count and what is new."""
    saved = open_assistant().saved_searches()
    if as_json:
        emit_json({"searches": [s.as_dict() for s in saved]})
        return 0
    if not saved:
        print("no saved searches; save one with: ragkit find --save NAME QUERY")
    for s in saved:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.checked)) if s.checked else "never"
        new = f", {s.new} new" if s.new else ""
        print(f"{s.name}: {s.query}\n  {s.total} passage(s){new}; last run {when}")
    return 0


@searches.command("remove")
@click.argument("name")
def searches_remove(name: str) -> int:
    """Forget a saved search."""
    open_assistant().remove_search(name)
    print(f"removed the saved search {name!r}")
    return 0


@searches.command("run")
@click.argument("name")
@click.option("--all", "every", is_flag=True, help="every current hit, not the first 20")
@json_option()
def searches_run(name: str, every: bool, as_json: bool) -> int:
    """Run a saved search: what is new since last looked, then its hits."""
    search, result, news = open_assistant().run_search(name, None if every else 20)
    if as_json:
        emit_json({"search": search.as_dict(), "new": [m.as_dict() for m in news], "result": result.as_dict()})
        return 0
    print(f"{search.name}: {search.query}")
    if news:
        print(f"{len(news)} new since last looked:")
        for n, m in enumerate(news, start=1):
            where = shown_path(m.path) + (f", page {m.page}" if m.page is not None else "")
            found = time.strftime("%Y-%m-%d %H:%M", time.localtime(m.found))
            print(f"{n}. {where}  (found {found})\n   {highlight(m.snippet)}")
        print()
    else:
        print("nothing new since last looked\n")
    print_find(result, False, 1)
    return 0


@click.group(name="eval")
def eval_group() -> None:
    """Measure retrieval quality."""


def print_err(line: str) -> None:
    print(line, file=sys.stderr)


EVAL_MODES: dict[str, list[SearchMode]] = {"all": ["dense", "keyword", "hybrid"], "dense": ["dense"],
                                           "keyword": ["keyword"], "hybrid": ["hybrid"]}  # fmt: skip


@eval_group.command(
    "beir",
    epilog="Index the folder's corpus.jsonl (one file per document, in an index of its own under"
    " the data directory, kept for the next run) and search each query of qrels/SPLIT.tsv in every mode.",
)
@click.argument("folder", type=click.Path(path_type=Path), metavar="DIR")
@click.option("--split", default="test", help="which qrels file (test)")
@click.option("--mode", type=click.Choice(list(EVAL_MODES)), default="all")
@click.option("--max-queries", type=int, default=None, help="only the first N judged queries")
@click.option("--max-docs", type=int, default=None, help="only their judged documents and others up to N")
@json_option()
def eval_beir(folder: Path, split: str, mode: str, max_queries: int | None, max_docs: int | None, as_json: bool) -> int:
    """nDCG@10, recall@10/100, MRR@10 and latency on a BEIR-layout folder, one row per mode."""
    from ragkit.core.config import load_settings
    from ragkit.index import evaluate

    quiet = as_json
    rows = evaluate.run_beir(
        load_settings(), folder, EVAL_MODES[mode], split, max_queries, max_docs,
        progress=None if quiet else ProgressLine(sys.stderr), say=print_err if not quiet else lambda _: None,
    )  # fmt: skip
    if as_json:
        emit_json({"folder": str(folder), "split": split, "rows": rows})
        return 0
    columns = ["mode", "ndcg@10", "recall@10", "recall@100", "mrr@10", "p50_ms", "p95_ms"]
    print("  ".join(f"{c:>10}" for c in columns))
    for row in rows:
        print("  ".join(f"{row[c]:>10}" for c in columns))
    return 0


COMMANDS = [search, find, searches, eval_group]
