#!/usr/bin/env bash
# The test suite: lint, types, import layers, then unit, integration (real Chroma, SQLite,
# llama.cpp, watcher) and TUI tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/mypy ragkit ingest tui
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
