"""Starting real servers on loopback for the tests (llama.cpp's, Chroma's, ragkit's own)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(
    command: Sequence[str],
    ready: Callable[[], bool],
    log_path: Path,
    env: dict[str, str] | None = None,
    deadline_s: float = 180,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command`` (its output to ``log_path``), wait until ``ready()`` holds (a refused
    connection counts as not yet), yield the process, then terminate it."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + deadline_s
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{command[0]} did not come up: {log_path.read_text(errors='replace')[-3000:]}")
        try:
            if ready():
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
