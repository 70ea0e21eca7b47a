"""Showing a cited passage: read from the file itself, refused when the file has changed
since it was indexed (the offsets would point at other text), or opened in a viewer."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from ingest.scan import symlink_target
from ragkit.core.errors import RagkitError
from ragkit.index.sync import file_hash
from ragkit.storage.rows import FileRow


def unchanged_since_indexed(path: Path, row: FileRow | None) -> bool:
    """Whether ``path`` still holds the bytes the index was built from: the same kind (a file,
    or a symlink to the same target: a file swapped for a link is a change whatever its size
    and mtime), the same size and mtime, or (touched, not changed) the same content hash."""
    if row is None or row.hash is None:
        return False
    try:
        if symlink_target(path) != row.link:
            return False
        info = path.stat()
        if (info.st_size, info.st_mtime_ns) == (row.size, row.mtime_ns):
            return True
        return info.st_size == row.size and file_hash(path) == row.hash
    except OSError:
        return False


def _assembled(sections: list[Any]) -> str:
    """The text of a page (or of a file without pages) with each section at its own offset, as
    chunk spans count (a mailbox's messages and an archive's members follow one another)."""
    parts: list[str] = []
    length = 0
    for section in sorted(sections, key=lambda s: s.offset):
        if section.offset > length:
            parts.append("\n" * (section.offset - length))
            length = section.offset
        elif section.offset < length:  # overlapping sections (none are written so): keep what is there
            continue
        parts.append(section.text)
        length += len(section.text)
    return "".join(parts)


def _sections(path: str, row: FileRow | None) -> list[Any]:
    """The file's sections as the index read them; refused if the file changed since."""
    from ingest import LoadError, load

    if not unchanged_since_indexed(Path(path), row):
        if not Path(path).exists():
            raise RagkitError(f"{path} no longer exists; was it moved or deleted? (ragkit watch keeps up with that)")
        raise RagkitError(
            f"{path} changed since it was indexed, so the citation may no longer match it; "
            f"re-index it (ragkit index {shlex.quote(path)}) and ask again"
        )
    try:
        sections = load(Path(path))
    except (LoadError, OSError) as exc:
        raise RagkitError(f"cannot read {path} ({exc}); was it moved or deleted?") from exc
    if not unchanged_since_indexed(Path(path), row):  # swapped while it was read: what was read is not shown
        raise RagkitError(f"{path} changed while it was read; re-index it (ragkit index {shlex.quote(path)})")
    return sections


def passage(
    path: str, page: int | None, start: int, end: int, row: FileRow | None, context: int = 400
) -> dict[str, Any]:
    """The cited span in its context: ``{"before", "span", "after", "page", "path"}``."""
    text = _assembled([s for s in _sections(path, row) if s.page == page])
    if end > len(text):
        raise RagkitError(f"{path} reads differently than when it was indexed; re-index it and ask again")
    lo, hi = max(0, start - context), min(len(text), end + context)
    return {"before": text[lo:start], "span": text[start:end], "after": text[end:hi], "page": page, "path": path}


def pages(path: str, row: FileRow | None, page: int | None = None) -> list[tuple[int | None, str]]:
    """The file's text as the index read it, page by page ((None, text) for a file without
    pages); only ``page`` when one is given (none: a page the file does not have)."""
    sections = _sections(path, row)
    numbers = sorted({s.page for s in sections}, key=lambda n: (n is not None, n or 0))
    if page is not None:
        numbers = [n for n in numbers if n == page]
    return [(n, _assembled([s for s in sections if s.page == n])) for n in numbers]


def open_file(path: str, page: int | None = None, member: str = "") -> list[str]:
    """Open a document in the system viewer (``RAGKIT_VIEWER`` overrides it, with ``{path}``
    and ``{page}`` placeholders). Returns the command that was started. An archive's
    ``member`` (``archive.zip!/inner/file.pdf, page 3``) is taken out into a private temporary
    folder and opened from there, at its own page."""
    if member:
        from ingest.archives import extract_member
        from ingest.types import LoadError

        name, _, where = member.partition(", page ")
        folder = Path(tempfile.mkdtemp(prefix="ragkit-open-"))  # 0700; the viewer may read it after we return
        try:
            path = str(extract_member(Path(path), name, folder))
        except (LoadError, OSError) as exc:
            raise RagkitError(f"cannot take {name} out of its archive: {exc}") from exc
        page = int(where) if where.isdigit() else None
    template = os.environ.get("RAGKIT_VIEWER")
    if template:
        command = [part.format(path=path, page=page or 1) for part in shlex.split(template)]
    elif sys.platform == "darwin":
        command = ["open", path]
    else:
        opener = shutil.which("xdg-open")
        if opener is None:
            raise RagkitError(
                f"no system viewer found to open {path}; set RAGKIT_VIEWER, e.g. 'zathura --page={{page}} {{path}}'"
            )
        command = [opener, path]
    if not Path(path).exists():
        raise RagkitError(f"{path} no longer exists; the watcher will drop it from the index")
    viewer = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    threading.Thread(target=viewer.wait, daemon=True).start()  # reaped when it exits; never waited on
    return command
