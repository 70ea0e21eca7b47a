"""Files to sections to chunks. This package imports nothing else of ours."""

from ingest.chunker import CHUNKER_VERSION, chunk_sections
from ingest.loaders import load, loader_for, register, supported_extensions
from ingest.types import Chunk, LoadError, Section

__all__ = [
    "CHUNKER_VERSION",
    "Chunk",
    "LoadError",
    "Section",
    "chunk_sections",
    "load",
    "loader_for",
    "register",
    "supported_extensions",
]
