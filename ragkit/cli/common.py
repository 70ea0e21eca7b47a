"""What the commands share: the assistant they work on (this machine's index or a ragkit
server's), the ``--json`` option, and the search filters as options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ParamSpec, TypeGuard

import click

from ragkit.core.errors import RagkitError
from ragkit.search.typed import FilterOptions

if TYPE_CHECKING:
    from ragkit.assistant.local import Ragkit
    from ragkit.assistant.protocol import Assistant
    from ragkit.assistant.remote import RemoteAssistant
    from ragkit.core.config import Settings

P = ParamSpec("P")
Command = Callable[P, int]  # what a command's function is: its options in, an exit code out

# the commands a ragkit server can answer: what --server (or RAGKIT_SERVER) sends to one
REMOTE_COMMANDS = frozenset(
    {
        "ask",
        "search",
        "find",
        "searches",
        "status",
        "entities",
        "thread",
        "duplicates",
        "tag",
        "note",
        "timeline",
        "graph",
    }
)


@dataclass
class Target:
    """The global options: which ragkit server (if any) the remote commands go to."""

    server: str | None = None
    collection: str | None = None


def target() -> Target:
    ctx = click.get_current_context()
    found = ctx.find_object(Target)
    return found if found is not None else Target()


def open_assistant(warm_queries: bool = False) -> Assistant:
    """For the commands a ragkit server can answer: that server, when one is named
    (``--server``, RAGKIT_SERVER, ``client.server``), else the index here (:func:`open_local`)."""
    from ragkit.assistant.remote import RemoteAssistant, server_of
    from ragkit.core.config import load_settings

    settings = load_settings()
    options = target()
    url = server_of(settings, options.server)
    if url:
        return RemoteAssistant(settings, url, collection=options.collection)
    if options.collection:
        raise RagkitError("--collection names a collection of a ragkit server: give --server URL with it")
    return open_local(warm_queries, settings)


def is_remote(rk: object) -> TypeGuard[RemoteAssistant]:
    from ragkit.assistant.remote import RemoteAssistant

    return isinstance(rk, RemoteAssistant)


def open_local(warm_queries: bool = False, settings: Settings | None = None) -> Ragkit:
    """The index on this machine. ``warm_queries``: start loading the query embedder first, so a
    cold search or question loads it while the rest of ragkit imports."""
    from ragkit.core.config import load_settings

    settings = settings or load_settings()
    if warm_queries:
        from ragkit.index.onnxembed import warm

        warm(settings)
    from ragkit.assistant.local import open_ragkit

    return open_ragkit(settings)


def json_option(help: str = "print the result as JSON") -> Callable[[Command[P]], Command[P]]:
    """``--json``, the same on every command that has it."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def filter_options(command: Command[P]) -> Command[P]:
    """--path, --type, --after, --before and --lang (read back with :func:`filters_of`)."""
    options = [
        click.option("--path", multiple=True, metavar="GLOB", help="only files whose path matches"),
        click.option("--type", "kind", multiple=True, metavar="EXT", help="only files of this type (pdf, txt…)"),
        click.option("--after", default=None, metavar="DATE", help="only files dated on or after (YYYY[-MM[-DD]])"),
        click.option("--before", default=None, metavar="DATE", help="only files dated on or before"),
        click.option("--lang", multiple=True, metavar="CODE", help="only documents in this language (en, fr…)"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def filters_of(path: tuple[str, ...], kind: tuple[str, ...], after: str | None, before: str | None,
               lang: tuple[str, ...]) -> FilterOptions:  # fmt: skip
    return FilterOptions(path, kind, after, before, lang)


class DefaultGroup(click.Group):
    """A group that runs its ``default`` command when the first argument names none of its
    commands (``ragkit entities --type person`` is ``ragkit entities list --type person``)."""

    def __init__(self, *args: object, default: str | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.default = default

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if self.default and (not args or (args[0] not in self.commands and args[0] not in ("--help", "-h"))):
            args = [self.default, *args]
        return super().parse_args(ctx, args)
