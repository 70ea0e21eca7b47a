"""Chat models: backends behind one interface yielding typed stream events, the model
catalogue, GGUF files, and loading a model once."""

from ragkit.llm.backend import LLM, GenerationParams, Message
from ragkit.llm.events import StreamEvent, ThinkParser

__all__ = ["LLM", "GenerationParams", "Message", "StreamEvent", "ThinkParser"]
