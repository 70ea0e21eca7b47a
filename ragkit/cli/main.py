"""The ``ragkit`` command (also ``python -m ragkit``): no command opens the terminal UI, with
``--server URL`` over a ragkit server's index. Each command group is a module of this package;
errors are one line on stderr that names the fix."""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from collections.abc import Sequence

import click

from ragkit.cli.common import REMOTE_COMMANDS, Target
from ragkit.core import paths
from ragkit.core.errors import RagkitError

UI_ENTRY_POINTS = "ragkit.ui"  # the terminal UI plugs in here (pyproject: [project.entry-points."ragkit.ui"])


@click.group(
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "terminal_width": 100, "max_content_width": 100},
)
@click.option(
    "--server", default=None, metavar="URL",
    help="use a ragkit server (ragkit serve) for ask, search, find, status and the terminal UI, e.g."
    " http://10.0.0.5:8765; also RAGKIT_SERVER or client.server; its key: RAGKIT_API_KEY or client.api_key",
)  # fmt: skip
@click.option("--collection", default=None, metavar="NAME", help="with --server: search only this collection of it")
@click.pass_context
def cli(ctx: click.Context, server: str | None, collection: str | None) -> None:
    """A private, local assistant over your own documents. No COMMAND: the terminal UI."""
    ctx.obj = Target(server, collection)
    command = ctx.invoked_subcommand
    if command is None:
        ctx.exit(open_ui(server, collection))
    if (server or collection) and command not in REMOTE_COMMANDS:
        raise RagkitError(
            f"--server and --collection apply to {', '.join(sorted(REMOTE_COMMANDS))} and the terminal UI;"
            f" '{command}' works on this machine (run it on the server for the server's index)"
        )


def open_ui(server: str | None, collection: str | None) -> int:
    """The terminal UI, found through its entry point (the core never imports it)."""
    from importlib.metadata import entry_points

    found = entry_points(group=UI_ENTRY_POINTS, name="terminal")
    if not found:
        raise RagkitError(
            "the terminal UI is not installed with this ragkit: reinstall it (bash scripts/install.sh);"
            " every command works without it (ragkit --help)"
        )
    run = next(iter(found)).load()
    return int(run(server, collection))


def _register() -> None:
    from ragkit.cli import ask, db, index, investigate, marks, mcp, model, search, serve

    for module in (index, search, ask, investigate, marks, db, serve, mcp, model):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: Sequence[str] | None = None) -> int:
    paths.keep_private()  # the index, keys and conversations: this user's alone
    for path in (paths.config_file(), paths.keys_file(paths.home())):
        warning = paths.exposed(path)
        if warning:
            print(f"ragkit: warning: {warning}", file=sys.stderr)
    try:
        # made and invoked here, not through click's main: our handlers below decide what a broken
        # pipe, Ctrl-C or a database's error becomes (click would turn them into its own exits)
        with cli.make_context("ragkit", list(sys.argv[1:] if argv is None else argv)) as ctx:
            return int(cli.invoke(ctx) or 0)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:  # a usage error: click's message, then the help to see
        exc.show()
        return exc.exit_code
    except click.Abort:
        print("ragkit: interrupted", file=sys.stderr)
        return 130
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


if __name__ == "__main__":
    raise SystemExit(main())
