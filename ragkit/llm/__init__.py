"""LLM backends behind one interface, yielding typed stream events."""

from ragkit.llm.backend import LLM, GenerationParams, Message
from ragkit.llm.events import StreamEvent, ThinkParser

__all__ = ["LLM", "GenerationParams", "Message", "StreamEvent", "ThinkParser"]
