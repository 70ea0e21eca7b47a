"""The office server: serve, its keys, its collections, its audit log."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ragkit.cli.common import DefaultGroup, json_option, open_local
from ragkit.cli.output import emit_json, printable
from ragkit.core import paths
from ragkit.core.errors import RagkitError

if TYPE_CHECKING:
    from ragkit.assistant.local import Ragkit
    from ragkit.core.config import Settings
    from ragkit.serve.keys import KeyStore


@click.command(
    epilog="POST /v1/chat/completions (OpenAI-compatible), /v1/search, /v1/find; GET /v1/status,"
    " /v1/passage, /v1/models; the OpenAPI document at /openapi.json. Listens on loopback unless told"
    " otherwise, and only with keys (ragkit keys create) beyond it."
)
@click.option("--host", default=None, help="default: serve.host (127.0.0.1)")
@click.option("--port", type=int, default=None, help="default: serve.port (8765)")
@click.option("--no-watch", is_flag=True, help="serve the index as it is, without the watcher")
def serve(host: str | None, port: int | None, no_watch: bool) -> int:
    """Serve the index to a team over HTTP (OpenAI-compatible chat, search, find; keys, audit),
    keeping it in step with the watched folders and collections."""
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        raise RagkitError("ragkit serve needs the server extra: pip install 'ragkit[server]'") from None

    from ragkit.serve.app import LOOPBACK, check_bind, create_app
    from ragkit.serve.audit import AuditLog
    from ragkit.serve.keys import KeyStore

    rk = open_local(warm_queries=True)
    rk.keep_warm()
    settings = rk.settings
    host, port = host or settings.serve.host, port or settings.serve.port
    keys = KeyStore(paths.keys_file(settings.home))
    check_bind(host, keys)
    folders = list(dict.fromkeys([*settings.watch.folders, *(p for ps in settings.collections.values() for p in ps)]))
    if folders and not no_watch:
        start_watching(rk, folders)
    try:  # the model too, so the first question does not wait for it
        rk.load_model()
    except RagkitError as exc:
        print(f"ragkit: warning: no chat model ({exc}); search and find work, questions will say so", file=sys.stderr)
    collections = config_follower(rk)
    audit = AuditLog(paths.audit_dir(settings.home), int(settings.serve.audit_max_mb * 1e6))
    app = create_app(
        rk, keys, audit, collections, require_keys=host not in LOOPBACK, host=host,
        allowed_hosts=settings.serve.allowed_hosts, max_body=settings.serve.max_body_kb * 1024,
    )  # fmt: skip
    guard = f"{sum(1 for k in keys.keys() if k.revoked is None)} live key(s)" if keys.active() else "no keys"
    watched = f"watching {len(folders)} folder(s)" if folders and not no_watch else "not watching"
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


def start_watching(rk: Ragkit, folders: list[Path]) -> None:
    """Keep the index in step with ``folders`` from this process (refused while another
    process writes to the index), with the document embedder loaded now: loading it holds
    the interpreter for seconds, and the first change would make every request wait."""
    if rk.written_elsewhere():
        raise RagkitError(
            "another ragkit process is writing to this index (a watcher?): stop it, since the server keeps the"
            " index in step itself, or serve without watching (--no-watch)"
        )
    rk.load_embedder()
    rk.live_sync(folders).start()


def config_follower(rk: Ragkit) -> Callable[[], dict[str, list[Path]]]:
    """The collections as the config file says now: read again when the file changes (the
    engine takes its collections and databases too); while it is being edited into something
    invalid, as it was."""
    from ragkit.core.config import load_settings

    stamps: list[int | None] = [None]  # the config file's as last read

    def collections() -> dict[str, list[Path]]:
        try:
            stamp: int | None = paths.config_file().stat().st_mtime_ns
        except OSError:
            stamp = None
        if stamp != stamps[0]:
            try:
                rk.follow_settings(load_settings())
            except RagkitError:
                pass
            stamps[0] = stamp
        return rk.settings.collections

    return collections


@click.group(cls=DefaultGroup, default="list")
def keys() -> None:
    """API keys for ragkit serve: create, list, revoke."""


def _key_store() -> tuple[KeyStore, Settings]:
    from ragkit.core.config import load_settings
    from ragkit.serve.keys import KeyStore

    settings = load_settings()
    return KeyStore(paths.keys_file(settings.home)), settings


@keys.command("list")
@json_option()
def keys_list(as_json: bool) -> int:
    """Every key, its collections and whether it is live."""
    rows = [k.public() for k in _key_store()[0].keys()]
    if as_json:
        emit_json({"keys": rows})
        return 0
    if not rows:
        print("no keys; ragkit serve then answers on loopback only (make one with: ragkit keys create NAME)")
    for row in rows:
        scope = ", ".join(row["collections"]) or "all collections"
        state = "revoked " + time.strftime("%Y-%m-%d", time.localtime(row["revoked"])) if row["revoked"] else "live"
        print(f"{row['name']}: {scope}{'; read-only' if row['read_only'] else ''}; {state}")
    return 0


@keys.command("revoke")
@click.argument("name")
def keys_revoke(name: str) -> int:
    """Revoke a key: it opens nothing from now on."""
    _key_store()[0].revoke(name)
    print(f"revoked the key {name!r}: it opens nothing from now on")
    return 0


@keys.command("create")
@click.argument("name")
@click.option("--collections", default="", metavar="A,B", help="limit the key to these collections")
@click.option("--read-only", is_flag=True, help="a key that may not change anything")
@json_option()
def keys_create(name: str, collections: str, read_only: bool, as_json: bool) -> int:
    """Make a key (shown only once)."""
    store, settings = _key_store()
    wanted = [c.strip() for c in collections.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in settings.collections]
    if unknown:
        known = ", ".join(sorted(settings.collections)) or "none yet"
        raise RagkitError(
            f"no collection named {', '.join(unknown)} (collections: {known});"
            " add one with: ragkit collections add NAME PATH"
        )
    key = store.create(name, wanted, read_only)
    if as_json:
        emit_json({"name": name, "key": key})
    else:
        scope = ", ".join(wanted) or "all collections"
        print(f"a key for {name!r} ({scope}{'; read-only' if read_only else ''}); it is shown only now:")
        print(key)
    return 0


@click.group(cls=DefaultGroup, default="list")
def collections() -> None:
    """Named groups of folders a server's keys can be limited to: add, remove, list."""


def _collections() -> dict[str, list[str]]:
    from ragkit.core.config import load_settings

    return {name: [str(p) for p in folders] for name, folders in load_settings().collections.items()}


@collections.command("list")
@json_option()
def collections_list(as_json: bool) -> int:
    """Every collection and its folders."""
    found = _collections()
    if as_json:
        emit_json({"collections": found})
        return 0
    if not found:
        print("no collections; add one with: ragkit collections add NAME PATH...")
    for name, folders in sorted(found.items()):
        print(f"{name}: {', '.join(folders)}")
    return 0


@collections.command("remove")
@click.argument("name")
def collections_remove(name: str) -> int:
    """Forget a collection (its files stay indexed while other folders hold them)."""
    from ragkit.core.config import remove_config_key

    found = _collections()
    if name not in found:
        raise RagkitError(f"no collection named {name!r} (collections: {', '.join(found) or 'none'})")
    remove_config_key("collections", name)
    print(f"removed the collection {name!r} (its files stay indexed while other folders hold them)")
    return 0


@collections.command("add")
@click.argument("name")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="PATH...")
def collections_add(name: str, folders: tuple[Path, ...]) -> int:
    """Add folders to a collection (made if new); ragkit serve watches and indexes it."""
    from ragkit.core.config import update_config_file

    full_paths = []
    for path in folders:
        full = path.expanduser().resolve()
        if not full.is_dir():
            raise RagkitError(f"not a folder: {path}; check the path")
        full_paths.append(str(full))
    update_config_file("collections", name, sorted(set(_collections().get(name, [])) | set(full_paths)))
    print(f"collection {name!r}: {', '.join(full_paths)} (ragkit serve watches and indexes it)")
    return 0


@click.group()
def audit() -> None:
    """The server's audit log."""


@audit.command("tail")
@click.option("-n", type=int, default=20, help="how many entries (20)")
@json_option()
def audit_tail(n: int, as_json: bool) -> int:
    """The last entries of the audit log."""
    from ragkit.core.config import load_settings
    from ragkit.serve.audit import AuditLog

    entries = AuditLog(paths.audit_dir(load_settings().home)).tail(max(1, n))
    if as_json:
        emit_json({"entries": entries})
        return 0
    for e in entries:
        what = e.get("question") or e.get("query") or e.get("path") or e.get("error") or ""
        fields = (e.get("time"), e.get("key"), e.get("endpoint"), e.get("status"), what)
        print("  ".join(printable(str(f)) for f in fields))
    if not entries:
        print("the audit log is empty (ragkit serve writes it)")
    return 0


COMMANDS = [serve, keys, collections, audit]
