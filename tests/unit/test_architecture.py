"""Layering, privacy switches, and deferred heavy imports, checked in fresh interpreters."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def run_python(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return proc.stdout


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    assert lint.exists() or shutil.which("lint-imports"), "import-linter is a test dependency"
    proc = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BROKEN" not in proc.stdout


def test_cli_import_is_light_and_textual_free() -> None:
    heavy = "('torch', 'chromadb', 'llama_cpp', 'textual', 'sentence_transformers')"
    out = run_python(
        f"import sys, json, ragkit.cli, ragkit.facade; print(json.dumps([m for m in {heavy} if m in sys.modules]))"
    )
    assert json.loads(out) == []


def test_privacy_switches_are_set_by_the_package_itself() -> None:
    keys = "('HF_HUB_OFFLINE', 'ORT_DISABLE_TELEMETRY', 'ANONYMIZED_TELEMETRY')"
    out = run_python(
        f"import os, json; [os.environ.pop(k, None) for k in {keys}];"
        f"import ragkit; print(json.dumps({{k: os.environ.get(k) for k in {keys}}}))"
    )
    assert json.loads(out) == {"HF_HUB_OFFLINE": "1", "ORT_DISABLE_TELEMETRY": "1", "ANONYMIZED_TELEMETRY": "False"}


def test_public_names_are_curated() -> None:
    import ragkit

    assert sorted(ragkit.__all__) == ragkit.__all__
    for name in ragkit.__all__:
        assert hasattr(ragkit, name), name
    assert {"open_ragkit", "Ragkit", "RagkitError", "Settings"} <= set(ragkit.__all__)
