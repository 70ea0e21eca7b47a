"""A scripted chat model at the one seam ragkit owns (the :class:`ragkit.llm.LLM` interface).

Used only where a real model cannot produce the case: R1 reasoning streams (no R1 GGUF can be
had on the test machine), a model that never stops thinking, or text that must not verify.
The hand-written R1-style streams (tests/data/r1_streams.json) replay through the real
``LLM.stream``: real parser, real budget logic.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from ragkit.llm import LLM, GenerationParams, Message, StreamEvent

_TOKEN = re.compile(r"\s*\S+|\s+")


def tokens(text: str, size: int | None = None) -> list[str]:
    """Word-like pieces, as a model streams them; or fixed ``size`` character pieces."""
    if size:
        return [text[i : i + size] for i in range(0, len(text), size)]
    return _TOKEN.findall(text)


class ScriptedLLM(LLM):
    def __init__(self, raw: str, continuation: str = "", name: str = "scripted", chunk: int | None = None) -> None:
        self.raw = raw
        self.continuation = continuation
        self.name = name
        self.n_ctx = 4096
        self.chunk = chunk
        self.calls: list[tuple[list[Message], str, int]] = []

    def count_tokens(self, text: str) -> int:
        return len(tokens(text))

    def _pieces(
        self, messages: Sequence[Message], params: GenerationParams, prefix: str, max_tokens: int
    ) -> Iterator[str]:
        self.calls.append((list(messages), prefix, max_tokens))
        text = self.continuation if prefix else self.raw
        yield from tokens(text, self.chunk)[:max_tokens]


def stream_parts(llm: LLM, params: GenerationParams, question: str = "q") -> tuple[str, str, dict[str, int]]:
    """Run ``llm.stream`` on one question: the reasoning, the answer text, and the usage."""
    reasoning, text, usage = [], [], {}
    for event in llm.stream([{"role": "user", "content": question}], params):
        assert isinstance(event, StreamEvent)
        if event.type == "reasoning":
            reasoning.append(event.chunk)
        elif event.type == "text":
            text.append(event.chunk)
        else:
            usage = event.usage
    return "".join(reasoning), "".join(text), usage


class FunctionLLM(LLM):
    """A chat model whose reply is computed from the conversation (``reply(messages)``), for
    scripted SQL writers: one that knows the gold SQL, one that only writes broken SQL."""

    def __init__(self, reply: Callable[[list[Message]], str], name: str = "function") -> None:
        self.reply = reply
        self.name = name
        self.n_ctx = 8192
        self.calls: list[list[Message]] = []

    def count_tokens(self, text: str) -> int:
        return len(tokens(text))

    def _pieces(
        self, messages: Sequence[Message], params: GenerationParams, prefix: str, max_tokens: int
    ) -> Iterator[str]:
        self.calls.append(list(messages))
        yield from tokens(self.reply(list(messages)))[:max_tokens]
