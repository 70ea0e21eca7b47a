"""The `ragkit` command's shape: no command opens the terminal UI (the console script and
`python -m ragkit` alike), groups run their default command, and --json is one option."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import click
import pytest

from ragkit.cli import main as cli_main
from ragkit.cli.main import UI_ENTRY_POINTS, cli, main


@pytest.fixture
def ui_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str | None, str | None]]:
    calls: list[tuple[str | None, str | None]] = []

    def ui(server: str | None, collection: str | None) -> int:
        calls.append((server, collection))
        return 0

    monkeypatch.setattr(cli_main, "open_ui", ui)
    return calls


def test_no_command_opens_the_ui_with_the_global_options(ui_calls: list[tuple[str | None, str | None]]) -> None:
    assert main([]) == 0
    assert main(["--server", "http://10.0.0.5:8765", "--collection", "public"]) == 0
    assert ui_calls == [(None, None), ("http://10.0.0.5:8765", "public")]


def test_a_command_never_opens_the_ui(
    ui_calls: list[tuple[str | None, str | None]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["folders", "list", "--json"]) == 0
    assert main(["--server", "http://h:1", "folders"]) == 1  # a command of this machine: said so, no UI
    assert "works on this machine" in capsys.readouterr().err
    assert ui_calls == []


def test_the_ui_is_found_through_its_entry_point() -> None:
    from tui.app import run

    found = entry_points(group=UI_ENTRY_POINTS, name="terminal")
    assert [e.load() for e in found] == [run]


def test_the_console_script_and_python_m_ragkit_are_the_same_command() -> None:
    (script,) = entry_points(group="console_scripts", name="ragkit")
    assert script.load() is main
    shown = subprocess.run([sys.executable, "-m", "ragkit", "--help"], capture_output=True, text=True, check=True)
    assert shown.stdout == subprocess.run(
        [sys.executable, "-c", "from ragkit.cli.main import main; raise SystemExit(main(['--help']))"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "No COMMAND: the terminal UI" in " ".join(shown.stdout.split())


def test_a_group_without_a_command_runs_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["folders", "--json"]) == 0
    bare = capsys.readouterr().out
    assert main(["folders", "list", "--json"]) == 0
    assert capsys.readouterr().out == bare and '"folders"' in bare


def test_a_usage_error_names_the_command_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search"]) == 2
    err = capsys.readouterr().err
    assert "ragkit search" in err and "QUERY" in err


def _commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        found[prefix + name] = command
        if isinstance(command, click.Group):
            found |= _commands(command, prefix + name + " ")
    return found


def test_json_is_one_shared_option() -> None:
    with_json = {
        name: next(p for p in command.params if "--json" in getattr(p, "opts", []))
        for name, command in _commands(cli).items()
        if any("--json" in getattr(p, "opts", []) for p in command.params)
    }
    assert len(with_json) >= 20
    for name, option in with_json.items():
        assert isinstance(option, click.Option) and option.is_flag, name
        assert option.name == "as_json", name
