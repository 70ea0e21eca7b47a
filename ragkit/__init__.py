"""ragkit: a private, local assistant over your own documents.

The public names are listed in ``__all__``: the facade, its factory, and every type its
methods take or return. Everything else is private.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ragkit import _privacy  # noqa: F401  (must run before any third-party import)

# Each public name and the module that defines it, imported on first use: ``ragkit --help``
# and the commands that need little (search never loads a chat model) stay fast.
_WHERE = {
    "Answer": "ragkit.answering",
    "Assistant": "ragkit.api",
    "Attribution": "ragkit.attribution",
    "Citation": "ragkit.attribution",
    "Settings": "ragkit.config",
    "load_settings": "ragkit.config",
    "Conversation": "ragkit.conversation",
    "ConversationStore": "ragkit.conversation",
    "RagkitError": "ragkit.errors",
    "Ragkit": "ragkit.facade",
    "open_ragkit": "ragkit.facade",
    "IndexReport": "ragkit.indexer",
    "Progress": "ragkit.indexer",
    "Library": "ragkit.library",
    "LiveSync": "ragkit.live",
    "LLM": "ragkit.llm",
    "GenerationParams": "ragkit.llm",
    "StreamEvent": "ragkit.llm",
    "Catalog": "ragkit.models",
    "ModelRef": "ragkit.models",
    "Profile": "ragkit.models",
    "Hit": "ragkit.retrieve",
    "Route": "ragkit.routing",
    "Router": "ragkit.routing",
    "FindResult": "ragkit.keyword",
    "FindHit": "ragkit.keyword",
    "Filters": "ragkit.query",
    "NewMatch": "ragkit.searches",
    "SavedSearch": "ragkit.searches",
    "SqlAnswer": "ragkit.sqlask",
    "QueryResult": "ragkit.databases",
    "RemoteAssistant": "ragkit.remote",
    "open_assistant": "ragkit.facade",
}

if TYPE_CHECKING:
    from ragkit.answering import Answer
    from ragkit.api import Assistant
    from ragkit.attribution import Attribution, Citation
    from ragkit.config import Settings, load_settings
    from ragkit.conversation import Conversation, ConversationStore
    from ragkit.databases import QueryResult
    from ragkit.errors import RagkitError
    from ragkit.facade import Ragkit, open_assistant, open_ragkit
    from ragkit.indexer import IndexReport, Progress
    from ragkit.keyword import FindHit, FindResult
    from ragkit.library import Library
    from ragkit.live import LiveSync
    from ragkit.llm import LLM, GenerationParams, StreamEvent
    from ragkit.models import Catalog, ModelRef, Profile
    from ragkit.query import Filters
    from ragkit.remote import RemoteAssistant
    from ragkit.retrieve import Hit
    from ragkit.routing import Route, Router
    from ragkit.searches import NewMatch, SavedSearch
    from ragkit.sqlask import SqlAnswer


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ragkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "LLM",
    "Answer",
    "Assistant",
    "Attribution",
    "Catalog",
    "Citation",
    "Conversation",
    "ConversationStore",
    "Filters",
    "FindHit",
    "FindResult",
    "GenerationParams",
    "Hit",
    "IndexReport",
    "Library",
    "LiveSync",
    "ModelRef",
    "NewMatch",
    "Profile",
    "Progress",
    "QueryResult",
    "Ragkit",
    "RagkitError",
    "RemoteAssistant",
    "Route",
    "Router",
    "SavedSearch",
    "Settings",
    "SqlAnswer",
    "StreamEvent",
    "__version__",
    "load_settings",
    "open_assistant",
    "open_ragkit",
]
