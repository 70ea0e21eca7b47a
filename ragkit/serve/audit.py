"""The server's audit log: one JSON line per request (who by key name, when, which endpoint,
the question, the files cited, the status), appended, never the key; rotated by size with
five old files kept (``audit.jsonl.1`` is the newest of them)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from contextvars import ContextVar
from pathlib import Path
from typing import Any

KEEP = 5
# The request being served, if any: {"audited": bool, "fields": {...}}. The server's gate sets it
# and writes the request's one entry when it ends (whatever became of it), with the fields its
# route noted; an entry recorded directly marks it audited instead.
REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("ragkit_request", default=None)


def note(**fields: Any) -> None:
    """Add ``fields`` to the audit entry of the request being served (``status`` overrides the
    HTTP status: a streamed answer that failed after its 200 was sent)."""
    request = REQUEST.get()
    if request is not None:
        request.setdefault("fields", {}).update(fields)


class AuditLog:
    def __init__(self, folder: Path, max_bytes: int = 10_000_000) -> None:
        self.folder = folder
        self.path = folder / "audit.jsonl"
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def record(self, **entry: Any) -> None:
        line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **entry}, ensure_ascii=False) + "\n"
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            if self.path.exists() and self.path.stat().st_size + len(line) > self.max_bytes:
                self._rotate()
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as out:
                out.write(line)
        request = REQUEST.get()
        if request is not None:
            request["audited"] = True

    def _rotate(self) -> None:
        for n in range(KEEP - 1, 0, -1):
            older = self.folder / f"audit.jsonl.{n}"
            if older.exists():
                os.replace(older, self.folder / f"audit.jsonl.{n + 1}")
        os.replace(self.path, self.folder / "audit.jsonl.1")

    def tail(self, n: int = 20) -> list[dict[str, Any]]:
        """The last ``n`` entries, oldest first (across a rotation)."""
        kept: deque[dict[str, Any]] = deque(maxlen=n)
        for path in [self.folder / f"audit.jsonl.{i}" for i in range(KEEP, 0, -1)] + [self.path]:
            if not path.exists():
                continue
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    try:
                        kept.append(json.loads(line))
                    except ValueError:
                        continue  # a line cut by a crash
        return list(kept)
