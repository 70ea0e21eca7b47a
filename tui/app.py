"""Placeholder until the terminal UI lands (issue 6)."""

import sys


def run() -> int:
    print("ragkit: the terminal UI is not built yet; use: ragkit ask QUESTION", file=sys.stderr)
    return 2
