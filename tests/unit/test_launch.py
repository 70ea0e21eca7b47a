"""The `ragkit` command: global options alone open the terminal UI; anything else is the CLI."""

from __future__ import annotations

import pytest

from tui.launch import _ui_options


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], {}),
        (["--server", "http://10.0.0.5:8765"], {"server": "http://10.0.0.5:8765"}),
        (["--server=http://h:1", "--collection", "public"], {"server": "http://h:1", "collection": "public"}),
        (["--server", "http://h:1", "status"], None),  # a command: the CLI
        (["ask", "why?"], None),
        (["--server"], None),  # no value: the CLI says what is missing
        (["--verbose"], None),
    ],
)
def test_global_options_alone_open_the_ui(argv: list[str], expected: dict[str, str] | None) -> None:
    assert _ui_options(argv) == expected
