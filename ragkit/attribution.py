"""Citations you can check: every answer sentence is tied to the source text that backs it.

One step serves every model. Valid ``[n]`` markers from the model are kept and verified
against source ``n``; when the model gives none (tiny models never do), each sentence is
matched to the source passage that shares most of its content words. The check is
mechanical: the share of a sentence's content words found in one sentence-window of the
source, and every number in the sentence must appear there (numbers are what small models
most often make up). The best window is the cited span, with offsets within the page or file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ragkit.retrieve import Hit
from ragkit.text import clauses, content_words, names, negations, numbers, quantities

SUPPORT_THRESHOLD = 0.6
_MIN_WORDS = 3
_MARKER = re.compile(r"\[(\d{1,3})(?:\s*,\s*(\d{1,3}))*\]")
_MARKER_NUMBERS = re.compile(r"\d{1,3}")
_ONLY_MARKERS = re.compile(r"(?:\[\d{1,3}(?:\s*,\s*\d{1,3})*\]\s*)+[.!?]*")
_WORDS = re.compile(r"[\w'’-]+")
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+(?=\s|$)|\n|$)")


@dataclass(frozen=True)
class Citation:
    n: int
    path: str
    page: int | None
    start: int
    end: int
    quote: str
    verified: bool
    by: Literal["model", "match"]
    support: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "path": self.path,
            "page": self.page,
            "start": self.start,
            "end": self.end,
            "quote": self.quote,
            "verified": self.verified,
            "by": self.by,
            "support": round(self.support, 3),
        }


@dataclass(frozen=True)
class SentenceSupport:
    start: int
    end: int
    text: str
    citations: tuple[int, ...]  # indexes into Attribution.citations
    supported: bool


@dataclass
class Attribution:
    by: Literal["model", "match", "none"]
    citations: list[Citation] = field(default_factory=list)
    sentences: list[SentenceSupport] = field(default_factory=list)

    @property
    def any_verified(self) -> bool:
        return any(c.verified for c in self.citations)


def split_sentences(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for match in _SENTENCE.finditer(text):
        start, end = match.start(), match.end()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            if spans and _ONLY_MARKERS.fullmatch(text[start:end]):
                spans[-1] = (spans[-1][0], end)  # "… sentence. [1]": the marker belongs to it
            else:
                spans.append((start, end))
    return spans


def agrees(claim: str, window: str, passage: str = "") -> bool:
    """The checks besides word coverage: every quantity (number, ordinal, number word) of the
    claim is in the window, every name in the passage, and each clause of the claim has the
    same polarity as the window's clause that matches it best (so "not", "never", "no
    longer", "fails to" cannot be added or dropped)."""
    if not quantities(claim) <= quantities(window):
        return False
    known = {w.lower().removesuffix("'s").removesuffix("’s") for w in _WORDS.findall(passage or window)}
    if not names(claim) <= known:
        return False
    parts = [(content_words(c), negations(c)) for c in clauses(window)]
    for clause in clauses(claim):
        words = content_words(clause)
        if len(words) < 2 or not parts:
            continue
        overlap, negated = max(((len(words & bag), n) for bag, n in parts), key=lambda p: p[0])
        if overlap and negated % 2 != negations(clause) % 2:
            return False
    return True


def best_span(claim: str, source: str) -> tuple[float, int, int]:
    """Score how well ``source`` backs ``claim``; return ``(score, start, end)`` of the
    window of one or two adjacent source sentences that backs it best. A window that does
    not :func:`agree` with the claim scores below the threshold whatever its coverage."""
    words = content_words(claim)
    if not words:
        return 0.0, 0, 0
    wanted_numbers = numbers(words)
    spans = split_sentences(source) or [(0, len(source))]
    bags = [content_words(source[s:e]) for s, e in spans]
    best = (0.0, spans[0][0], spans[0][1])
    for i, (start, _end) in enumerate(spans):
        for j in (i, i + 1):
            if j >= len(spans):
                continue
            bag = bags[i] | bags[j] if j != i else bags[i]
            score = len(words & bag) / len(words)
            if not wanted_numbers <= bag or not agrees(claim, source[start : spans[j][1]], source):
                score = min(score, SUPPORT_THRESHOLD - 0.01)
            span_end = spans[j][1]
            # prefer the higher score, then the shorter window
            if score > best[0] + 1e-9 or (abs(score - best[0]) < 1e-9 and span_end - start < best[2] - best[1]):
                best = (score, start, span_end)
    return best


def strip_markers(text: str) -> str:
    return re.sub(r"\s*" + _MARKER.pattern, "", text)


def attribute(answer: str, sources: Sequence[Hit], threshold: float = SUPPORT_THRESHOLD) -> Attribution:
    sentences = split_sentences(answer)
    markers = [
        [int(n) for n in _MARKER_NUMBERS.findall(m.group())]
        for s, e in sentences
        for m in _MARKER.finditer(answer[s:e])
    ]
    uses_markers = any(1 <= n <= len(sources) for group in markers for n in group)
    result = Attribution(by="model" if uses_markers else "match")
    if not sources:
        result.by = "none"
    keyed: dict[tuple[int, int, int], int] = {}

    def cite(n: int, claim: str, by: Literal["model", "match"]) -> tuple[int, bool]:
        hit = sources[n - 1]
        score, start, end = best_span(claim, hit.text)
        verified = score >= threshold
        key = (n, start, end)
        if key not in keyed:
            keyed[key] = len(result.citations)
            result.citations.append(
                Citation(
                    n, hit.path, hit.page, hit.start + start, hit.start + end, hit.text[start:end], verified, by, score
                )
            )
        elif verified and not result.citations[keyed[key]].verified:
            old = result.citations[keyed[key]]
            result.citations[keyed[key]] = Citation(
                n, old.path, old.page, old.start, old.end, old.quote, True, by, score
            )
        return keyed[key], verified

    for s, e in sentences:
        text = answer[s:e]
        claim = strip_markers(text)
        indexes: list[int] = []
        supported = False
        if len(content_words(claim)) < _MIN_WORDS:
            result.sentences.append(SentenceSupport(s, e, text, (), True))
            continue
        if uses_markers:
            for match in _MARKER.finditer(text):
                for n in (int(x) for x in _MARKER_NUMBERS.findall(match.group())):
                    if 1 <= n <= len(sources):
                        index, ok = cite(n, claim, "model")
                        indexes.append(index)
                        supported = supported or ok
        elif sources:
            scores = [best_span(claim, hit.text)[0] for hit in sources]
            n = max(range(len(sources)), key=lambda i: scores[i]) + 1
            if scores[n - 1] >= threshold:
                index, supported = cite(n, claim, "match")
                indexes.append(index)
        result.sentences.append(SentenceSupport(s, e, text, tuple(indexes), supported))
    return result
