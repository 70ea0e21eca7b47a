"""ragkit: a private, local assistant over your own documents.

The public names are listed in ``__all__``: the facade, its factory, and every type its
methods take or return. Everything else is private.
"""

from ragkit import _privacy  # noqa: F401  (must run before any third-party import)
from ragkit.answering import Answer
from ragkit.api import Assistant
from ragkit.attribution import Attribution, Citation
from ragkit.config import Settings, load_settings
from ragkit.conversation import Conversation, ConversationStore
from ragkit.errors import RagkitError
from ragkit.facade import Ragkit, open_ragkit
from ragkit.indexer import IndexReport, Progress
from ragkit.library import Library
from ragkit.live import LiveSync
from ragkit.llm import LLM, GenerationParams, StreamEvent
from ragkit.models import Catalog, ModelRef, Profile
from ragkit.retrieve import Hit

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
    "GenerationParams",
    "Hit",
    "IndexReport",
    "Library",
    "LiveSync",
    "ModelRef",
    "Profile",
    "Progress",
    "Ragkit",
    "RagkitError",
    "Settings",
    "StreamEvent",
    "__version__",
    "load_settings",
    "open_ragkit",
]
