"""The one object every UI talks to: index, search, ask, status.

Build it with :func:`open_ragkit`; the CLI, the TUI and the tests all use that factory.
Heavy parts (Chroma, the embedder, the LLM) load on first use.
"""

from __future__ import annotations

import hashlib
import json
import os
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
from ragkit.conversation import Conversation, ConversationStore, Turn, hit_key
from ragkit.embed import SentenceTransformerEmbedder, model_fingerprint
from ragkit.errors import IndexMismatchError, RagkitError
from ragkit.indexer import Indexer, IndexReport, Progress
from ragkit.live import LiveSync, WatchState, WriterLock
from ragkit.llm import LLM, GenerationParams, StreamEvent
from ragkit.llm.guard import RepetitionGuard
from ragkit.manifest import Manifest
from ragkit.models import DEFAULT_CHAT, PROFILES, REGISTRY, Catalog, ModelRef, Profile, chat_header, guess_profile
from ragkit.prompt import Prompt, build_prompt
from ragkit.retrieve import Hit, Retriever
from ragkit.store import ChromaStore

NOT_FOUND = "Your documents do not seem to contain the answer to this question."
UNVERIFIED = (
    "Nothing in the model's answer could be found in your documents, so it is not shown as an answer; "
    "the closest sources are listed (the unverified draft is kept under 'draft')."
)


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
    draft: str = ""  # the model's text when none of it could be verified
    model_note: str = ""  # which model answered and why that one
    conversation: str = ""  # id of the conversation this answer belongs to
    new_sources: list[int] = field(default_factory=list)  # source numbers retrieved for this turn
    retrieval: dict[str, Any] = field(default_factory=dict)  # queries, filter, every hit with its score

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "reasoning": self.reasoning,
            "draft": self.draft,
            "model_note": self.model_note,
            "conversation": self.conversation,
            "usage": self.usage,
            "retrieval": self.retrieval,
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
        self._refs: dict[str, ModelRef] = {}
        self._pinned: LLM | None = None
        self._live: LiveSync | None = None  # a watcher running in this process (the TUI's)
        self._writer_lock = WriterLock(self.index_path / "writer.lock")
        self._writer_depth = 0
        self.watch_state = WatchState(settings.home / "watch.json")
        self.catalog = Catalog(settings.home)
        self.conversations = ConversationStore(settings.home / "conversations")

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
        self._live = LiveSync(self, roots, **options)
        return self._live

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        self._check_identity(write=False)
        retriever = Retriever(self.manifest, self.store, self.embedder.embed)
        return retriever.search(query, k or self.settings.retrieve.top_k)

    # --- models -------------------------------------------------------------------

    def model_ref(self, model: str | None = None) -> ModelRef:
        return self.catalog.resolve(model or self.settings.llm.model)

    def models(self) -> list[dict[str, Any]]:
        """Installed models, then the known ones not downloaded: name, installed, default,
        profile, path, source."""
        installed = self.catalog.installed()
        try:
            current: str | None = self.model_ref().name
        except RagkitError:
            current = None
        rows = [
            {"name": name, "installed": ref.path.is_file(), "default": name == current, "profile": ref.profile,
             "path": str(ref.path), "source": ref.source}
            for name, ref in installed.items()
        ]  # fmt: skip
        rows += [
            {"name": name, "installed": False, "default": False, "profile": known.profile, "path": None,
             "source": f"{known.repo} (~{known.size_mb} MB)"}
            for name, known in REGISTRY.items()
            if name not in installed
        ]  # fmt: skip
        return rows

    def set_llm(self, llm: LLM | None) -> None:
        """Answer with this model object instead of one from the settings (for programs that
        embed ragkit with their own backend; ``None`` goes back to the settings)."""
        self._pinned = llm

    def model_note(self, model: str | None = None) -> str:
        """Which model answers, and why that one (the output always says)."""
        cfg = self.settings.llm
        if self._pinned is not None:
            return f"{self._pinned.name} (set by the program)"
        if cfg.backend == "openai":
            return f"served by {cfg.url}"
        ref = self.model_ref(model)
        if model or cfg.model:
            return f"{ref.name} (chosen in {'the command' if model else 'the config'})"
        if ref.packaged:
            return f"{ref.name}, the packaged default; for better answers: ragkit model pull {DEFAULT_CHAT}"
        return f"{ref.name}, the default"

    def profile(self, llm: LLM) -> Profile:
        ref = self._refs.get(llm.name)
        if ref is not None:
            return self.profile_of(ref.profile)
        return self.profile_of("r1" if llm.reasons else guess_profile(llm.name))

    def profile_of(self, guessed: str) -> Profile:
        """The profile the settings give (``llm.profile``), or else the model's own."""
        chosen = self.settings.llm.profile
        return PROFILES[guessed if chosen == "auto" else chosen]

    def generation_params(self, llm: LLM | Profile) -> GenerationParams:
        """Sampling for a model (or a profile): the profile's defaults under the settings."""
        cfg = self.settings.llm
        profile = llm if isinstance(llm, Profile) else self.profile(llm)
        return GenerationParams(
            max_tokens=cfg.max_tokens,
            temperature=profile.temperature if cfg.temperature is None else cfg.temperature,
            top_p=profile.top_p if cfg.top_p is None else cfg.top_p,
            repeat_penalty=cfg.repeat_penalty,
            seed=cfg.seed,
            start_in_think=profile.start_in_think,
            reasoning_budget=cfg.reasoning_tokens if profile.start_in_think else None,
        )

    def llm(self, model: str | None = None) -> LLM:
        """The chat model, loaded once and kept (its prompt cache with it)."""
        cfg = self.settings.llm
        if self._pinned is not None:
            return self._pinned
        if cfg.backend == "openai":
            from ragkit.llm.openai_compat import OpenAICompatLLM

            if not cfg.url:
                raise RagkitError(
                    "llm.backend is 'openai' but llm.url is not set; e.g. RAGKIT_LLM__URL=http://127.0.0.1:8080"
                )
            key = f"openai:{cfg.url}:{model or cfg.model}"
            with self._lock:
                if key not in self._llms:
                    self._llms[key] = OpenAICompatLLM(cfg.url, model or cfg.model, n_ctx=cfg.n_ctx, api_key=cfg.api_key)
                return self._llms[key]
        from ragkit.llm.llamacpp import LlamaCppLLM

        ref = self.model_ref(model)
        with self._lock:
            if ref.name not in self._llms:
                chat_header(ref.path)  # a cut-short, corrupt or base-model file: refused with the reason
                self._llms[ref.name] = LlamaCppLLM(
                    ref.path, n_ctx=cfg.n_ctx, n_gpu_layers=cfg.n_gpu_layers, n_threads=cfg.n_threads,
                    seed=cfg.seed, name=ref.name, prompt_cache=cfg.prompt_cache,
                )  # fmt: skip
                self._refs[ref.name] = ref
            return self._llms[ref.name]

    # --- questions ------------------------------------------------------------------

    def retrieval_queries(self, question: str, conversation: Conversation | None = None) -> list[str]:
        """The queries a question is searched with: itself, and for a follow-up also joined
        with the question before it, so "and what about its size?" finds the right documents."""
        if conversation and conversation.turns:
            return [question, f"{conversation.turns[-1].question} {question}"]
        return [question]

    def retrieve_for(self, question: str, conversation: Conversation | None = None) -> list[Hit]:
        """Passages for a question (see :meth:`retrieval_queries`), best first."""
        hits = self.search(question)
        if conversation and conversation.turns:
            earlier = conversation.turns[-1].question
            best = {hit_key(h): h for h in hits}
            for hit in self.search(f"{earlier} {question}"):
                if hit_key(hit) not in best or best[hit_key(hit)].score < hit.score:
                    best[hit_key(hit)] = hit
            hits = sorted(best.values(), key=lambda h: h.score, reverse=True)[: self.settings.retrieve.top_k]
        return hits

    def ask_stream(
        self, question: str, model: str | None = None, conversation: Conversation | None = None
    ) -> Iterator[StreamEvent | Answer]:
        """Yield reasoning/text events as the model writes, then the final :class:`Answer`.
        With a ``conversation``, the question is a follow-up and the turn is added to it."""
        if self.manifest.counts()["chunks"] == 0:
            raise RagkitError("nothing is indexed yet; add documents with: ragkit index PATH (or ask with --docs PATH)")
        hits = self.retrieve_for(question, conversation)
        relevant = [h for h in hits if h.score >= self.settings.retrieve.min_score]
        note = self.model_note(model)
        retrieval = {
            "queries": self.retrieval_queries(question, conversation),
            "min_score": self.settings.retrieve.min_score,
            "top_k": self.settings.retrieve.top_k,
            "hits": [dict(h.as_dict(), kept=h.score >= self.settings.retrieve.min_score) for h in hits],
        }
        if not relevant:  # no model call, so no model load either
            remote = self.settings.llm.backend == "openai"
            if self._pinned is not None:
                name = self._pinned.name
            else:
                name = (self.settings.llm.model or "") if remote else self.model_ref(model).name
            yield StreamEvent("text", NOT_FOUND)
            notice = "No passage was close enough to the question; the closest ones are listed."
            empty = Answer(question, NOT_FOUND, "", name, hits[:3], Attribution(by="none"), False, notice)
            empty.model_note, empty.retrieval = note, retrieval
            self._commit(conversation, empty, None)
            yield empty
            return
        llm = self.llm(model)
        cfg = self.settings.llm
        params = self.generation_params(llm)
        reserve = cfg.max_tokens + (params.reasoning_budget or 0) + 16
        prompt = build_prompt(question, relevant, llm.count_tokens, llm.n_ctx - reserve, conversation)
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
        result = Answer(
            question, text, "".join(reasoning).strip(), llm.name, prompt.sources, attribution, grounded, "", usage,
            model_note=note, new_sources=list(prompt.new_sources or []), retrieval=retrieval,
        )  # fmt: skip
        if not grounded:
            # say plainly that the documents do not hold it; keep the model's text as a draft
            result.answer, result.draft = NOT_FOUND, text
            result.notice = UNVERIFIED if text else "The model gave no answer; the closest sources are listed."
        self._commit(conversation, result, prompt)
        yield result

    def _commit(self, conversation: Conversation | None, answer: Answer, prompt: Prompt | None) -> None:
        if conversation is None:
            return
        if prompt is not None:
            if prompt.condensed is not None:
                conversation.condensed = prompt.condensed
                conversation.context_start = len(conversation.turns)
            conversation.sources = list(prompt.sources)
        conversation.turns.append(
            Turn(
                question=answer.question,
                answer=answer.answer,
                reasoning=answer.reasoning,
                model=answer.model,
                new_sources=list(prompt.new_sources or []) if prompt else [],
                reused_sources=list(prompt.reused_sources or []) if prompt else [],
                grounded=answer.grounded,
                result=answer.as_dict(),
            )
        )
        if not conversation.title:
            conversation.title = answer.question.strip()[:80]
        answer.conversation = conversation.id

    def ask(self, question: str, model: str | None = None, conversation: Conversation | None = None) -> Answer:
        result = None
        for item in self.ask_stream(question, model, conversation):
            if isinstance(item, Answer):
                result = item
        assert result is not None
        return result

    def passage(self, path: str, page: int | None, start: int, end: int, context: int = 400) -> dict[str, Any]:
        """The cited span in its context: ``{"before", "span", "after", "page"}`` read from the
        file itself, so the user sees exactly what the offsets point at."""
        from ingest import LoadError, load

        try:
            sections = load(Path(path))
        except (LoadError, OSError) as exc:
            raise RagkitError(f"cannot read {path} ({exc}); was it moved or deleted?") from exc
        text = "".join(s.text for s in sections if s.page == page) if page is not None else None
        if text is None:
            text = sections[0].text if len(sections) == 1 else "".join(s.text for s in sections)
        if end > len(text):
            raise RagkitError(f"{path} changed since it was indexed; the citation no longer matches it")
        lo, hi = max(0, start - context), min(len(text), end + context)
        return {"before": text[lo:start], "span": text[start:end], "after": text[end:hi], "page": page, "path": path}

    def open_file(self, path: str, page: int | None = None) -> list[str]:
        """Open a document in the system viewer (``RAGKIT_VIEWER`` overrides it, with
        ``{path}`` and ``{page}`` placeholders). Returns the command that was started."""
        import shlex
        import shutil
        import subprocess
        import sys

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

    def status(self) -> dict[str, Any]:
        counts = self.manifest.counts()
        return {
            **counts,
            "index_path": str(self.index_path),
            "embedder": self.settings.embed.model,
            "failures": self.manifest.failures(),
            "warnings": self.manifest.warnings(),
            "watcher": self._watcher_state(),
            "folders": [str(f) for f in self.settings.watch.folders],
        }

    def _watcher_state(self) -> dict[str, Any]:
        live = self._live
        if live is not None and live.watcher is not None and not live.stop_event.is_set():
            roots = [str(r) for r in live.roots]
            queue, last = live.watcher.queued, live.last_sync
            return {"live": True, "pid": os.getpid(), "roots": roots, "queue": queue, "last_sync": last, "here": True}
        return self.watch_state.read(self._writer_lock)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
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
