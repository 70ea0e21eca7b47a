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
