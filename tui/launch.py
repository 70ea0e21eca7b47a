"""The ``ragkit`` command: no command opens the terminal UI, anything else is the CLI.

``ragkit --server URL [--collection NAME]`` with no command opens the terminal UI over that
ragkit server. It lives here, above both layers, so the core never imports the UI.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

GLOBAL_OPTIONS = ("--server", "--collection")  # options the terminal UI takes too


def _ui_options(args: list[str]) -> dict[str, str] | None:
    """The global options, when they are all ``args`` holds (the UI opens); else None (the CLI)."""
    options: dict[str, str] = {}
    rest = list(args)
    while rest:
        name, _, value = rest.pop(0).partition("=")
        if name not in GLOBAL_OPTIONS:
            return None
        if not value:
            if not rest:
                return None  # the CLI reports the missing value
            value = rest.pop(0)
        options[name[2:]] = value
    return options


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    options = _ui_options(args)
    if options is not None:
        from tui.app import run

        return run(options.get("server"), options.get("collection"))
    from ragkit.cli.main import main as cli_main

    return cli_main(args)
