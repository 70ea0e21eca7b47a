"""The GGUF header reader on small files written here: what it keeps, and how it refuses
broken ones (the real R1 and SmolLM2 headers are read in tests/llm/test_r1_model.py)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from ragkit.core.errors import ModelError
from ragkit.llm.gguf import ArrayInfo, read_header


def string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def entry(key: str, kind: int, payload: bytes) -> bytes:
    return string(key) + struct.pack("<I", kind) + payload


def gguf(*entries: bytes, version: int = 3, magic: bytes = b"GGUF", tensors: tuple[bytes, ...] = ()) -> bytes:
    head = magic + struct.pack("<IQQ", version, len(tensors), len(entries)) + b"".join(entries) + b"".join(tensors)
    return head + b"\0" * (-len(head) % 32)  # tensor data starts aligned


def tensor(name: str, offset: int) -> bytes:
    """A tensor info: name, 2 dimensions, element type F32, offset in the data section."""
    return string(name) + struct.pack("<I2QIQ", 2, 16, 16, 0, offset)


TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}<think>"
GOOD = gguf(
    entry("general.architecture", 8, string("llama")),
    entry("general.name", 8, string("Tiny Thinker")),
    entry("general.file_type", 4, struct.pack("<I", 15)),
    entry("llama.context_length", 4, struct.pack("<I", 8192)),
    entry("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 100) + b"".join(string(f"t{i}") for i in range(100))),
    entry("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, 100) + struct.pack("<100f", *range(100))),
    entry("tokenizer.ggml.eos", 9, struct.pack("<IQ", 4, 2) + struct.pack("<2I", 7, 9)),
    entry("tokenizer.chat_template", 8, string(TEMPLATE)),
)


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(data)
    return path


def test_the_header_says_what_the_model_is(tmp_path: Path) -> None:
    header = read_header(write(tmp_path, GOOD + b"\0" * 64))
    assert (header.architecture, header.name, header.quantization, header.context_length) == (
        "llama", "Tiny Thinker", "Q4_K_M", 8192,
    )  # fmt: skip
    assert header.vocab_size == 100 and header.metadata["tokenizer.ggml.scores"] == ArrayInfo(100)
    assert header.metadata["tokenizer.ggml.eos"] == [7, 9]  # short arrays are kept
    assert header.chat_template == TEMPLATE and header.reasons
    assert header.size <= len(GOOD) and header.complete  # no tensors: nothing to hold


def test_a_file_too_short_for_its_weights_is_incomplete(tmp_path: Path) -> None:
    head = gguf(entry("general.architecture", 8, string("llama")), tensors=(tensor("a", 0), tensor("b", 1024)))
    whole = read_header(write(tmp_path, head + b"\0" * 2048))
    assert whole.complete and whole.weights_end == len(head) + 1025
    cut = read_header(write(tmp_path, head + b"\0" * 1024))  # stops before the second tensor
    assert not cut.complete and cut.file_size == len(head) + 1024


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"PK\x03\x04 a zip file", "does not start with 'GGUF'"),
        (gguf(version=9), "GGUF version 9"),
        (GOOD[: len(GOOD) // 2], "cut short"),
        (gguf(entry("general.name", 8, struct.pack("<Q", 1 << 40))), "claims 1099511627776 bytes"),
        (gguf(entry("general.name", 13, b"")), "unknown metadata type 13"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 1 << 50), "claims 1125899906842624 metadata entries"),
    ],
    ids=["not-gguf", "future-version", "cut-short", "huge-string", "unknown-type", "huge-count"],
)
def test_a_broken_file_is_refused_with_the_reason(tmp_path: Path, data: bytes, says: str) -> None:
    with pytest.raises(ModelError, match="is not a usable GGUF file") as error:
        read_header(write(tmp_path, data))
    assert says in str(error.value)


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read"):
        read_header(tmp_path / "missing.gguf")
