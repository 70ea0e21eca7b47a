"""The ``ragkit`` command: no arguments opens the terminal UI, anything else is the CLI.

It lives here, above both layers, so the core never imports the UI.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        from tui.app import run

        return run()
    from ragkit.cli import main as cli_main

    return cli_main(args)
