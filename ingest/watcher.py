"""Watch folders and yield debounced batches of changed paths.

Built on watchdog. Raw events are coalesced per path: an editor's atomic save (write a
temp file, rename it over the original) arrives as one change of the original; a file
still being written is held back until its size and mtime stop changing; a moved or
deleted folder is reported as one path. Batches are ``set[(Change, Path)]``; a filter
``(change, path) -> bool`` drops what the caller does not want; a stop event ends the loop.
"""

from __future__ import annotations

import enum
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

Batch = set[tuple["Change", Path]]


class Change(enum.Enum):
    CHANGED = "changed"  # created or modified: index it again
    DELETED = "deleted"  # removed, or moved away: drop it (a folder: everything under it)


Filter = Callable[[Change, Path], bool]


class _Collector:
    """Receives watchdog events from its thread; remembers the last event time per path."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[Path, tuple[Change, float]] = {}
        self.moved_in: set[Path] = set()  # complete on arrival: a rename is atomic
        self.wake = threading.Event()

    def note(self, change: Change, path: Path, moved_in: bool = False) -> None:
        with self.lock:
            self.pending[path] = (change, time.monotonic())
            if moved_in:
                self.moved_in.add(path)
            else:
                self.moved_in.discard(path)
        self.wake.set()

    def dispatch(self, event: Any) -> None:
        kind = event.event_type
        if kind in ("opened", "closed_no_write"):
            return
        src = Path(os.fsdecode(event.src_path))
        if kind == "moved":
            self.note(Change.DELETED, src)
            self.note(Change.CHANGED, Path(os.fsdecode(event.dest_path)), moved_in=True)
        elif kind == "deleted":
            self.note(Change.DELETED, src)
        elif event.is_directory and kind == "modified":
            return  # a folder's mtime changes with its entries; the entries have their own events
        else:  # created, modified, closed, attrib
            self.note(Change.CHANGED, src)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


class Watcher:
    """Watch ``roots``; iterate to get batches. ``poll=True`` polls (network drives)."""

    def __init__(
        self,
        roots: Iterable[Path],
        filter: Filter | None = None,
        debounce_s: float = 0.25,
        max_wait_s: float = 2.0,
        poll: bool = False,
        poll_interval_s: float = 1.0,
        stop: threading.Event | None = None,
    ) -> None:
        self.roots = [Path(os.path.abspath(r)) for r in roots]
        self.filter = filter
        self.debounce_s = debounce_s
        self.max_wait_s = max_wait_s
        self.stop_event = stop or threading.Event()
        self._collector = _Collector()
        self._stamps: dict[Path, tuple[int, int] | None] = {}
        self._observer = self._make_observer(poll, poll_interval_s)

    def _make_observer(self, poll: bool, interval: float) -> Any:
        # watchdog warns when a folder moved within the watch is re-registered; the watch is
        # still right, and the warning would only be noise (or kill its thread under -W error)
        warnings.filterwarnings("ignore", message="Callback with id .* already exists", category=RuntimeWarning)
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        collector = self._collector

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                collector.dispatch(event)

        # a short timeout lets the observer thread notice a stop quickly (its default is a second)
        observer = PollingObserver(timeout=interval) if poll else Observer(timeout=0.1)
        handler = Handler()
        for root in self.roots:
            target = root if root.is_dir() else root.parent
            observer.schedule(handler, str(target), recursive=True)
        return observer

    @property
    def queued(self) -> int:
        with self._collector.lock:
            return len(self._collector.pending)

    def start(self) -> None:
        self._observer.start()

    def stop(self) -> None:
        self.stop_event.set()
        self._collector.wake.set()

    def close(self) -> None:
        self.stop()
        self._observer.stop()
        self._observer.join(5)

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Batch]:
        while not self.stop_event.is_set():
            batch = self.next_batch()
            if batch:
                yield batch

    def next_batch(self, timeout: float | None = None) -> Batch:
        """Wait for a quiet moment after some changes and return them (empty on stop or timeout)."""
        collector = self._collector
        deadline = None if timeout is None else time.monotonic() + timeout
        first_seen: float | None = None
        while not self.stop_event.is_set():
            collector.wake.wait(self.debounce_s)
            collector.wake.clear()
            now = time.monotonic()
            with collector.lock:
                if not collector.pending:
                    if deadline is not None and now >= deadline:
                        return set()
                    continue
                first_seen = first_seen or now
                latest = max(t for _, t in collector.pending.values())
                quiet = now - latest >= self.debounce_s
                if not quiet and now - first_seen < self.max_wait_s:
                    continue
                ready = self._take_ready(collector.pending, collector.moved_in, now)
            if ready:
                return ready
        return set()

    def _take_ready(self, pending: dict[Path, tuple[Change, float]], moved_in: set[Path], now: float) -> Batch:
        """Paths whose last event is old enough and, for files written in place, whose size
        is stable. A file renamed into place is complete, so it goes with its old name's
        deletion in one batch (the index sees a rename, not a delete and an add)."""
        batch: Batch = set()
        for path, (change, seen) in list(pending.items()):
            if now - seen < self.debounce_s:
                continue
            if change is Change.CHANGED and path not in moved_in:
                stamp = _stamp(path)
                if stamp is not None and self._stamps.get(path) != stamp and path.is_file():
                    # still being written? look again after another quiet period
                    self._stamps[path] = stamp
                    pending[path] = (change, now)
                    continue
                if stamp is None:
                    change = Change.DELETED  # created then gone (a temp file)
            self._stamps.pop(path, None)
            moved_in.discard(path)
            del pending[path]
            if self.filter is None or self.filter(change, path):
                batch.add((change, path))
        return _fold_into_folders(batch)


def _fold_into_folders(batch: Batch) -> Batch:
    """A folder deleted, moved away or moved in stands for everything under it: drop the
    entries below a folder that is in the batch with the same change."""
    folders = {(change, path) for change, path in batch}
    return {(change, path) for change, path in batch if not any((change, parent) in folders for parent in path.parents)}
