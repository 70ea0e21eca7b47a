"""``ragkit mcp``: this machine's index for other assistants and editors, over MCP (stdio)."""

from __future__ import annotations

import click

from ragkit.cli.common import open_local


@click.command(
    epilog="Tools: search, find, ask, ask_each, passage, status, entities, entity_mentions, thread; every indexed"
    " document is a resource (ragkit://doc/PATH?page=N). Configure it in an assistant as the command `ragkit` with the"
    " argument `mcp`; README: 'Other assistants and editors (MCP)'."
)
def mcp() -> int:
    """Serve this machine's index over the Model Context Protocol on stdin and stdout, for a
    desktop assistant or an editor that starts ragkit itself. Stdout carries protocol messages
    only; logs go to stderr. Nothing is sent anywhere else."""
    from ragkit.mcp.backend import LocalBackend
    from ragkit.mcp.server import build

    rk = open_local(warm_queries=True)
    backend = LocalBackend(rk)
    try:
        build(lambda request: backend).run("stdio")
    finally:
        rk.close()
    return 0


COMMANDS = (mcp,)
