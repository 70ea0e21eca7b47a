"""Parse files in worker processes, with a time limit on a stalled parse and a memory cap per file.

Each worker is a long-lived process that imports only the loaders and the embedder's
tokenizer (no torch). A file whose parse stalls (no page read and no chunk made for the time
limit: a long scan read by OCR moves on, a parser caught in a loop does not), or that crashes
or exhausts its worker, is recorded as failed with a reason; the worker is replaced and the
run goes on.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from ingest import Chunk, LoadError, chunk_sections, load_document

_STOP = None
_READY = "ready"
_ALIVE = "alive"  # sent while a file's parse moves on: the time limit is for a parse that stalls
START_LIMIT_S = 600.0  # a worker that has not started by then is reported, not waited on forever


@dataclass(frozen=True)
class ParseJob:
    key: str
    path: Path


@dataclass(frozen=True)
class ParseResult:
    job: ParseJob
    chunks: list[Chunk] | None
    error: str | None
    notes: tuple[str, ...] = ()
    about: dict[str, Any] | None = None  # the document's own date, its source, its language
    vectors: Any = None  # the chunks' vectors, when the parse ran where they were embedded too (a cluster)
    worker: str = ""  # where it ran, when not in this machine's parse workers


def _worker(conn: Connection, model_dir: str, max_tokens: int, overlap: int, memory_mb: int, ocr: bool) -> None:
    import resource

    from ingest.loaders import set_options

    set_options(ocr=ocr)
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from ragkit.index.embed import EmbedderTokenizer

    tokenizer = EmbedderTokenizer(Path(model_dir))
    conn.send(_READY)  # the time limit counts from here: starting a worker is not parsing
    beat = [0.0]

    def alive() -> None:  # a page read, a chunk made: the parse moves (at most ten a second)
        now = time.monotonic()
        if now - beat[0] >= 0.1:
            beat[0] = now
            conn.send(_ALIVE)

    while True:
        try:
            path = conn.recv()
        except EOFError:
            return
        if path is _STOP:
            return
        conn.send(parse_file(Path(path), tokenizer.token_spans, max_tokens, overlap, alive, memory_mb))


Parsed = tuple[list[Chunk] | None, str | None, tuple[str, ...], dict[str, Any] | None]


def parse_file(
    path: Path,
    token_spans: Callable[[str], Any],
    max_tokens: int,
    overlap: int,
    alive: Callable[[], None] = lambda: None,
    memory_mb: int = 0,
) -> Parsed:
    """One file's chunks, or why it has none: (chunks, error, notes, about). Never raises for
    what is in the file (a local parse worker and a cluster's task both read files with it)."""
    try:
        document = load_document(path, alive)
        chunks = []
        for chunk in chunk_sections(document.sections, token_spans, max_tokens, overlap):
            chunks.append(chunk)
            alive()
        if not chunks:
            return None, "no extractable text in this file", (), None
        about = {"date": document.date, "date_source": document.date_source, "lang": document.lang,
                 "messages": [(offset, m.as_dict()) for offset, m in document.messages]}  # fmt: skip
        return chunks, None, tuple(document.notes), about
    except LoadError as exc:
        return None, str(exc), (), None
    except MemoryError:
        limit = f"more than {memory_mb} MB of" if memory_mb else "too much"
        return None, f"parsing needed {limit} memory; the file may be damaged", (), None
    except RecursionError:
        return None, "the file is nested too deeply to parse; it may be damaged", (), None
    except Exception as exc:  # a loader bug must not stop the run; the reason is recorded
        return None, f"could not parse ({type(exc).__name__}: {exc})", (), None


class _Worker:
    def __init__(self, ctx: mp.context.SpawnContext, args: tuple[object, ...]) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child, *args), daemon=True)
        self.process.start()
        child.close()
        self.ready = False

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(_STOP)
        except (OSError, BrokenPipeError):
            pass
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
        self.conn.close()


class Pool(Protocol):
    """What parses files for an index run: this machine's parse workers, or a cluster's."""

    def run(
        self, jobs: Sequence[ParseJob], ahead: int = 4, stop: threading.Event | None = None
    ) -> Iterator[ParseResult]: ...

    def close(self) -> None: ...


class ParsePool:
    """Run parse jobs on ``workers`` processes; results come back as they finish."""

    def __init__(
        self,
        model_dir: Path,
        max_tokens: int,
        overlap: int,
        workers: int = 1,
        timeout_s: float = 120.0,
        memory_mb: int = 4096,
        ocr: bool = False,
    ) -> None:
        self.args = (str(model_dir), max_tokens, overlap, memory_mb, ocr)
        self.workers = max(1, workers)
        self.timeout_s = timeout_s
        self.ctx = mp.get_context("spawn")
        self._idle: list[_Worker] = []  # kept between runs: starting a worker costs ~0.2 s
        self._idle_lock = threading.Lock()

    def close(self) -> None:
        """Stop the idle workers."""
        with self._idle_lock:
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.stop()

    def _take_worker(self) -> _Worker:
        with self._idle_lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    return worker
                worker.kill()
        return _Worker(self.ctx, self.args)

    def run(
        self, jobs: Sequence[ParseJob], ahead: int = 4, stop: threading.Event | None = None
    ) -> Iterator[ParseResult]:
        """Yield one result per job. At most ``ahead`` parsed files wait for the consumer.
        Setting ``stop`` ends the run within a fraction of a second: a parse under way is
        abandoned (its worker killed) and not reported."""
        todo: queue.Queue[ParseJob | None] = queue.Queue()
        for job in jobs:
            todo.put(job)
        done: queue.Queue[ParseResult | None] = queue.Queue(maxsize=ahead)
        halt = threading.Event()  # set when this run ends, however it ends

        def cancel() -> bool:
            return halt.is_set() or (stop is not None and stop.is_set())

        threads = [
            threading.Thread(target=self._drive, args=(todo, done, cancel), daemon=True)
            for _ in range(min(self.workers, max(1, len(jobs))))
        ]
        for _ in threads:
            todo.put(None)
        for thread in threads:
            thread.start()
        finished = 0
        try:
            while finished < len(threads) and not cancel():
                try:
                    result = done.get(timeout=0.1)
                except queue.Empty:
                    continue
                if result is None:
                    finished += 1
                else:
                    yield result
        finally:
            halt.set()
            while any(t.is_alive() for t in threads):  # unblock producers waiting on a full queue
                try:
                    done.get(timeout=0.1)
                except queue.Empty:
                    pass

    def _drive(
        self, todo: queue.Queue[ParseJob | None], done: queue.Queue[ParseResult | None], cancel: Callable[[], bool]
    ) -> None:
        worker: _Worker | None = None
        try:
            while not cancel():
                job = todo.get()
                if job is None:
                    break
                if worker is None:
                    worker = self._take_worker()
                result, healthy = self._parse(worker, job, cancel)
                if not healthy:
                    worker.kill()
                    worker = None
                if result is not None:
                    done.put(result)
        finally:
            if worker is not None:
                with self._idle_lock:
                    self._idle.append(worker)
            done.put(None)

    def _parse(self, worker: _Worker, job: ParseJob, cancel: Callable[[], bool]) -> tuple[ParseResult | None, bool]:
        try:
            if not worker.ready:
                started = self._started(worker, job, cancel)
                if started is not None:
                    return started
            worker.conn.send(str(job.path))
            deadline = time.monotonic() + self.timeout_s
            while True:
                if worker.conn.poll(min(0.1, max(0.0, deadline - time.monotonic()))):
                    message = worker.conn.recv()
                    if message != _ALIVE:
                        break
                    deadline = time.monotonic() + self.timeout_s  # it moves: the limit starts again
                    continue
                if cancel():
                    return None, False  # abandoned: the worker is killed, nothing is recorded
                if time.monotonic() < deadline:
                    continue
                reason = (
                    f"parsing made no progress for {self.timeout_s:g} s (stuck on one page or part);"
                    " raise index.parse_timeout_s to allow more"
                )
                return ParseResult(job, None, reason), False
            chunks, error, notes, about = message
        except (EOFError, OSError, BrokenPipeError):
            code = worker.process.exitcode
            reason = f"the parser crashed on this file (exit code {code}); it may be damaged"
            return ParseResult(job, None, reason), False
        return ParseResult(job, chunks, error, notes, about), True

    def _started(
        self, worker: _Worker, job: ParseJob, cancel: Callable[[], bool]
    ) -> tuple[ParseResult | None, bool] | None:
        """Wait for a new worker to have loaded its tokenizer; None once it has. On a busy
        machine that can take seconds, which must not count against the file's time limit."""
        deadline = time.monotonic() + START_LIMIT_S
        while not worker.conn.poll(0.1):
            if cancel():
                return None, False
            if time.monotonic() > deadline:
                return ParseResult(job, None, f"the parse worker did not start within {START_LIMIT_S:g} s"), False
        try:
            hello = worker.conn.recv()
        except (EOFError, OSError):
            worker.process.join(5)
            reason = f"the parse worker stopped as it started (exit code {worker.process.exitcode})"
            return ParseResult(job, None, reason), False
        if hello != _READY:
            return ParseResult(job, None, "the parse worker sent something unexpected as it started"), False
        worker.ready = True
        return None
