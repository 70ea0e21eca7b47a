"""Split sections into chunks that fit the embedder's window exactly.

Lengths are measured with the embedder's own tokenizer, passed in as a function that
returns the character span of every token (no special tokens). Chunks end on a
sentence boundary where one is near, else on a word boundary, never inside a word.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from ingest.types import Chunk, Section

TokenSpans = Callable[[str], Sequence[tuple[int, int]]]

CHUNKER_VERSION = "1"
_SENTENCE_END = frozenset(".!?;:")


def chunk_sections(
    sections: Iterable[Section],
    token_spans: TokenSpans,
    max_tokens: int,
    overlap: int = 0,
) -> Iterator[Chunk]:
    """Yield chunks of at most ``max_tokens`` tokens, overlapping by about ``overlap``."""
    if max_tokens < 8:
        raise ValueError("max_tokens must be at least 8")
    if not 0 <= overlap < max_tokens // 2:
        raise ValueError("overlap must be between 0 and max_tokens / 2")
    ordinal = 0
    for section in sections:
        for start, end in _windows(section.text, token_spans(section.text), max_tokens, overlap):
            text = section.text[start:end]
            if not text.strip():
                continue
            yield Chunk(
                text=text,
                page=section.page,
                start=section.offset + start,
                end=section.offset + end,
                ord=ordinal,
                title=section.title,
                heading_path=section.heading_path,
            )
            ordinal += 1


def _windows(text: str, spans: Sequence[tuple[int, int]], max_tokens: int, overlap: int) -> Iterator[tuple[int, int]]:
    n = len(spans)
    i = 0
    while i < n:
        k = _best_cut(text, spans, i, min(n, i + max_tokens), max_tokens)
        yield spans[i][0], spans[k - 1][1]
        if k >= n:
            return
        j = max(i + 1, k - overlap)
        while j < k and not _word_start(text, spans, j):
            j += 1
        i = j


def _word_start(text: str, spans: Sequence[tuple[int, int]], k: int) -> bool:
    """True if a chunk may begin at token ``k`` (or end just before it)."""
    if k == 0 or k >= len(spans):
        return True
    prev_end, start = spans[k - 1][1], spans[k][0]
    if start > prev_end:
        return True
    # no gap: a cut is fine only next to punctuation (the tokenizer split it off)
    return not (text[start].isalnum() and text[prev_end - 1].isalnum())


def _sentence_end(text: str, spans: Sequence[tuple[int, int]], k: int) -> bool:
    if k >= len(spans):
        return True
    prev_end, start = spans[k - 1][1], spans[k][0]
    gap = text[prev_end:start]
    return "\n" in gap or (bool(gap) and text[prev_end - 1] in _SENTENCE_END)


def _best_cut(text: str, spans: Sequence[tuple[int, int]], i: int, limit: int, max_tokens: int) -> int:
    """Token index to cut at: the chunk is tokens ``[i, k)``."""
    if limit >= len(spans):
        return len(spans)
    floor = i + max(1, max_tokens // 2)
    for k in range(limit, floor - 1, -1):
        if _sentence_end(text, spans, k):
            return k
    for k in range(limit, i, -1):
        if _word_start(text, spans, k):
            return k
    return limit
