"""Writing a file so that a reader, or a crash, sees the old content or the new, never half, and
nobody else can read it: one helper for every small file ragkit keeps (config, keys, models,
conversations, entity clean-up, the watcher's state, rows as documents)."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path


def write_atomic(path: Path, content: str | bytes, durable: bool = True) -> None:
    """Replace ``path`` with ``content`` (text as UTF-8) in one step, the file readable by its
    owner only (0600, whatever the umask). The new content goes to a temporary file of this
    process and thread beside it first, so two writers never share one. ``durable``: on disk
    (fsync) before it replaces the old; off for files made again from their source (a
    database's rows), where the cost per file would add up."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
