"""Indexing on a real Ray cluster started here (a head and two worker nodes, each its own
raylet and worker processes on this machine): the same index as a local run, a worker node
killed mid-run, the writer killed mid-run, and the errors a person meets first."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ragkit.assistant.local import Ragkit, open_ragkit
from ragkit.core.config import load_settings
from ragkit.core.errors import RagkitError
from ragkit.index.embed import SentenceTransformerEmbedder
from tests.conftest import shared_data
from tests.helpers import wait_until
from tests.helpers.index import assert_consistent, snapshot
from tests.helpers.raycluster import LocalCluster
from tests.helpers.servers import free_port


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    running = LocalCluster()
    yield running
    running.shutdown()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real files of the shared corpus (Markdown RFCs and a PDF), and one damaged file."""
    rfcs = shared_data("corpus", "rust-rfcs-md", "text")
    root = tmp_path_factory.mktemp("cluster-docs")
    for path in sorted(rfcs.glob("*.md"))[:14]:
        shutil.copy(path, root / path.name)
    pdf = shared_data("pdfs", "sample-files", "004-pdflatex-4-pages", "pdflatex-4-pages.pdf")
    shutil.copy(pdf, root / pdf.name)
    (root / "damaged.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    return root


@pytest.fixture(scope="module")
def local_run(folder: Path, tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> dict:
    """The index a local run makes of ``folder``, and its vectors by chunk id."""
    home = tmp_path_factory.mktemp("local-home")
    rk = open_ragkit(load_settings(home=home), embedder=embedder)
    try:
        rk.index([folder])
        return {"snapshot": snapshot(rk, folder), "vectors": _vectors(rk)}
    finally:
        rk.close()


def _vectors(rk: Ragkit) -> dict[str, np.ndarray]:
    store = rk.library.store
    return {key: np.frombuffer(raw, dtype=np.float32) for key, raw in store.vectors(sorted(store.ids())).items()}


def _open_on(cluster: LocalCluster, home: Path, embedder: SentenceTransformerEmbedder) -> Ragkit:
    settings = load_settings(home=home)
    settings.index.cluster = cluster.address
    return open_ragkit(settings, embedder=embedder)


def assert_same_index(rk: Ragkit, folder: Path, local: dict) -> None:
    assert snapshot(rk, folder) == local["snapshot"]  # same files, statuses, chunks, texts and spans
    vectors = _vectors(rk)
    assert vectors.keys() == local["vectors"].keys()
    for key, vector in vectors.items():
        other = local["vectors"][key]
        assert float(vector @ other / (np.linalg.norm(vector) * np.linalg.norm(other))) >= 0.9999, key


def test_a_cluster_run_makes_the_index_a_local_run_makes(
    cluster: LocalCluster, folder: Path, local_run: dict, tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    rk = _open_on(cluster, tmp_path / "home", embedder)
    seen: list[Any] = []
    try:
        report = rk.index([folder], progress=seen.append)
        assert_same_index(rk, folder, local_run)
        assert_consistent(rk)
    finally:
        rk.close()
    assert report.embedded == sum(len(chunks) for _, _, chunks, _ in local_run["snapshot"]["files"].values())
    assert [f["path"] for f in report.failed] == [str(folder / "damaged.pdf")]
    assert len(report.workers) == 2, report.workers  # both worker nodes took files, none ran on the head
    assert sum(report.workers.values()) == len(list(folder.iterdir())) - 1  # every file but the damaged one
    assert seen[-2].workers == tuple(report.workers.items())  # progress names the workers as it goes


def test_a_worker_node_killed_mid_run_leaves_the_run_to_finish_the_same(
    cluster: LocalCluster, folder: Path, local_run: dict, tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    rk = _open_on(cluster, tmp_path / "home", embedder)
    first = threading.Event()
    victim = cluster.nodes[0]
    done: list[tuple[int, int]] = []  # files done of all, as each is committed
    when: list[tuple[int, int]] = []  # as the node was killed

    def progress(p: Any) -> None:
        if p.phase == "index":
            done.append((p.done, p.total))
            first.set()

    def kill() -> None:
        if first.wait(600):
            when.append(done[-1])
            cluster.kill(victim)

    try:
        killer = threading.Thread(target=kill)
        killer.start()
        report = rk.index([folder], progress=progress)
        killer.join()
        assert victim not in cluster.nodes
        assert when and when[0][0] < when[0][1] // 2  # killed while most files were still to do
        assert not report.cancelled
        assert_same_index(rk, folder, local_run)
        assert_consistent(rk)
    finally:
        rk.close()
        cluster.add()


def test_the_writer_killed_mid_run_then_a_new_run_gives_the_index_a_clean_run_gives(
    cluster: LocalCluster, folder: Path, local_run: dict, tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, RAGKIT_HOME=str(home), RAGKIT_KILL_AT="before-manifest-commit:4")
    command = [sys.executable, "-m", "ragkit", "index", str(folder), "--cluster", cluster.address, "--json"]
    killed = subprocess.run(command, env=env, capture_output=True, timeout=900)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    env.pop("RAGKIT_KILL_AT")
    again = subprocess.run(command[:-1], env=env, capture_output=True, text=True, timeout=900)  # as a person reads it
    assert again.returncode == 0, again.stderr[-2000:]
    assert "parsed and embedded on the cluster's workers (files each): " in again.stdout
    rk = open_ragkit(load_settings(home=home), embedder=embedder)
    try:
        assert_same_index(rk, folder, local_run)
        assert_consistent(rk)
    finally:
        rk.close()


def test_the_watcher_catches_up_and_follows_changes_on_the_cluster_its_config_names(
    cluster: LocalCluster, tmp_path: Path, embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGKIT_INDEX__CLUSTER", cluster.address)  # [index] cluster, as the config sets it
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tides.md").write_text("# Tides\n\nThe harbour's tide tables are posted at the ferry pier.\n")
    rk = open_ragkit(embedder=embedder)
    reports: list[Any] = []
    live = rk.live_sync([docs], debounce_s=0.1, rescan_s=3600, on_sync=reports.append)
    thread = live.start()
    try:
        assert live.started.wait(600), "catch-up did not finish"
        (docs / "lamps.md").write_text("# Lamps\n\nThe lighthouse lamp was converted to acetylene gas.\n")
        wait_until(lambda: sum(sum(r.workers.values()) for r in reports) == 2, 600, "both files done on the cluster")
        assert "acetylene" in rk.search("lighthouse lamp fuel", k=1)[0].text
    finally:
        live.stop()
        thread.join(60)
        rk.close()
    assert live.error is None, live.error


def test_names_are_found_on_the_cluster_as_they_are_here(
    cluster: LocalCluster, tmp_path: Path, embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragkit.investigate.entities import Entities

    monkeypatch.delenv("RAGKIT_ENTITIES__MODEL")  # names on, by the pipeline installed with ragkit
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.txt").write_text("Maren Tolsvik met Oskar Brandt in Bergen. Nordlys Shipping paid the fee.\n")
    (docs / "ferry.txt").write_text("Oskar Brandt took the ferry to Tromso, where Arctic Freight has a depot.\n")

    def found(rk: Ragkit) -> list[tuple]:
        query = 'SELECT f.path, e.type, e.value, e.start, e."end" FROM entities e JOIN files f ON f.doc = e.doc'
        return sorted(rk.library.manifest.db.execute(query))

    here = open_ragkit(load_settings(home=tmp_path / "here"), embedder=embedder)
    try:
        assert here.index([docs]).entities == 2
        expected = found(here)
    finally:
        here.close()
    assert any(kind == "person" and value == "Oskar Brandt" for _, kind, value, _, _ in expected)

    def here_only(self: Any, todo: Any) -> None:
        raise AssertionError("names were found on this machine, not on the cluster")

    monkeypatch.setattr(Entities, "_name_pool", here_only)
    rk = _open_on(cluster, tmp_path / "there", embedder)
    try:
        assert rk.index([docs]).entities == 2
        assert found(rk) == expected
    finally:
        rk.close()


def test_a_worker_with_another_copy_of_the_model_is_refused_by_name(
    cluster: LocalCluster, folder: Path, tmp_path: Path, embedder: SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import ragkit.index.embed

    # the writer's copy of the model reads as another one; the workers' copies are the real ones
    monkeypatch.setattr(ragkit.index.embed, "model_fingerprint", lambda folder: "0123456789abcdef")
    rk = _open_on(cluster, tmp_path / "home", embedder)
    try:
        with pytest.raises(RagkitError, match=r"the cluster's worker .+:\d+ has another copy of the embedding model"):
            rk.index([folder])
        assert not rk.library.manifest.counts()["chunks"]  # nothing embedded by it was recorded
    finally:
        rk.close()


def test_a_cluster_that_cannot_be_reached_is_named_with_how_to_start_one(
    folder: Path, tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    address = f"ray://127.0.0.1:{free_port()}"  # nothing listens there
    result = subprocess.run(
        [sys.executable, "-m", "ragkit", "index", str(folder), "--cluster", address],
        env=dict(os.environ, RAGKIT_HOME=str(tmp_path / "home")),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode != 0
    assert f"cannot reach the Ray cluster at {address}" in result.stderr
    assert "Connection refused" in result.stderr  # found at once, not after Ray's half-minute of retries
    assert "ray start --head" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_cluster_with_an_embedding_server_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    settings.index.cluster = "ray://127.0.0.1:1"
    settings.embed.url = "http://127.0.0.1:1/v1/embeddings"
    rk = open_ragkit(settings)
    try:
        with pytest.raises(RagkitError, match="unset one of them"):
            rk.index([tmp_path])
    finally:
        rk.close()


def test_without_ray_installed_the_error_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the cluster extra were not installed
    from ragkit.index.cluster import connect

    with pytest.raises(RagkitError, match=r"pip install 'ragkit\[cluster\]'"):
        connect("ray://127.0.0.1:1")


def test_the_head_killed_mid_run_ends_it_with_what_to_do_and_a_new_cluster_finishes_it(
    folder: Path, local_run: dict, tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    cluster = LocalCluster()  # its own: this test kills it
    home = tmp_path / "home"
    rk = _open_on(cluster, home, embedder)
    first = threading.Event()

    def progress(p: Any) -> None:
        if p.phase == "index":
            first.set()

    killer = threading.Thread(target=lambda: first.wait(600) and cluster.cluster.remove_node(cluster.cluster.head_node))
    killer.start()
    try:
        with pytest.raises(RagkitError, match=r"lost the Ray cluster at .+ mid-run") as lost:
            rk.index([folder], progress=progress)
        assert "run again once the cluster is back" in str(lost.value)
        killer.join()
        done = rk.library.manifest.counts()["files"]
        assert 0 < done < len(list(folder.iterdir()))  # some files were recorded before the head died
        assert_consistent(rk)
    finally:
        rk.close()
    cluster.shutdown()
    again = LocalCluster()  # the cluster is back (a new one): the next run finishes the index
    try:
        rk = _open_on(again, home, embedder)
        try:
            rk.index([folder])
            assert_same_index(rk, folder, local_run)
        finally:
            rk.close()
    finally:
        again.shutdown()


def test_the_progress_line_names_each_workers_files() -> None:
    import io

    from ragkit.cli.output import ProgressLine
    from ragkit.index.report import Progress

    stream = io.StringIO()
    line = ProgressLine(stream)
    line.enabled = True  # as on a terminal
    line(Progress("index", 5, 16, 40, "/docs/a.md", (("node-a:101", 3), ("node-b:202", 2))))
    assert "[5/16] files" in stream.getvalue()
    assert "node-a:101 3, node-b:202 2" in stream.getvalue()
