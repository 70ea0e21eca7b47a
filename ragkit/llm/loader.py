"""Which chat model answers, with which sampling, and loading it once.

A model is loaded outside every lock the index uses: loading takes seconds, and a watcher
waiting for the writer lock must never wait on it. Two threads asking for the same model at
once load it once (a per-model lock).
"""

from __future__ import annotations

import threading
from typing import Any

from ragkit.core.config import Settings
from ragkit.core.errors import RagkitError
from ragkit.llm import LLM, GenerationParams
from ragkit.llm.catalog import DEFAULT_CHAT, PROFILES, REGISTRY, Catalog, ModelRef, Profile, chat_header, guess_profile


class ChatModels:
    """The catalog of models, the choice among them and the loaded models."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.catalog = Catalog(settings.home)
        self._llms: dict[str, LLM] = {}
        self._refs: dict[str, ModelRef] = {}
        self._pinned: LLM | None = None
        self._guard = threading.Lock()  # held for dictionary look-ups only, never for a load
        self._loading: dict[str, threading.Lock] = {}

    def ref(self, model: str | None = None) -> ModelRef:
        return self.catalog.resolve(model or self.settings.llm.model)

    def listing(self) -> list[dict[str, Any]]:
        """Installed models, then the known ones not downloaded: name, installed, default,
        profile, path, source."""
        installed = self.catalog.installed()
        try:
            current: str | None = self.ref().name
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

    def pin(self, llm: LLM | None) -> None:
        self._pinned = llm

    @property
    def pinned(self) -> LLM | None:
        return self._pinned

    def name(self, model: str | None = None) -> str:
        """The name of the model that would answer, without loading it."""
        if self._pinned is not None:
            return self._pinned.name
        if self.settings.llm.backend == "openai":
            return self.settings.llm.model or ""
        return self.ref(model).name

    def note(self, model: str | None = None) -> str:
        """Which model answers, and why that one (the output always says)."""
        cfg = self.settings.llm
        if self._pinned is not None:
            return f"{self._pinned.name} (set by the program)"
        if cfg.backend == "openai":
            return f"served by {cfg.url}"
        ref = self.ref(model)
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

    def params(self, llm: LLM | Profile) -> GenerationParams:
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

    def load(self, model: str | None = None) -> LLM:
        """The chat model, loaded once and kept (its prompt cache with it)."""
        cfg = self.settings.llm
        if self._pinned is not None:
            return self._pinned
        if cfg.backend == "openai":
            if not cfg.url:
                raise RagkitError(
                    "llm.backend is 'openai' but llm.url is not set; e.g. RAGKIT_LLM__URL=http://127.0.0.1:8080"
                )
            return self._once(f"openai:{cfg.url}:{model or cfg.model}", lambda: self._remote(model), None)
        ref = self.ref(model)
        return self._once(ref.name, lambda: self._local(ref), ref)

    def _once(self, key: str, make: Any, ref: ModelRef | None) -> LLM:
        with self._guard:
            if key in self._llms:
                return self._llms[key]
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:  # one load per model; other models and the index are not held up
            with self._guard:
                if key in self._llms:
                    return self._llms[key]
            llm: LLM = make()
            with self._guard:
                self._llms[key] = llm
                if ref is not None:
                    self._refs[key] = ref
            return llm

    def _remote(self, model: str | None) -> LLM:
        from ragkit.llm.openai_compat import OpenAICompatLLM

        cfg = self.settings.llm
        assert cfg.url is not None
        return OpenAICompatLLM(cfg.url, model or cfg.model, n_ctx=cfg.n_ctx, api_key=cfg.api_key)

    def _local(self, ref: ModelRef) -> LLM:
        from ragkit.llm.llamacpp import LlamaCppLLM

        cfg = self.settings.llm
        chat_header(ref.path)  # a cut-short, corrupt or base-model file: refused with the reason
        return LlamaCppLLM(
            ref.path, n_ctx=cfg.n_ctx, n_gpu_layers=cfg.n_gpu_layers, n_threads=cfg.n_threads,
            seed=cfg.seed, name=ref.name, prompt_cache=cfg.prompt_cache,
        )  # fmt: skip

    def close(self) -> None:
        with self._guard:
            self._llms.clear()
