"""Named kill points, so crash-safety tests can kill the process at an exact step.

``RAGKIT_KILL_AT=NAME`` (or ``NAME:N``, the N-th time the step is reached) makes the process
``SIGKILL`` itself at that step, as a power cut or ``kill -9`` would. Unset, as it always is
outside the tests, a kill point costs one comparison. The names are listed in ``POINTS``.

``RAGKIT_HOLD_AT=NAME:N`` makes the process wait at that step instead (up to ten minutes), so
a test can signal it at an exact point (Ctrl-C mid-run) however busy the machine is.

``RAGKIT_FAIL_AT=NAME`` makes a fail point raise an unexpected error (a bug's stand-in), so
tests can see what a user is shown when one escapes mid-way. The names are in ``FAILS``.
"""

from __future__ import annotations

import os
import signal
import time

POINTS = {
    "after-vector-write": "a batch's vectors are in the vector store; no manifest row records them yet",
    "before-manifest-commit": "a document's chunks and file rows are written in an open, uncommitted transaction",
    "mid-batch": "some documents of an embedding batch are committed, the rest are not",
    "rename": "inside the transaction that re-points a renamed file",
    "after-vector-delete": "an orphan document's vectors are deleted; its manifest rows are not",
    "rebuild": "a rebuild has cleared the manifest but not yet the vector store",
    "row-written": "a database row's file is written (rows as documents); the index has not synced it yet",
    "each-row": "ask --each has answered a file; its row is not written yet",
}

FAILS = {
    "mid-answer": "the model has begun to answer (the stream to the client has begun)",
}

_name, _, _nth = (os.environ.get("RAGKIT_KILL_AT") or "").partition(":")
_hold, _, _hold_nth = (os.environ.get("RAGKIT_HOLD_AT") or "").partition(":")
_fail = os.environ.get("RAGKIT_FAIL_AT") or ""
_left = int(_nth or 1)
_hold_left = int(_hold_nth or 1)


def kill_point(name: str) -> None:
    global _left, _hold_left
    if name == _hold:
        _hold_left -= 1
        if _hold_left == 0:
            time.sleep(600)  # until the test's signal (a KeyboardInterrupt here) ends the wait
    if name != _name:
        return
    _left -= 1
    if _left == 0:
        os.kill(os.getpid(), signal.SIGKILL)


class InjectedFault(RuntimeError):
    """Raised at a fail point named by ``RAGKIT_FAIL_AT``: an error nothing expects."""


def fail_point(name: str) -> None:
    if name == _fail:
        raise InjectedFault(f"a fault injected at {name} (RAGKIT_FAIL_AT)")
