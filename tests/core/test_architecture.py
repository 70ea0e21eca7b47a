"""Layering, privacy switches, and deferred heavy imports, checked in fresh interpreters."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import grimp

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
    modules = "ragkit.cli.main, ragkit.assistant.local"
    out = run_python(f"import sys, json, {modules}; print(json.dumps([m for m in {heavy} if m in sys.modules]))")
    assert json.loads(out) == []


def test_privacy_switches_are_set_by_the_package_itself() -> None:
    keys = "('HF_HUB_OFFLINE', 'ORT_DISABLE_TELEMETRY', 'ANONYMIZED_TELEMETRY', 'RAY_USAGE_STATS_ENABLED')"
    out = run_python(
        f"import os, json; [os.environ.pop(k, None) for k in {keys}];"
        f"import ragkit; print(json.dumps({{k: os.environ.get(k) for k in {keys}}}))"
    )
    assert json.loads(out) == {
        "HF_HUB_OFFLINE": "1", "ORT_DISABLE_TELEMETRY": "1", "ANONYMIZED_TELEMETRY": "False",
        "RAY_USAGE_STATS_ENABLED": "0",
    }  # fmt: skip


def test_public_names_are_curated() -> None:
    import ragkit

    assert len(set(ragkit.__all__)) == len(ragkit.__all__)  # kept sorted by ruff (RUF022)
    for name in ragkit.__all__:
        assert hasattr(ragkit, name), name
    assert {"open_ragkit", "Ragkit", "RagkitError", "Settings"} <= set(ragkit.__all__)


def _classes_in(annotation: object) -> set[type]:
    found: set[type] = set()
    if isinstance(annotation, type):
        found.add(annotation)
    for arg in typing.get_args(annotation):
        found |= _classes_in(arg)
    return found


def test_all_names_every_type_the_facade_signatures_use() -> None:
    import ragkit
    from ragkit.assistant.local import Ragkit

    used: set[type] = set()
    for name, member in vars(Ragkit).items():
        function = member.fget if isinstance(member, property) else member
        if name.startswith("_") or not callable(function):
            continue
        for annotation in typing.get_type_hints(function).values():
            used |= {cls for cls in _classes_in(annotation) if cls.__module__.startswith("ragkit")}
    assert used, "the facade's methods are annotated"
    exported = {getattr(ragkit, name) for name in ragkit.__all__}
    missing = sorted(cls.__qualname__ for cls in used - exported)
    assert not missing, f"types in Ragkit's signatures missing from ragkit.__all__: {missing}"


# what the terminal UI may import of ours: the factory, the Assistant protocol and its types
TUI_MAY_IMPORT = {"ragkit.assistant.protocol", "ragkit.assistant.local", "ragkit.core.errors"}


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("ragkit", "ingest", "tui", include_external_packages=True)


def test_the_tui_imports_only_what_the_allow_list_names() -> None:
    graph = _graph()
    crossing = {
        (importer, imported)
        for importer in graph.find_children("tui") | {"tui"}
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported.split(".")[0] == "ragkit" and imported not in TUI_MAY_IMPORT
    }
    assert not crossing, f"tui/ reaches past the facade: {sorted(crossing)}"
    external = {
        imported.split(".")[0]
        for importer in graph.find_descendants("tui") | {"tui"}
        for imported in graph.find_modules_directly_imported_by(importer)
    }
    assert not external & {"chromadb", "llama_cpp", "torch", "sentence_transformers", "sqlite3"}


def test_ragkit_has_no_import_cycle() -> None:
    graph = _graph()
    modules = graph.find_descendants("ragkit") | {"ragkit"}
    cycles = []
    for module in sorted(modules):
        if module == "ragkit":
            continue  # the package re-exports its modules; a module importing the package is caught below
        for imported in graph.find_modules_directly_imported_by(module):
            if imported in modules and imported != "ragkit":
                chain = graph.find_shortest_chain(importer=imported, imported=module)
                if chain:
                    cycles.append(" -> ".join((module, *chain)))
    assert not cycles, cycles
    importers_of_package = {m for m in modules if "ragkit" in graph.find_modules_directly_imported_by(m)}
    assert importers_of_package <= {"ragkit.__main__"}, importers_of_package
