"""Named kill points, so crash-safety tests can kill the process at an exact step.

``RAGKIT_KILL_AT=NAME`` (or ``NAME:N``, the N-th time the step is reached) makes the process
``SIGKILL`` itself at that step, as a power cut or ``kill -9`` would. Unset, as it always is
outside the tests, a kill point costs one comparison. The names are listed in ``POINTS``.
"""

from __future__ import annotations

import os
import signal

POINTS = {
    "after-vector-write": "a batch's vectors are in the vector store; no manifest row records them yet",
    "before-manifest-commit": "a document's chunks and file rows are written in an open, uncommitted transaction",
    "mid-batch": "some documents of an embedding batch are committed, the rest are not",
    "rename": "inside the transaction that re-points a renamed file",
    "after-vector-delete": "an orphan document's vectors are deleted; its manifest rows are not",
    "rebuild": "a rebuild has cleared the manifest but not yet the vector store",
    "row-written": "a database row's file is written (rows as documents); the index has not synced it yet",
}

_name, _, _nth = (os.environ.get("RAGKIT_KILL_AT") or "").partition(":")
_left = int(_nth or 1)


def kill_point(name: str) -> None:
    global _left
    if name != _name:
        return
    _left -= 1
    if _left == 0:
        os.kill(os.getpid(), signal.SIGKILL)
