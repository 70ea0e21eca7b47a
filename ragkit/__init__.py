"""ragkit: a private, local assistant over your own documents.

The public names are listed in ``__all__``; everything else is private.
"""

from ragkit import _privacy  # noqa: F401  (must run before any third-party import)
from ragkit.config import Settings, load_settings
from ragkit.errors import RagkitError
from ragkit.facade import Answer, Ragkit, open_ragkit

__version__ = "0.1.0"

__all__ = ["Answer", "Ragkit", "RagkitError", "Settings", "__version__", "load_settings", "open_ragkit"]
