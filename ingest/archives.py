"""Archives: ``.zip``, ``.tar``, ``.tar.gz``/``.tgz`` (and a single gzipped file, ``notes.txt.gz``),
read member by member, archives inside archives too, within limits.

Each member with a loader becomes sections under the heading ``ARCHIVE!/inner/file.pdf``
(nested: ``outer.zip!/inner.zip!/file.txt``), with offsets running through the whole
archive's text, so every passage of every member has its own place in the archive. Members
are read into memory or a private temporary folder under a safe name (an archive's own
names — absolute, ``..``, links — never choose where anything is written).

Limits, each failing the archive with the reason (a zip bomb is refused, never expanded):
depth of nesting, number of members, bytes expanded in all, bytes of one member, and how
many times a member expands its compressed size. Members that cannot be read or have no
loader are listed in the document's notes, not skipped in silence.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, cast

from ingest.loaders import load_document, loader_for, note, register
from ingest.types import LoadError, Section


@dataclass
class Limits:
    depth: int = 3  # archives inside archives, below the outermost
    members: int = 10_000
    total_bytes: int = 2_000_000_000  # expanded, all members of all levels
    member_bytes: int = 500_000_000
    ratio: int = 200  # expanded size over compressed size, for a member of at least RATIO_FLOOR bytes


# what reading a damaged member raises (a bad CRC, a cut deflate stream, a short tar)
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError, tarfile.TarError, RuntimeError, ValueError)
RATIO_FLOOR = 1_000_000  # small members may compress a lot (a page of spaces); big ones may not
LIMITS = Limits()
_CHUNK = 1 << 20


@dataclass
class _Budget:
    limits: Limits
    members: int = 0
    expanded: int = 0
    skipped: list[str] = field(default_factory=list)


def _is_archive(name: str) -> bool:
    lower = name.lower()
    return lower.endswith((".zip", ".tar", ".tgz", ".tar.gz", ".gz"))


def _read(stream: IO[bytes], name: str, compressed: int, budget: _Budget) -> bytes:
    """A member's bytes, counted as they come: a member that lies about its size is stopped
    at the limits all the same."""
    limits = budget.limits
    data = bytearray()
    while True:
        piece = stream.read(_CHUNK)
        if not piece:
            return bytes(data)
        data += piece
        budget.expanded += len(piece)
        if len(data) > limits.member_bytes:
            raise LoadError(f"archive member {name} expands past {limits.member_bytes:,} bytes (the limit): refused")
        if budget.expanded > limits.total_bytes:
            raise LoadError(f"the archive expands past {limits.total_bytes:,} bytes in all (the limit): refused")
        if len(data) >= RATIO_FLOOR and compressed and len(data) > limits.ratio * compressed:
            raise LoadError(
                f"archive member {name} expands more than {limits.ratio}× its compressed size"
                f" ({compressed:,} bytes): refused as a likely zip bomb"
            )


def _members(path: Path, data: bytes | None, budget: _Budget) -> Iterator[tuple[str, int, Callable[[], IO[bytes]]]]:
    """(name, compressed size, an opener of its bytes) of each regular file member."""
    source = io.BytesIO(data) if data is not None else path
    name = path.name.lower()
    if name.endswith(".zip"):
        try:
            archive = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError) as exc:
            raise LoadError(f"not a readable zip archive: {exc}") from exc
        with archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                if info.flag_bits & 0x1:
                    budget.skipped.append(f"{info.filename} (encrypted)")
                    continue
                yield info.filename, info.compress_size, lambda i=info: archive.open(i)  # type: ignore[misc]
        return
    if name.endswith(".gz") and not name.endswith((".tar.gz",)) and not _tar_inside(path, data):
        inner = PurePosixPath(path.name[: -len(".gz")]).name
        packed = len(data) if data is not None else path.stat().st_size
        yield inner, packed, lambda: _gunzipped(path, data)
        return
    try:
        archive_tar = tarfile.open(fileobj=io.BytesIO(data)) if data is not None else tarfile.open(path)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise LoadError(f"not a readable tar archive (damaged, or not a tar): {str(exc).splitlines()[0]}") from exc
    with archive_tar:
        try:
            for member in archive_tar:
                if not member.isfile():  # links, devices, folders: nothing of theirs is read
                    if member.issym() or member.islnk():
                        budget.skipped.append(f"{member.name} (a link)")
                    continue
                yield member.name, member.size, lambda m=member: _extracted(archive_tar, m)  # type: ignore[misc]
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise LoadError(f"the tar archive is damaged: {exc}") from exc


def _tar_inside(path: Path, data: bytes | None) -> bool:
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) if data is not None else tarfile.open(path) as archive:
            archive.next()
        return True
    except (tarfile.TarError, OSError, EOFError):
        return False


def _gunzipped(path: Path, data: bytes | None) -> IO[bytes]:
    return cast(IO[bytes], gzip.GzipFile(fileobj=io.BytesIO(data)) if data is not None else gzip.open(path))


def _extracted(archive: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    stream = archive.extractfile(member)
    if stream is None:
        raise LoadError(f"cannot read archive member {member.name}")
    return stream


def _sections(path: Path, data: bytes | None, label: str, depth: int, budget: _Budget, start: int) -> Iterator[Section]:
    offset = start
    for name, compressed, opener in _members(path, data, budget):
        budget.members += 1
        if budget.members > budget.limits.members:
            raise LoadError(f"the archive holds more than {budget.limits.members:,} members (the limit): refused")
        safe = PurePosixPath(name.replace("\\", "/")).name
        here = f"{label}!/{name.lstrip('/')}"
        if not safe:
            continue
        try:
            with opener() as stream:
                payload = _read(stream, name, compressed, budget)
        except _DAMAGED as exc:  # this member's bytes are damaged: the others are still read
            budget.skipped.append(f"{name} (damaged: {exc})")
            continue
        if _is_archive(safe):
            if depth >= budget.limits.depth:
                raise LoadError(f"archives nest deeper than {budget.limits.depth} levels (at {here}): refused")
            for section in _sections(Path(safe), payload, here, depth + 1, budget, offset):
                yield section
                offset = section.offset + len(section.text) + 1
            continue
        if loader_for(Path(safe)) is None:
            budget.skipped.append(f"{name} (no loader for its type)")
            continue
        with tempfile.TemporaryDirectory(prefix="ragkit-member-") as folder:
            file = Path(folder) / safe
            file.write_bytes(payload)
            try:
                document = load_document(file)
            except LoadError as exc:
                budget.skipped.append(f"{name} ({exc})")
                continue
        for section in document.sections:
            where = (here,) + ((f"page {section.page}",) if section.page is not None else ())
            yield Section(
                section.text, None, offset, section.title, (*where, *section.heading_path), section.date,
                section.date_source,
            )  # fmt: skip
            offset += len(section.text) + 1


def extract_member(archive: Path, member: str, folder: Path) -> Path:
    """Write the member named ``member`` (``NAME!/inner/file``, nested as the loader names
    them) into ``folder`` under its own base name, within the same limits; its path."""
    parts = member.split("!/")
    if len(parts) < 2 or parts[0] != archive.name:
        raise LoadError(f"{member!r} is not a member of {archive.name}")
    budget = _Budget(LIMITS)
    data: bytes | None = None
    current = archive
    for depth, wanted in enumerate(parts[1:]):
        if depth > budget.limits.depth:
            raise LoadError(f"archives nest deeper than {budget.limits.depth} levels: refused")
        for name, compressed, opener in _members(current, data, budget):
            if name.lstrip("/") == wanted:
                try:
                    with opener() as stream:
                        data = _read(stream, name, compressed, budget)
                except _DAMAGED as exc:
                    raise LoadError(f"archive member {name} is damaged ({exc})") from exc
                current = Path(PurePosixPath(name).name)
                break
        else:
            raise LoadError(f"{archive.name} has no member {wanted!r} (changed since it was indexed?)")
    target = folder / current.name
    target.write_bytes(data or b"")
    return target


@register(".zip", ".tar", ".tgz", ".gz")
def load_archive(path: Path) -> Iterator[Section]:
    budget = _Budget(LIMITS)
    yield from _sections(path, None, path.name, 0, budget, 0)
    if budget.skipped:
        shown = "; ".join(budget.skipped[:10]) + (
            f"; and {len(budget.skipped) - 10} more" if len(budget.skipped) > 10 else ""
        )
        note(f"{len(budget.skipped)} archive member(s) not indexed: {shown}")
