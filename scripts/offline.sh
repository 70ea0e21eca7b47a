#!/usr/bin/env bash
# Run a command with the network cut: a new network namespace holding only loopback (up, so
# the tests' own loopback servers work). Any attempt to reach another address fails at once.
# Needs root (or unprivileged user namespaces). Usage: bash scripts/offline.sh CMD [ARG...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then UNSHARE=(unshare --net); else UNSHARE=(unshare --map-root-user --net); fi
exec "${UNSHARE[@]}" .venv/bin/python scripts/loopback_up.py "$@"
