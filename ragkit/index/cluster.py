"""Parse and embed on a Ray cluster (``[index] cluster = "ray://HOST:PORT"``, ``ragkit index --cluster``).

Each file's bytes travel to a worker as a task's argument (no shared filesystem); the worker
reads it with the same loaders and chunker as a local run, embeds the chunks with the same
model (on its GPU if it has one), and sends back chunks and vectors. This process stays the
only writer: it records each result as it comes, in the same transactions as a local run
(:mod:`ragkit.index.sync`), so a writer, worker or head killed mid-run leaves what a local
run's kill leaves and the next run converges. Ray runs a task again when its worker or node
dies; the writer takes one result per file. Ray is the ``cluster`` extra; without it nothing
here is imported.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.core.errors import RagkitError
from ragkit.index.parsepool import ParseJob, ParseResult, parse_file

CONNECT_ATTEMPTS = 3  # a session the cluster's client server failed to start is asked for again
RETRIES = 3  # times Ray runs a file's task again when the worker or node running it dies
_AHEAD_PER_CPU = 2  # tasks in flight per CPU of the cluster: workers never wait on the writer's sends
log = logging.getLogger(__name__)
_workers: dict[tuple[str, int, str], Any] = {}  # a worker process's embedder, loaded once
_finders: dict[str, Any] = {}  # and its spaCy pipeline


@dataclass(frozen=True)
class Recipe:
    """How every worker reads and embeds, so that its chunks and vectors are a local run's."""

    model: str  # embed.model: the packaged model's name or a folder every worker has at that path
    fingerprint: str  # of this machine's copy of the model: a worker with another copy is refused
    batch_size: int
    precision: str
    max_tokens: int
    overlap: int
    ocr: bool


def work(name: str, data: bytes, recipe: Recipe) -> dict[str, Any]:
    """A cluster task: one file's chunks and vectors, or why it has none, and where it ran."""
    import ray
    import torch

    from ingest import embedding_text
    from ingest.loaders import set_options
    from ragkit.index.embed import SentenceTransformerEmbedder, model_fingerprint

    torch.set_num_threads(max(1, int(ray.get_runtime_context().get_assigned_resources().get("CPU", 1))))
    key = (recipe.model, recipe.batch_size, recipe.precision)
    if key not in _workers:
        device = "cuda" if torch.cuda.is_available() else "cpu"  # a worker with a GPU embeds on it
        loaded = SentenceTransformerEmbedder(recipe.model, recipe.batch_size, device, recipe.precision)  # type: ignore[arg-type]
        _workers[key] = (loaded, model_fingerprint(loaded.model_dir))
    embedder, fingerprint = _workers[key]
    where = f"{socket.gethostname()}:{os.getpid()}"
    if fingerprint != recipe.fingerprint:
        return {"fingerprint": fingerprint, "worker": where}
    set_options(ocr=recipe.ocr)
    with tempfile.TemporaryDirectory(prefix="ragkit-task-") as folder:
        path = Path(folder) / name  # the file's own name: loaders go by its suffix
        path.write_bytes(data)
        spans = embedder.tokenizer.token_spans
        chunks, error, notes, about = parse_file(path, spans, recipe.max_tokens, recipe.overlap)
    vectors = embedder.embed([embedding_text(c) for c in chunks]) if chunks else None
    return {"chunks": chunks, "error": error, "notes": notes, "about": about, "vectors": vectors,
            "fingerprint": fingerprint, "worker": where}  # fmt: skip


def names(model: str | None, texts: list[str]) -> tuple[str, list[Any]]:
    """A cluster task: the names in each text, and which pipeline found them (``model``: a
    spaCy pipeline's folder on every node, or None for the copy packaged with ragkit)."""
    from ingest.entities import NameFinder
    from ragkit.investigate.entities import packaged_pipeline

    folder = model or packaged_pipeline()
    if folder not in _finders:
        _finders[folder] = NameFinder(folder)
    finder = _finders[folder]
    return finder.version, list(finder.find_all(texts))


class NamePool:
    """The names worker pool's interface (``submit``, ``shutdown``) over a cluster: a batch's
    names are found by a task, checked to come from the pipeline this machine has. A failed
    task fails its future as a broken local pool would, and the rest is done here."""

    def __init__(self, ray: Any, model: str | None, version: str, task_cpus: int) -> None:
        self.ray, self.model, self.version = ray, model, version
        self._task = ray.remote(max_retries=RETRIES, num_cpus=task_cpus)(names)
        self._running: list[Any] = []

    def submit(self, _fn: Any, texts: list[str]) -> Future[list[Any]]:
        ref = self._task.remote(self.model, texts)
        self._running.append(ref)
        future: Future[list[Any]] = Future()
        ref.future().add_done_callback(lambda done: self._settle(done, future))
        return future

    def _settle(self, done: Future[tuple[str, list[Any]]], future: Future[list[Any]]) -> None:
        try:
            version, found = done.result()
        except Exception as exc:
            future.set_exception(BrokenProcessPool(f"a names task failed on the cluster: {_first_line(exc)}"))
            return
        if version != self.version:
            future.set_exception(RagkitError(
                f"the cluster's workers find names with {version}, this machine with {self.version}:"
                " install the same spaCy pipeline on every node"
            ))  # fmt: skip
        else:
            future.set_result(found)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        if cancel_futures:
            for ref in self._running:
                try:
                    self.ray.cancel(ref, force=True)
                except Exception as exc:  # done already, or the cluster is gone
                    log.debug("cancelling a names task: %s", exc)
        self._running = []


def connect(address: str) -> Any:
    """Ray, connected to the cluster at ``address`` (``ray://HOST:PORT``, or ``auto`` on a node)."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # no usage reports leave the machine
    try:
        import ray
    except ImportError as exc:
        raise RagkitError("indexing on a cluster needs Ray: pip install 'ragkit[cluster]'") from exc
    _answers(address)
    for attempt in range(CONNECT_ATTEMPTS):
        if ray.is_initialized():
            break
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        except ConnectionAbortedError as exc:  # reached, but its client server failed to start our session
            if attempt + 1 == CONNECT_ATTEMPTS:
                raise RagkitError(f"the Ray cluster at {address} could not start a session: {exc}") from exc
            log.warning("the Ray cluster at %s could not start a session (%s); trying again", address, exc)
        except Exception as exc:  # Ray's own error: the address, the version, the network
            raise RagkitError(
                f"cannot reach the Ray cluster at {address}: {exc}; start one with "
                "'ray start --head --ray-client-server-port=10001' and give ray://HOST:10001"
            ) from exc
    return ray


def _answers(address: str) -> None:
    """Fail at once, not after Ray's half-minute of retries, when nothing listens at a ray:// address."""
    if not address.startswith("ray://"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except (OSError, ValueError) as exc:
        raise RagkitError(
            f"cannot reach the Ray cluster at {address}: {getattr(exc, 'strerror', None) or exc}; start one with "
            "'ray start --head --ray-client-server-port=10001' and give ray://HOST:10001"
        ) from exc


class ClusterPool:
    """The parse pool's interface over a Ray cluster: results come back as they finish, with
    their vectors."""

    def __init__(self, address: str, recipe: Recipe, timeout_s: float = 1800.0, task_cpus: int = 1) -> None:
        self.address = address
        self.recipe = recipe
        self.task_cpus = task_cpus  # CPUs a file's task takes on its node (the embedder's threads)
        self.timeout_s = timeout_s  # a task running longer is cancelled and its file recorded as failed
        self._ray: Any = None
        self._task: Any = None

    def _start(self) -> Any:
        if self._ray is None:
            self._ray = connect(self.address)
            self._task = self._ray.remote(max_retries=RETRIES, retry_exceptions=False, num_cpus=self.task_cpus)(work)
        return self._ray

    def close(self) -> None:
        if self._ray is not None:
            try:
                self._ray.shutdown()  # also after the connection was lost: a new run connects afresh
            except Exception as exc:  # the cluster is gone already
                log.debug("disconnecting from the cluster: %s", exc)
        self._ray = None

    def run(
        self, jobs: Sequence[ParseJob], ahead: int = 4, stop: threading.Event | None = None
    ) -> Iterator[ParseResult]:
        """Yield one result per job, as the cluster's tasks finish. ``stop`` cancels the tasks
        under way; nothing of theirs is reported. Losing the cluster (its head, the network)
        ends the run with a :class:`RagkitError`: what was recorded stays."""
        ray = self._start()
        running: dict[Any, tuple[ParseJob, float]] = {}
        try:
            yield from self._results(ray, list(reversed(jobs)), running, ahead, stop)
        except RagkitError:
            raise
        except Exception as exc:  # Ray's: the head or the connection to it is gone
            self.close()
            raise RagkitError(
                f"lost the Ray cluster at {self.address} mid-run ({type(exc).__name__}: {exc}); the files done are"
                " kept: run again once the cluster is back, or without --cluster"
            ) from exc
        finally:
            for ref in running if self._ray is not None else ():
                try:
                    ray.cancel(ref, force=True)
                except Exception as exc:  # the cluster is going away too: nothing left to cancel
                    log.debug("cancelling a task: %s", exc)

    def name_pool(self, model: str | None, version: str) -> NamePool:
        """Names found on the cluster too (``entities.model``; ``version``: this machine's pipeline's)."""
        return NamePool(self._start(), model, version, self.task_cpus)

    def _results(
        self,
        ray: Any,
        todo: list[ParseJob],
        running: dict[Any, tuple[ParseJob, float]],
        ahead: int,
        stop: threading.Event | None,
    ) -> Iterator[ParseResult]:
        limit = max(ahead, _AHEAD_PER_CPU * int(ray.cluster_resources().get("CPU", 1)) // self.task_cpus)
        while todo or running:
            while todo and len(running) < limit:
                job = todo.pop()
                running[self._submit(ray, job)] = (job, time.monotonic())
            done, _ = ray.wait(list(running), num_returns=1, timeout=0.2)
            if stop is not None and stop.is_set():
                return
            for ref in done:
                job, _ = running.pop(ref)
                yield self._result(ray, job, ref)
            yield from self._overdue(ray, running)

    def _submit(self, ray: Any, job: ParseJob) -> Any:
        try:
            data = job.path.read_bytes()
        except OSError as exc:
            return ray.put({"error": f"cannot read file: {exc.strerror or exc}"})
        return self._task.remote(job.path.name, data, self.recipe)

    def _result(self, ray: Any, job: ParseJob, ref: Any) -> ParseResult:
        failed = ray.exceptions
        try:
            got = ray.get(ref)
        except failed.RayTaskError as exc:  # work() raised: the worker's setup, or this file
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            if isinstance(cause, (ImportError, RagkitError, OSError)):
                raise RagkitError(
                    f"the cluster's workers cannot index ({type(cause).__name__}: {_first_line(cause)}); every node"
                    " needs ragkit with the cluster extra and the embedding model"
                ) from exc
            return ParseResult(job, None, f"the cluster's worker failed on this file ({type(cause).__name__}: "
                               f"{_first_line(cause)})")  # fmt: skip
        except (failed.WorkerCrashedError, failed.NodeDiedError, failed.OutOfMemoryError) as exc:
            why = f"the cluster's workers died on this file {RETRIES + 1} times ({type(exc).__name__}: "
            return ParseResult(job, None, why + f"{_first_line(exc)}); it may be damaged or too big for a worker")
        if "fingerprint" in got and got["fingerprint"] != self.recipe.fingerprint:
            raise RagkitError(
                f"the cluster's worker {got['worker']} has another copy of the embedding model {self.recipe.model!r}"
                f" (fingerprint {got['fingerprint']}, this index {self.recipe.fingerprint}); install the same"
                " model there, or index without --cluster"
            )
        vectors = None if got.get("vectors") is None else np.asarray(got["vectors"], dtype=np.float32)
        if vectors is not None and len(vectors) != len(got.get("chunks") or ()):
            return ParseResult(job, None, f"the cluster sent {len(vectors)} vectors for {len(got['chunks'] or ())}"
                               " chunks; its workers may run another ragkit")  # fmt: skip
        return ParseResult(job, got.get("chunks"), got.get("error"), tuple(got.get("notes") or ()), got.get("about"),
                           vectors, got.get("worker", ""))  # fmt: skip

    def _overdue(self, ray: Any, running: dict[Any, tuple[ParseJob, float]]) -> Iterator[ParseResult]:
        now = time.monotonic()
        for ref, (job, started) in list(running.items()):
            if now - started > self.timeout_s:
                ray.cancel(ref, force=True)
                del running[ref]
                why = f"the cluster's task ran over {self.timeout_s:g} s; raise index.cluster_timeout_s to allow more"
                yield ParseResult(job, None, why)


def _first_line(exc: BaseException) -> str:
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)


def pool_for(settings: Any, embedder: Any, max_tokens: int) -> ClusterPool | None:
    """The cluster pool ``settings`` ask for (``index.cluster``), with this machine's recipe; None without one."""
    from ragkit.index.embed import model_fingerprint

    if not settings.index.cluster:
        return None
    if settings.embed.url:
        raise RagkitError("index.cluster embeds on the cluster's workers, embed.url on a server: unset one of them")
    recipe = Recipe(
        settings.embed.model, model_fingerprint(embedder.model_dir), settings.embed.batch_size,
        settings.embed.precision, max_tokens, settings.chunk.overlap, settings.index.ocr,
    )  # fmt: skip
    index = settings.index
    return ClusterPool(index.cluster, recipe, index.cluster_timeout_s, index.cluster_task_cpus)
