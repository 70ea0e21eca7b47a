"""Nothing is written outside the data directory and the temp dir: every file the real
commands open for writing, create, rename or delete, traced by strace across all their
processes (parse workers, the chat model), lies in one of the two."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLES

CALLS = "trace=" + ",".join([
    "open", "openat", "creat", "mkdir", "mkdirat", "rename", "renameat", "renameat2", "unlink", "unlinkat", "link",
    "linkat", "symlink", "symlinkat", "truncate",
])  # fmt: skip
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")
ALLOWED_DEVICES = ("/dev/null", "/dev/shm/", "/dev/tty", "/dev/pts/", "/proc/self/", "/proc/thread-self/")


def written(trace: Path) -> set[str]:
    """The absolute paths written, made or removed in an strace log (relative ones are kept as
    they are: none is expected, and one would show)."""
    paths: set[str] = set()
    for line in trace.read_text(errors="replace").splitlines():
        call = re.match(r"(?:\[pid\s+\d+\]\s+)?(?:\d+\s+)?(\w+)\((.*)", line)
        if not call or "= -1" in line:  # a call that failed wrote nothing
            continue
        name, rest = call.groups()
        quoted = re.findall(r'"((?:[^"\\]|\\.)*)"', rest)
        if not quoted:
            continue
        if name in ("open", "openat", "creat"):
            if name != "creat" and not any(flag in rest for flag in WRITE_FLAGS):
                continue
            paths.add(quoted[0])
        else:
            paths.update(quoted)
    return paths


def test_index_search_and_ask_write_only_in_the_data_directory_and_the_temp_dir(tmp_path: Path) -> None:
    if shutil.which("strace") is None:
        pytest.fail("strace is not installed: bash scripts/install.sh installs it (apt-get install strace)")
    docs, home, temp, user = tmp_path / "docs", tmp_path / "data", tmp_path / "tmp", tmp_path / "user-home"
    shutil.copytree(SAMPLES, docs)
    for folder in (temp, user):
        folder.mkdir()
    env = dict(os.environ, RAGKIT_HOME=str(home), TMPDIR=str(temp), HOME=str(user), PYTHONDONTWRITEBYTECODE="1")
    env.pop("RAGKIT_EMBED__ONNX_DIR", None)  # (the suite shares one export: here ragkit's own place is used)
    env.pop("XDG_CACHE_HOME", None)
    env.pop("XDG_CONFIG_HOME", None)
    commands = [
        ["index", str(docs)],
        ["search", "shared MIME database", "--json"],
        ["find", '"MIME"', "--json"],
        ["ask", "Where are the shared MIME-info database XML files installed?", "--json"],
        ["status", "--json"],
    ]
    outside: dict[str, set[str]] = {}
    for i, command in enumerate(commands):
        trace = tmp_path / f"trace-{i}.log"
        traced = ["strace", "-f", "-qq", "-e", CALLS, "-o", str(trace), sys.executable, "-m", "ragkit", *command]
        done = subprocess.run(traced, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, (command, done.stderr[-2000:])
        for path in written(trace):
            resolved = os.path.realpath(path) if path.startswith("/") else path
            inside = any(resolved == str(p) or resolved.startswith(f"{p}{os.sep}") for p in (home, temp))
            if not inside and not resolved.startswith(ALLOWED_DEVICES):
                outside.setdefault(command[0], set()).add(resolved)
    assert not outside, f"written outside the data directory and the temp dir: {outside}"
    assert list(user.iterdir()) == []  # not even a cache in the user's home
