"""How the CLI prints: JSON, places of passages, progress lines, reports, tables."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ragkit.core import paths

if TYPE_CHECKING:
    from ragkit.assistant.protocol import Assistant, IndexReport, Progress
    from ragkit.search.found import FindResult


def emit_json(data: object) -> None:
    from ragkit.db.rows import with_sources

    print(json.dumps(with_sources(data, paths.home()), ensure_ascii=False, indent=2))


def place(path: str, page: int | None, member: str = "") -> str:
    """A passage's place: its file (or archive member, ``archive.zip!/inner/file``) and page."""
    if member:  # (with the member's page, if it has pages: the archive itself has none)
        return os.path.join(os.path.dirname(shown_path(path)), member)
    return shown_path(path) + (f", page {page}" if page is not None else "")


def shown_path(path: str) -> str:
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


class ProgressLine:
    """One self-rewriting line on stderr: files, chunks, rate, ETA."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.enabled = stream.isatty()
        self._last = 0.0

    def __call__(self, progress: Progress) -> None:
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
            f"{rate:.1f} chunks/s  ETA {int(eta) // 60}:{int(eta) % 60:02d}  {shown_path(progress.path)[-40:]}"
        )
        if progress.workers:  # on a cluster: files done by each worker
            line = line[:80] + "  " + ", ".join(f"{w} {n}" for w, n in progress.workers)
        self.stream.write(line[: 160 if progress.workers else 120].ljust(120))
        if progress.phase == "done":
            self.stream.write("\n")
        self.stream.flush()


def index_with_progress(rk: Assistant, paths: Sequence[Path], rebuild: bool, quiet: bool) -> IndexReport:
    progress: Callable[[Progress], None] | None = None if quiet else ProgressLine(sys.stderr)
    return rk.index(paths, rebuild=rebuild, progress=progress)


def print_report(report: IndexReport) -> None:
    if report.rebuilt:
        print(report.rebuilt)
    print(
        f"{report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.renamed} renamed, {report.unchanged} unchanged; "
        f"{report.files} files, {report.chunks} chunks in the index"
    )
    ignored = sum(int(str(i["files"])) for i in report.ignored)
    if ignored:
        print(f"{ignored} files left out by ignore rules (hidden, temporary, .ragignore):"
              " ragkit status --ignored lists them")  # fmt: skip
    if report.skipped:
        print(f"{report.skipped} files of unsupported types were not indexed")
    if report.workers:
        done = ", ".join(f"{worker} {n}" for worker, n in sorted(report.workers.items()))
        print(f"parsed and embedded on the cluster's workers (files each): {done}")
    for failure in report.failed:
        print(f"failed: {shown_path(failure['path'])}: {failure['reason']}", file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {shown_path(warning['path'])}: {warning['note']}", file=sys.stderr)
    print_new_matches(report.new_matches)


def print_new_matches(found: dict[str, int], stamp: str = "") -> None:
    for name, count in found.items():
        print(
            f"{stamp}saved search {name!r}: {count} new match{'es' if count != 1 else ''} (ragkit searches run {name})"
        )


def highlight(snippet: str) -> str:
    from ragkit.search.found import MARK_END, MARK_START

    bold = ("\033[1;33m", "\033[0m") if sys.stdout.isatty() else ("**", "**")
    return " ".join(snippet.split()).replace(MARK_START, bold[0]).replace(MARK_END, bold[1])


def print_find(result: FindResult, count_only: bool, page: int) -> None:
    for word, found in result.expansions.items():
        print(f"{word} matched: {', '.join(found) or 'no word of the index'}")
    print(f"{result.total} passage{'s' if result.total != 1 else ''} in {len(result.files)} file(s)")
    for path, count in result.files:
        print(f"  {count:6d}  {shown_path(path)}")
    if count_only or not result.hits:
        return
    print()
    for n, hit in enumerate(result.hits, start=result.offset + 1):
        where = place(hit.path, hit.page, hit.member)
        also = f" (also at {', '.join(shown_path(p) for p in hit.also)})" if hit.also else ""
        inside = f"\n   in the {hit.attachment}" if hit.attachment else ""
        print(f"{n}. {where}  (chars {hit.start}-{hit.end}){also}{inside}\n   {highlight(hit.snippet)}")
    shown = result.offset + len(result.hits)
    if shown < result.total:
        print(f"\n{result.offset + 1}-{shown} of {result.total}; next: --page {page + 1} (or --all)")


def find_csv(result: FindResult) -> None:
    import csv

    writer = csv.writer(sys.stdout)
    writer.writerow(["path", "page", "start", "end", "score", "date", "snippet"])
    for hit in result.hits:
        row = hit.as_dict(("", ""))
        writer.writerow([row[k] for k in ("path", "page", "start", "end", "score", "date")] + [row["snippet"]])


def print_table(columns: list[str], rows: Sequence[Sequence[object]]) -> None:
    shown = [[("" if v is None else str(v))[:60] for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in shown]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in shown:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))


def printable(text: str) -> str:
    """``text`` with control characters escaped (a newline as \\n, an escape as \\x1b): what a
    client sent can neither forge a line of the log on screen nor drive the terminal."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


class DownloadBar:
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
