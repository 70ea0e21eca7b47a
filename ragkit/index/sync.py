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
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ingest import Chunk, embedding_text, supported_extensions
from ingest.scan import scan, symlink_target
from ragkit.core.errors import RagkitError
from ragkit.core.faults import kill_point
from ragkit.index.embed import like_length
from ragkit.index.parsepool import ParseJob, ParsePool, ParseResult, Pool
from ragkit.index.report import IndexReport, Progress
from ragkit.investigate import near
from ragkit.storage.manifest import Manifest
from ragkit.storage.rows import DocInfo, FileRow, chunk_id
from ragkit.storage.vectors import VectorStore

_HASH_BLOCK = 1 << 20
_EMBED_SLICE = 8  # chunks per embedder call: as fast as larger calls on a CPU, and quick to stop


def doc_info(about: dict[str, Any] | None) -> DocInfo:
    """The parse worker's account of a document, for the manifest: its date in nanoseconds
    (a date without a zone is taken as local time), its source and language."""
    if not about:
        return DocInfo()
    when, date_ns = about.get("date"), None
    if when:
        try:
            date_ns = int(datetime.fromisoformat(when).timestamp() * 1e9)
        except (ValueError, OverflowError, OSError):
            date_ns = None
    messages = tuple((int(offset), dict(m)) for offset, m in about.get("messages") or ())
    return DocInfo(date_ns, str(about.get("date_source") or "") if date_ns else "", about.get("lang"), messages)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class _Todo:
    """A file whose content must be parsed and embedded."""

    key: str
    path: Path
    info: os.stat_result
    digest: str
    row: FileRow | None
    link: str | None = None  # a symlink's target (the scan checked where it leads)
    chunks: list[Chunk] = field(default_factory=list)
    notes: tuple[str, ...] = ()
    about: DocInfo | None = None
    embedded: int = 0
    vectors: dict[int, bytes] = field(default_factory=dict)  # by chunk ordinal, recorded with the chunks


class Indexer:
    """Keeps one manifest and one vector store in step with files on disk.

    Parsing runs in worker processes while the embedder works on earlier files; chunks
    of several small files share one embedding batch.
    """

    def __init__(
        self,
        manifest: Manifest,
        store: VectorStore,
        embed: Callable[[Sequence[str]], Any],
        tokenizer_dir: Path,
        max_tokens: int,
        overlap: int,
        max_file_bytes: int,
        batch_size: int = 32,
        parse_timeout_s: float = 120.0,
        parse_workers: int = 1,
        ocr: bool = False,
        fences: Callable[[], Sequence[Path]] = list,
        pool: Pool | None = None,
    ) -> None:
        self.manifest = manifest
        self.fences = fences  # folders no symlink may lead out of (the collections), read at each run
        self.store = store
        self.embed = embed
        self.max_file_bytes = max_file_bytes
        self.batch_size = batch_size
        self.pool: Pool = pool or ParsePool(  # a cluster's pool (index.cluster) embeds too
            tokenizer_dir, max_tokens, overlap, workers=parse_workers, timeout_s=parse_timeout_s, ocr=ocr
        )

    # --- public ---------------------------------------------------------------

    def recover(self) -> None:
        """Roll back documents a crash left half-written, and drop orphans."""
        for doc, n_chunks in self.manifest.pending_docs():
            self.store.delete([chunk_id(doc, i) for i in range(n_chunks)])
            with self.manifest.transaction():
                self.manifest.drop_doc(doc)
        self._collect_garbage()

    def sync(
        self,
        roots: Sequence[Path],
        progress: Callable[[Progress], None] | None = None,
        strict: bool = True,
        stop: threading.Event | None = None,
        within: Sequence[Path] = (),
    ) -> IndexReport:
        """Make the index match the files under ``roots``. A missing root is an error when
        ``strict`` (unless it was indexed before: then its files are removed). Setting
        ``stop`` ends the run at the next file or batch: what was committed stays, half-written
        documents are rolled back, and the report says ``cancelled``. ``within``: the folders
        whose ``.ragignore`` rules apply, when ``roots`` are changed paths inside them."""
        report = IndexReport()
        stop = stop or threading.Event()
        self.recover()
        resolved = [_absolute(r) for r in roots]
        for root in resolved:
            if strict and not root.exists() and not self.manifest.files([str(root)]):
                raise RagkitError(f"path not found: {root}; check the spelling or that the drive is mounted")
        found = scan(resolved, supported_extensions(), [_absolute(w) for w in within], self.fences())
        report.skipped = len(found.unsupported) + len(found.outside_links)
        report.ignored = [{"path": str(p), "rule": why, "files": n} for p, why, n in found.ignored]
        candidates = {str(p): p for p in found.files}
        known = {row.path: row for row in self.manifest.files([str(r) for r in resolved])}
        gone = {p: row for p, row in known.items() if p not in candidates}
        total = len(candidates)
        tick = _Ticker(progress, total, report)

        todo: list[_Todo] = []
        waiting: dict[str, list[_Todo]] = {}  # same content at several new paths: embed once
        for key, path in sorted(candidates.items()):
            if stop.is_set():
                return self._cancelled(report)
            item = self._classify(key, path, known.get(key), gone, report)
            if item is None:
                tick(key)
            elif item.digest in waiting:
                waiting[item.digest].append(item)
            else:
                waiting[item.digest] = []
                todo.append(item)

        self._parse_and_embed(todo, waiting, report, tick, stop)
        if stop.is_set():
            return self._cancelled(report)

        for row in gone.values():
            with self.manifest.transaction():
                self.manifest.delete_file(row.path)
            report.removed += 1
        self._collect_garbage()
        counts = self.manifest.counts()
        report.files, report.chunks = counts["files"], counts["chunks"]
        if progress:
            progress(Progress("done", total, total, report.embedded))
        return report

    def _cancelled(self, report: IndexReport) -> IndexReport:
        self.recover()  # documents whose vectors were written but not committed
        report.cancelled = True
        counts = self.manifest.counts()
        report.files, report.chunks = counts["files"], counts["chunks"]
        return report

    # --- classification ----------------------------------------------------------

    def _classify(
        self, key: str, path: Path, row: FileRow | None, gone: dict[str, FileRow], report: IndexReport
    ) -> _Todo | None:
        """Settle a file that needs no parsing, or return it as work to do."""
        try:
            link = symlink_target(path)  # a file swapped for a link, or a link re-pointed, is a change
            info = path.stat()
        except OSError as exc:
            self._fail(key, 0, 0, None, f"cannot read file: {exc.strerror or exc}", report)
            return None
        if row and row.size == info.st_size and row.mtime_ns == info.st_mtime_ns and row.link == link:
            report.unchanged += 1
            return None
        if info.st_size > self.max_file_bytes:
            reason = (
                f"file is {info.st_size / 1e6:.0f} MB, over the {self.max_file_bytes / 1e6:.0f} MB limit; "
                "raise index.max_file_mb to index it"
            )
            self._fail(key, info.st_size, info.st_mtime_ns, None, reason, report, link)
            return None
        try:
            digest = file_hash(path)
        except OSError as exc:
            why = f"cannot read file: {exc.strerror or exc}"
            self._fail(key, info.st_size, info.st_mtime_ns, None, why, report, link)
            return None
        if row and row.hash == digest:  # touched, not changed
            with self.manifest.transaction():
                self.manifest.put_file(replace(row, size=info.st_size, mtime_ns=info.st_mtime_ns, link=link))
            report.unchanged += 1
            return None
        if self.manifest.doc_state(digest) == "ready":
            self._point(key, info, digest, row, gone, report, link)
            return None
        return _Todo(key, path, info, digest, row, link)

    def _point(
        self,
        key: str,
        info: os.stat_result,
        digest: str,
        row: FileRow | None,
        gone: dict[str, FileRow],
        report: IndexReport,
        link: str | None,
    ) -> None:
        """The content is indexed already (a rename, move or copy): point the file at it."""
        moved_from = next((g for g in gone.values() if g.hash == digest and g.status == "ok"), None)
        with self.manifest.transaction():
            if moved_from is not None:
                self.manifest.delete_file(moved_from.path)
                kill_point("rename")
            self.manifest.put_file(FileRow(key, info.st_size, info.st_mtime_ns, digest, "ok", None, digest, link=link))
        if moved_from is not None:
            del gone[moved_from.path]
            report.renamed += 1
        elif row:
            report.updated += 1
        else:
            report.added += 1

    # --- parsing and embedding ------------------------------------------------------

    def _parse_and_embed(
        self,
        todo: list[_Todo],
        waiting: dict[str, list[_Todo]],
        report: IndexReport,
        tick: _Ticker,
        stop: threading.Event,
    ) -> None:
        if not todo:
            return
        by_key = {item.key: item for item in todo}
        open_docs: list[_Todo] = []  # parsed, some chunks not yet embedded
        queue: list[tuple[_Todo, Chunk]] = []
        for result in self.pool.run([ParseJob(item.key, item.path) for item in todo], stop=stop):
            if stop.is_set():
                return
            item = by_key[result.job.key]
            if result.chunks is None:
                for failed in (item, *waiting.pop(item.digest, [])):
                    info = failed.info
                    error = result.error or ""
                    self._fail(failed.key, info.st_size, info.st_mtime_ns, failed.digest, error, report, failed.link)
                    tick(failed.key)
                continue
            item.chunks = result.chunks
            item.notes = result.notes
            item.about = doc_info(result.about)
            with self.manifest.transaction():
                filetype = item.path.suffix.lower().lstrip(".")
                self.manifest.add_pending_doc(item.digest, len(item.chunks), filetype, item.about)
            if result.vectors is not None:  # embedded where it was parsed (a cluster's worker)
                self._take_vectors(item, result, waiting.pop(item.digest, []), report)
                tick(item.key, result.worker)
                continue
            open_docs.append(item)
            queue.extend((item, chunk) for chunk in item.chunks)
            while len(queue) >= self.batch_size and not stop.is_set():
                queue = self._embed_batch(queue, open_docs, waiting, report, tick, stop)
        while queue and not stop.is_set():
            queue = self._embed_batch(queue, open_docs, waiting, report, tick, stop)

    def _embed_batch(
        self,
        queue: list[tuple[_Todo, Chunk]],
        open_docs: list[_Todo],
        waiting: dict[str, list[_Todo]],
        report: IndexReport,
        tick: _Ticker,
        stop: threading.Event,
    ) -> list[tuple[_Todo, Chunk]]:
        batch, rest = queue[: self.batch_size], queue[self.batch_size :]
        texts = [embedding_text(chunk) for _, chunk in batch]
        vectors = np.empty((len(texts), 0), dtype=np.float32)
        for chosen in like_length(texts, _EMBED_SLICE):  # a stop is seen within one slice, not one batch
            if stop.is_set():
                return queue  # abandoned before anything of this batch was written
            part = self.embed([texts[j] for j in chosen])
            if not vectors.shape[1]:
                vectors = np.empty((len(texts), part.shape[1]), dtype=np.float32)
            vectors[chosen] = part
        self.store.upsert(
            [chunk_id(item.digest, chunk.ord) for item, chunk in batch], vectors, [item.digest for item, _ in batch]
        )
        kill_point("after-vector-write")
        report.embedded += len(batch)
        for (item, chunk), vector in zip(batch, vectors, strict=True):
            item.embedded += 1
            item.vectors[chunk.ord] = vector.astype(np.float32).tobytes()
        for n, item in enumerate([d for d in open_docs if d.embedded == len(d.chunks)]):
            if n:
                kill_point("mid-batch")
            open_docs.remove(item)
            self._commit(item, waiting.pop(item.digest, []), report)
            tick(item.key)
        return rest

    def _take_vectors(self, item: _Todo, result: ParseResult, twins: list[_Todo], report: IndexReport) -> None:
        """Record a file embedded elsewhere in the same steps as one embedded here."""
        vectors = result.vectors  # one per chunk (the pool checked)
        self.store.upsert([chunk_id(item.digest, c.ord) for c in item.chunks], vectors, [item.digest] * len(vectors))
        kill_point("after-vector-write")
        report.embedded += len(item.chunks)
        item.vectors = {c.ord: v.tobytes() for c, v in zip(item.chunks, vectors, strict=True)}
        self._commit(item, twins, report)

    def _commit(self, item: _Todo, twins: list[_Todo], report: IndexReport) -> None:
        """One transaction: the chunks, the document made ready, and every file pointing at it."""
        minhash = near.signature(near.document_text((c.start, c.end, c.text) for c in item.chunks))
        with self.manifest.transaction():
            self.manifest.mark_ready(item.digest, item.chunks, item.vectors, minhash)
            for f in (item, *twins):
                note = "; ".join(item.notes) or None
                self.manifest.put_file(
                    FileRow(f.key, f.info.st_size, f.info.st_mtime_ns, f.digest, "ok", None, item.digest, note, f.link)
                )
                if note:
                    report.warnings.append({"path": f.key, "note": note})
            kill_point("before-manifest-commit")
        item.vectors = {}  # recorded: no need to hold them for the rest of the run
        for f in (item, *twins):
            if f.row:
                report.updated += 1
            else:
                report.added += 1

    def _fail(
        self,
        key: str,
        size: int,
        mtime_ns: int,
        digest: str | None,
        reason: str,
        report: IndexReport,
        link: str | None = None,
    ) -> None:
        with self.manifest.transaction():
            self.manifest.put_file(FileRow(key, size, mtime_ns, digest, "failed", reason, None, link=link))
        report.failed.append({"path": key, "reason": reason})

    def _collect_garbage(self) -> None:
        for doc, n_chunks in self.manifest.orphan_docs():
            self.store.delete([chunk_id(doc, i) for i in range(n_chunks)])
            kill_point("after-vector-delete")
            with self.manifest.transaction():
                self.manifest.drop_doc(doc)


class _Ticker:
    def __init__(self, progress: Callable[[Progress], None] | None, total: int, report: IndexReport) -> None:
        self.progress = progress
        self.total = total
        self.report = report
        self.done = 0

    def __call__(self, key: str, worker: str = "") -> None:
        self.done += 1
        if worker:  # files done by each of a cluster's workers
            self.report.workers[worker] = self.report.workers.get(worker, 0) + 1
        if self.progress:
            workers = tuple(self.report.workers.items())
            self.progress(Progress("index", self.done, self.total, self.report.embedded, key, workers))


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path.expanduser()))
