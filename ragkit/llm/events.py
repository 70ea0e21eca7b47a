"""Typed stream events and the one streaming parser of ``<think>…</think>`` blocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

EventType = Literal["reasoning", "text", "done", "route"]  # route: which source answers (a sentence)

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


@dataclass(frozen=True)
class StreamEvent:
    """One piece of a model's output: reasoning text, answer text, or the end with usage."""

    type: EventType
    chunk: str = ""
    usage: dict[str, int] = field(default_factory=dict)
    finish_reason: str | None = None


class ThinkParser:
    """Split a token stream into reasoning and answer text.

    Handles tags split across chunks, several think blocks, and templates that open the
    block for the model (``start_in_think=True``: the stream begins inside reasoning).
    Feed chunks with :meth:`feed`, then call :meth:`flush` once at the end.
    """

    def __init__(self, start_in_think: bool = False) -> None:
        self.in_think = start_in_think
        self._pending = ""
        self._seen_text = False
        self._fresh = start_in_think  # a template may open the block and the model repeat the tag

    def feed(self, chunk: str) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        buffer = self._pending + chunk
        self._pending = ""
        if self._fresh:
            stripped = buffer.lstrip()
            if OPEN_TAG.startswith(stripped):  # not sure yet: wait for more
                self._pending = buffer
                return events
            self._fresh = False
            if stripped.startswith(OPEN_TAG):
                buffer = stripped[len(OPEN_TAG) :]
        while buffer:
            tag = CLOSE_TAG if self.in_think else OPEN_TAG
            index = buffer.find(tag)
            stray = -1 if self.in_think else buffer.find(CLOSE_TAG)
            if stray != -1 and (index == -1 or stray < index):
                # a closing tag with no opening: the template opened the block unseen;
                # drop the tag rather than show it
                self._emit(events, buffer[:stray])
                buffer = buffer[stray + len(CLOSE_TAG) :]
                continue
            if index == -1:
                keep = _partial_suffix(buffer, (tag, CLOSE_TAG))
                self._emit(events, buffer[: len(buffer) - keep])
                self._pending = buffer[len(buffer) - keep :]
                break
            self._emit(events, buffer[:index])
            buffer = buffer[index + len(tag) :]
            self.in_think = not self.in_think
        return events

    def flush(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        self._emit(events, self._pending)
        self._pending = ""
        return events

    def _emit(self, events: list[StreamEvent], text: str) -> None:
        if not text:
            return
        kind: EventType = "reasoning" if self.in_think else "text"
        if kind == "text" and not self._seen_text:
            text = text.lstrip()  # the answer usually starts after blank lines
            if not text:
                return
            self._seen_text = True
        if events and events[-1].type == kind:
            events[-1] = StreamEvent(kind, events[-1].chunk + text)
        else:
            events.append(StreamEvent(kind, text))


def _partial_suffix(text: str, tags: tuple[str, ...]) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of a tag."""
    best = 0
    for tag in tags:
        for size in range(min(len(tag) - 1, len(text)), 0, -1):
            if text.endswith(tag[:size]):
                best = max(best, size)
                break
    return best
