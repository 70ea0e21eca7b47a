"""The ``ragkit`` command. Errors are one line on stderr that names the fix."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ragkit.errors import RagkitError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except RagkitError as exc:
        print(f"ragkit: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ragkit: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ragkit", description="A private, local assistant over your own documents.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", help="index files and folders (incremental)")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--rebuild", action="store_true", help="drop the index and build it again")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="search the index without a model")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=None, help="number of results")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question from your documents, with citations")
    p.add_argument("question")
    p.add_argument("--docs", nargs="+", type=Path, default=[], metavar="PATH", help="index these first")
    p.add_argument("--model", default=None, help="GGUF path or model name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("status", help="what is indexed, and what failed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)
    return parser


def _open() -> Any:
    from ragkit.facade import open_ragkit

    return open_ragkit()


def _emit_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _display(path: str) -> str:
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
    if report["skipped"]:
        print(f"{report['skipped']} files of unsupported types were not indexed")
    for failure in report["failed"]:
        print(f"failed: {_display(failure['path'])}: {failure['reason']}", file=sys.stderr)
    for warning in report["warnings"]:
        print(f"warning: {_display(warning['path'])}: {warning['note']}", file=sys.stderr)


def cmd_index(args: argparse.Namespace) -> int:
    rk = _open()
    report = _index(rk, args.paths, args.rebuild, quiet=args.json)
    if args.json:
        _emit_json(report)
    else:
        _print_report(report)
    return 0


# --- search -----------------------------------------------------------------------


def cmd_search(args: argparse.Namespace) -> int:
    rk = _open()
    hits = rk.search(args.query, args.k)
    if args.json:
        _emit_json({"hits": [h.as_dict() for h in hits]})
        return 0
    if not hits:
        print("No results. Is anything indexed? See: ragkit status")
    for n, hit in enumerate(hits, start=1):
        where = _display(hit.path) + (f", page {hit.page}" if hit.page is not None else "")
        snippet = " ".join(hit.text.split())[:200]
        print(f"{n}. {where}  (score {hit.score:.3f}, chars {hit.start}-{hit.end})\n   {snippet}")
    return 0


# --- ask --------------------------------------------------------------------------


def cmd_ask(args: argparse.Namespace) -> int:
    from ragkit.facade import Answer

    rk = _open()
    if args.docs:
        report = _index(rk, args.docs, rebuild=False, quiet=args.json)
        if not args.json:
            _print_report(report)
    result: Answer | None = None
    in_reasoning = False
    for item in rk.ask_stream(args.question, model=args.model):
        if isinstance(item, Answer):
            result = item
        elif args.json:
            continue
        elif item.type == "reasoning":
            if not in_reasoning:
                sys.stdout.write("Thinking: ")
                in_reasoning = True
            sys.stdout.write(item.chunk)
            sys.stdout.flush()
        elif item.type == "text":
            if in_reasoning:
                sys.stdout.write("\n\nAnswer: ")
                in_reasoning = False
            sys.stdout.write(item.chunk)
            sys.stdout.flush()
    assert result is not None
    if args.json:
        _emit_json(result.as_dict())
        return 0
    print()
    _print_sources(result)
    return 0


def _print_sources(result: Any) -> None:
    if result.notice:
        print(f"\nNote: {result.notice}")
    citations = result.attribution.citations
    if citations:
        how = "cited by the model" if result.attribution.by == "model" else "matched to the answer"
        print(f"\nCitations ({how}):")
        for c in citations:
            where = _display(c.path) + (f", page {c.page}" if c.page is not None else "")
            mark = "verified" if c.verified else "NOT verified"
            quote = " ".join(c.quote.split())
            quote = quote if len(quote) <= 160 else quote[:157] + "..."
            print(f"  [{c.n}] {where}, chars {c.start}-{c.end} ({mark})\n      \u201c{quote}\u201d")
    elif result.sources:
        print("\nClosest sources:")
        for n, hit in enumerate(result.sources, start=1):
            where = _display(hit.path) + (f", page {hit.page}" if hit.page is not None else "")
            print(f"  [{n}] {where} (score {hit.score:.3f})")
    print(f"\nModel: {result.model}")


# --- status -------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    rk = _open()
    status = rk.status()
    if args.json:
        _emit_json(status)
        return 0
    print(f"index:    {status['index_path']}")
    print(f"embedder: {status['embedder']}")
    print(f"files:    {status['files']}  chunks: {status['chunks']}  failed: {status['failed']}")
    for failure in status["failures"]:
        print(f"  failed: {_display(failure['path'])}: {failure['reason']}")
    for warning in status["warnings"]:
        print(f"  warning: {_display(warning['path'])}: {warning['note']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
