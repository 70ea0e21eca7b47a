"""Model management for real: downloads over loopback HTTP (with resume and checksums), the
offline failure, and the CLI's list/add/use/info."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ragkit.core.errors import ModelError
from ragkit.llm.catalog import REGISTRY, Catalog, packaged_chat_model, pull
from tests.helpers.cli import ragkit


class Hub:
    """A tiny Hugging-Face-like file server on 127.0.0.1: /<repo>/resolve/main/<file>,
    with Range requests, the LFS checksum header, and a switch to cut a download short."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.cut_after: int | None = None  # bytes sent before the connection drops
        self.ranges: list[str | None] = []
        self.sha_header: dict[str, str] = {}
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # http.server calls it by this name
                path = self.path.lstrip("/")
                data = hub.files.get(path)
                hub.ranges.append(self.headers.get("Range"))
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Linked-Etag", f'"{hub.sha_header.get(path, hashlib.sha256(data).hexdigest())}"')
                self.end_headers()
                if hub.cut_after is not None:
                    self.wfile.write(body[: hub.cut_after])
                    hub.cut_after = None
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Hub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gguf() -> bytes:
    packaged = packaged_chat_model()
    assert packaged is not None
    return packaged.path.read_bytes()


@pytest.fixture
def hub(gguf: bytes) -> Iterator[Hub]:
    known = REGISTRY["r1-qwen-1.5b"]
    with Hub({f"{known.repo}/resolve/main/{known.file}": gguf, "me/repo/resolve/main/tiny.gguf": gguf}) as server:
        yield server


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_pull_offline_fails_clearly_naming_add_and_the_packaged_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as error:
        pull(Catalog(tmp_path), "r1-qwen-1.5b", hub=f"http://127.0.0.1:{closed_port()}")
    message = str(error.value)
    assert "offline" in message and "ragkit model add PATH --name r1-qwen-1.5b" in message and "smollm2-135m" in message
    result = ragkit("model", "pull", "r1-qwen-1.5b", home=tmp_path / "h", timeout=120)
    # the real hub is not reachable from the test machine either way: a clean error, no traceback
    assert result.code == 1 and "ragkit model add PATH" in result.stderr and "Traceback" not in result.stderr


def test_pull_downloads_checks_and_becomes_the_default(hub: Hub, gguf: bytes, tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    ref = pull(Catalog(tmp_path), "r1-qwen-1.5b", hub=hub.url, progress=lambda d, t: seen.append((d, t)))
    assert ref.path.read_bytes() == gguf and ref.sha256 == hashlib.sha256(gguf).hexdigest()
    assert seen[-1] == (len(gguf), len(gguf))
    assert not list(tmp_path.glob("models/*.part"))
    assert Catalog(tmp_path).resolve(None).name == "r1-qwen-1.5b"  # the R1 distill is the default when present
    assert Catalog(tmp_path).resolve(None).profile == "r1"


def test_an_interrupted_pull_resumes_where_it_stopped(hub: Hub, gguf: bytes, tmp_path: Path) -> None:
    hub.cut_after = 10_000_000
    with pytest.raises(ModelError, match="run the same pull again to resume"):
        pull(Catalog(tmp_path), "me/repo/tiny.gguf", hub=hub.url)
    part = tmp_path / "models" / "tiny.gguf.part"
    assert part.stat().st_size == 10_000_000
    ref = pull(Catalog(tmp_path), "me/repo/tiny.gguf", hub=hub.url)
    assert hub.ranges[-1] == "bytes=10000000-"
    assert ref.path.read_bytes() == gguf and ref.name == "tiny"


def test_a_download_that_fails_its_checksum_is_deleted(hub: Hub, tmp_path: Path) -> None:
    hub.sha_header["me/repo/resolve/main/tiny.gguf"] = "0" * 64
    with pytest.raises(ModelError, match="failed its checksum"):
        pull(Catalog(tmp_path), "me/repo/tiny.gguf", hub=hub.url)
    assert not list((tmp_path / "models").glob("tiny.gguf*"))


def test_cli_pull_add_use_list_info(hub: Hub, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home).mkdir()
    (home / "config.toml").write_text(f'[models]\nhub_url = "{hub.url}"\n')
    env_home = home
    pulled = ragkit("model", "pull", "me/repo/tiny.gguf", home=env_home)
    assert pulled.code == 0, pulled.stderr
    assert "use it with: ragkit model use tiny" in pulled.stdout
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("hello")
    bad = ragkit("model", "add", not_gguf, home=env_home)
    assert bad.code == 1 and "does not start with 'GGUF'" in bad.stderr
    added = ragkit("model", "add", home / "models" / "tiny.gguf", "--name", "my-r1-distill", "--profile", "r1",
                   home=env_home)  # fmt: skip
    assert added.code == 0 and "r1 profile" in added.stdout
    missing = ragkit("model", "use", "r1-qwen-7b", home=env_home)
    assert missing.code == 1 and "ragkit model pull r1-qwen-7b" in missing.stderr
    used = ragkit("model", "use", "my-r1-distill", home=env_home)
    assert used.code == 0, used.stderr
    rows = {row["name"]: row for row in ragkit("model", "list", "--json", home=env_home).json()}
    assert rows["my-r1-distill"]["default"] and rows["tiny"]["installed"] and not rows["r1-qwen-14b"]["installed"]
    info = ragkit("model", "info", "--json", home=env_home).json()
    assert info["name"] == "my-r1-distill" and info["temperature"] == 0.6 and info["starts_in_think"] is True
    assert "chosen in the config" in info["note"]
