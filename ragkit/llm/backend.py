"""The LLM interface every backend implements, generation parameters, and the reasoning budget.

A backend only has to stream raw text pieces (:meth:`LLM._pieces`). :meth:`LLM.stream` turns
them into typed events with the one ``<think>`` parser and enforces the reasoning budget the
same way for every backend: when a thought runs past ``reasoning_budget`` tokens the block is
closed (``</think>`` is written for the model) and generation continues from there, so the
model has to answer with its full answer budget left.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ragkit.llm.events import CLOSE_TAG, StreamEvent, ThinkParser

Message = dict[str, str]

#: what is written for the model when its reasoning budget runs out
BUDGET_CLOSE = f"\n{CLOSE_TAG}\n\n"


@dataclass(frozen=True)
class GenerationParams:
    max_tokens: int = 320  # for the answer; reasoning has its own budget on top
    temperature: float = 0.2
    top_p: float = 0.95
    repeat_penalty: float = 1.25
    seed: int = 0
    stop: tuple[str, ...] = field(default=("<|im_end|>", "<|endoftext|>", "\nQuestion:", "<source"))
    start_in_think: bool = False  # the response starts inside a think block (R1 model card)
    reasoning_budget: int | None = None  # tokens of reasoning before the block is closed


class LLM(abc.ABC):
    """A chat model that streams typed events."""

    name: str
    n_ctx: int
    reasons: bool = False  # the model's own chat template knows think blocks (R1 and its kind)

    @abc.abstractmethod
    def _pieces(
        self, messages: Sequence[Message], params: GenerationParams, prefix: str, max_tokens: int
    ) -> Iterator[str]:
        """Raw generated text, piece by piece (about one token each), for the assistant turn
        that starts with ``prefix`` (already written, not repeated). With
        ``params.start_in_think`` the turn must start inside a think block. Closing the
        iterator stops generation."""

    @abc.abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model's own tokenizer."""

    def prompt_usage(self) -> dict[str, int]:
        """What the backend reports of the last prompt it computed (llama.cpp: tokens evaluated
        and tokens reused from its cache); empty where the backend does not say."""
        return {}

    def reset_cache(self) -> None:  # noqa: B027 - optional: backends without a cache keep this
        """Forget any cached prompt prefix (the next prompt is computed from scratch)."""

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[StreamEvent]:
        """Yield reasoning/text events, then one ``done`` event with usage."""
        parser = ThinkParser(start_in_think=params.start_in_think)
        budget = params.reasoning_budget
        raw = ""
        reasoning_tokens = pieces_seen = 0
        budget_hit = False
        limit = params.max_tokens + (budget or 0)
        pieces = self._pieces(messages, params, "", limit)
        try:
            while True:
                restart = False
                for piece in pieces:
                    raw += piece
                    pieces_seen += 1
                    thinking = parser.in_think
                    yield from parser.feed(piece)
                    if thinking:
                        reasoning_tokens += 1
                    if budget is not None and parser.in_think and reasoning_tokens >= budget and not budget_hit:
                        budget_hit = restart = True
                        break
                if not restart:
                    break
                close = getattr(pieces, "close", None)
                if close:
                    close()
                yield from parser.feed(BUDGET_CLOSE)
                raw += BUDGET_CLOSE
                pieces = self._pieces(messages, params, raw, params.max_tokens)
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()
        yield from parser.flush()
        usage = {
            "completion_tokens": pieces_seen,
            "reasoning_tokens": reasoning_tokens,
            "reasoning_budget_hit": int(budget_hit),
            **self.prompt_usage(),
        }
        yield StreamEvent("done", usage=usage)
