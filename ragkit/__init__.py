"""ragkit: a private, local assistant over your own documents.

The public names are listed in ``__all__``: the facade, its factory, and every type its
methods take or return. Everything else is private.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ragkit.core import privacy as _privacy  # noqa: F401  (must run before any third-party import)

# Each public name and the module that defines it, imported on first use: ``ragkit --help``
# and the commands that need little (search never loads a chat model) stay fast.
_WHERE = {
    "Answer": "ragkit.answer.answerer",
    "EachRow": "ragkit.assistant.each",
    "Assistant": "ragkit.assistant.protocol",
    "Attribution": "ragkit.answer.attribution",
    "Citation": "ragkit.answer.attribution",
    "Settings": "ragkit.core.config",
    "load_settings": "ragkit.core.config",
    "Conversation": "ragkit.answer.conversation",
    "ConversationStore": "ragkit.answer.conversation",
    "RagkitError": "ragkit.core.errors",
    "Ragkit": "ragkit.assistant.local",
    "open_ragkit": "ragkit.assistant.local",
    "IndexReport": "ragkit.index.report",
    "Progress": "ragkit.index.report",
    "Library": "ragkit.index.library",
    "LiveSync": "ragkit.index.watch",
    "LLM": "ragkit.llm",
    "GenerationParams": "ragkit.llm",
    "StreamEvent": "ragkit.llm",
    "Catalog": "ragkit.llm.catalog",
    "ModelRef": "ragkit.llm.catalog",
    "Profile": "ragkit.llm.catalog",
    "Hit": "ragkit.search.retrieve",
    "Route": "ragkit.answer.routing",
    "Router": "ragkit.answer.routing",
    "FindResult": "ragkit.search.found",
    "FindHit": "ragkit.search.found",
    "Filters": "ragkit.storage.filters",
    "NewMatch": "ragkit.investigate.searches",
    "SavedSearch": "ragkit.investigate.searches",
    "SqlAnswer": "ragkit.db.ask",
    "QueryResult": "ragkit.db.base",
    "RemoteAssistant": "ragkit.assistant.remote",
    "open_assistant": "ragkit.assistant.local",
}

if TYPE_CHECKING:
    from ragkit.answer.answerer import Answer
    from ragkit.answer.attribution import Attribution, Citation
    from ragkit.answer.conversation import Conversation, ConversationStore
    from ragkit.answer.routing import Route, Router
    from ragkit.assistant.each import EachRow
    from ragkit.assistant.local import Ragkit, open_assistant, open_ragkit
    from ragkit.assistant.protocol import Assistant
    from ragkit.assistant.remote import RemoteAssistant
    from ragkit.core.config import Settings, load_settings
    from ragkit.core.errors import RagkitError
    from ragkit.db.ask import SqlAnswer
    from ragkit.db.base import QueryResult
    from ragkit.index.library import Library
    from ragkit.index.report import IndexReport, Progress
    from ragkit.index.watch import LiveSync
    from ragkit.investigate.searches import NewMatch, SavedSearch
    from ragkit.llm import LLM, GenerationParams, StreamEvent
    from ragkit.llm.catalog import Catalog, ModelRef, Profile
    from ragkit.search.found import FindHit, FindResult
    from ragkit.search.retrieve import Hit
    from ragkit.storage.filters import Filters


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
    "EachRow",
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
