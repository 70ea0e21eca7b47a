"""A GGUF file's header: what the model says about itself, read without loading it.

The header is the metadata block at the start of the file (architecture, name, context
length, quantization, tokenizer, chat template). Reading it takes milliseconds even for a
multi-gigabyte model, so ``model add`` can check a file and pick its profile before anything
is loaded, and ``model info`` can describe it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ragkit.core.errors import ModelError

MAGIC = b"GGUF"
_MAX_STRING = 64 << 20  # a chat template or a token is far smaller; more means a corrupt file
_KEEP_ARRAY = 64  # arrays longer than this (the vocabulary) are kept as their length only

# value types of the GGUF format (version 2 and 3)
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9

# llama.cpp's llama_ftype: what most of the weights are quantized to
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
}  # fmt: skip


@dataclass(frozen=True)
class ArrayInfo:
    """A long array in the header (the vocabulary, the merges), kept as its size only."""

    length: int


@dataclass(frozen=True)
class GGUFHeader:
    path: Path
    version: int
    tensor_count: int
    metadata: dict[str, Any]
    size: int  # bytes up to the end of the metadata
    file_size: int
    weights_end: int  # the file must be at least this long to hold its weights

    @property
    def complete(self) -> bool:
        """The file is long enough for every tensor the header lists (a download that stopped
        early is not)."""
        return self.file_size >= self.weights_end

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name") or self.metadata.get("general.basename") or self.path.stem)

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if isinstance(value, int) else None

    @property
    def quantization(self) -> str | None:
        value = self.metadata.get("general.file_type")
        return FILE_TYPES.get(value, f"type {value}") if isinstance(value, int) else None

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def reasons(self) -> bool:
        """The chat template knows think blocks: a reasoning model (R1 and its kind)."""
        template = self.chat_template or ""
        return "</think>" in template or "<think>" in template

    @property
    def vocab_size(self) -> int | None:
        tokens = self.metadata.get("tokenizer.ggml.tokens")
        return tokens.length if isinstance(tokens, ArrayInfo) else len(tokens) if isinstance(tokens, list) else None


def read_header(path: Path) -> GGUFHeader:
    """The header of ``path``; a clear :class:`ModelError` for a file that is not GGUF,
    is cut short, or is corrupt."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            return _Reader(handle, path, size).header()
    except OSError as exc:
        raise ModelError(f"cannot read {path} ({exc.strerror or exc})") from exc


class _Reader:
    def __init__(self, handle: BinaryIO, path: Path, size: int) -> None:
        self.handle, self.path, self.file_size = handle, path, size

    def fail(self, why: str) -> ModelError:
        return ModelError(f"{self.path.name} is not a usable GGUF file: {why}")

    def cut_short(self) -> ModelError:
        return self.fail(
            f"it ends at byte {self.file_size}, inside its header; the download or copy was cut short, "
            "so fetch it again"
        )

    def take(self, count: int) -> bytes:
        data = self.handle.read(count)
        if len(data) != count:
            raise self.cut_short()
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def too_big(self, what: str) -> ModelError:
        return self.fail(f"{what}, more than the rest of the file; it was cut short or is corrupt, so fetch it again")

    def string(self) -> str:
        length = self.unpack("<Q")
        if length > _MAX_STRING or length > self.file_size - self.handle.tell():
            raise self.too_big(f"a metadata string claims {length} bytes")
        return self.take(length).decode("utf-8", errors="replace")

    def skip(self, count: int) -> None:
        if self.handle.tell() + count > self.file_size:
            raise self.cut_short()
        self.handle.seek(count, 1)

    def value(self, kind: int) -> Any:
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item, length = self.unpack("<I"), self.unpack("<Q")
            if length > self.file_size - self.handle.tell():  # every item takes a byte at least
                raise self.too_big(f"an array claims {length} items")
            if length <= _KEEP_ARRAY:
                return [self.value(item) for _ in range(length)]
            if item in _SCALARS:
                self.skip(length * struct.calcsize(_SCALARS[item]))
            else:
                for _ in range(length):
                    self.value(item)
            return ArrayInfo(length)
        raise self.fail(f"unknown metadata type {kind}; the file is corrupt or from a newer GGUF version")

    def header(self) -> GGUFHeader:
        if self.take(4) != MAGIC:
            raise self.fail("it does not start with 'GGUF' (llama.cpp models are .gguf files)")
        version = self.unpack("<I")
        if version not in (2, 3):
            raise self.fail(f"GGUF version {version}; ragkit reads versions 2 and 3")
        tensors, count = self.unpack("<Q"), self.unpack("<Q")
        if count > self.file_size:
            raise self.too_big(f"the header claims {count} metadata entries")
        metadata: dict[str, Any] = {}
        for _ in range(count):
            key = self.string()
            metadata[key] = self.value(self.unpack("<I"))
        size = self.handle.tell()
        return GGUFHeader(
            self.path, version, tensors, metadata, size, self.file_size, self.weights_end(tensors, metadata)
        )

    def weights_end(self, tensors: int, metadata: dict[str, Any]) -> int:
        """The least size the file must have to hold every tensor: past the start of the
        last one (tensor infos follow the metadata; the data starts aligned after them)."""
        if tensors > self.file_size:
            raise self.too_big(f"the header claims {tensors} tensors")
        last = -1
        for _ in range(tensors):
            self.string()  # name
            dims = self.unpack("<I")
            if dims > 8:
                raise self.fail(f"a tensor claims {dims} dimensions; the file is corrupt")
            self.skip(8 * dims)
            self.unpack("<I")  # element type
            last = max(last, self.unpack("<Q"))
        alignment = metadata.get("general.alignment", 32)
        alignment = alignment if isinstance(alignment, int) and alignment > 0 else 32
        data_start = -(-self.handle.tell() // alignment) * alignment
        return data_start + last + 1
