#!/usr/bin/env bash
# The test suite: lint, types, import layers, then unit, integration (real Chroma, SQLite,
# llama.cpp, watcher) and TUI tests, on as many pytest-xdist workers as the machine has cores
# (RAGKIT_TEST_WORKERS; 0 runs them in this process). A module's tests stay on one worker, so
# its shared fixtures (a server, an indexed home) are made once. Each step's time is printed,
# and the 30 slowest tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
step() {  # step NAME COMMAND...: run it, then say how long it took
  local name=$1 start=$SECONDS
  shift
  "$@"
  echo "== $name: $((SECONDS - start)) s"
}
step ruff .venv/bin/ruff check .
step mypy .venv/bin/mypy ragkit ingest tui
step import-contracts .venv/bin/lint-imports
workers=${RAGKIT_TEST_WORKERS:-$(nproc)}
parallel=()
[ "$workers" -gt 0 ] && parallel=(-n "$workers" --dist loadscope)
step pytest .venv/bin/python -m pytest "${parallel[@]}" --durations=30 "$@"
