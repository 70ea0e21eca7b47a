"""The one object every UI talks to: index, search, ask, status.

Build it with :func:`open_ragkit`; the CLI, the TUI and the tests all use that factory.
Heavy parts (Chroma, the embedder, the LLM) load on first use.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest import CHUNKER_VERSION
from ragkit import paths
from ragkit.attribution import Attribution, attribute
from ragkit.config import Settings, load_settings
from ragkit.embed import SentenceTransformerEmbedder, model_fingerprint
from ragkit.errors import IndexMismatchError, RagkitError
from ragkit.indexer import Indexer, IndexReport, Progress
from ragkit.live import LiveSync, WatchState, WriterLock
from ragkit.llm import LLM, GenerationParams, StreamEvent
from ragkit.llm.guard import RepetitionGuard
from ragkit.manifest import Manifest
from ragkit.models import resolve_chat_model
from ragkit.prompt import build_prompt
from ragkit.retrieve import Hit, Retriever
from ragkit.store import ChromaStore

NOT_FOUND = "Your documents do not seem to contain the answer to this question."


@dataclass
class Answer:
    question: str
    answer: str
    reasoning: str
    model: str
    sources: list[Hit]
    attribution: Attribution
    grounded: bool
    notice: str = ""
    usage: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "reasoning": self.reasoning,
            "citations": [c.as_dict() for c in self.attribution.citations],
            "model": self.model,
            "grounded": self.grounded,
            "notice": self.notice,
            "by": self.attribution.by,
            "sources": [dict(h.as_dict(), n=n) for n, h in enumerate(self.sources, start=1)],
            "unsupported": [s.text for s in self.attribution.sentences if not s.supported],
        }


class Ragkit:
    def __init__(self, settings: Settings, embedder: SentenceTransformerEmbedder | None = None) -> None:
        self.settings = settings
        self.index_path = paths.index_dir(settings.home)
        self._lock = threading.RLock()  # short: lazy loading of parts
        self._index_lock = threading.Lock()  # long: one index run at a time
        self._indexer: Indexer | None = None
        self._embedder = embedder
        self._manifest: Manifest | None = None
        self._store: ChromaStore | None = None
        self._llms: dict[str, LLM] = {}
        self._writer_lock = WriterLock(self.index_path / "writer.lock")
        self._writer_depth = 0
        self.watch_state = WatchState(settings.home / "watch.json")

    # --- parts, loaded on first use ------------------------------------------------

    @property
    def embedder(self) -> SentenceTransformerEmbedder:
        if self._embedder is not None:
            return self._embedder
        with self._lock:
            if self._embedder is None:
                self._embedder = SentenceTransformerEmbedder(self.settings.embed.model, self.settings.embed.batch_size)
            return self._embedder

    @property
    def manifest(self) -> Manifest:
        if self._manifest is not None:
            return self._manifest
        with self._lock:
            if self._manifest is None:
                self._manifest = Manifest(self.index_path / "manifest.sqlite")
            return self._manifest

    @property
    def store(self) -> ChromaStore:
        if self._store is not None:
            return self._store
        with self._lock:
            if self._store is None:
                self._store = ChromaStore(self.index_path / "chroma")
            return self._store

    def max_chunk_tokens(self) -> int:
        window = self.embedder.tokenizer.max_content_tokens
        wanted = self.settings.chunk.max_tokens
        return min(window, wanted) if wanted else window

    def identity(self) -> tuple[str, str]:
        """Hash and description of everything that shapes the index."""
        described = {
            "embedder": self.embedder.name,
            "embedder_fingerprint": model_fingerprint(self.embedder.model_dir),
            "dim": self.embedder.dim,
            "chunker": CHUNKER_VERSION,
            "chunk_tokens": self.max_chunk_tokens(),
            "overlap": self.settings.chunk.overlap,
            "ocr": self.settings.index.ocr,
        }
        text = json.dumps(described, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16], text

    def _check_identity(self, rebuild: bool = False, write: bool = True) -> None:
        """Refuse to mix an index built with other settings; ``rebuild`` starts afresh."""
        digest, described = self.identity()
        stored = self.manifest.get_meta("identity")
        if rebuild:
            self.store.clear()
            self.manifest.clear()
        elif stored is not None and stored != digest:
            was = self.manifest.get_meta("identity_desc") or "other settings"
            raise IndexMismatchError(
                f"the index at {self.index_path} was built with {was}, but the settings now give {described}; "
                "rebuild it with: ragkit index --rebuild PATH..."
            )
        if write and (rebuild or stored != digest):
            with self.manifest.transaction():
                self.manifest.set_meta("identity", digest)
                self.manifest.set_meta("identity_desc", described)

    def indexer(self) -> Indexer:
        """The indexer, kept between runs so its parse workers stay warm."""
        if self._indexer is None:
            self._indexer = self._make_indexer()
        return self._indexer

    def _make_indexer(self) -> Indexer:
        return Indexer(
            manifest=self.manifest,
            store=self.store,
            embed=self.embedder.embed,
            tokenizer_dir=self.embedder.model_dir,
            max_tokens=self.max_chunk_tokens(),
            overlap=self.settings.chunk.overlap,
            max_file_bytes=int(self.settings.index.max_file_mb * 1e6),
            batch_size=self.settings.embed.batch_size,
            parse_timeout_s=self.settings.index.parse_timeout_s,
            parse_workers=self.settings.index.parse_workers,
            ocr=self.settings.index.ocr,
        )

    # --- operations -------------------------------------------------------------

    @contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the index's writer lock (re-entrant within this process)."""
        with self._lock:
            if self._writer_depth == 0:
                self._writer_lock.acquire()
            self._writer_depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._writer_depth -= 1
                if self._writer_depth == 0:
                    self._writer_lock.release()

    def index(
        self,
        roots: Sequence[Path],
        rebuild: bool = False,
        progress: Callable[[Progress], None] | None = None,
        strict: bool = True,
    ) -> IndexReport:
        with self._index_lock, self.writer():  # searches never wait on this lock
            self._check_identity(rebuild)
            return self.indexer().sync(list(roots), progress, strict)

    def live_sync(self, roots: Sequence[Path], **options: Any) -> LiveSync:
        """A watcher for ``roots`` (run it with ``.run()``, in a thread for a UI)."""
        cfg = self.settings.watch
        options = {"poll": cfg.poll, "debounce_s": cfg.debounce_s, "rescan_s": cfg.rescan_s, **options}
        return LiveSync(self, roots, **options)

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        self._check_identity(write=False)
        retriever = Retriever(self.manifest, self.store, self.embedder.embed)
        return retriever.search(query, k or self.settings.retrieve.top_k)

    def llm(self, model: str | None = None) -> LLM:
        from ragkit.llm.llamacpp import LlamaCppLLM

        ref = resolve_chat_model(model or self.settings.llm.model)
        with self._lock:
            if ref.name not in self._llms:
                cfg = self.settings.llm
                self._llms[ref.name] = LlamaCppLLM(
                    ref.path, n_ctx=cfg.n_ctx, n_gpu_layers=cfg.n_gpu_layers, n_threads=cfg.n_threads,
                    seed=cfg.seed, name=ref.name,
                )  # fmt: skip
            return self._llms[ref.name]

    def ask_stream(self, question: str, model: str | None = None) -> Iterator[StreamEvent | Answer]:
        """Yield reasoning/text events as the model writes, then the final :class:`Answer`."""
        if self.manifest.counts()["chunks"] == 0:
            raise RagkitError("nothing is indexed yet; add documents with: ragkit index PATH (or ask with --docs PATH)")
        hits = self.search(question)
        relevant = [h for h in hits if h.score >= self.settings.retrieve.min_score]
        if not relevant:  # no model call, so no model load either
            name = resolve_chat_model(model or self.settings.llm.model).name
            yield StreamEvent("text", NOT_FOUND)
            notice = "No passage was close enough to the question; the closest ones are listed."
            yield Answer(question, NOT_FOUND, "", name, hits[:3], Attribution(by="none"), False, notice)
            return
        llm = self.llm(model)
        cfg = self.settings.llm
        budget = llm.n_ctx - cfg.max_tokens - 16
        prompt = build_prompt(question, relevant, llm.count_tokens, budget)
        params = GenerationParams(
            max_tokens=cfg.max_tokens, temperature=cfg.temperature, top_p=cfg.top_p,
            repeat_penalty=cfg.repeat_penalty, seed=cfg.seed,
        )  # fmt: skip
        guard = RepetitionGuard()
        answer, reasoning, usage = [], [], {"prompt_tokens": prompt.tokens}
        stream = llm.stream(prompt.messages, params)
        try:
            for event in stream:
                if event.type == "reasoning":
                    reasoning.append(event.chunk)
                    yield event
                elif event.type == "text":
                    shown = guard.feed(event.chunk)
                    if shown:
                        answer.append(shown)
                        yield StreamEvent("text", shown)
                    if guard.stopped:
                        break
                else:
                    usage.update(event.usage)
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()
        tail = guard.flush()
        if tail:
            answer.append(tail)
            yield StreamEvent("text", tail)
        text = "".join(answer).strip()
        attribution = attribute(text, prompt.sources)
        grounded = attribution.any_verified
        notice = (
            ""
            if grounded
            else "No sentence of this answer could be matched to your documents; check the sources below."
        )
        yield Answer(
            question, text, "".join(reasoning).strip(), llm.name, prompt.sources, attribution, grounded, notice, usage
        )

    def ask(self, question: str, model: str | None = None) -> Answer:
        result = None
        for item in self.ask_stream(question, model):
            if isinstance(item, Answer):
                result = item
        assert result is not None
        return result

    def status(self) -> dict[str, Any]:
        counts = self.manifest.counts()
        return {
            **counts,
            "index_path": str(self.index_path),
            "embedder": self.settings.embed.model,
            "failures": self.manifest.failures(),
            "warnings": self.manifest.warnings(),
            "watcher": self.watch_state.read(self._writer_lock),
        }

    def close(self) -> None:
        with self._lock:
            if self._indexer is not None:
                self._indexer.pool.close()
                self._indexer = None
            if self._manifest is not None:
                self._manifest.close()
                self._manifest = None
            self._llms.clear()


def open_ragkit(
    settings: Settings | None = None, embedder: SentenceTransformerEmbedder | None = None, **overrides: Any
) -> Ragkit:
    """The factory the CLI, the TUI and the tests share. An already loaded ``embedder`` may
    be passed in to share it between instances."""
    return Ragkit(settings or load_settings(**overrides), embedder)
