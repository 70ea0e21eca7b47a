"""One exception base for everything a user may see. Messages name the fix."""


class RagkitError(Exception):
    """An error meant for the user: the message says what went wrong and how to fix it."""


class ConfigError(RagkitError):
    """The configuration is invalid."""


class IndexMismatchError(RagkitError):
    """The index on disk was built with other settings than the current ones."""


class ModelError(RagkitError):
    """A model could not be found or loaded."""


class IndexLockedError(RagkitError):
    """Another process is writing to the index."""


class IndexDamagedError(RagkitError):
    """A file of the index cannot be read (truncated, overwritten): the index must be rebuilt."""


REBUILD_HINT = (
    "rebuild the index from your documents with: ragkit index --rebuild PATH... (the documents themselves are not"
    " touched; the damaged file is kept aside)"
)
