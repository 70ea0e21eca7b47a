"""Tags and notes on documents: ``ragkit tag add|remove|list``, ``ragkit note add|list|remove``."""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import TypedDict

import click

from ragkit.cli.common import Command, DefaultGroup, P, json_option, open_assistant
from ragkit.cli.output import emit_json, shown_path
from ragkit.core.errors import RagkitError

MARKS_HELP = "Kept in the data directory (marks.db): a rebuild keeps them, and they follow renamed files."


class Mark(TypedDict):
    id: int
    kind: str
    value: str
    path: str
    page: int | None
    start: int | None
    end: int | None
    author: str
    created: float
    paths: list[str]


def _path(path: str) -> str:
    """A file as the index names it: an absolute path (a server's path is sent as typed)."""
    return path if os.path.isabs(path) or path.startswith("db:") else os.path.abspath(path)


def _span(page: int | None, at: str | None) -> tuple[int | None, int, int] | None:
    if at is None:
        if page is not None:
            raise RagkitError("--page names a passage's page; give its span too: --at START:END (as cited)")
        return None
    try:
        start, end = (int(n) for n in at.split(":"))
    except ValueError:
        raise RagkitError(f"--at takes START:END, character offsets as a citation gives them, not {at!r}") from None
    if not 0 <= start < end:
        raise RagkitError(f"--at {at}: START must be 0 or more and END after it")
    return page, start, end


def _marks(kind: str, path: str | None) -> list[Mark]:
    rk = open_assistant()
    try:
        found: list[Mark] = rk.marks(kind, _path(path) if path else None)  # type: ignore[assignment]
    finally:
        rk.close()
    return found


def _where(mark: Mark) -> str:
    places = ", ".join(shown_path(p) for p in mark["paths"]) or f"{shown_path(mark['path'])} (no longer indexed)"
    if mark["start"] is not None:
        page = f"p. {mark['page']}, " if mark["page"] is not None else ""
        places += f" ({page}chars {mark['start']}–{mark['end']})"
    return places


passage_options = [
    click.option("--page", type=click.IntRange(min=0), default=None, help="the passage's page (PDFs)"),
    click.option("--at", default=None, metavar="START:END", help="a passage, not the whole document (as cited)"),
]


def with_passage(command: Command[P]) -> Command[P]:
    for option in reversed(passage_options):
        command = option(command)
    return command


@click.group(cls=DefaultGroup, default="list", epilog=MARKS_HELP)
def tag() -> None:
    """Tags on documents: add, remove, list (default). Find tagged files with tag:NAME in find,
    search and ask, or has:tag."""


@tag.command("add")
@click.argument("path")
@click.argument("names", nargs=-1, required=True)
@with_passage
def tag_add(path: str, names: tuple[str, ...], page: int | None, at: str | None) -> int:
    """Tag the indexed file PATH (or a passage of it) with NAMES."""
    rk = open_assistant()
    try:
        for name in names:
            made = rk.mark("tag", _path(path), name, _span(page, at))
            print(f"tagged {shown_path(made['path'])}: {made['value']}")
    finally:
        rk.close()
    return 0


@tag.command("remove")
@click.argument("path")
@click.argument("names", nargs=-1, required=True)
def tag_remove(path: str, names: tuple[str, ...]) -> int:
    """Take the tags NAMES off the file PATH."""
    rk = open_assistant()
    try:
        for name in names:
            rk.unmark("tag", _path(path), name)
            print(f"untagged {shown_path(_path(path))}: {name}")
    finally:
        rk.close()
    return 0


@tag.command("list")
@click.argument("name", required=False)
@click.option("--path", "path", default=None, help="the tags of this file only")
@json_option()
def tag_list(name: str | None, path: str | None, as_json: bool) -> int:
    """Every tag with its number of files; with NAME, the files that carry it."""
    found = [m for m in _marks("tag", path) if name is None or m["value"] == name.casefold()]
    if as_json:
        emit_json({"tags": found})
        return 0
    if not found:
        print("no tags" + (f" named {name!r}" if name else "") + "; add one with: ragkit tag add PATH NAME")
    if name is None:
        counts = Counter(m["value"] for m in found)
        for value, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            print(f"{value}  ({n} file{'s' if n != 1 else ''})")
        return 0
    for mark in found:
        print(f"{_where(mark)}  — {mark['author']}, {time.strftime('%Y-%m-%d', time.localtime(mark['created']))}")
    return 0


@click.group(cls=DefaultGroup, default="list", epilog=MARKS_HELP)
def note() -> None:
    """Notes on documents: add, list (default), remove. Find files with a note with has:note."""


@note.command("add")
@click.argument("path")
@click.argument("text")
@with_passage
def note_add(path: str, text: str, page: int | None, at: str | None) -> int:
    """Write TEXT as a note on the indexed file PATH (or on a passage of it)."""
    rk = open_assistant()
    try:
        made = rk.mark("note", _path(path), text, _span(page, at))
    finally:
        rk.close()
    print(f"note {made['id']} on {shown_path(made['path'])}")
    return 0


@note.command("remove")
@click.argument("path")
@click.argument("ident", metavar="ID")
def note_remove(path: str, ident: str) -> int:
    """Delete the note ID (as ragkit note list shows it) on the file PATH."""
    rk = open_assistant()
    try:
        rk.unmark("note", _path(path), ident)
    finally:
        rk.close()
    print(f"removed note {ident}")
    return 0


@note.command("list")
@click.argument("path", required=False)
@json_option()
def note_list(path: str | None, as_json: bool) -> int:
    """Every note (on the file PATH only, with one), oldest first."""
    found = _marks("note", path)
    if as_json:
        emit_json({"notes": found})
        return 0
    if not found:
        print("no notes" + (f" on {path}" if path else "") + "; write one with: ragkit note add PATH TEXT")
    for mark in found:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(mark["created"]))
        print(f"[{mark['id']}] {_where(mark)}  — {mark['author']}, {when}\n    {mark['value']}")
    return 0


COMMANDS = [tag, note]
