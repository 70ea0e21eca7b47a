"""Keeping the index: index, watch, folders, status."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ragkit.cli.common import DefaultGroup, json_option, open_assistant, open_local
from ragkit.cli.output import ProgressLine, emit_json, index_with_progress, print_new_matches, print_report, shown_path
from ragkit.core.errors import RagkitError

if TYPE_CHECKING:
    from ragkit.assistant.protocol import Assistant, IndexReport, Progress


@click.command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="PATH...")
@click.option("--rebuild", is_flag=True, help="drop the index and build it again")
@click.option(
    "--cluster", metavar="ray://HOST:PORT", help="parse and embed on a Ray cluster's workers (default: index.cluster)"
)
@json_option("print the summary as JSON")
def index_command(paths: tuple[Path, ...], rebuild: bool, cluster: str | None, as_json: bool) -> int:
    """Index files and folders (incremental)."""
    from ragkit.core.config import load_settings

    settings = load_settings()
    if cluster:
        settings.index.cluster = cluster
    rk = open_local(settings=settings)
    report = index_with_progress(rk, paths, rebuild, quiet=as_json)
    if not as_json:
        print_report(report)
    summary = report.as_dict()
    if any(d.text_columns for d in rk.settings.databases.values()):  # rows as documents, kept in step too
        summary["rows"] = sync_rows(rk, None, quiet=as_json)
    if as_json:
        emit_json(summary)
    return 0


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[PATH]...")
@click.option("--poll", is_flag=True, help="poll instead of OS events (network drives)")
def watch(paths: tuple[Path, ...], poll: bool) -> int:
    """Keep the index in step with folders (default: those of 'ragkit folders'); Ctrl-C stops."""
    import signal

    rk = open_local()
    roots = paths or rk.settings.watch.folders
    if not roots:
        raise RagkitError("no folders to watch; name them (ragkit watch PATH) or add them: ragkit folders add PATH")

    def report(result: IndexReport) -> None:
        changes = result.added + result.updated + result.removed + result.renamed + len(result.failed)
        if changes:
            stamp = time.strftime("%H:%M:%S")
            if result.rebuilt:
                print(f"{stamp} {result.rebuilt}", flush=True)
            print(
                f"{stamp} {result.added} added, {result.updated} updated, {result.removed} removed, "
                f"{result.renamed} renamed, {len(result.failed)} failed; {result.files} files, {result.chunks} chunks",
                flush=True,
            )
            for failure in result.failed:
                print(
                    f"{stamp} failed: {shown_path(failure['path'])}: {failure['reason']}", file=sys.stderr, flush=True
                )
            print_new_matches(result.new_matches, stamp + " ")
            sys.stdout.flush()

    live = rk.live_sync(roots, poll=poll or rk.settings.watch.poll, on_sync=report)
    for sig in (signal.SIGINT, signal.SIGTERM):  # stop within a second, even mid catch-up
        signal.signal(sig, lambda *_: live.stop())
    print(f"watching {', '.join(shown_path(str(r)) for r in live.roots)} (Ctrl-C to stop)", flush=True)
    thread = live.start()
    while thread.is_alive():
        thread.join(0.2)
    if live.error is not None:
        raise live.error
    rk.close()
    print("stopped", flush=True)
    return 0


@click.group(cls=DefaultGroup, default="list")
def folders() -> None:
    """The folders 'watch', 'serve' and the UI keep in sync (list, add, remove)."""


@folders.command("list")
@json_option()
def folders_list(as_json: bool) -> int:
    """The folders kept in sync."""
    from ragkit.core.config import load_settings

    shown = [str(p) for p in load_settings().watch.folders]
    if as_json:
        emit_json({"folders": shown})
        return 0
    for folder in shown:
        print(folder)
    if not shown:
        print("no folders yet; add one with: ragkit folders add PATH")
    return 0


@folders.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="PATH...")
@json_option()
def folders_add(paths: tuple[Path, ...], as_json: bool) -> int:
    """Keep these folders in sync too."""
    return _change_folders("add", paths, as_json)


@folders.command("remove")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="PATH...")
@json_option()
def folders_remove(paths: tuple[Path, ...], as_json: bool) -> int:
    """Stop keeping these folders in sync (what is indexed of them stays until the next run)."""
    return _change_folders("remove", paths, as_json)


def _change_folders(action: str, given: tuple[Path, ...], as_json: bool) -> int:
    from ragkit.core.config import load_settings, update_config_file

    kept = [str(p) for p in load_settings().watch.folders]
    for path in given:
        full = str(path.expanduser().resolve())
        if action == "add":
            if not Path(full).is_dir():
                raise RagkitError(f"not a folder: {path}; check the path")
            if full not in kept:
                kept.append(full)
        elif full in kept:
            kept.remove(full)
        else:
            raise RagkitError(f"{path} is not a watched folder; see: ragkit folders list")
    written = update_config_file("watch", "folders", kept)
    if as_json:
        emit_json({"folders": kept})
        return 0
    print(f"saved to {written}")
    for folder in kept:
        print(folder)
    return 0


@click.command()
@click.option("--ignored", is_flag=True, help="list what the ignore rules left out, with the rule")
@json_option()
def status(ignored: bool, as_json: bool) -> int:
    """What is indexed, and what failed."""
    state = open_assistant().status()
    if as_json:
        emit_json(state)
        return 0
    if state.get("server"):
        collections = ", ".join(state.get("collections") or []) or "none"
        print(f"server:   {state['server']} (key {state.get('key')}; collections: {collections})")
        print(f"model:    {state.get('model')}")
    print(f"index:    {state['index_path']}")
    plan = state["embedding"]
    print(f"embedder: {state['embedder']} (documents: {plan['documents']}; queries: {plan['queries']})")
    left_out = f"  ignored: {state['ignored']}" if state.get("ignored") else ""
    print(f"files:    {state['files']}  chunks: {state['chunks']}  failed: {state['failed']}{left_out}")
    print(f"search:   {state['search']}")
    watcher = state["watcher"]
    if watcher.get("live"):
        last = watcher.get("last_sync")
        when = time.strftime("%H:%M:%S", time.localtime(last)) if last else "not yet"
        print(f"watcher:  live (pid {watcher['pid']}), queue {watcher.get('queue', 0)}, last sync {when}")
        if watcher.get("rows_error"):
            print(f"warning: the watcher could not sync database rows: {watcher['rows_error']}", file=sys.stderr)
    else:
        print("watcher:  not running (start one with: ragkit watch)")
    searches = state.get("searches") or []
    if searches:
        new = [f"{s['name']} ({s['new']} new)" for s in searches if s["new"]]
        print(f"searches: {len(searches)} saved" + (f"; new matches: {', '.join(new)}" if new else "; nothing new"))
        for s in searches:
            if s["new"]:
                print(f"  see: ragkit searches run {s['name']}")
    if state.get("rebuild_due"):
        print(f"rebuild:  {state['rebuild_due']}")
    for failure in state["failures"]:
        print(f"  failed: {shown_path(failure['path'])}: {failure['reason']}")
    for warning in state["warnings"]:
        print(f"  warning: {shown_path(warning['path'])}: {warning['note']}")
    if ignored:
        items = state.get("ignored_paths") or []
        print(f"ignored ({state.get('ignored', 0)} files; change the rules in a .ragignore file):" if items
              else "ignored:  nothing (in the last full index run of each folder)")  # fmt: skip
        for item in items:
            count = f" ({item['files']} files)" if item["files"] != 1 else ""
            print(f"  {shown_path(item['path'])}{count}: {item['rule']}")
    elif state.get("ignored"):
        print(f"  ({state['ignored']} files left out by ignore rules: ragkit status --ignored lists them)")
    return 0


def sync_rows(rk: Assistant, names: list[str] | None, quiet: bool = False) -> dict[str, object]:
    """Rows as documents: mirror the text columns of ``names`` (default: every database that
    has some) into the data directory, then index that folder like any other."""
    progress: Callable[[Progress], None] | None = None if quiet else ProgressLine(sys.stderr)
    synced = rk.sync_rows(names, progress=progress)
    report: IndexReport | None = synced["index"]
    if not quiet:
        for m in synced["databases"]:
            print(f"database {m['database']}: {m['rows']} rows, {m['written']} written, {m['removed']} removed")
        if report is not None:
            print_report(report)
    return {"databases": synced["databases"], "index": report.as_dict() if report is not None else None}


COMMANDS = [index_command, watch, folders, status]
