"""The embedder without PyTorch: the same model exported once to ONNX, run by onnxruntime.

A search, a question and the checks on an answer embed a few short texts; importing torch
and sentence-transformers for that costs seconds every time. The export is made locally from
the model's own weights (torch is imported for it once, never again), stored in the data
directory under the model's fingerprint, so a changed model is exported anew, and written
atomically, so a crash or a second process never leaves half a file. Tokenisation is the
model's own ``tokenizer.json`` through ``tokenizers``: the same ids, truncation and padding
as sentence-transformers, so the vectors match it (tested at cosine >= 0.9999).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkit.core import paths
from ragkit.core.errors import ModelError
from ragkit.index.embed import (
    PACKAGED_EMBEDDER,
    EmbedderTokenizer,
    _dimension,
    like_length,
    model_fingerprint,
    resolve_embedder_path,
)

if TYPE_CHECKING:
    import numpy as np

    from ragkit.core.config import Settings

EXPORT_VERSION = 1  # bump when the exported graph changes
_POOLINGS = ("pooling_mode_mean_tokens", "pooling_mode_cls_token")


def export_dir(root: Path, model_dir: Path) -> Path:
    """Where the export of ``model_dir`` lives under ``root``: keyed by the model's
    fingerprint and its pooling, so a changed model is exported anew."""
    key = hashlib.sha256(model_fingerprint(model_dir).encode())
    pooling_config = model_dir / "1_Pooling" / "config.json"
    if pooling_config.is_file():
        key.update(pooling_config.read_bytes())
    return root / f"{key.hexdigest()[:16]}-v{EXPORT_VERSION}"


def pooling(model_dir: Path) -> str:
    """The sentence-transformers pooling of the model ("mean" or "cls"); others cannot be
    exported here and say so."""
    config = model_dir / "1_Pooling" / "config.json"
    if not config.is_file():
        return "mean"
    modes = [key for key, on in json.loads(config.read_text()).items() if key.startswith("pooling_mode") and on]
    if modes == ["pooling_mode_mean_tokens"]:
        return "mean"
    if modes == ["pooling_mode_cls_token"]:
        return "cls"
    raise ModelError(
        f"the embedding model at {model_dir} pools with {modes}, which the ONNX query path does not support "
        f"(only {', '.join(_POOLINGS)}); set embed.backend = 'torch'"
    )


def export(model_dir: Path, target: Path) -> Path:
    """Export the model (encoder, pooling and L2 normalisation, in one graph) to
    ``target/model.onnx``; return that path. Imports torch and transformers."""
    import inspect

    import torch
    from transformers import AutoModel

    mode = pooling(model_dir)
    encoder = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    typed = "token_type_ids" in inspect.signature(encoder.forward).parameters

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: Any, attention_mask: Any, *rest: Any) -> Any:
            extra = {"token_type_ids": rest[0]} if typed else {}
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
            if mode == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    names = ["input_ids", "attention_mask", *(["token_type_ids"] if typed else [])]
    sample = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in names)
    target.mkdir(parents=True, exist_ok=True)
    final = target / "model.onnx"
    partial = target / f"model.onnx.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on operators it rewrites
            torch.onnx.export(
                Pooled(),
                sample,
                str(partial),
                input_names=names,
                output_names=["embedding"],
                dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        partial.replace(final)  # atomic: a reader sees no file or the whole file
    finally:
        partial.unlink(missing_ok=True)
    (target / "export.json").write_text(
        json.dumps({"model": str(model_dir), "fingerprint": model_fingerprint(model_dir), "pooling": mode})
    )
    return final


class OnnxEmbedder:
    """The model's ONNX export on onnxruntime; torch is imported only to make the export,
    once per model version. Same interface as :class:`ragkit.index.embed.SentenceTransformerEmbedder`."""

    def __init__(self, model_dir: Path, root: Path, name: str, batch_size: int = 32, threads: int = 0) -> None:
        self.model_dir = model_dir
        self.name = name
        self.batch_size = batch_size
        self.threads = threads or min(os.cpu_count() or 1, 4)
        self.precision = "fp32"
        self.tokenizer = EmbedderTokenizer(model_dir)
        self.dim = _dimension(model_dir)
        self.target = export_dir(root, model_dir)
        self._session: Any = None
        self._inputs: list[str] = []
        self._encoder: Any = None
        self._lock = threading.Lock()

    @property
    def exported(self) -> bool:
        return (self.target / "model.onnx").is_file()

    def prepare(self) -> None:
        """Make the export if it is not there yet (imports torch, once per model version)."""
        if not self.exported:
            export(self.model_dir, self.target)

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                self.prepare()
                import onnxruntime as ort
                from tokenizers import Tokenizer as HFTokenizer

                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                # no busy-waiting between runs: a server's searches and its indexing share the
                # cores, and spinning threads slowed searches several-fold under load (measured)
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                options.log_severity_level = 3
                session = ort.InferenceSession(
                    str(self.target / "model.onnx"), options, providers=["CPUExecutionProvider"]
                )
                encoder = HFTokenizer.from_file(str(self.model_dir / "tokenizer.json"))
                encoder.enable_truncation(self.tokenizer.max_seq_length)
                own = encoder.padding or {}  # its pad token, but padded to the longest text of a batch
                known = (t for t in ("[PAD]", "<pad>") if encoder.token_to_id(t) is not None)
                pad = own.get("pad_token") or next(known, "[PAD]")
                encoder.enable_padding(pad_id=own.get("pad_id", encoder.token_to_id(pad) or 0), pad_token=pad)
                self._inputs = [i.name for i in session.get_inputs()]
                self._encoder, self._session = encoder, session
            return self._session

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        session = self._load()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for chosen in like_length(texts, self.batch_size):
            encoded = self._encoder.encode_batch([texts[i] for i in chosen])
            feed = {
                "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
            }
            (vectors,) = session.run(["embedding"], {k: v for k, v in feed.items() if k in self._inputs})
            out[chosen] = vectors
        return out


_shared: dict[tuple[Path, int], OnnxEmbedder] = {}
_shared_lock = threading.Lock()


def for_settings(settings: Settings) -> OnnxEmbedder:
    """The ONNX embedder of ``settings``' model: one per export and batch size in a process,
    so a session loaded early (see :func:`warm`) is the one searches use."""
    cfg = settings.embed
    root = cfg.onnx_dir or paths.models_dir(settings.home) / "embed-onnx"
    model_dir = resolve_embedder_path(cfg.model)
    name = cfg.model if cfg.model == PACKAGED_EMBEDDER else str(model_dir)
    with _shared_lock:
        key = (export_dir(root, model_dir), cfg.batch_size)
        if key not in _shared:
            _shared[key] = OnnxEmbedder(model_dir, root, name, cfg.batch_size)
        return _shared[key]


def warm(settings: Settings) -> None:
    """Start loading the exported model in the background, so a cold command's imports and
    the model's load overlap. Does nothing if there is no export yet (making one is the
    search's own business, with its errors); a failure here is left for the search to meet.
    The thread is not a daemon: a command that ends early (an error, nothing indexed) waits
    for the load rather than tearing down onnxruntime under it, which aborts the process."""

    if settings.embed.url:  # a server embeds the queries: nothing to load here
        return

    def load() -> None:
        try:
            embedder = for_settings(settings)
            if embedder.exported:
                embedder._load()
        except Exception:  # the search that follows meets it and reports it
            return

    # numpy is imported here first: the command's own thread imports it too, and two threads
    # initialising numpy's C extension at once fail ("partially initialized module")
    import numpy  # noqa: F401

    threading.Thread(target=load, name="ragkit-warm-queries", daemon=False).start()
