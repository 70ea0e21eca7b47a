"""llama.cpp in-process, through llama-cpp-python."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ragkit.core.errors import ModelError
from ragkit.llm.backend import LLM, GenerationParams, Message
from ragkit.llm.events import OPEN_TAG


class LlamaCppLLM(LLM):
    def __init__(
        self,
        path: Path,
        n_ctx: int = 4096,
        n_gpu_layers: int = 0,
        n_threads: int | None = None,
        seed: int = 0,
        name: str | None = None,
        prompt_cache: bool = True,
        vocab_only: bool = False,
    ) -> None:
        """``vocab_only`` loads the tokenizer and chat template without the weights: enough
        to count tokens and render prompts (for checks and tools), not to generate."""
        if not path.is_file():
            raise ModelError(f"model file not found: {path}; check the path or run: ragkit model list")
        self.path = path
        self.name = name or path.name
        self._lock = threading.Lock()
        self._formatter: Any = None
        # llama.cpp keeps the last prompt's KV cache and reuses its longest common prefix, so a
        # follow-up whose prompt starts with the earlier turns does not recompute them.
        self.prompt_cache = prompt_cache
        self._prompt_usage: dict[str, int] = {}
        from llama_cpp import Llama

        try:
            with _quiet_stderr():
                self.llama = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_gpu_layers=n_gpu_layers,
                    n_threads=n_threads,
                    seed=seed,
                    vocab_only=vocab_only,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load model {path.name} ({exc}); is it a valid GGUF file?") from exc
        self.n_ctx = self.llama.n_ctx()
        self.vocab_only = vocab_only
        template = self.llama.metadata.get("tokenizer.chat_template") or ""
        self.reasons = "<think>" in template or "</think>" in template  # an R1-style reasoning model

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def reset_cache(self) -> None:
        with self._lock:
            self.llama.reset()

    def render(self, messages: Sequence[Message], params: GenerationParams, prefix: str = "") -> tuple[str, list[str]]:
        """The prompt text for ``messages`` in the model's own chat template, with the
        assistant turn opened (and its think block, for R1 models), then ``prefix``."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        if self._formatter is None:
            template = self.llama.metadata.get("tokenizer.chat_template")
            if not template:
                raise ModelError(
                    f"{self.name} has no chat template in its GGUF file (a base model?); "
                    "use an instruct or chat model, e.g. the packaged one: --model smollm2-135m"
                )
            eos_id, bos_id = self.llama.token_eos(), self.llama.token_bos()
            eos = self.llama._model.token_get_text(eos_id) if eos_id != -1 else ""
            bos = self.llama._model.token_get_text(bos_id) if bos_id != -1 else ""
            self._formatter = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)
        result = self._formatter(messages=list(messages))  # type: ignore[arg-type]
        prompt = result.prompt
        if params.start_in_think and not prompt.rstrip().endswith(OPEN_TAG):
            prompt += OPEN_TAG + "\n"
        stop = result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        return prompt + prefix, [*stop, *params.stop]

    def _pieces(
        self, messages: Sequence[Message], params: GenerationParams, prefix: str, max_tokens: int
    ) -> Iterator[str]:
        if self.vocab_only:
            raise ModelError(f"{self.name} was loaded for its tokenizer only (vocab_only) and cannot generate")
        prompt, stop = self.render(messages, params, prefix)
        tokens = self.llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        if len(tokens) >= self.n_ctx:
            raise ModelError(f"the prompt takes {len(tokens)} tokens, more than the context of {self.n_ctx}")
        max_tokens = max(1, min(max_tokens, self.n_ctx - len(tokens)))
        with self._lock:
            if not self.prompt_cache:
                self.llama.reset()
            evaluated_before = self._prompt_tokens_evaluated()
            chunks: Any = self.llama.create_completion(
                prompt=tokens,
                stream=True,
                max_tokens=max_tokens,
                temperature=params.temperature,
                top_p=params.top_p,
                repeat_penalty=params.repeat_penalty,
                seed=params.seed,
                stop=stop,
            )
            try:
                for chunk in chunks:
                    piece = chunk["choices"][0].get("text") or ""
                    if piece:
                        yield piece
            finally:
                chunks.close()
                evaluated = self._prompt_tokens_evaluated() - evaluated_before
                self._prompt_usage = {"prompt_evaluated": evaluated, "prompt_cached": len(tokens) - evaluated}

    def _prompt_tokens_evaluated(self) -> int:
        """llama.cpp's own count of prompt tokens it has computed in this context, ever."""
        import llama_cpp

        return int(llama_cpp.llama_perf_context(self.llama._ctx.ctx).n_p_eval)

    def prompt_usage(self) -> dict[str, int]:
        return dict(self._prompt_usage)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """llama.cpp writes load logs straight to fd 2 even with verbose=False."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
