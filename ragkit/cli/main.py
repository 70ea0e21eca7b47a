"""The ``ragkit`` command. Errors are one line on stderr that names the fix."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ingest.entities import TYPES as ENTITY_TYPES
from ragkit.core import paths
from ragkit.core.errors import RagkitError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0

    paths.keep_private()  # the index, keys and conversations: this user's alone
    for path in (paths.config_file(), paths.keys_file(paths.home())):
        warning = paths.exposed(path)
        if warning:
            print(f"ragkit: warning: {warning}", file=sys.stderr)
    try:
        if (args.server or args.collection) and args.command not in REMOTE_COMMANDS:
            raise RagkitError(
                f"--server and --collection apply to {', '.join(sorted(REMOTE_COMMANDS))} and the terminal UI;"
                f" '{args.command}' works on this machine (run it on the server for the server's index)"
            )
        return int(args.func(args))
    except RagkitError as exc:
        print(f"ragkit: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ragkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`ragkit search ... | head`): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush cannot fail again
        return 128 + 13  # SIGPIPE
    except Exception as exc:
        from ragkit.core.errors import REBUILD_HINT, disk_full

        if disk_full(exc):  # before damage: a full disk is not a damaged index, and a rebuild would not help
            print(f"ragkit: error: {disk_full_message(exc)}", file=sys.stderr)
            return 1
        if isinstance(exc, sqlite3.DatabaseError):  # damage found while reading (a file truncated under an index)
            print(f"ragkit: error: a file of the index cannot be read ({exc}): {REBUILD_HINT}", file=sys.stderr)
            return 1
        raise


def disk_full_message(exc: BaseException) -> str:
    from ragkit.core.errors import DiskFullError

    home = paths.home()
    try:
        where = f"{home}, {shutil.disk_usage(home).free / 1e6:.0f} MB free there"
    except OSError:
        where = str(home)
    return str(DiskFullError(exc, where))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ragkit",
        description="A private, local assistant over your own documents. No COMMAND: the terminal UI.",
    )
    parser.add_argument(
        "--server",
        default=None,
        metavar="URL",
        help="use a ragkit server (ragkit serve) for ask, search, find, status and the terminal UI, e.g."
        " http://10.0.0.5:8765; also RAGKIT_SERVER or client.server; its key: RAGKIT_API_KEY or client.api_key",
    )
    parser.add_argument(
        "--collection", default=None, metavar="NAME", help="with --server: search only this collection of it"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", help="index files and folders (incremental)")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--rebuild", action="store_true", help="drop the index and build it again")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser(
        "search",
        help="search the index without a model",
        description="The passages that best match QUERY. Filters may be typed in it (path:GLOB type:pdf"
        " after:2024-01 before:2024-06-30; see ragkit find --help) or given as options.",
    )
    p.add_argument("query")
    p.add_argument("-k", type=int, default=None, help="number of results")
    p.add_argument(
        "--mode", choices=["dense", "keyword", "hybrid"], default=None, help="ranking (default: retrieve.mode)"
    )
    _filter_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "find",
        help="every passage matching a query: exact, exhaustive, with operators and filters",
        description=FIND_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("query", nargs="?", default=None)
    _filter_options(p)
    p.add_argument(
        "--batch", type=Path, default=None, metavar="FILE",
        help="one query per line of FILE (- for stdin): per line the count, the files and the first hits,"
        " then the lines that matched nothing",
    )  # fmt: skip
    p.add_argument("--first", type=int, default=3, metavar="N", help="with --batch: first hits shown per line (3)")
    p.add_argument(
        "--save", default=None, metavar="NAME",
        help="also save the query as NAME: index runs and the watcher then report what it newly matches",
    )  # fmt: skip
    p.add_argument("--count", action="store_true", help="only the total and the count per file")
    p.add_argument("--page", type=int, default=1, help="which page of hits (default 1)")
    p.add_argument("--per-page", type=int, default=20, help="hits per page (default 20)")
    p.add_argument("--all", action="store_true", help="every hit, not one page")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help='{"total", "files": [{"path", "count"}], "hits": [...]}')
    out.add_argument("--csv", action="store_true", help="one row per hit: path,page,start,end,score,date,snippet")
    p.set_defaults(func=cmd_find)

    p = sub.add_parser(
        "searches",
        help="saved searches: list, run, remove (save one with: ragkit find --save NAME QUERY)",
        description="Saved searches are re-run by every index run and by the watcher; what they match that"
        " they did not match before is reported by ragkit status and the TUI until you run them.",
    )
    p.add_argument("action", choices=["list", "run", "remove"])
    p.add_argument("name", nargs="?", default=None)
    p.add_argument("--all", action="store_true", help="run: every current hit, not the first 20")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_searches)

    p = sub.add_parser("ask", help="answer a question from your documents, with citations")
    p.add_argument("question", nargs="?", default=None)  # (after --docs PATH..., it is taken back: _question)
    p.add_argument("--docs", nargs="+", type=Path, default=[], metavar="PATH", help="index these first")
    p.add_argument("--model", default=None, help="GGUF path or model name")
    p.add_argument(
        "--chat",
        default=None,
        metavar="ID",
        help="continue a saved conversation ('last': the newest; 'new': start one)",
    )
    p.add_argument(
        "--mode",
        choices=["auto", "generate", "extract"],
        default=None,
        help="auto (default): the model answers, quoted sentences replace what does not verify; "
        "generate: the model only; extract: quoted sentences, no model",
    )
    p.add_argument(
        "--search-mode",
        choices=["dense", "keyword", "hybrid"],
        default=None,
        help="how passages are ranked (default: retrieve.mode)",
    )
    p.add_argument(
        "--db",
        default=None,
        metavar="NAME",
        help="answer from this database (ragkit db add): SQL, rows, a checked sentence",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--show-draft",
        action="store_true",
        help="also print the model's own draft, after the checked answer (labelled as unchecked)",
    )
    p.add_argument(
        "--docs-only",
        action="store_true",
        help="answer from the documents even when a database added seems closer (answer.route = docs in config)",
    )
    p.add_argument("--csv", action="store_true", help="a database answer's rows as CSV")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="measure retrieval quality")
    esub = p.add_subparsers(dest="eval_command", metavar="KIND", required=True)
    e = esub.add_parser(
        "beir",
        help="nDCG@10, recall@10/100, MRR@10 and latency on a BEIR-layout folder, one row per mode",
        description="Index the folder's corpus.jsonl (one file per document, in an index of its own under"
        " the data directory, kept for the next run) and search each query of qrels/SPLIT.tsv in every mode.",
    )
    e.add_argument("folder", type=Path, metavar="DIR")
    e.add_argument("--split", default="test")
    e.add_argument("--mode", choices=["dense", "keyword", "hybrid", "all"], default="all")
    e.add_argument("--max-queries", type=int, default=None, help="only the first N judged queries")
    e.add_argument("--max-docs", type=int, default=None, help="only their judged documents and others up to N")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_eval_beir)

    p = sub.add_parser("model", help="chat models: list, pull, add, use, info")
    msub = p.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    m = msub.add_parser("list", help="known and installed models")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_model_list)
    m = msub.add_parser("pull", help="download a known model (needs internet; resumes)")
    m.add_argument("name", help="a name from 'ragkit model list', or OWNER/REPO/FILE.gguf")
    m.set_defaults(func=cmd_model_pull)
    m = msub.add_parser("add", help="register a GGUF file you already have")
    m.add_argument("path", type=Path)
    m.add_argument("--name", default=None)
    m.add_argument("--profile", choices=["chat", "r1"], default=None, help="default: guessed from the name")
    m.set_defaults(func=cmd_model_add)
    m = msub.add_parser("use", help="make a model the default (saved in the config)")
    m.add_argument("name")
    m.set_defaults(func=cmd_model_use)
    m = msub.add_parser("info", help="details of one model (default: the one answers use)")
    m.add_argument("name", nargs="?", default=None)
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_model_info)

    p = sub.add_parser("watch", help="keep the index in step with folders (Ctrl-C to stop)")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="default: the folders from 'ragkit folders'")
    p.add_argument("--poll", action="store_true", help="poll instead of OS events (network drives)")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("folders", help="the folders 'watch' and the UI keep in sync")
    p.add_argument("action", choices=["add", "remove", "list"])
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_folders)

    p = sub.add_parser(
        "serve",
        help="serve the index to a team over HTTP (OpenAI-compatible chat, search, find; keys, audit)",
        description="Serve the index (and keep it in step with the watched folders and collections) over"
        " HTTP: POST /v1/chat/completions (OpenAI-compatible), /v1/search, /v1/find, GET /v1/status,"
        " /v1/passage, /v1/models; the OpenAPI document at /openapi.json. Listens on loopback unless told"
        " otherwise, and only with keys (ragkit keys create) beyond it.",
    )
    p.add_argument("--host", default=None, help="default: serve.host (127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="default: serve.port (8765)")
    p.add_argument("--no-watch", action="store_true", help="serve the index as it is, without the watcher")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("keys", help="API keys for ragkit serve: create, list, revoke")
    p.add_argument("action", choices=["create", "list", "revoke"])
    p.add_argument("name", nargs="?", default=None)
    p.add_argument("--collections", default="", metavar="A,B", help="create: limit the key to these collections")
    p.add_argument("--read-only", action="store_true", help="create: a key that may not change anything")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("collections", help="named groups of folders a server's keys can be limited to")
    p.add_argument("action", choices=["add", "remove", "list"])
    p.add_argument("name", nargs="?", default=None)
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_collections)

    p = sub.add_parser("audit", help="the server's audit log")
    p.add_argument("action", choices=["tail"])
    p.add_argument("-n", type=int, default=20, help="how many entries (20)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser(
        "db",
        help="databases: add, list, remove, schema, and guarded read-only SQL (query)",
        description="Databases ragkit may read: SQLite (sqlite:////abs/path.db) or PostgreSQL. Every query,"
        " yours or a model's, goes through the same guard: one read-only statement on the allowed tables, on a"
        " read-only connection, with row, byte and time caps.",
    )
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    d = dsub.add_parser("add", help="add a database")
    d.add_argument("name")
    d.add_argument("url", help="sqlite:////abs/path.db or postgresql://USER@HOST:PORT/NAME (no password)")
    d.add_argument("--tables", default="", metavar="A,B", help="only these tables may be read (default: all)")
    d.add_argument("--text-columns", default="", metavar="T.COL,…", help="columns indexed as documents")
    d.add_argument("--password-env", default=None, metavar="VAR", help="environment variable with the password")
    d.add_argument(
        "--cursor",
        default="",
        metavar="T.COL,…",
        help="a column that grows when a row changes (updated_at, a version): a sync reads only newer rows",
    )
    d.add_argument("--collections", default="", metavar="A,B", help="on a server: keys of these collections may use it")
    d.add_argument("--keys", default="", metavar="K1,K2", help="on a server: only these keys may use it")
    d.set_defaults(func=cmd_db)
    d = dsub.add_parser("list", help="the databases added")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_db)
    d = dsub.add_parser("remove", help="forget a database (the database itself is not touched)")
    d.add_argument("name")
    d.set_defaults(func=cmd_db)
    d = dsub.add_parser("schema", help="tables, columns, keys, row counts and sample values")
    d.add_argument("name")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_db)
    d = dsub.add_parser("sync", help="index the rows of the --text-columns tables as documents (db:NAME/TABLE/ID)")
    d.add_argument("names", nargs="*", metavar="NAME", help="default: every database with text columns")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_db)
    d = dsub.add_parser("query", help="run your own SQL through the guard")
    d.add_argument("name")
    d.add_argument("sql")
    d.add_argument("--json", action="store_true")
    d.add_argument("--csv", action="store_true")
    d.set_defaults(func=cmd_db)

    p = sub.add_parser(
        "entities",
        help="people, organisations, places, e-mails, phones, IBANs, URLs, amounts and dates in the documents",
        description="Entities found in the indexed documents (names need entities.model, a spaCy pipeline)."
        " list (default): each with its count of files and mentions; show NAME: every mention with file, page"
        " and span; merge ALIAS NAME: count ALIAS as NAME; unmerge ALIAS; ignore NAME (--undo): leave it out;"
        " update: find the entities of documents not done yet. Merges and ignores last across re-indexing."
        " Filter searches with person:, org:, place:, email:, phone:, iban:, url:.",
    )
    p.add_argument(
        "action", nargs="?", default="list", choices=["list", "show", "merge", "unmerge", "ignore", "update"]
    )
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--type", default=None, choices=list(ENTITY_TYPES), help="one type only")
    p.add_argument("--top", type=int, default=50, metavar="N", help="list: the first N (0: all)")
    p.add_argument("--undo", action="store_true", help="ignore: stop ignoring NAME")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_entities)

    p = sub.add_parser("threads", help="the e-mail threads of the indexed .eml and .mbox files")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_threads)
    p = sub.add_parser(
        "thread",
        help="one e-mail thread as a tree of replies",
        description="The thread holding a message: give its Message-ID (with or without <>) or the path of an"
        " indexed .eml file. Replies are rebuilt from Message-ID, In-Reply-To and References (a subject with Re:"
        " as a fallback); a message the archive lacks shows as a gap.",
    )
    p.add_argument("id", metavar="ID")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_thread)

    p = sub.add_parser("duplicates", help="every group of files with identical content, with all its locations")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_duplicates)

    p = sub.add_parser("status", help="what is indexed, and what failed")
    p.add_argument("--ignored", action="store_true", help="list what the ignore rules left out, with the rule")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)
    return parser


REMOTE_COMMANDS = {
    "ask",
    "search",
    "find",
    "searches",
    "status",
    "entities",
    "thread",
}  # what --server (or RAGKIT_SERVER) sends to a server


def _assistant(args: argparse.Namespace, warm_queries: bool = False) -> Any:
    """For the commands a ragkit server can answer: that server, when one is named
    (``--server``, RAGKIT_SERVER, ``client.server``), else the index here (:func:`_open`)."""
    from ragkit.assistant.remote import RemoteAssistant, server_of
    from ragkit.core.config import load_settings

    settings = load_settings()
    url = server_of(settings, args.server)
    if url:
        return RemoteAssistant(settings, url, collection=args.collection)
    if args.collection:
        raise RagkitError("--collection names a collection of a ragkit server: give --server URL with it")
    return _open(warm_queries, settings)


def _remote(rk: Any) -> bool:
    from ragkit.assistant.remote import RemoteAssistant

    return isinstance(rk, RemoteAssistant)


def _open(warm_queries: bool = False, settings: Any = None) -> Any:
    """The facade. ``warm_queries``: start loading the query embedder first, so a cold
    search or question loads it while the rest of ragkit imports."""
    from ragkit.core.config import load_settings

    settings = settings or load_settings()
    if warm_queries:
        from ragkit.index.onnxembed import warm

        warm(settings)
    from ragkit.assistant.local import open_ragkit

    return open_ragkit(settings)


def _emit_json(data: object) -> None:
    from ragkit.db.rows import with_sources

    print(json.dumps(with_sources(data, paths.home()), ensure_ascii=False, indent=2))


def _where(path: str, page: int | None, member: str = "") -> str:
    """A passage's place: its file (or archive member, ``archive.zip!/inner/file``) and page."""
    if member:  # (with the member's page, if it has pages: the archive itself has none)
        return os.path.join(os.path.dirname(_display(path)), member)
    return _display(path) + (f", page {page}" if page is not None else "")


def _display(path: str) -> str:
    if "db-rows" in path:  # a database row's document: cited as db:NAME/TABLE/ID
        from ragkit.db.rows import source_name

        named = source_name(path, paths.home())
        if named:
            return named
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


# --- index ---------------------------------------------------------------------


class ProgressLine:
    """One self-rewriting line on stderr: files, chunks, rate, ETA."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.enabled = stream.isatty()
        self._last = 0.0

    def __call__(self, progress: Any) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if progress.phase != "done" and now - self._last < 0.1:
            return
        self._last = now
        elapsed = max(now - self.started, 1e-6)
        rate = progress.chunks / elapsed
        eta = (elapsed / progress.done) * (progress.total - progress.done) if progress.done else 0
        line = (
            f"\r[{progress.done}/{progress.total}] files  {progress.chunks} chunks  "
            f"{rate:.1f} chunks/s  ETA {int(eta) // 60}:{int(eta) % 60:02d}  {_display(progress.path)[-40:]}"
        )
        self.stream.write(line[:120].ljust(120))
        if progress.phase == "done":
            self.stream.write("\n")
        self.stream.flush()


def _index(rk: Any, paths: Sequence[Path], rebuild: bool, quiet: bool) -> dict[str, Any]:
    progress: Callable[[Any], None] | None = None if quiet else ProgressLine(sys.stderr)
    return dict(rk.index(paths, rebuild=rebuild, progress=progress).as_dict())


def _print_report(report: dict[str, Any]) -> None:
    print(
        f"{report['added']} added, {report['updated']} updated, {report['removed']} removed, "
        f"{report['renamed']} renamed, {report['unchanged']} unchanged; "
        f"{report['files']} files, {report['chunks']} chunks in the index"
    )
    if report.get("ignored"):
        print(f"{report['ignored']} files left out by ignore rules (hidden, temporary, .ragignore):"
              " ragkit status --ignored lists them")  # fmt: skip
    if report["skipped"]:
        print(f"{report['skipped']} files of unsupported types were not indexed")
    for failure in report["failed"]:
        print(f"failed: {_display(failure['path'])}: {failure['reason']}", file=sys.stderr)
    for warning in report["warnings"]:
        print(f"warning: {_display(warning['path'])}: {warning['note']}", file=sys.stderr)
    _print_new_matches(report.get("new_matches") or {})


def _print_new_matches(found: dict[str, int], stamp: str = "") -> None:
    for name, count in found.items():
        print(
            f"{stamp}saved search {name!r}: {count} new match{'es' if count != 1 else ''} (ragkit searches run {name})"
        )


def cmd_index(args: argparse.Namespace) -> int:
    rk = _open()
    report = _index(rk, args.paths, args.rebuild, quiet=args.json)
    if not args.json:
        _print_report(report)
    if any(d.text_columns for d in rk.settings.databases.values()):  # rows as documents, kept in step too
        report["rows"] = _sync_rows(rk.settings, None, quiet=args.json, rk=rk)
    if args.json:
        _emit_json(report)
    return 0


# --- search -----------------------------------------------------------------------


def cmd_search(args: argparse.Namespace) -> int:
    rk = _assistant(args, warm_queries=True)
    hits = rk.search(_with_filters(args), args.k, args.mode)
    if args.json:
        _emit_json({"hits": [h.as_dict() for h in hits]})
        return 0
    if not hits:
        print("No results. Is anything indexed? See: ragkit status")
    for n, hit in enumerate(hits, start=1):
        where = _where(hit.path, hit.page, hit.member)
        where += f" (also at {', '.join(_display(p) for p in hit.also)})" if hit.also else ""
        snippet = " ".join(hit.text.split())[:200]
        print(f"{n}. {where}  (score {hit.score:.3f}, chars {hit.start}-{hit.end})\n   {snippet}")
    return 0


# --- find -------------------------------------------------------------------------

FIND_HELP = """Every passage that matches QUERY: the total, the hits per file, and each hit with its
file, page, span and the matched words highlighted. Not ranked by meaning: exact words.

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

A term with inner punctuation (an e-mail address, 10-K, 1,250.00) is searched as a phrase.

examples:
  ragkit find '"acme holdings" NOT draft type:pdf after:2023'
  ragkit find 'NEAR(tolsvik payment, 10)' --count
  ragkit find 'invoice*' --json --all > hits.json
  ragkit find --batch names.txt --csv > names.csv     (one query per line)
  ragkit find --save tolsvik 'tolsvik~1 OR "t. olsvik"' (then: ragkit searches list|run|remove)
"""


def _filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--path", action="append", default=[], metavar="GLOB", help="only files whose path matches")
    p.add_argument("--type", action="append", default=[], metavar="EXT", help="only files of this type (pdf, txt…)")
    p.add_argument("--after", default=None, metavar="DATE", help="only files dated on or after (YYYY[-MM[-DD]])")
    p.add_argument("--before", default=None, metavar="DATE", help="only files dated on or before")
    p.add_argument(
        "--lang", action="append", default=[], metavar="CODE", help="only documents in this language (en, fr…)"
    )


def _with_filters(args: argparse.Namespace, query: str | None = None) -> str:
    """The query (``args.query`` unless given) with the filter options typed into it, as the
    query language says them."""
    typed = [f'path:"{g}"' for g in args.path] + [f"type:{t}" for t in args.type]
    typed += [f"after:{args.after}"] if args.after else []
    typed += [f"before:{args.before}"] if args.before else []
    typed += [f"lang:{code}" for code in args.lang]
    return " ".join([args.query if query is None else query, *typed])


def cmd_find(args: argparse.Namespace) -> int:
    if args.batch is not None:
        if args.query is not None or args.save:
            raise RagkitError("--batch FILE takes its queries from the file: give no QUERY and no --save with it")
        return _find_batch(args)
    if args.query is None:
        raise RagkitError("give a query (ragkit find '\"exact phrase\" OR name') or a file of them: --batch FILE")
    rk = _assistant(args)
    query = _with_filters(args)
    saved = rk.save_search(args.save, query) if args.save else None
    per_page = max(1, args.per_page)
    offset = 0 if args.all else (max(1, args.page) - 1) * per_page
    limit = 0 if args.count else None if args.all else per_page
    result = rk.find(query, offset, limit)
    if args.json:
        _emit_json(result.as_dict() | ({"saved": saved.as_dict()} if saved else {}))
        return 0
    if args.csv:
        _find_csv(result)
        return 0
    _print_find(result, args.count, args.page)
    if saved:
        print(
            f"\nsaved as {saved.name!r}: ragkit index and the watcher will report passages it matches from now on"
            f" that it does not match now (ragkit status; ragkit searches run {saved.name})"
        )
    return 0


def _find_csv(result: Any) -> None:
    import csv

    writer = csv.writer(sys.stdout)
    writer.writerow(["path", "page", "start", "end", "score", "date", "snippet"])
    for hit in result.hits:
        row = hit.as_dict(("", ""))
        writer.writerow([row[k] for k in ("path", "page", "start", "end", "score", "date")] + [row["snippet"]])


def _highlight(snippet: str) -> str:
    from ragkit.search.keywords import MARK_END, MARK_START

    bold = ("\033[1;33m", "\033[0m") if sys.stdout.isatty() else ("**", "**")
    return " ".join(snippet.split()).replace(MARK_START, bold[0]).replace(MARK_END, bold[1])


def _print_find(result: Any, count_only: bool, page: int) -> None:
    for word, found in result.expansions.items():
        print(f"{word} matched: {', '.join(found) or 'no word of the index'}")
    print(f"{result.total} passage{'s' if result.total != 1 else ''} in {len(result.files)} file(s)")
    for path, count in result.files:
        print(f"  {count:6d}  {_display(path)}")
    if count_only or not result.hits:
        return
    print()
    for n, hit in enumerate(result.hits, start=result.offset + 1):
        where = _where(hit.path, hit.page, hit.member)
        also = f" (also at {', '.join(_display(p) for p in hit.also)})" if hit.also else ""
        inside = f"\n   in the {hit.attachment}" if hit.attachment else ""
        print(f"{n}. {where}  (chars {hit.start}-{hit.end}){also}{inside}\n   {_highlight(hit.snippet)}")
    shown = result.offset + len(result.hits)
    if shown < result.total:
        print(f"\n{result.offset + 1}-{shown} of {result.total}; next: --page {page + 1} (or --all)")


def _read_batch(path: Path) -> list[tuple[int, str]]:
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


def _find_batch(args: argparse.Namespace) -> int:
    """One search per line of a name list: per line the count, the files and the first hits;
    then the lines that matched nothing, and the lines that are not valid queries."""
    import csv

    rk = _assistant(args)
    queries = _read_batch(args.batch)
    first = max(0, args.first)
    rows: list[dict[str, Any]] = []
    for line, text in queries:
        row: dict[str, Any] = {"line": line, "query": text, "total": 0, "files": [], "hits": [], "error": None}
        try:
            found = rk.find(_with_filters(args, text), 0, first)
        except RagkitError as exc:
            row["error"] = str(exc)
        else:
            row |= {k: v for k, v in found.as_dict().items() if k in ("total", "files", "hits", "expansions")}
        rows.append(row)
    no_match = [{"line": r["line"], "query": r["query"]} for r in rows if not r["error"] and not r["total"]]
    errors = [{"line": r["line"], "query": r["query"], "error": r["error"]} for r in rows if r["error"]]
    if args.json:
        _emit_json({"queries": rows, "no_match": no_match, "errors": errors})
    elif args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(
            ["line", "query", "total", "files", "top_files", "first_path", "first_page", "first_snippet", "error"]
        )
        for r in rows:
            hit = r["hits"][0] if r["hits"] else {}
            snippet = " ".join(str(hit.get("snippet", "")).replace("**", "").split())
            top = "; ".join(f"{f['path']} ({f['count']})" for f in r["files"][:5])
            writer.writerow(
                [r["line"], r["query"], r["total"], len(r["files"]), top, hit.get("path", ""), hit.get("page", ""),
                 snippet, (r["error"] or "").split("\n")[0]]
            )  # fmt: skip
    else:
        for r in rows:
            if r["error"]:
                continue
            files = len(r["files"])
            print(f"line {r['line']}: {r['query']}  —  {r['total']} passage(s) in {files} file(s)")
            for f in r["files"][:5]:
                print(f"  {f['count']:6d}  {_display(f['path'])}")
            if files > 5:
                print(f"          … and {files - 5} more file(s)")
            for hit in r["hits"]:
                where = _where(hit["path"], hit["page"], hit.get("member") or "")
                print(f"    {where}: {_highlight(hit['snippet'])}")
        matched = len(rows) - len(no_match) - len(errors)
        print(f"\n{len(rows)} queries: {matched} matched, {len(no_match)} matched nothing, {len(errors)} not valid")
        if no_match:
            print("no match:")
            for r in no_match:
                print(f"  line {r['line']}: {r['query']}")
    for r in errors:
        print(f"ragkit: error: {args.batch}, line {r['line']}: {r['error']}", file=sys.stderr)
    return 1 if errors else 0


# --- entities and duplicates ---------------------------------------------------------


def cmd_entities(args: argparse.Namespace) -> int:
    action, names = args.action, args.names
    wanted = {"list": 0, "update": 0, "show": 1, "unmerge": 1, "ignore": 1, "merge": 2}[action]
    if len(names) != wanted:
        usage = {0: "", 1: " NAME", 2: " ALIAS NAME"}[wanted]
        raise RagkitError(f"usage: ragkit entities {action}{usage}" + (' (quote a name with spaces: "Jane Doe")'
                                                                         if wanted else ""))  # fmt: skip
    rk = _assistant(args)
    if _remote(rk):
        return _remote_entities(rk, args)
    entities = rk.library.entities
    if action == "merge":
        entities.book.merge(*names)
        print(f"{names[0]!r} now counts as {names[1]!r} (undo: ragkit entities unmerge {names[0]!r})")
        return 0
    if action == "unmerge":
        entities.book.unmerge(names[0])
        print(f"{names[0]!r} counts on its own again")
        return 0
    if action == "ignore":
        entities.book.ignore(names[0], undo=args.undo)
        print(f"{names[0]!r} is {'listed again' if args.undo else 'left out of the entities'}")
        return 0
    if action == "update":
        with rk.writer():
            done = entities.extract()
        print(f"entities found in {done} document(s)")
        return 0
    if action == "show":
        mentions = entities.show(names[0], args.type)
        if args.json:
            _emit_json({"name": names[0], "mentions": mentions})
            return 0
        if not mentions:
            print(f"no mentions of {names[0]!r} (see: ragkit entities{' --type ' + args.type if args.type else ''})")
            return 1
        files = len({m["path"] for m in mentions})
        print(f"{len(mentions)} mention(s) of {names[0]!r} in {files} file(s):")
        for m in mentions:
            page = f", page {m['page']}" if m["page"] is not None else ""
            print(f"  {_display(m['path'])}{page}, chars {m['start']}-{m['end']}: {m['text']} ({m['type']})")
        return 0
    rows = entities.top(args.type, args.top or None)
    state = entities.counts()
    if args.json:
        _emit_json({"entities": [r.as_dict() for r in rows], "pending": state["pending"]})
        return 0
    if not rows:
        print("no entities yet" + ("" if state["mentions"] else " (index some documents: ragkit index PATH)"))
    width = max((len(r.name) for r in rows), default=4)
    for r in rows:
        also = f"  (also: {', '.join(r.aliases[:3])}{'…' if len(r.aliases) > 3 else ''})" if r.aliases else ""
        print(f"{r.type:>7}  {r.name:<{width}}  {r.files:>5} files  {r.mentions:>6} mentions{also}")
    if state["pending"]:
        print(f"{state['pending']} document(s) not looked at yet (ragkit entities update)", file=sys.stderr)
    if not rk.settings.entities.model:
        print("names (people, organisations, places) need a spaCy pipeline: see entities.model", file=sys.stderr)
    return 0


def _remote_entities(rk: Any, args: argparse.Namespace) -> int:
    """``entities`` and ``entities show`` from a server (within the key's collections);
    clean-up and updates are the server's own, run on its machine."""
    if args.action not in ("list", "show"):
        raise RagkitError(f"entities {args.action} changes the server's index: run it on the server's machine")
    if args.action == "show":
        mentions = rk.entity_mentions(args.names[0], args.type)
        if args.json:
            _emit_json({"name": args.names[0], "mentions": mentions})
            return 0
        for m in mentions:
            page = f", page {m['page']}" if m["page"] is not None else ""
            print(f"  {_display(m['path'])}{page}, chars {m['start']}-{m['end']}: {m['text']} ({m['type']})")
        return 0 if mentions else 1
    rows = rk.entities(args.type, args.top or None)
    if args.json:
        _emit_json({"entities": rows})
        return 0
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        print(f"{r['type']:>7}  {r['name']:<{width}}  {r['files']:>5} files  {r['mentions']:>6} mentions")
    return 0


def cmd_threads(args: argparse.Namespace) -> int:
    from ragkit.investigate.threads import threads

    found = [t.as_dict() for t in threads(_open().library.manifest)]
    if args.json:
        _emit_json({"threads": [{k: v for k, v in t.items() if k != "tree"} for t in found]})
        return 0
    if not found:
        print("no e-mail threads (index .eml or .mbox files: ragkit index PATH)")
    for t in found:
        when = f"{(t['first'] or '')[:10]} – {(t['last'] or '')[:10]}" if t["first"] else "undated"
        people = ", ".join(t["participants"][:3]) + ("…" if len(t["participants"]) > 3 else "")
        print(f"{t['messages']:>4} message(s)  {when}  {t['subject'] or '(no subject)'}  [{people}]  id {t['id']}")
    return 0


def cmd_thread(args: argparse.Namespace) -> int:
    thread = _assistant(args).thread(args.id)
    if args.json:
        _emit_json(thread)
        return 0

    def show(node: dict[str, Any], depth: int) -> None:
        indent = "  " * depth
        if not node["in_archive"]:
            print(f"{indent}- (a message not in the archive: <{node['id']}>)")
        else:
            where = "; ".join(_display(p["path"]) for p in node["places"])
            sent = (node["date"] or "undated")[:16]
            print(f"{indent}- {sent}  {node['from']}: {node['subject'] or '(no subject)'}  ({where})")
        for reply in node["replies"]:
            show(reply, depth + 1)

    show(thread["tree"], 0)
    return 0


def cmd_duplicates(args: argparse.Namespace) -> int:
    rk = _open()
    groups = rk.library.manifest.duplicates()
    if args.json:
        _emit_json({"groups": [{"hash": h, "size": size, "paths": places} for h, size, places in groups]})
        return 0
    if not groups:
        print("no two indexed files have the same content")
    for _, size, places in groups:
        print(f"{len(places)} copies, {size:,} bytes each:")
        for path in places:
            print(f"  {_display(path)}")
    return 0


# --- saved searches -----------------------------------------------------------------


def cmd_searches(args: argparse.Namespace) -> int:
    rk = _assistant(args)
    if args.action == "list":
        saved = rk.saved_searches()
        if args.json:
            _emit_json({"searches": [s.as_dict() for s in saved]})
        elif not saved:
            print("no saved searches; save one with: ragkit find --save NAME QUERY")
        for s in [] if args.json else saved:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.checked)) if s.checked else "never"
            new = f", {s.new} new" if s.new else ""
            print(f"{s.name}: {s.query}\n  {s.total} passage(s){new}; last run {when}")
        return 0
    if not args.name:
        raise RagkitError(f"name the saved search: ragkit searches {args.action} NAME (see: ragkit searches list)")
    if args.action == "remove":
        rk.remove_search(args.name)
        print(f"removed the saved search {args.name!r}")
        return 0
    search, result, news = rk.run_search(args.name, None if args.all else 20)
    if args.json:
        _emit_json({"search": search.as_dict(), "new": [m.as_dict() for m in news], "result": result.as_dict()})
        return 0
    print(f"{search.name}: {search.query}")
    if news:
        print(f"{len(news)} new since last looked:")
        for n, m in enumerate(news, start=1):
            where = _display(m.path) + (f", page {m.page}" if m.page is not None else "")
            found = time.strftime("%Y-%m-%d %H:%M", time.localtime(m.found))
            print(f"{n}. {where}  (found {found})\n   {_highlight(m.snippet)}")
        print()
    else:
        print("nothing new since last looked\n")
    _print_find(result, False, 1)
    return 0


# --- eval -------------------------------------------------------------------------


def cmd_eval_beir(args: argparse.Namespace) -> int:
    from ragkit.core.config import load_settings
    from ragkit.index import evaluate
    from ragkit.index.library import Library

    settings = load_settings()
    data = evaluate.load(args.folder, args.split, args.max_queries, args.max_docs)
    home = evaluate.eval_home(settings, args.folder, args.split, args.max_queries, args.max_docs)
    names = evaluate.write_corpus(data, home / "docs")
    library = Library(settings.model_copy(update={"home": home}))
    quiet = args.json
    try:
        if not quiet:
            print(f"{len(data.corpus)} documents, {len(data.queries)} queries; index: {home}", file=sys.stderr)
        report = library.index([home / "docs"], progress=None if quiet else ProgressLine(sys.stderr))
        if report.failed:
            raise RagkitError(f"{len(report.failed)} documents failed to index, e.g. {report.failed[0]}")
        modes = ["dense", "keyword", "hybrid"] if args.mode == "all" else [args.mode]
        rows = evaluate.evaluate(library, data, names, modes)  # type: ignore[arg-type]
    finally:
        library.close()
    if args.json:
        _emit_json({"folder": str(args.folder), "split": args.split, "rows": rows})
        return 0
    columns = ["mode", "ndcg@10", "recall@10", "recall@100", "mrr@10", "p50_ms", "p95_ms"]
    print("  ".join(f"{c:>10}" for c in columns))
    for row in rows:
        print("  ".join(f"{row[c]:>10}" for c in columns))
    return 0


# --- ask --------------------------------------------------------------------------


def cmd_ask(args: argparse.Namespace) -> int:
    from ragkit.assistant.local import Answer
    from ragkit.db.ask import SqlAnswer

    _question(args)
    if args.db:
        return _ask_database(args)
    rk = _assistant(args, warm_queries=True)
    if args.csv and (args.docs_only or not (_remote(rk) or rk.settings.databases)):
        raise RagkitError("--csv gives a database answer's rows: use it with --db NAME (or without --docs-only)")
    if args.search_mode and _remote(rk):
        raise RagkitError(f"the server ({rk.url}) ranks passages its own way (its retrieve.mode): drop --search-mode")
    if args.search_mode:
        rk.settings.retrieve.mode = args.search_mode
    if args.docs:
        report = _index(rk, args.docs, rebuild=False, quiet=args.json)
        if not args.json:
            _print_report(report)
    conversation = _conversation(rk, args.chat)
    result: Answer | SqlAnswer | None = None
    databases: list[str] | None = [] if args.docs_only else None
    live = _LiveDraft(enabled=not args.json and sys.stdout.isatty())
    for item in rk.ask_stream(args.question, args.model, conversation, args.mode, databases=databases):
        if isinstance(item, Answer | SqlAnswer):
            result = item
        elif item.type == "route":
            print(f"({item.chunk})", file=sys.stderr)
        elif item.type in ("reasoning", "text"):
            live.write(item.type, item.chunk)
    live.clear()
    assert result is not None
    if isinstance(result, SqlAnswer):
        return _print_sql_answer(result, args)
    if args.csv:
        raise RagkitError("--csv gives a database answer's rows, and this question was answered from the documents")
    if conversation is not None:
        rk.conversations.save(conversation)
    if args.json:
        _emit_json(result.as_dict())
        return 0
    print(_highlighted(result))  # the checked answer first (its notice, below, says how it was made)
    _print_sources(result)
    if args.show_draft and result.draft:
        print("\nThe model's draft (unchecked; the answer above is what your documents support):")
        print("  " + "\n  ".join(result.draft.strip().splitlines()))
    if conversation is not None:
        print(f"Conversation: {conversation.id} (follow up with: ragkit ask --chat {conversation.id} QUESTION)")
    return 0


def _highlighted(result: Any) -> str:
    """The answer, its leading short answer ("Maren Tolsvik, 1887 — …") in bold on a terminal."""
    short = (result.short_answer or {}).get("text", "")
    if not short or not result.answer.startswith(short) or not sys.stdout.isatty():
        return result.answer
    return f"\033[1;33m{short}\033[0m{result.answer[len(short) :]}"


def _question(args: argparse.Namespace) -> None:
    """``ask --docs DIR "question"``: --docs takes one or more paths, so it also took the question;
    its last word, when no file or folder of that name exists, is the question."""
    if args.question is None and args.docs and not args.docs[-1].exists():
        args.question = str(args.docs.pop())
    if args.question is None:
        raise RagkitError('ask needs a question: ragkit ask "QUESTION" [--docs PATH...]')


class _LiveDraft:
    """In a terminal, the model's reasoning and draft as it writes them, marked as unchecked, then
    erased once the checked answer is ready (what a person reads first is what was verified).
    Piped or redirected output never carries them."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.kind = ""
        self.lines = 0  # terminal lines written, wrapped ones counted
        self.column = 0
        self.width = shutil.get_terminal_size().columns or 80

    def write(self, kind: str, chunk: str) -> None:
        if not self.enabled:
            return
        if kind != self.kind:
            label = "Thinking: " if kind == "reasoning" else "Draft (unchecked, being verified): "
            self._put(("\n" if self.kind else "") + label)
            self.kind = kind
        self._put(chunk)

    def _put(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()
        for ch in text:
            if ch == "\n" or self.column >= self.width:
                self.lines += 1
                self.column = 0 if ch == "\n" else 1
            else:
                self.column += 1

    def clear(self) -> None:
        if self.enabled and (self.lines or self.column):
            # to the first column of the first line written, then erase to the end of the screen
            sys.stdout.write(f"\r\x1b[{self.lines}A\x1b[J" if self.lines else "\r\x1b[J")
            sys.stdout.flush()


def _ask_database(args: argparse.Namespace) -> int:
    if args.docs or args.chat or args.mode or args.search_mode or args.docs_only:
        raise RagkitError(
            "--db answers from a database: --docs, --docs-only, --chat, --mode and --search-mode do not apply"
        )
    rk = _assistant(args)
    return _print_sql_answer(rk.ask_database(args.question, args.db, args.model), args)


def _print_sql_answer(answer: Any, args: argparse.Namespace) -> int:
    if args.json:
        _emit_json(answer.as_dict())
        return 0 if answer.result is not None else 1
    if args.csv:
        if answer.result is None:
            raise RagkitError(answer.answer)
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(answer.result.columns)
        writer.writerows(answer.result.rows)
        return 0
    print(answer.answer)
    for n, attempt in enumerate(answer.attempts, start=1):
        if attempt.error:
            print(f"\nattempt {n} failed: {attempt.error}\n  {attempt.sql}")
    if answer.result is None:
        return 1
    print(f"\nSQL ({answer.source}): {answer.result.sql}")
    print(f"{len(answer.result.rows)} row(s){' (the first ones)' if answer.result.truncated else ''}:\n")
    _print_table(answer.result.columns, answer.result.rows[:50])
    if len(answer.result.rows) > 50:
        print(f"… and {len(answer.result.rows) - 50} more (--json for all)")
    how = "the model's, its numbers checked against the rows" if answer.by == "model" else "written from the rows"
    print(f"\nModel: {answer.model}; the sentence is {how}")
    if answer.route:
        print("Asked of the database because its schema is closer to the question than your documents; --docs-only"
              " asks the documents")  # fmt: skip
    return 0


def _conversation(rk: Any, chat: str | None) -> Any:
    from ragkit.answer.conversation import Conversation

    if chat is None:
        return None
    if chat == "new":
        return Conversation()
    if chat == "last":
        saved = rk.conversations.list()
        return rk.conversations.load(saved[0]["id"]) if saved else Conversation()
    try:
        return rk.conversations.load(chat)
    except FileNotFoundError:
        raise RagkitError(f"no saved conversation {chat!r}; 'ragkit ask --chat new ...' starts one") from None


def _print_sources(result: Any) -> None:
    if result.notice:
        print(f"\nNote: {result.notice}")
    citations = result.attribution.citations
    if citations:
        how = (
            "the passages quoted"
            if result.mode == "extract"
            else "cited by the model"
            if result.attribution.by == "model"
            else "matched to the answer"
        )
        print(f"\nCitations ({how}):")
        for c in citations:
            source = next((h for h in result.sources if h.path == c.path and h.start <= c.start < h.end), None)
            where = _where(c.path, c.page, source.member if source else "")
            where += f" (also at {', '.join(_display(p) for p in source.also)})" if source and source.also else ""
            mark = "verified" if c.verified else "NOT verified"
            quote = " ".join(c.quote.split())
            quote = quote if len(quote) <= 160 else quote[:157] + "..."
            print(f"  [{c.n}] {where}, chars {c.start}-{c.end} ({mark})\n      \u201c{quote}\u201d")
    elif result.sources:
        searched = (result.retrieval or {}).get("queries") or [result.question]
        print("\nSearched for: " + "; ".join(f"\u201c{q}\u201d" for q in searched))
        print("Closest sources:")
        for n, hit in enumerate(result.sources, start=1):
            where = _where(hit.path, hit.page, hit.member)
            print(f"  [{n}] {where} (score {hit.score:.3f})")
    unsupported = [" ".join(s.text.split()) for s in result.attribution.unsupported]
    if not result.declined and unsupported:
        print("\nNot verified against your documents (treat with care):")
        for sentence in unsupported:
            print(f"  ✗ {sentence}")
    print(f"\nModel: {result.model_note or result.model}")


# --- status -------------------------------------------------------------------------


def cmd_watch(args: argparse.Namespace) -> int:
    import signal

    rk = _open()
    roots = args.paths or rk.settings.watch.folders
    if not roots:
        raise RagkitError("no folders to watch; name them (ragkit watch PATH) or add them: ragkit folders add PATH")

    def report(result: Any) -> None:
        changes = result.added + result.updated + result.removed + result.renamed + len(result.failed)
        if changes:
            stamp = time.strftime("%H:%M:%S")
            print(
                f"{stamp} {result.added} added, {result.updated} updated, {result.removed} removed, "
                f"{result.renamed} renamed, {len(result.failed)} failed; {result.files} files, {result.chunks} chunks",
                flush=True,
            )
            for failure in result.failed:
                print(f"{stamp} failed: {_display(failure['path'])}: {failure['reason']}", file=sys.stderr, flush=True)
            _print_new_matches(result.new_matches, stamp + " ")
            sys.stdout.flush()

    live = rk.live_sync(roots, poll=args.poll or rk.settings.watch.poll, on_sync=report)
    for sig in (signal.SIGINT, signal.SIGTERM):  # stop within a second, even mid catch-up
        signal.signal(sig, lambda *_: live.stop())
    print(f"watching {', '.join(_display(str(r)) for r in live.roots)} (Ctrl-C to stop)", flush=True)
    thread = live.start()
    while thread.is_alive():
        thread.join(0.2)
    if live.error is not None:
        raise live.error
    rk.close()
    print("stopped", flush=True)
    return 0


def cmd_folders(args: argparse.Namespace) -> int:
    from ragkit.core.config import load_settings, update_config_file

    folders = [str(p) for p in load_settings().watch.folders]
    if args.action in ("add", "remove"):
        if not args.paths:
            raise RagkitError(f"name the folders to {args.action}: ragkit folders {args.action} PATH...")
        for path in args.paths:
            full = str(path.expanduser().resolve())
            if args.action == "add":
                if not Path(full).is_dir():
                    raise RagkitError(f"not a folder: {path}; check the path")
                if full not in folders:
                    folders.append(full)
            elif full in folders:
                folders.remove(full)
            else:
                raise RagkitError(f"{path} is not a watched folder; see: ragkit folders list")
        written = update_config_file("watch", "folders", folders)
        if not args.json:
            print(f"saved to {written}")
    if args.json:
        _emit_json({"folders": folders})
    else:
        for folder in folders:
            print(folder)
        if not folders:
            print("no folders yet; add one with: ragkit folders add PATH")
    return 0


# --- serving -------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        raise RagkitError("ragkit serve needs the server extra: pip install 'ragkit[server]'") from None

    from ragkit.serve.app import LOOPBACK, check_bind, create_app
    from ragkit.serve.audit import AuditLog
    from ragkit.serve.keys import KeyStore

    rk = _open(warm_queries=True)
    rk.keep_warm()
    settings = rk.settings
    host, port = args.host or settings.serve.host, args.port or settings.serve.port
    keys = KeyStore(paths.keys_file(settings.home))
    check_bind(host, keys)
    folders = list(dict.fromkeys([*settings.watch.folders, *(p for ps in settings.collections.values() for p in ps)]))
    if folders and not args.no_watch:
        if rk.library.writer_lock.is_locked_elsewhere():
            raise RagkitError(
                "another ragkit process is writing to this index (a watcher?): stop it, since the server keeps the"
                " index in step itself, or serve without watching (--no-watch)"
            )
        # the document embedder loads now, not at the first change under the watcher: loading
        # torch holds the interpreter for seconds, and every request would wait behind it
        rk.library.embedder.embed(["warm-up"])
        rk.live_sync(folders).start()
    try:  # the model too, so the first question does not wait for it
        rk.load_model()
    except RagkitError as exc:
        print(f"ragkit: warning: no chat model ({exc}); search and find work, questions will say so", file=sys.stderr)
    from ragkit.core.config import load_settings

    seen: dict[str, Any] = {"stamp": None, "collections": settings.collections}

    def collections() -> dict[str, list[Path]]:
        """As the config file says now (read again when it changes; while it is being edited
        into something invalid, as it was)."""
        try:
            stamp = paths.config_file().stat().st_mtime_ns
        except OSError:
            stamp = None
        if stamp != seen["stamp"]:
            try:
                fresh = load_settings()
                seen["collections"] = fresh.collections
                rk.settings.collections = fresh.collections  # the indexer's link fences follow them
                if fresh.databases != rk.settings.databases:  # databases added or removed meanwhile
                    rk.settings.databases = fresh.databases
                    rk.router.forget()
            except RagkitError:
                pass
            seen["stamp"] = stamp
        found: dict[str, list[Path]] = seen["collections"]
        return found

    audit = AuditLog(paths.audit_dir(settings.home), int(settings.serve.audit_max_mb * 1e6))
    app = create_app(
        rk, keys, audit, collections, require_keys=host not in LOOPBACK, host=host,
        allowed_hosts=settings.serve.allowed_hosts, max_body=settings.serve.max_body_kb * 1024,
    )  # fmt: skip
    guard = f"{sum(1 for k in keys.keys() if k.revoked is None)} live key(s)" if keys.active() else "no keys"
    watched = f"watching {len(folders)} folder(s)" if folders and not args.no_watch else "not watching"
    print(f"serving http://{host}:{port} ({guard}; {watched}); Ctrl-C stops", flush=True)
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):  # uvicorn stops on them, then raises them again on
        signal.signal(sig, lambda *_: None)  # these handlers: so the watcher and index close cleanly
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        rk.close()
    print("stopped", flush=True)
    return 0


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def cmd_db(args: argparse.Namespace) -> int:
    from ragkit.core.config import load_settings, remove_config_key, update_config_file
    from ragkit.db import connections as databases

    settings = load_settings()
    action = args.db_command
    if action == "add":
        url = databases.check_url(args.url)
        tables = [t.strip() for t in args.tables.split(",") if t.strip()]
        text_columns, cursors = _names(args.text_columns), _names(args.cursor)
        for option, given in (("--text-columns", text_columns), ("--cursor", cursors)):
            bad = [c for c in given if c.count(".") != 1]
            if bad:
                raise RagkitError(f"{option} takes table.column names: {', '.join(bad)}")
        texts = {c.split(".")[0] for c in text_columns}
        stray = [c for c in cursors if c.split(".")[0] not in texts]
        if stray:
            raise RagkitError(f"--cursor is for tables with --text-columns: {', '.join(stray)}")
        opened = databases.open_database(args.name, url, tables, args.password_env)  # it opens, or says why
        entry: dict[str, Any] = {"url": url, "tables": tables, "text_columns": text_columns}
        for key, value in (("cursor_columns", cursors), ("collections", _names(args.collections)),
                           ("keys", _names(args.keys))):  # fmt: skip
            if value:
                entry[key] = value
        if args.password_env:
            entry["password_env"] = args.password_env
        path = update_config_file("databases", args.name, entry)
        print(f"added database {args.name!r} ({len(opened.tables)} readable tables) to {path}")
        return 0
    if action == "list":
        rows = [{"name": n, **d.model_dump()} for n, d in sorted(settings.databases.items())]
        if args.json:
            _emit_json({"databases": rows})
        elif not rows:
            print("no databases; add one with: ragkit db add NAME sqlite:////path/to/file.db")
        for r in [] if args.json else rows:
            print(f"{r['name']}: {r['url']}  tables: {', '.join(r['tables']) or 'all'}")
        return 0
    if action == "remove":
        if args.name not in settings.databases:
            raise RagkitError(f"no database is named {args.name!r} (see: ragkit db list)")
        remove_config_key("databases", args.name)
        print(f"removed database {args.name!r} (the database itself is untouched)")
        return 0
    if action == "sync":
        report = _sync_rows(settings, args.names or None, quiet=args.json)
        if args.json:
            _emit_json(report)
        return 0
    db = databases.configured(settings, args.name)
    if action == "schema":
        tables = db.schema()
        if args.json:
            _emit_json({"database": args.name, "tables": [t.as_dict() for t in tables]})
            return 0
        for t in tables:
            print(f"{t.name} ({t.rows} rows)")
            for c in t.columns:
                key = " primary key" if c.primary_key else ""
                ref = f" -> {c.references}" if c.references else ""
                sample = f"  e.g. {', '.join(t.samples[c.name])}" if t.samples.get(c.name) else ""
                print(f"  {c.name} {c.type}{key}{ref}{sample}")
        return 0
    result = db.run(args.sql)
    if args.json:
        _emit_json(result.as_dict())
    elif args.csv:
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        _print_table(result.columns, result.rows)
        more = " (the first ones: more than the caps allow)" if result.truncated else ""
        print(f"\n{len(result.rows)} row(s){more}; ran: {result.sql}")
    return 0


def _sync_rows(settings: Any, names: list[str] | None, quiet: bool = False, rk: Any = None) -> dict[str, Any]:
    """Rows as documents: mirror the text columns of ``names`` (default: every database that
    has some) into the data directory, then index that folder like any other."""
    rk = rk or _open(settings=settings)
    progress: Callable[[Any], None] | None = None if quiet else ProgressLine(sys.stderr)
    synced = rk.sync_rows(names, progress=progress)
    report = synced["index"].as_dict() if synced["index"] is not None else None
    if not quiet:
        for m in synced["databases"]:
            print(f"database {m['database']}: {m['rows']} rows, {m['written']} written, {m['removed']} removed")
        if report is not None:
            _print_report(report)
    return {"databases": synced["databases"], "index": report}


def _print_table(columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    shown = [[("" if v is None else str(v))[:60] for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in shown]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in shown:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))


def cmd_keys(args: argparse.Namespace) -> int:
    from ragkit.core.config import load_settings
    from ragkit.serve.keys import KeyStore

    settings = load_settings()
    keys = KeyStore(paths.keys_file(settings.home))
    if args.action == "list":
        rows = [k.public() for k in keys.keys()]
        if args.json:
            _emit_json({"keys": rows})
        elif not rows:
            print("no keys; ragkit serve then answers on loopback only (make one with: ragkit keys create NAME)")
        for row in [] if args.json else rows:
            scope = ", ".join(row["collections"]) or "all collections"
            state = "revoked " + time.strftime("%Y-%m-%d", time.localtime(row["revoked"])) if row["revoked"] else "live"
            print(f"{row['name']}: {scope}{'; read-only' if row['read_only'] else ''}; {state}")
        return 0
    if not args.name:
        raise RagkitError(f"name the key: ragkit keys {args.action} NAME")
    if args.action == "revoke":
        keys.revoke(args.name)
        print(f"revoked the key {args.name!r}: it opens nothing from now on")
        return 0
    wanted = [c.strip() for c in args.collections.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in settings.collections]
    if unknown:
        known = ", ".join(sorted(settings.collections)) or "none yet"
        raise RagkitError(
            f"no collection named {', '.join(unknown)} (collections: {known});"
            " add one with: ragkit collections add NAME PATH"
        )
    key = keys.create(args.name, wanted, args.read_only)
    if args.json:
        _emit_json({"name": args.name, "key": key})
    else:
        scope = ", ".join(wanted) or "all collections"
        print(f"a key for {args.name!r} ({scope}{'; read-only' if args.read_only else ''}); it is shown only now:")
        print(key)
    return 0


def cmd_collections(args: argparse.Namespace) -> int:
    from ragkit.core.config import load_settings, remove_config_key, update_config_file

    collections = {name: [str(p) for p in paths] for name, paths in load_settings().collections.items()}
    if args.action == "list":
        if args.json:
            _emit_json({"collections": collections})
        elif not collections:
            print("no collections; add one with: ragkit collections add NAME PATH...")
        for name, paths in [] if args.json else sorted(collections.items()):
            print(f"{name}: {', '.join(paths)}")
        return 0
    if not args.name:
        raise RagkitError(f"name the collection: ragkit collections {args.action} NAME")
    if args.action == "remove":
        if args.name not in collections:
            raise RagkitError(f"no collection named {args.name!r} (collections: {', '.join(collections) or 'none'})")
        remove_config_key("collections", args.name)
        print(f"removed the collection {args.name!r} (its files stay indexed while other folders hold them)")
        return 0
    if not args.paths:
        raise RagkitError("name its folders: ragkit collections add NAME PATH...")
    folders = []
    for path in args.paths:
        full = path.expanduser().resolve()
        if not full.is_dir():
            raise RagkitError(f"not a folder: {path}; check the path")
        folders.append(str(full))
    update_config_file("collections", args.name, sorted(set(collections.get(args.name, [])) | set(folders)))
    print(f"collection {args.name!r}: {', '.join(folders)} (ragkit serve watches and indexes it)")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from ragkit.core.config import load_settings
    from ragkit.serve.audit import AuditLog

    entries = AuditLog(paths.audit_dir(load_settings().home)).tail(max(1, args.n))
    if args.json:
        _emit_json({"entries": entries})
        return 0
    for e in entries:
        what = e.get("question") or e.get("query") or e.get("path") or e.get("error") or ""
        fields = (e.get("time"), e.get("key"), e.get("endpoint"), e.get("status"), what)
        print("  ".join(_printable(str(f)) for f in fields))
    if not entries:
        print("the audit log is empty (ragkit serve writes it)")
    return 0


def _printable(text: str) -> str:
    """``text`` with control characters escaped (a newline as \\n, an escape as \\x1b): what a
    client sent can neither forge a line of the log on screen nor drive the terminal."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def cmd_status(args: argparse.Namespace) -> int:
    rk = _assistant(args)
    status = rk.status()
    if args.json:
        _emit_json(status)
        return 0
    if status.get("server"):
        collections = ", ".join(status.get("collections") or []) or "none"
        print(f"server:   {status['server']} (key {status.get('key')}; collections: {collections})")
        print(f"model:    {status.get('model')}")
    print(f"index:    {status['index_path']}")
    plan = status["embedding"]
    print(f"embedder: {status['embedder']} (documents: {plan['documents']}; queries: {plan['queries']})")
    ignored = f"  ignored: {status['ignored']}" if status.get("ignored") else ""
    print(f"files:    {status['files']}  chunks: {status['chunks']}  failed: {status['failed']}{ignored}")
    print(f"search:   {status['search']}")
    watcher = status["watcher"]
    if watcher.get("live"):
        last = watcher.get("last_sync")
        when = time.strftime("%H:%M:%S", time.localtime(last)) if last else "not yet"
        print(f"watcher:  live (pid {watcher['pid']}), queue {watcher.get('queue', 0)}, last sync {when}")
        if watcher.get("rows_error"):
            print(f"warning: the watcher could not sync database rows: {watcher['rows_error']}", file=sys.stderr)
    else:
        print("watcher:  not running (start one with: ragkit watch)")
    searches = status.get("searches") or []
    if searches:
        new = [f"{s['name']} ({s['new']} new)" for s in searches if s["new"]]
        print(f"searches: {len(searches)} saved" + (f"; new matches: {', '.join(new)}" if new else "; nothing new"))
        for s in searches:
            if s["new"]:
                print(f"  see: ragkit searches run {s['name']}")
    for failure in status["failures"]:
        print(f"  failed: {_display(failure['path'])}: {failure['reason']}")
    for warning in status["warnings"]:
        print(f"  warning: {_display(warning['path'])}: {warning['note']}")
    if args.ignored:
        items = status.get("ignored_paths") or []
        print(f"ignored ({status.get('ignored', 0)} files; change the rules in a .ragignore file):" if items
              else "ignored:  nothing (in the last full index run of each folder)")  # fmt: skip
        for item in items:
            count = f" ({item['files']} files)" if item["files"] != 1 else ""
            print(f"  {_display(item['path'])}{count}: {item['rule']}")
    elif status.get("ignored"):
        print(f"  ({status['ignored']} files left out by ignore rules: ragkit status --ignored lists them)")
    return 0


# --- models -------------------------------------------------------------------------


def cmd_model_list(args: argparse.Namespace) -> int:
    rows = _open().models()
    if args.json:
        _emit_json(rows)
        return 0
    for row in rows:
        mark = "*" if row["default"] else " "
        where = (
            row["path"] if row["installed"] else f"not downloaded: ragkit model pull {row['name']}  [{row['source']}]"
        )
        print(f"{mark} {row['name']:<16} {row['profile']:<5} {where}")
    print("\n* answers use this model (change it with: ragkit model use NAME)")
    return 0


def cmd_model_pull(args: argparse.Namespace) -> int:
    from ragkit.llm.catalog import pull

    rk = _open()
    bar = _DownloadBar(sys.stderr)
    ref = pull(rk.catalog, args.name, hub=rk.settings.models.hub_url, progress=bar)
    bar.finish()
    print(f"{ref.name}: {ref.path} (sha256 {ref.sha256})")
    print(f"use it with: ragkit model use {ref.name}")
    return 0


class _DownloadBar:
    def __init__(self, stream: TextIO) -> None:
        self.stream, self.started, self._last, self.shown = stream, time.monotonic(), 0.0, False

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last, self.shown = now, True
        rate = done / max(now - self.started, 1e-6) / 1e6
        size = f"{done / 1e6:.0f}/{total / 1e6:.0f} MB ({100 * done / total:.0f}%)" if total else f"{done / 1e6:.0f} MB"
        self.stream.write(f"\rdownloading {size} at {rate:.1f} MB/s ".ljust(70))
        self.stream.flush()

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")


def cmd_model_add(args: argparse.Namespace) -> int:
    rk = _open()
    ref = rk.catalog.add(args.path, args.name, args.profile)
    print(f"added {ref.name} ({ref.profile} profile): {ref.path}")
    print(f"use it with: ragkit model use {ref.name}")
    return 0


def cmd_model_use(args: argparse.Namespace) -> int:
    from ragkit.core.config import update_config_file

    rk = _open()
    ref = rk.catalog.resolve(args.name)  # refuses what is not installed, naming the fix
    path = update_config_file("llm", "model", ref.name if ref.name in rk.catalog.installed() else str(ref.path))
    print(f"answers now use {ref.name} (saved in {path})")
    return 0


def cmd_model_info(args: argparse.Namespace) -> int:
    from ragkit.llm.catalog import REGISTRY
    from ragkit.llm.gguf import read_header

    rk = _open()
    ref = rk.model_ref(args.name)
    cfg = rk.settings.llm
    params = rk.generation_params(rk.profile_of(ref.profile))
    header = read_header(ref.path)
    info = {
        **ref.as_dict(),
        "size_mb": round(ref.path.stat().st_size / 1e6, 1),
        "known": ref.name in REGISTRY,
        "model": header.name,
        "architecture": header.architecture,
        "quantization": header.quantization,
        "trained_context": header.context_length,
        "chat_template": "with think blocks" if header.reasons else "yes" if header.chat_template else "none",
        "temperature": params.temperature,
        "top_p": params.top_p,
        "starts_in_think": params.start_in_think,
        "reasoning_tokens": params.reasoning_budget,
        "n_ctx": cfg.n_ctx,
        "n_gpu_layers": cfg.n_gpu_layers,
        "note": rk.model_note(args.name),
    }
    if args.json:
        _emit_json(info)
        return 0
    for key, value in info.items():
        print(f"{key:>16}: {value}")
    return 0


if __name__ == "__main__":  # last, so every command above is defined
    raise SystemExit(main())
