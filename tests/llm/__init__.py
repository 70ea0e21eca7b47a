"""Tests of llm: model backends, the catalogue, GGUF, reasoning streams."""
