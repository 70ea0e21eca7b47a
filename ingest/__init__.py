"""Files to sections to chunks. This package imports nothing else of ours."""

from ingest import archives, formats, mail, pdf  # noqa: F401  (register their loaders)
from ingest.chunker import CHUNKER_VERSION, chunk_sections, embedding_text
from ingest.loaders import load, load_document, loader_for, register, supported_extensions
from ingest.types import Chunk, Document, LoadError, Section

__all__ = [
    "CHUNKER_VERSION",
    "Chunk",
    "Document",
    "LoadError",
    "Section",
    "chunk_sections",
    "embedding_text",
    "load",
    "load_document",
    "loader_for",
    "register",
    "supported_extensions",
]
