"""The steps of an index run around the sync itself. Before it: the vectors of chunks indexed
before the manifest recorded them are copied in from Chroma. After it: what the ignore rules
left out is recorded, the saved searches are re-run, the new documents' entities are found,
and what documents indexed by an older ragkit lack is read again. A failure after the sync
is a warning on the run's report, never the run's failure: the files are indexed by then."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkit.core import paths
from ragkit.core.errors import ModelError, RagkitError
from ragkit.core.files import write_atomic
from ragkit.index.cluster import ClusterPool
from ragkit.index.embed import Embedder
from ragkit.index.onnxembed import OnnxEmbedder
from ragkit.index.parsepool import Pool
from ragkit.index.report import IndexReport
from ragkit.index.served import ServedEmbedder
from ragkit.index.sync import doc_info

if TYPE_CHECKING:
    from ragkit.investigate.entities import Entities
    from ragkit.investigate.searches import SavedSearches
    from ragkit.search.keywords import KeywordIndex
    from ragkit.storage.manifest import Manifest
    from ragkit.storage.vectors import ChromaStore

log = logging.getLogger(__name__)


def record_missing_vectors(manifest: Manifest, store: ChromaStore, page: int = 2_000) -> int:
    """Copy into the manifest the vectors of chunks indexed before the manifest recorded
    them (from Chroma), so searches can be exact. Returns how many were recorded."""
    recorded = 0
    while ids := manifest.ids_without_vectors(page):
        found = store.vectors(ids)
        with manifest.transaction():
            manifest.set_vectors(found)
        recorded += len(found)
        if len(found) < len(ids):
            lacking = len(ids) - len(found)
            log.warning("%d chunks have no vector in Chroma either; rebuild with: ragkit index --rebuild", lacking)
            return recorded
    return recorded


def record_ignored(index_path: Path, roots: Sequence[Path], report: IndexReport) -> None:
    """What the last full run of each root left out by a rule (``status --ignored``)."""
    path = paths.ignored_file(index_path)
    try:
        kept = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        kept = {}
    for root in roots:
        mine = str(Path(os.path.abspath(root)))
        kept[mine] = [i for i in report.ignored if str(i["path"]).startswith(mine.rstrip(os.sep) + os.sep)]
    write_atomic(path, json.dumps(kept))


def ignored(index_path: Path, manifest: Manifest) -> list[dict[str, Any]]:
    """Files and folders the rules left out in the last full run of each root still indexed."""
    try:
        kept = json.loads(paths.ignored_file(index_path).read_text("utf-8"))
    except (OSError, ValueError):
        return []
    return [item for root, items in sorted(kept.items()) if manifest.files([root]) for item in items]


def find_entities(
    entities: Entities, where: Path, report: IndexReport, stop: threading.Event | None, pool: Pool | None = None
) -> None:
    """Entities of the documents the run made searchable (and any left to do): after the
    run, so they never delay a file; what goes wrong is a warning, as the run succeeded.
    Names are found on the cluster when the run's ``pool`` is a cluster's."""
    if report.cancelled or not entities.settings.enabled:
        return
    try:
        on_cluster = None
        if isinstance(pool, ClusterPool) and (names := entities.names()) is not None:
            on_cluster = pool.name_pool(entities.settings.model, names.version)
        report.entities = entities.extract(stop, pool=on_cluster)
    except (RagkitError, sqlite3.Error, OSError) as exc:
        report.warnings.append({"path": str(where), "note": f"entities not found: {exc}"})


def backfill(manifest: Manifest, pool: Pool, report: IndexReport, stop: threading.Event | None = None) -> int:
    """Read again what documents indexed by an older ragkit lack, through the parse
    workers; nothing is embedded again: e-mails' thread headers (before schema 9), and
    documents' own dates and languages (before schema 6). A file that cannot be read now
    keeps its flag and is tried on the next run."""
    threads, about = dict(manifest.messages_due()), dict(manifest.about_due())
    due = sorted({**about, **threads}.items())
    if not due:
        return 0
    from ragkit.index.parsepool import ParseJob

    done = 0
    for result in pool.run([ParseJob(doc, Path(path)) for doc, path in due], stop=stop):
        doc = result.job.key
        if result.error or not result.about:
            what = "thread headers" if doc in threads else "its own date and language"
            report.warnings.append({"path": str(result.job.path), "note": f"{what} not read: {result.error}"})
            continue
        info = doc_info(dict(result.about))
        with manifest.transaction():
            if doc in threads:
                manifest.set_messages(doc, info.messages)
            if doc in about:
                manifest.set_about(doc, info)
        done += 1
    return done


def record_missing_signatures(manifest: Manifest, stop: threading.Event | None = None) -> int:
    """Record the MinHash of each document indexed before they were kept, read from its
    chunks (nothing parsed or embedded again), a hundred documents a transaction."""
    from ragkit.investigate import near
    from ragkit.storage.signatures import Signatures

    tables = Signatures(manifest)
    due = tables.missing()  # (not every MinHash: this runs after every index run, the watcher's too)
    for start in range(0, len(due), 100):
        if stop and stop.is_set():
            break
        tables.record({d: near.signature(near.document_text(tables.spans(d))) for d in due[start : start + 100]})
    return len(due)


def check_searches(searches: SavedSearches, keywords: KeywordIndex, report: IndexReport) -> None:
    """Re-run the saved searches now that files were added or changed (each over the whole
    index: a passage is news only if its text was never matched before); what goes wrong
    is a warning on the report, as the index run itself succeeded."""
    try:
        found = searches.check(keywords)
    except (RagkitError, sqlite3.Error, OSError) as exc:
        report.warnings.append({"path": str(searches.path), "note": f"saved searches not re-run: {exc}"})
        return
    report.new_matches = {name: n for name, n in found.items() if n}


_VECTORS = ("embedder", "embedder_fingerprint", "dim")  # what a stored vector depends on


def _described(was: str, now: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        before, after = json.loads(was), json.loads(now)
    except ValueError:
        return {}, {}
    return (before, after) if isinstance(before, dict) and isinstance(after, dict) else ({}, {})


def mismatch_reason(was: str, now: str) -> str:
    """Why an index is not what the settings make: made by an earlier ragkit (its chunker), or
    with other settings (what changed, from what to what)."""
    before, after = _described(was, now)
    changed = [k for k in after if before.get(k) != after[k]]
    if before and changed == ["chunker"]:
        return f"was made by an earlier ragkit (chunker {before.get('chunker')}; this one makes {after['chunker']})"
    if before and changed:
        differences = ", ".join(f"{k}: {before.get(k)} -> {after[k]}" for k in changed)
        return f"was built with other settings ({differences})"
    return f"was built with {was}, but the settings now give {now}"


def vectors_kept(was: str, now: str) -> bool:
    """Whether the vectors of an index made as ``was`` describes are those the settings ``now``
    give: only how documents are cut into chunks changed (the chunker, sizes, OCR). Such an
    index is searched as it is, and the next index run rebuilds it by itself."""
    before, after = _described(was, now)
    return bool(before) and all(before.get(k) == after.get(k) for k in _VECTORS)


def rebuild_due(manifest: Manifest, identity: Callable[[], tuple[str, str]]) -> str:
    """Why the next index run rebuilds the index by itself ("" if it does not, or cannot tell)."""
    try:
        digest, described = identity()
    except ModelError:  # an embeddings server away: its model's size is not known
        return ""
    stored, was = manifest.get_meta("identity"), manifest.get_meta("identity_desc") or ""
    if stored in (None, digest) or not vectors_kept(was, described):
        return ""
    return f"the index {mismatch_reason(was, described)}: the next index run rebuilds it"


def embedding_plan(
    documents: Embedder, queries: Embedder | None, query_note: str, onnx: Callable[[], OnnxEmbedder]
) -> dict[str, str]:
    """How documents and queries are embedded (see :meth:`Library.embedding_plan`)."""
    if isinstance(documents, ServedEmbedder):
        return {"documents": documents.described, "queries": documents.described}
    backend = "onnx" if isinstance(documents, OnnxEmbedder) else f"torch {documents.precision}"
    if queries is not None and not isinstance(queries, OnnxEmbedder):
        plan = query_note or f"{queries.name} (handed in)"
    elif (queries or onnx()).exported:
        plan = "onnx (exported)"
    else:
        plan = "onnx (exported at the next index run or search)"
    return {"documents": backend, "queries": plan}
