"""Live sync: one writer per index, a watcher keeping it in step, and its status on disk.

The writer lock is a real file lock (``flock``) on ``index/writer.lock``: a second watcher
or indexer on the same index is refused with a clear message, while searches and
questions go on. The watcher's state (live, queue length, last sync) is written to
``watch.json`` so ``ragkit status`` in another process can show it.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ingest import supported_extensions
from ingest.scan import IGNORE_FILE, IgnoreRules
from ingest.watcher import Batch, Change, Watcher
from ragkit.core.errors import IndexLockedError, RagkitError
from ragkit.core.files import write_atomic
from ragkit.index.report import IndexReport, Progress


class WriterLock:
    """An exclusive, non-blocking ``flock``; released when closed or when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise IndexLockedError(
                f"another ragkit process (pid {holder}) is writing to the index at {self.path.parent}; "
                "stop it (or wait for it) first — search and ask keep working meanwhile"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def is_locked_elsewhere(self) -> bool:
        if self.held or not self.path.exists():
            return False
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False


class WatchState:
    """The watcher's state file, written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, **state: Any) -> None:
        write_atomic(self.path, json.dumps(state), durable=False)  # (rewritten at every sync)

    def read(self, lock: WriterLock) -> dict[str, Any]:
        try:
            state = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {"live": False}
        live = bool(state.get("live")) and _alive(int(state.get("pid", 0))) and lock.is_locked_elsewhere()
        return {**state, "live": live}


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def watch_filter(roots: Sequence[Path]) -> Callable[[Change, Path], bool]:
    """Keep document files and folders that the ignore rules allow, and ``.ragignore`` files."""
    rules = IgnoreRules(roots)
    extensions = supported_extensions()

    def keep(change: Change, path: Path) -> bool:
        if path.name == IGNORE_FILE:
            rules.forget(path.parent)
            return True
        is_dir = path.is_dir()
        if rules.ignored(path, is_dir=is_dir):
            return False
        return is_dir or change is Change.DELETED or path.suffix.lower() in extensions

    return keep


class LiveSync:
    """Catch up, then keep the index in step with ``roots`` until stopped.

    :meth:`stop` ends it within about a second, even in the middle of the catch-up: the
    index run under way stops at its next file or batch and rolls back what it had not
    committed, so the index stays consistent.
    """

    def __init__(
        self,
        sync: Callable[..., IndexReport],
        writer: Callable[[], AbstractContextManager[None]],
        release_thread: Callable[[], None],
        state: WatchState,
        roots: Sequence[Path],
        poll: bool = False,
        debounce_s: float = 0.25,
        rescan_s: float = 300.0,
        on_sync: Callable[[IndexReport], None] | None = None,
        progress: Callable[[Progress], None] | None = None,
        rows: Callable[[threading.Event], IndexReport | None] | None = None,
        rows_s: float = 60.0,
    ) -> None:
        self.sync = sync  # an index run: (paths, progress=, strict=, stop=, within=) -> IndexReport
        self.writer = writer  # the index's writer lock
        self.release_thread = release_thread  # closes this thread's database connection
        self.state = state
        self.progress = progress
        self.roots = [Path(os.path.abspath(r)) for r in roots]
        self.poll = poll
        self.debounce_s = debounce_s
        self.rescan_s = rescan_s
        self.on_sync = on_sync
        self.rows = rows  # syncs databases' rows as documents (mirror, then index), at the catch-up and every rows_s
        self.rows_s = rows_s
        self.rows_error: str | None = None  # why the last rows sync failed (a database away): the watcher goes on
        self.stop_event = threading.Event()
        self.started = threading.Event()
        self.finished = threading.Event()
        self.last_sync: float | None = None
        self.watcher: Watcher | None = None
        self.error: BaseException | None = None  # what ended a run started with start()
        self._thread: threading.Thread | None = None

    def stop(self) -> None:
        self.stop_event.set()
        if self.watcher is not None:
            self.watcher.stop()

    def close(self, timeout: float = 30.0) -> None:
        """Stop, and wait until the run has ended (its thread, when started with :meth:`start`)."""
        self.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        elif self._thread is None and self.started.is_set():
            self.finished.wait(timeout)

    def start(self) -> threading.Thread:
        """Run in a thread of its own; an error that ends it is kept in ``self.error``."""

        def target() -> None:
            try:
                self.run()
            except BaseException as exc:
                self.error = exc

        self._thread = threading.Thread(target=target, name="ragkit-live-sync", daemon=True)
        self._thread.start()
        return self._thread

    @property
    def running(self) -> bool:
        return self.watcher is not None and not self.stop_event.is_set() and not self.finished.is_set()

    def snapshot(self) -> dict[str, Any]:
        """The watcher's state as ``ragkit status`` shows it."""
        return {
            "live": self.running,
            "pid": os.getpid(),
            "roots": [str(r) for r in self.roots],
            "queue": self.watcher.queued if self.watcher else 0,
            "last_sync": self.last_sync,
            "poll": self.poll,
            "rows_error": self.rows_error,
        }

    def _write_state(self, live: bool) -> None:
        self.state.write(**{**self.snapshot(), "live": live})

    def _synced(self, report: IndexReport) -> None:
        if not report.cancelled:
            self.last_sync = time.time()
        self._write_state(True)
        if self.on_sync:
            self.on_sync(report)

    def _index(self, paths: Sequence[Path], strict: bool) -> None:
        report = self.sync(paths, progress=self.progress, strict=strict, stop=self.stop_event, within=self.roots)
        self._synced(report)

    def run(self) -> None:
        """Blocks until :meth:`stop`. Holds the writer lock throughout."""
        try:
            with self.writer():
                missing = [r for r in self.roots if not r.exists()]
                if missing:
                    raise RagkitError(f"cannot watch {missing[0]}: no such folder; check the path")
                self.watcher = Watcher(
                    self.roots, watch_filter(self.roots), debounce_s=self.debounce_s, poll=self.poll,
                    stop=self.stop_event,
                )  # fmt: skip
                self.watcher.start()  # before the catch-up, so nothing written meanwhile is missed
                try:
                    self._watch()
                finally:
                    self.started.set()
                    self.watcher.close()
                    self._write_state(False)
        finally:
            self.release_thread()  # this thread's database connection, closed here
            self.started.set()
            self.finished.set()

    def _sync_rows(self) -> None:
        """Databases' rows as documents; a database that cannot be read is reported, and the
        watcher goes on (its rows stay as last synced)."""
        if self.rows is None or self.stop_event.is_set():
            return
        try:
            report = self.rows(self.stop_event)
        except RagkitError as exc:
            self.rows_error = str(exc)
            self._write_state(True)
            return
        self.rows_error = None
        if report is not None:
            self._synced(report)

    def _watch(self) -> None:
        assert self.watcher is not None
        self._index(self.roots, strict=True)  # catch-up: changes made while nothing watched
        self._sync_rows()
        self.started.set()
        next_rescan = time.monotonic() + self.rescan_s
        next_rows = time.monotonic() + self.rows_s
        while not self.stop_event.is_set():
            wait = min(next_rescan, next_rows if self.rows else next_rescan) - time.monotonic()
            batch = self.watcher.next_batch(timeout=max(0.0, wait))
            if batch and not self.stop_event.is_set():
                self._apply(batch)
            if self.stop_event.is_set():
                break
            due = time.monotonic()
            if due >= next_rescan:  # a light rescan catches events the OS dropped
                self._index(self.roots, strict=True)
                next_rescan = time.monotonic() + self.rescan_s
            if self.rows and due >= next_rows:
                self._sync_rows()
                next_rows = time.monotonic() + self.rows_s
            if due < next_rescan and not (self.rows and due >= next_rows):
                self._write_state(True)

    def _apply(self, batch: Batch) -> None:
        if any(path.name == IGNORE_FILE for _, path in batch):
            self._index(self.roots, strict=True)
            return
        self._index(sorted({path for _, path in batch}), strict=False)
