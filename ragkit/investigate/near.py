"""Near-duplicates: documents whose text is nearly the same (an edited draft, a memo forwarded
with a new header, the same page scanned twice), found with datasketch's MinHash and LSH.

A document's text is read as its words, lower-cased, one space apart; its shingles are every
run of ``SHINGLE`` characters of that. Characters rather than words, because a scan read
twice differs in letters, not words: on copies of the shared Rust RFCs, 1 % of letters
misread left 5-character shingles a similarity of 0.87 and 3-word shingles 0.70, while two
RFCs written on the same template stayed below 0.33. Of 5, 7 and 9 characters, 5 was chosen
on each half of the RFCs and held on the other (``benchmarks/investigate.py``).

Each document's MinHash is recorded with it in the manifest, in the transaction that makes
it searchable, so it follows renames and goes with deletes like every other part of the
index. A search for near-duplicates draws candidate pairs from an LSH over the
recorded MinHashes and keeps those whose exact similarity (the Jaccard index of their
shingles) reaches the threshold; pairs join into groups.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NUM_PERM = 128  # a MinHash's values: its estimate of a similarity near 0.8 is within ±0.07 (2σ)
SEED = 1  # the permutations: fixed, so a MinHash recorded by one run compares with the next's
SCHEME = "affine32"  # datasketch's 32-bit scheme: 512 bytes a document
SHINGLE = 5  # characters: chosen on held-out folds (benchmarks/investigate.py)
THRESHOLD = 0.8  # the default similarity at which two documents are nearly the same
LSH_SLACK = 0.1  # candidates are drawn this far below the threshold, as the MinHash only estimates
DIFF_LINES = 12  # of the sentences that differ, as many shown for each pair
DIFF_WIDTH = 240  # characters of each, at most

_WORD = re.compile(r"\w+")
_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_PRIME = np.uint32(16777619)  # the FNV prime: the shingles' rolling hash, modulo 2**32


def document_text(spans: Iterable[tuple[int, int, str]]) -> str:
    """A document's text from its chunks' (start, end, text), in order: overlaps read once,
    and a gap between two chunks (text no chunk kept) read as a line break."""
    parts: list[str] = []
    reached = 0
    for start, end, text in spans:
        if end <= reached:
            continue
        if start >= reached:
            if parts:
                parts.append("\n")
            parts.append(text)
        else:
            parts.append(text[reached - start :])
        reached = end
    return "".join(parts)


def shingles(text: str, size: int = SHINGLE) -> np.ndarray:
    """The distinct hashes of the text's ``size``-character runs (of its words, lower-cased)."""
    plain = " ".join(_WORD.findall(text.lower()))
    points = np.frombuffer(plain.encode("utf-32-le"), dtype=np.uint32)
    if len(points) < size:
        return np.unique(points.sum(dtype=np.uint32, keepdims=True)) if len(points) else points
    hashes = np.zeros(len(points) - size + 1, dtype=np.uint32)
    for k in range(size):  # ((c0·P + c1)·P + c2)… over every window at once, wrapping at 2**32
        hashes = hashes * _PRIME + points[k : len(points) - size + 1 + k]
    return np.unique(hashes)


def signature(text: str) -> bytes:
    """The MinHash of the text's shingles, as recorded in the manifest."""
    from datasketch import MinHash

    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int, scheme=SCHEME)
    hashes = shingles(text)
    for start in range(0, len(hashes), 50_000):  # datasketch compares each with every permutation
        minhash.update_batch(hashes[start : start + 50_000].tolist())
    return bytes(minhash.hashvalues.astype("<u4").tobytes())


def similarity(a: str, b: str) -> float:
    """The Jaccard index of two texts' shingles: 1.0 for the same words, 0.0 for none in common."""
    sa, sb = shingles(a), shingles(b)
    union = len(np.union1d(sa, sb))
    return len(np.intersect1d(sa, sb, assume_unique=True)) / union if union else 1.0


def differing_lines(a: str, b: str, limit: int = DIFF_LINES) -> tuple[list[str], int]:
    """The sentences of ``a`` and ``b`` that differ ("- " only in a, "+ " only in b), the
    first ``limit`` of them, and how many differ in all."""
    lines = [
        line
        for line in difflib.unified_diff(_lines(a), _lines(b), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    shown = [line if len(line) <= DIFF_WIDTH else line[: DIFF_WIDTH - 1] + "…" for line in lines[:limit]]
    return [f"{line[0]} {line[1:]}" for line in shown], len(lines)


def _lines(text: str) -> list[str]:
    """The text as the units a person compares: its paragraphs' sentences, whitespace
    collapsed, so two copies wrapped at other widths (a page and its HTML) differ only where
    their words do."""
    units = []
    for paragraph in _PARAGRAPH.split(text):
        flat = " ".join(paragraph.split())
        units += [u for u in _SENTENCE_END.split(flat) if u]
    return units


@dataclass
class Pair:
    a: str
    b: str
    similarity: float
    differ: list[str] = field(default_factory=list)
    differ_total: int = 0


@dataclass
class Group:
    docs: list[str]
    pairs: list[Pair]


def groups(signatures: Mapping[str, bytes], text_of: Callable[[str], str], threshold: float = THRESHOLD) -> list[Group]:
    """The groups of documents (by key) nearly the same at ``threshold``: every pair in a
    group that reaches it, with its similarity and the lines that differ. Largest first."""
    texts: dict[str, str] = {}

    def text(key: str) -> str:
        if key not in texts:
            texts[key] = text_of(key)
        return texts[key]

    kept = []
    for pair in _candidates(signatures, threshold):
        pair.similarity = similarity(text(pair.a), text(pair.b))
        if pair.similarity >= threshold:
            pair.differ, pair.differ_total = differing_lines(text(pair.a), text(pair.b))
            kept.append(pair)
    return _joined(kept)


def _candidates(signatures: Mapping[str, bytes], threshold: float) -> list[Pair]:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=max(0.05, threshold - LSH_SLACK), num_perm=NUM_PERM)
    hashes = {}
    for key in sorted(signatures):
        values = np.frombuffer(signatures[key], dtype="<u4")
        hashes[key] = MinHash(seed=SEED, hashvalues=values, scheme=SCHEME)
        lsh.insert(key, hashes[key])
    found = []
    for key in sorted(hashes):
        for other in sorted(lsh.query(hashes[key])):
            if other > key:
                found.append(Pair(key, other, 0.0))
    return found


def _joined(pairs: list[Pair]) -> list[Group]:
    root: dict[str, str] = {}

    def find(key: str) -> str:
        root.setdefault(key, key)
        while root[key] != key:
            root[key] = root[root[key]]
            key = root[key]
        return key

    for pair in pairs:
        root[find(pair.a)] = find(pair.b)
    members: dict[str, list[str]] = {}
    for key in sorted(root):
        members.setdefault(find(key), []).append(key)
    edges: dict[str, list[Pair]] = {}
    for pair in pairs:
        edges.setdefault(find(pair.a), []).append(pair)
    found = [Group(members[r], sorted(edges[r], key=lambda p: -p.similarity)) for r in members]
    return sorted(found, key=lambda g: (-len(g.docs), g.docs[0]))


def as_dict(group: Group, paths: Mapping[str, list[str]]) -> dict[str, Any]:
    """A group for JSON and the protocol: each document with its paths (by its first path),
    each pair by the first path of each side."""

    def first(doc: str) -> str:
        return (paths.get(doc) or [doc])[0]

    pairs = []
    for p in group.pairs:
        a, b = sorted((first(p.a), first(p.b)))
        differ = p.differ if a == first(p.a) else [("+" if d[0] == "-" else "-") + d[1:] for d in p.differ]
        pairs.append({"a": a, "b": b, "similarity": round(p.similarity, 4), "differ": differ,
                      "differ_total": p.differ_total})  # fmt: skip
    return {
        "documents": [{"doc": d, "paths": paths.get(d, [])} for d in sorted(group.docs, key=first)],
        "pairs": pairs,
    }
