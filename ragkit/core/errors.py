"""One exception base for everything a user may see. Messages name the fix."""


class RagkitError(Exception):
    """An error meant for the user: the message says what went wrong and how to fix it."""


class NotFound(RagkitError):
    """What was asked for is not there (a saved search, an e-mail thread): a server's 404."""


class ConfigError(RagkitError):
    """The configuration is invalid."""


class IndexMismatchError(RagkitError):
    """The index on disk was built with other settings than the current ones."""


class ModelError(RagkitError):
    """A model could not be found or loaded."""


class IndexLockedError(RagkitError):
    """Another process is writing to the index."""


class DiskFullError(RagkitError):
    """The disk (or quota) holding the data directory is full: not damage, and no rebuild helps."""

    def __init__(self, cause: BaseException, where: str) -> None:
        super().__init__(
            f"the disk holding ragkit's data is full ({cause}; {where}): free some space, or move the data"
            " (RAGKIT_HOME), and run the command again. The index is as it was before this run: nothing indexed"
            " before is lost, and the next run goes on from where this one stopped"
        )


class IndexDamagedError(RagkitError):
    """A file of the index cannot be read (truncated, overwritten): the index must be rebuilt."""


REBUILD_HINT = (
    "rebuild the index from your documents with: ragkit index --rebuild PATH... (the documents themselves are not"
    " touched; the damaged file is kept aside)"
)


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the user's quota, or the file size limit) is full,
    whichever layer raised it: the OS, SQLite or Chroma's store."""
    import errno

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # the cause may be wrapped
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return True
        text = str(current).lower()
        if "database or disk is full" in text or "no space left on device" in text or "disk quota exceeded" in text:
            return True
        current = current.__cause__ or current.__context__
    return False
