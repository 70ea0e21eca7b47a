"""What ragkit writes is its user's alone: the data directory 0700, every file in it 0600
(the index holds the text of private documents), whatever the umask it was started with;
a config or key file others can read draws a warning that names the fix."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import ragkit


@pytest.fixture
def open_umask() -> Iterator[None]:
    before = os.umask(0o022)  # the usual umask: files readable by everyone unless ragkit says otherwise
    yield
    os.umask(before)


def test_the_data_directory_and_everything_in_it_are_private(
    samples_copy: Path, tmp_path: Path, open_umask: None
) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)  # made by someone else, open to all: ragkit closes it
    assert ragkit("index", samples_copy, home=home).code == 0
    assert ragkit("find", "--save", "mime", "mime", home=home).code == 0
    assert ragkit("ask", "what is MIME?", "--mode", "extract", "--chat", "new", home=home).code == 0
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    opened = []
    for root, folders, files in os.walk(home):
        for name in folders + files:
            path = Path(root) / name
            if stat.S_IMODE(path.lstat().st_mode) & 0o077:
                opened.append(f"{path.relative_to(home)} {stat.S_IMODE(path.lstat().st_mode):04o}")
    assert opened == []
    assert any(p.suffix == ".sqlite3" or p.name.endswith(".db") for p in home.rglob("*"))  # the index was there


def test_a_config_others_can_read_draws_a_warning(tmp_path: Path, open_umask: None) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config = home / "config.toml"
    config.write_text('[client]\napi_key = "rk_secret"\n')
    config.chmod(0o644)
    shown = ragkit("folders", "list", home=home)
    assert shown.code == 0 and f"chmod 600 {config}" in shown.stderr
    config.chmod(0o600)
    assert "chmod" not in ragkit("folders", "list", home=home).stderr
