"""Helpers shared by the tests, one place for each: waiting on a condition (here); the index's
consistency and snapshots (``index``); documents made in a test (``documents``, ``pdfmaker``);
the real ``ragkit`` command (``cli``); servers on loopback (``servers``); the terminal UI
(``tui``); hostile SQL (``sql``); model stand-ins at our own seams (``scripted``, ``r1header``)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(check: Callable[[], object], deadline_s: float = 180.0, what: str = "the condition") -> float:
    """Poll ``check`` until it holds (a deadline bounds only a failing test: the wait ends on the
    condition, never on time); returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"timed out after {deadline_s} s waiting for {what}")
