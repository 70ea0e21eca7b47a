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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest import supported_extensions
from ingest.scan import IGNORE_FILE, IgnoreRules
from ingest.watcher import Batch, Change, Watcher
from ragkit.errors import IndexLockedError

if TYPE_CHECKING:
    from ragkit.facade import Ragkit
    from ragkit.indexer import IndexReport


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
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.path)

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
    """Catch up, then keep the index in step with ``roots`` until stopped."""

    def __init__(
        self,
        rk: Ragkit,
        roots: Sequence[Path],
        poll: bool = False,
        debounce_s: float = 0.25,
        rescan_s: float = 300.0,
        on_sync: Callable[[IndexReport], None] | None = None,
        progress: Callable[[Any], None] | None = None,
    ) -> None:
        self.rk = rk
        self.progress = progress
        self.roots = [Path(os.path.abspath(r)) for r in roots]
        self.poll = poll
        self.debounce_s = debounce_s
        self.rescan_s = rescan_s
        self.on_sync = on_sync
        self.stop_event = threading.Event()
        self.started = threading.Event()
        self.last_sync: float | None = None
        self.watcher: Watcher | None = None

    def stop(self) -> None:
        self.stop_event.set()
        if self.watcher is not None:
            self.watcher.stop()

    def _state(self, live: bool) -> None:
        self.rk.watch_state.write(
            pid=os.getpid(),
            live=live,
            roots=[str(r) for r in self.roots],
            queue=self.watcher.queued if self.watcher else 0,
            last_sync=self.last_sync,
            poll=self.poll,
        )

    def _synced(self, report: IndexReport) -> None:
        self.last_sync = time.time()
        self._state(True)
        if self.on_sync:
            self.on_sync(report)

    def run(self) -> None:
        """Blocks until :meth:`stop`. Holds the writer lock throughout."""
        with self.rk.writer():
            missing = [r for r in self.roots if not r.exists()]
            if missing:
                from ragkit.errors import RagkitError

                raise RagkitError(f"cannot watch {missing[0]}: no such folder; check the path")
            self.watcher = Watcher(
                self.roots, watch_filter(self.roots), debounce_s=self.debounce_s, poll=self.poll, stop=self.stop_event
            )
            self.watcher.start()  # before the catch-up, so nothing written meanwhile is missed
            try:
                # catch-up: changes made while nothing watched
                self._synced(self.rk.index(self.roots, progress=self.progress))
                self.started.set()
                next_rescan = time.monotonic() + self.rescan_s
                while not self.stop_event.is_set():
                    batch = self.watcher.next_batch(timeout=max(0.0, next_rescan - time.monotonic()))
                    if batch:
                        self._apply(batch)
                    if time.monotonic() >= next_rescan:  # a light rescan catches events the OS dropped
                        self._synced(self.rk.index(self.roots, progress=self.progress))
                        next_rescan = time.monotonic() + self.rescan_s
                    else:
                        self._state(True)
            finally:
                self.started.set()
                self.watcher.close()
                self._state(False)

    def _apply(self, batch: Batch) -> None:
        if any(path.name == IGNORE_FILE for _, path in batch):
            self._synced(self.rk.index(self.roots, progress=self.progress))
            return
        paths = sorted({path for _, path in batch})
        self._synced(self.rk.index(paths, progress=self.progress, strict=False))
