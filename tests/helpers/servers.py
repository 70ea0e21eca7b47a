"""Starting real servers on loopback for the tests (llama.cpp's, Chroma's, ragkit's own)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
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


def create_keys(home: Path, specs: Sequence[tuple[str, Sequence[str]]]) -> dict[str, str]:
    """API keys made with ``ragkit keys create NAME OPTIONS…`` over ``home``: name → key."""
    from tests.helpers.cli import ragkit

    keys = {}
    for name, options in specs:
        made = ragkit("keys", "create", name, *options, home=home)
        assert made.code == 0, made.stderr
        keys[name] = made.stdout.strip().splitlines()[-1]  # the key alone on the last line
    return keys


@contextmanager
def serving(
    home: Path,
    log_dir: Path,
    *options: str,
    ready: Callable[[str], bool] | None = None,
    env: dict[str, str] | None = None,
    deadline_s: float = 180,
) -> Iterator[str]:
    """``ragkit serve OPTIONS…`` over ``home`` on a free loopback port: its URL once
    ``ready(url)`` holds (by default: it answers /v1/status, with or without a key). It must
    then stop cleanly when terminated, with no traceback in its log."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = log_dir / f"serve-{port}.log"
    command = [sys.executable, "-m", "ragkit", "serve", "--port", str(port), *options]
    up = (lambda: ready(url)) if ready else (lambda: httpx.get(url + "/v1/status").status_code in (200, 401))
    variables = dict(os.environ, RAGKIT_HOME=str(home), **(env or {}))
    with running(command, up, log, variables, deadline_s) as proc:
        yield url
        proc.terminate()
        assert proc.wait(60) == 0, log.read_text(errors="replace")[-3000:]  # a clean stop
    assert "Traceback" not in log.read_text(errors="replace")


@dataclass
class Office:
    """A ragkit server started for a test module: its URL, home, documents and keys by name."""

    url: str
    home: Path
    docs: Path
    keys: dict[str, str]

    def call(
        self, method: str, route: str, key: str | None = None, headers: dict[str, str] | None = None, **kwargs: object
    ) -> httpx.Response:
        sent = {**(headers or {}), **({"Authorization": f"Bearer {key}"} if key else {})}
        return httpx.request(method, self.url + route, headers=sent, timeout=120, **kwargs)  # type: ignore[arg-type]

    def find(self, query: str, key: str) -> list[str]:
        response = self.call("POST", "/v1/find", key, json={"query": query, "limit": 100})
        assert response.status_code == 200, response.text
        return [h["path"] for h in response.json()["hits"]]
