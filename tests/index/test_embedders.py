"""The embedder's variants (torch fp32, torch bf16, the ONNX export) give the same vectors,
share one index identity, and the query path runs without torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ragkit.assistant.local import Ragkit
from ragkit.core.config import load_settings
from ragkit.core.errors import ModelError
from ragkit.index.embed import (
    PACKAGED_EMBEDDER,
    SentenceTransformerEmbedder,
    native_bf16,
    resolve_embedder_path,
    resolve_precision,
)
from ragkit.index.library import Library
from ragkit.index.onnxembed import OnnxEmbedder, export_dir, pooling
from tests.conftest import SAMPLES
from tests.helpers.cli import ragkit

HEAVY = ("torch", "transformers", "sentence_transformers")


def texts() -> list[str]:
    """Short and long (past the 256-token window), every script, and the samples' own text."""
    sample_text = (SAMPLES / "users-and-groups.txt").read_text("utf-8")
    return [
        "which user id does root have",
        "Zürich, Łódź and Αθήνα — naïve café façade 東京",
        "x",
        sample_text[:400],
        sample_text * 3,  # truncated to the window, as sentence-transformers does
        "The shared MIME-info database XML files are installed in /usr/share/mime/packages.",
    ]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_the_onnx_export_matches_sentence_transformers(
    embedder: SentenceTransformerEmbedder, onnx_embedder: OnnxEmbedder
) -> None:
    reference = embedder if embedder.precision == "fp32" else SentenceTransformerEmbedder(precision="fp32")
    got, want = onnx_embedder.embed(texts()), reference.embed(texts())
    assert got.shape == want.shape == (len(texts()), 384)
    assert cosines(got, want).min() >= 0.9999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # batched or one by one, in any order: the same vectors
    one_by_one = np.concatenate([onnx_embedder.embed([t]) for t in reversed(texts())])[::-1]
    assert cosines(one_by_one, got).min() >= 0.99999


def test_bf16_matches_fp32_within_the_identity_tolerance() -> None:
    fp32 = SentenceTransformerEmbedder(precision="fp32").embed(texts())
    bf16 = SentenceTransformerEmbedder(precision="bf16").embed(texts())
    similarity = cosines(bf16, fp32)
    assert similarity.mean() >= 0.9999 and similarity.min() >= 0.999
    assert not np.array_equal(bf16, fp32)  # it did compute in bf16


def test_auto_precision_is_bf16_only_where_the_cpu_has_it() -> None:
    plain = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n"
    assert not native_bf16(plain) and resolve_precision("auto", native=native_bf16(plain)) == "fp32"
    amx = plain.replace("fma", "fma avx512f avx512_bf16 amx_bf16")
    assert native_bf16(amx) and resolve_precision("auto", native=native_bf16(amx)) == "bf16"
    assert resolve_precision("fp32", native=True) == "fp32" and resolve_precision("bf16", native=False) == "bf16"
    assert not native_bf16("")
    # and the embedder built with "auto" on this machine follows this machine's flags
    assert SentenceTransformerEmbedder(precision="auto").precision == ("bf16" if native_bf16() else "fp32")


def test_backends_and_precisions_share_one_index_identity(tmp_path: Path) -> None:
    identities = set()
    for backend in ("torch", "onnx"):
        for precision in ("fp32", "bf16", "auto"):
            settings = load_settings(home=tmp_path, embed={"backend": backend, "precision": precision})
            identities.add(Library(settings).identity()[0])
    assert len(identities) == 1
    # a different model is a different index
    other = tmp_path / "other-model"
    shutil.copytree(resolve_embedder_path(PACKAGED_EMBEDDER), other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps(dict(config, layer_norm_eps=1e-11)))
    assert Library(load_settings(home=tmp_path, embed={"model": str(other)})).identity()[0] not in identities


def test_the_export_is_made_once_per_model_version(tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(resolve_embedder_path(PACKAGED_EMBEDDER), model)
    first = OnnxEmbedder(model, tmp_path / "exports", "copy")
    first.embed(["hello"])
    made = (first.target / "model.onnx").stat().st_mtime_ns
    again = OnnxEmbedder(model, tmp_path / "exports", "copy")
    again.embed(["hello"])
    assert again.target == first.target and (again.target / "model.onnx").stat().st_mtime_ns == made
    assert [p.name for p in first.target.iterdir() if p.name.endswith(".tmp")] == []
    # a changed model is exported anew, beside the old export
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps(dict(config, layer_norm_eps=1e-11)))
    changed = export_dir(tmp_path / "exports", model)
    assert changed != first.target
    OnnxEmbedder(model, tmp_path / "exports", "copy").embed(["hello"])
    assert (changed / "model.onnx").is_file()


def test_a_model_that_cannot_be_exported_is_named_and_queries_fall_back_to_torch(tmp_path: Path) -> None:
    model = tmp_path / "max-pooled"
    shutil.copytree(resolve_embedder_path(PACKAGED_EMBEDDER), model)
    pool_config = model / "1_Pooling" / "config.json"
    config = dict(json.loads(pool_config.read_text()), pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    pool_config.write_text(json.dumps(config))
    with pytest.raises(ModelError, match=r"embed\.backend = 'torch'"):
        pooling(model)
    library = Library(load_settings(home=tmp_path / "home", embed={"model": str(model)}))
    assert library.query_embedder is library.embedder
    assert "no ONNX export" in library.query_note and "max" in library.query_note
    library.close()


def test_every_chunk_is_stored_under_its_own_vector(rk: Ragkit) -> None:
    """Batches are embedded in slices of like length and put back in order: what each chunk
    was embedded from (its context and text), searched (through the ONNX export), finds that
    chunk first, at cosine ~1."""
    rk.index([SAMPLES])
    chunks = rk.library.manifest.db.execute("SELECT id, context, text FROM chunks").fetchall()
    assert len(chunks) > 32  # more than one batch
    for chunk_id, context, text in chunks:  # what was embedded: the context, then the text
        (best,) = rk.search(f"{context}\n{text}" if context else text, 1)
        assert best.id == chunk_id and best.score >= 0.999, text[:60]


def test_documents_can_be_embedded_by_the_onnx_backend(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env_backend = {"RAGKIT_EMBED__BACKEND": "onnx"}
    result = ragkit("index", SAMPLES, "--json", home=home, env=env_backend)
    assert result.code == 0, result.stderr
    hits = ragkit("search", "which user id does root have", "--json", home=home, env=env_backend).json()["hits"]
    assert Path(hits[0]["path"]).name == "users-and-groups.txt"


PROBE = """
import sys
from ragkit.cli.main import main
code = main(sys.argv[1:])
print("HEAVY=" + ",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
raise SystemExit(code)
"""


@pytest.mark.parametrize(
    "command",
    [["search", "which user id does root have"], ["ask", "Which user id does root have?", "--mode", "extract"]],
    ids=["search", "ask-extract"],
)
def test_searching_and_checking_answers_never_import_torch(tmp_path: Path, command: list[str]) -> None:
    """Nor Chroma, within retrieve.exact_limit; over it, Chroma answers (and still no torch)."""
    home = tmp_path / "home"
    assert ragkit("index", SAMPLES, home=home).code == 0  # (indexing loads torch, and makes the export)
    for limit, imported in (("100000", ""), ("10", "chromadb")):
        env = dict(os.environ, RAGKIT_HOME=str(home), RAGKIT_RETRIEVE__EXACT_LIMIT=limit)
        probe = PROBE.format(heavy=(*HEAVY, "chromadb"))
        proc = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr
        assert "users-and-groups.txt" in proc.stdout
        heavy = [line for line in proc.stderr.splitlines() if line.startswith("HEAVY=")]
        assert heavy == [f"HEAVY={imported}"], proc.stderr


EARLY_EXIT = """
import sys, threading
import onnxruntime
from ragkit.core.config import load_settings
from ragkit.index.onnxembed import warm

building = threading.Event()
real = onnxruntime.InferenceSession


def build(*args, **kwargs):
    building.set()
    return real(*args, **kwargs)


onnxruntime.InferenceSession = build
warm(load_settings())
assert building.wait(60), "the query model never started loading"
sys.exit(3)
"""


def test_a_command_that_ends_while_the_query_model_loads_exits_with_its_own_code(tmp_path: Path) -> None:
    """An error found before the search (nothing indexed, a bad flag) ends the command while
    onnxruntime is still building the session it started loading early: the exit waits for
    it rather than tearing the runtime down under it (which aborts the process, code -6)."""
    exports = tmp_path / "exports"
    settings = load_settings(home=tmp_path / "home", embed={"onnx_dir": str(exports)})
    from ragkit.index.onnxembed import for_settings

    for_settings(settings).prepare()
    env = dict(os.environ, RAGKIT_HOME=str(tmp_path / "home"), RAGKIT_EMBED__ONNX_DIR=str(exports))
    for _ in range(3):
        proc = subprocess.run([sys.executable, "-c", EARLY_EXIT], capture_output=True, text=True, env=env)
        assert proc.returncode == 3, proc.stderr
