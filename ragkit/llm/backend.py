"""The LLM interface every backend implements, and generation parameters."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ragkit.llm.events import StreamEvent

Message = dict[str, str]


@dataclass(frozen=True)
class GenerationParams:
    max_tokens: int = 320
    temperature: float = 0.2
    top_p: float = 0.95
    repeat_penalty: float = 1.25
    seed: int = 0
    stop: tuple[str, ...] = field(default=("<|im_end|>", "<|endoftext|>", "\nQuestion:", "<source"))


class LLM(abc.ABC):
    """A chat model that streams typed events."""

    name: str
    n_ctx: int

    @abc.abstractmethod
    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[StreamEvent]:
        """Yield reasoning/text events, then one ``done`` event with usage."""

    @abc.abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model's own tokenizer."""
