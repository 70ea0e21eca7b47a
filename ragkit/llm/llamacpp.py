"""llama.cpp in-process, through llama-cpp-python."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ragkit.errors import ModelError
from ragkit.llm.backend import LLM, GenerationParams, Message
from ragkit.llm.events import StreamEvent, ThinkParser


class LlamaCppLLM(LLM):
    def __init__(
        self,
        path: Path,
        n_ctx: int = 4096,
        n_gpu_layers: int = 0,
        n_threads: int | None = None,
        seed: int = 0,
        name: str | None = None,
    ) -> None:
        if not path.is_file():
            raise ModelError(f"model file not found: {path}; check the path or run: ragkit model list")
        self.path = path
        self.name = name or path.name
        self._lock = threading.Lock()
        from llama_cpp import Llama

        try:
            with _quiet_stderr():
                self.llama = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_gpu_layers=n_gpu_layers,
                    n_threads=n_threads,
                    seed=seed,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load model {path.name} ({exc}); is it a valid GGUF file?") from exc
        self.n_ctx = self.llama.n_ctx()

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[StreamEvent]:
        parser = ThinkParser()
        completion_tokens = 0
        finish: str | None = None
        with self._lock:
            chunks: Any = self.llama.create_chat_completion(
                messages=list(messages),  # type: ignore[arg-type]
                stream=True,
                max_tokens=params.max_tokens,
                temperature=params.temperature,
                top_p=params.top_p,
                repeat_penalty=params.repeat_penalty,
                seed=params.seed,
                stop=list(params.stop),
            )
            try:
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    piece = choice.get("delta", {}).get("content") or ""
                    finish = choice.get("finish_reason") or finish
                    if piece:
                        completion_tokens += 1
                        yield from parser.feed(piece)
            finally:
                chunks.close()
        yield from parser.flush()
        yield StreamEvent("done", usage={"completion_tokens": completion_tokens}, finish_reason=finish)


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
