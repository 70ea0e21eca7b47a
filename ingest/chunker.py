"""Split sections into chunks that fit the embedder's window exactly.

Lengths are measured with the embedder's own tokenizer, passed in as a function that
returns the character span of every token (no special tokens). Chunks end on a
sentence boundary where one is near, else on a word boundary, never inside a word.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from ingest.types import Chunk, Section

TokenSpans = Callable[[str], Sequence[tuple[int, int]]]

# 2: each chunk embedded with its document's title and its section (context); 3: a table continued
# from the page before carries that table's columns
CHUNKER_VERSION = "3"
_SENTENCE_END = frozenset(".!?;:")
INNER_HEADINGS = 2  # the headings a context keeps longest (a statement's caption, its columns)
CONTEXT_SHARE = 4  # a chunk's context takes at most a quarter of the embedder's window


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
        context = _context(section, token_spans, max_tokens // CONTEXT_SHARE)
        budget = max_tokens - (len(token_spans(context)) + 1 if context else 0)
        for start, end in _windows(section.text, token_spans(section.text), budget, min(overlap, budget // 2 - 1)):
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
                context=_unsaid(context, text),
            )
            ordinal += 1


def embedding_text(chunk: Chunk) -> str:
    """What the embedder reads of a chunk: its context (the document's title, the section it
    sits in), then its text. Only the text is ever quoted; the context is never an answer."""
    return f"{chunk.context}\n{chunk.text}" if chunk.context else chunk.text


def _unsaid(context: str, text: str) -> str:
    """The parts of ``context`` that ``text`` does not itself say (a page's heading is often
    its first line: the chunk that holds it needs no copy)."""
    words = " ".join(text.split())
    return " · ".join(part for part in context.split(" · ") if " ".join(part.split()) not in words)


def _context(section: Section, token_spans: TokenSpans, limit: int) -> str:
    """The section's title and heading path in a line, within ``limit`` tokens: the outer
    headings (a part, an item) go first, the title and the innermost heading (the section the
    text is in, a table's columns) last; then the line is cut."""
    title = " ".join(section.title.split())
    headings = [" ".join(h.split()) for h in section.heading_path if h.strip()]
    while True:
        context = " · ".join(p for p in (title, *headings) if p)
        spans = token_spans(context)
        if len(spans) <= limit:
            return context
        if len(headings) <= INNER_HEADINGS:
            return context[: spans[limit - 1][1]] if limit else ""
        del headings[0]


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
