"""Index sync: make the index match the files under some roots, incrementally.

Write order (crash safety): a new document is recorded ``pending`` with its chunk count,
then its vectors are upserted under deterministic ids, then one transaction records its
chunks, marks it ``ready`` and points the file at it. Documents no file points to are
deleted from the vector store first and from the manifest after. Every step is idempotent,
so a run after a crash at any point converges to what a clean run produces.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest import Chunk, LoadError, chunk_sections, load, supported_extensions
from ragkit.embed import Tokenizer
from ragkit.errors import RagkitError
from ragkit.manifest import FileRow, Manifest, chunk_id
from ragkit.store import VectorStore

_HASH_BLOCK = 1 << 20


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    renamed: int = 0
    skipped: int = 0
    embedded: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    files: int = 0
    chunks: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "renamed": self.renamed,
            "skipped": self.skipped,
            "embedded": self.embedded,
            "failed": self.failed,
            "files": self.files,
            "chunks": self.chunks,
        }


@dataclass(frozen=True)
class Progress:
    phase: str  # "scan" | "index" | "done"
    done: int
    total: int
    chunks: int
    path: str = ""


@dataclass(frozen=True)
class Prepared:
    hash: str
    chunks: list[Chunk]
    filetype: str


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def prepare(path: Path, tokenizer: Tokenizer, max_tokens: int, overlap: int) -> Prepared:
    """Read, chunk and hash one file. Raises :class:`LoadError` with a human reason."""
    sections = load(path)
    chunks = list(chunk_sections(sections, tokenizer.token_spans, max_tokens, overlap))
    if not chunks:
        raise LoadError("no extractable text in this file")
    return Prepared(hash=file_hash(path), chunks=chunks, filetype=path.suffix.lower().lstrip("."))


class Indexer:
    """Keeps one manifest and one vector store in step with files on disk."""

    def __init__(
        self,
        manifest: Manifest,
        store: VectorStore,
        embed: Callable[[Sequence[str]], object],
        tokenizer: Tokenizer,
        max_tokens: int,
        overlap: int,
        max_file_bytes: int,
        batch_size: int = 32,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.embed = embed
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.max_file_bytes = max_file_bytes
        self.batch_size = batch_size

    # --- public ---------------------------------------------------------------

    def recover(self) -> None:
        """Roll back documents a crash left half-written, and drop orphans."""
        for doc, n_chunks in self.manifest.pending_docs():
            self.store.delete([chunk_id(doc, i) for i in range(n_chunks)])
            with self.manifest.transaction():
                self.manifest.drop_doc(doc)
        self._collect_garbage()

    def sync(self, roots: Sequence[Path], progress: Callable[[Progress], None] | None = None) -> IndexReport:
        report = IndexReport()
        self.recover()
        resolved = [_absolute(r) for r in roots]
        candidates: dict[str, Path] = {}
        for root in resolved:
            if not root.exists() and not self.manifest.files([str(root)]):
                raise RagkitError(f"path not found: {root}; check the spelling or that the drive is mounted")
            for path in _walk(root, report):
                candidates[str(path)] = path
        known = {row.path: row for row in self.manifest.files([str(r) for r in resolved])}
        gone = [row for p, row in known.items() if p not in candidates]

        total = len(candidates)
        for done, (key, path) in enumerate(sorted(candidates.items()), start=1):
            self._sync_file(key, path, known.get(key), gone, report)
            if progress:
                progress(Progress("index", done, total, report.embedded, key))

        for row in gone:
            with self.manifest.transaction():
                self.manifest.delete_file(row.path)
            report.removed += 1
        self._collect_garbage()
        counts = self.manifest.counts()
        report.files, report.chunks = counts["files"], counts["chunks"]
        if progress:
            progress(Progress("done", total, total, report.embedded))
        return report

    # --- one file ---------------------------------------------------------------

    def _sync_file(self, key: str, path: Path, row: FileRow | None, gone: list[FileRow], report: IndexReport) -> None:
        try:
            info = path.stat()
        except OSError as exc:
            self._fail(key, 0, 0, None, f"cannot read file: {exc.strerror or exc}", row, report)
            return
        if row and row.size == info.st_size and row.mtime_ns == info.st_mtime_ns:
            report.unchanged += 1
            return
        if info.st_size > self.max_file_bytes:
            limit = self.max_file_bytes / 1e6
            reason = (
                f"file is {info.st_size / 1e6:.0f} MB, over the {limit:.0f} MB limit; "
                "raise index.max_file_mb to index it"
            )
            self._fail(key, info.st_size, info.st_mtime_ns, None, reason, row, report)
            return
        try:
            digest = file_hash(path)
        except OSError as exc:
            self._fail(
                key, info.st_size, info.st_mtime_ns, None, f"cannot read file: {exc.strerror or exc}", row, report
            )
            return
        if row and row.hash == digest:
            with self.manifest.transaction():
                self.manifest.put_file(
                    FileRow(key, info.st_size, info.st_mtime_ns, digest, row.status, row.error, row.doc)
                )
            report.unchanged += 1
            return
        if self.manifest.doc_state(digest) == "ready":
            self._point(key, info, digest, row, gone, report)
            return
        try:
            prepared = prepare(path, self.tokenizer, self.max_tokens, self.overlap)
        except LoadError as exc:
            self._fail(key, info.st_size, info.st_mtime_ns, digest, str(exc), row, report)
            return
        self._write(key, info, prepared, report)
        if row:
            report.updated += 1
        else:
            report.added += 1

    def _point(
        self, key: str, info: os.stat_result, digest: str, row: FileRow | None, gone: list[FileRow], report: IndexReport
    ) -> None:
        """The content is already indexed (a rename, move or copy): point the file at it."""
        moved_from = next((g for g in gone if g.hash == digest), None)
        with self.manifest.transaction():
            if moved_from is not None:
                self.manifest.delete_file(moved_from.path)
            self.manifest.put_file(FileRow(key, info.st_size, info.st_mtime_ns, digest, "ok", None, digest))
        if moved_from is not None:
            gone.remove(moved_from)
            report.renamed += 1
        elif row:
            report.updated += 1
        else:
            report.added += 1

    def _write(self, key: str, info: os.stat_result, prepared: Prepared, report: IndexReport) -> None:
        doc, chunks = prepared.hash, prepared.chunks
        with self.manifest.transaction():
            self.manifest.add_pending_doc(doc, len(chunks), prepared.filetype)
        for i in range(0, len(chunks), self.batch_size):
            batch = chunks[i : i + self.batch_size]
            vectors = self.embed([c.text for c in batch])
            self.store.upsert([chunk_id(doc, c.ord) for c in batch], vectors, [doc] * len(batch))  # type: ignore[arg-type]
            report.embedded += len(batch)
        with self.manifest.transaction():
            self.manifest.mark_ready(doc, chunks)
            self.manifest.put_file(FileRow(key, info.st_size, info.st_mtime_ns, doc, "ok", None, doc))

    def _fail(
        self,
        key: str,
        size: int,
        mtime_ns: int,
        digest: str | None,
        reason: str,
        row: FileRow | None,
        report: IndexReport,
    ) -> None:
        with self.manifest.transaction():
            self.manifest.put_file(FileRow(key, size, mtime_ns, digest, "failed", reason, None))
        report.failed.append({"path": key, "reason": reason})

    def _collect_garbage(self) -> None:
        for doc, n_chunks in self.manifest.orphan_docs():
            self.store.delete([chunk_id(doc, i) for i in range(n_chunks)])
            with self.manifest.transaction():
                self.manifest.drop_doc(doc)


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path.expanduser()))


def _walk(root: Path, report: IndexReport) -> Iterator[Path]:
    """Files under ``root`` that ragkit can read; hidden files and folders are skipped."""
    extensions = supported_extensions()
    if root.is_file():
        yield root
        return
    if not root.is_dir():
        return
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(folder) / name
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            if not stat.S_ISREG(mode) and not stat.S_ISLNK(mode):
                continue
            if path.suffix.lower() in extensions:
                yield path
            else:
                report.skipped += 1
