"""Open-ended fuzzing of every loader: the suite's property tests (tests/ingest/test_hostile.py)
with new random examples on each run, and as many as asked for. The suite itself draws the same
40 examples each time, so that a red run fails again the same way; run this for longer hunts,
and add what it finds to the suite as an explicit case.

    .venv/bin/python benchmarks/fuzz.py [--examples N] [pytest options, e.g. -k mbox]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=2000, help="examples per loader (default 2000)")
    args, rest = parser.parse_known_args()
    env = dict(os.environ, RAGKIT_HYPOTHESIS="fuzz", RAGKIT_FUZZ_EXAMPLES=str(args.examples))
    test = "tests/ingest/test_hostile.py::test_random_and_mutated_bytes_give_sections_or_a_load_error"
    command = [sys.executable, "-m", "pytest", test, "-p", "no:cacheprovider", "--hypothesis-show-statistics", *rest]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
