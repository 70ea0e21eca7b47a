"""Citations you can check: every answer sentence is tied to the source text that backs it.

One step serves every model. Valid ``[n]`` markers from the model are kept and verified
against source ``n``; when the model gives none (tiny models never do), each sentence is
matched to the source passage that backs it best. A sentence is supported by a window of one
or two source sentences only if the window holds enough of its content words, every number
and name in it, the same polarity clause by clause, no word swapped for another in the same
place (a changed name, role or antonym), and, with the embedder at hand, the same meaning
(cosine similarity plus word order). The window is the cited span, with offsets within the
page or file. ``grounded`` means every factual sentence is supported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any, Literal

import numpy as np

from ragkit.answer.agreement import agrees, content_sequence
from ragkit.core.text import (
    content_words,
    numbers,
    quantities,
    stem,
)
from ragkit.search.retrieve import Hit

SUPPORT_THRESHOLD = 0.6  # share of a claim's content words in the window
PARAPHRASE_COVERAGE = 0.4  # fewer shared words, when the meaning is close
# calibrated on tests/data/claims.jsonl (benchmarks/verify.py): true paraphrases >= 0.86,
# word salad made of the window's own words mostly below
MEANING_FLOOR = 0.85
# a claim of this many words or more found word for word in a source is backed by that span, where
# the source's sentence around it is over twice as long (a table's rows run on without a full stop)
VERBATIM_WORDS = 3
PARAPHRASE_MEANING = 1.1
_MARKER = re.compile(r"\[(\d{1,3})(?:\s*,\s*(\d{1,3}))*\]")
_MARKER_NUMBERS = re.compile(r"\d{1,3}")
_LEADING_MARKERS = re.compile(r"(?:\[\d{1,3}(?:\s*,\s*\d{1,3})*\]\s*)+[.!?]*")
# a bulleted line ("• item", "- item"): a list's item is a sentence of its own
BULLET = re.compile(r"[ \t]*[•◦▪‣●■►–*-][ \t]")
# a line break inside a paragraph (PDFs) ends no sentence, unless a list's item follows it
_WRAP = re.compile(r"(?<!\n)\n(?!\n|" + BULLET.pattern + ")")
# a full stop ends a sentence only before a space or the end: "2.3 million" and "e.g.," run on
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?]+(?![.!?]|\s|$))*(?:[.!?]+(?=\s|$)|\n|$)")


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
    factual: bool = True  # False for small talk ("Sure."), which is neither checked nor counted


@dataclass
class Attribution:
    by: Literal["model", "match", "none"]
    citations: list[Citation] = field(default_factory=list)
    sentences: list[SentenceSupport] = field(default_factory=list)

    @property
    def any_verified(self) -> bool:
        return any(c.verified for c in self.citations)

    @property
    def grounded(self) -> bool:
        """Every factual sentence is supported (and there is at least one)."""
        checked = [s for s in self.sentences if s.factual]
        return bool(checked) and all(s.supported for s in checked)

    @property
    def unsupported(self) -> list[SentenceSupport]:
        return [s for s in self.sentences if s.factual and not s.supported]


def split_sentences(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each sentence of ``text``; a ``[n]`` marker written after a
    sentence's full stop belongs to that sentence, also when the next one follows it."""
    spans: list[tuple[int, int]] = []
    for match in _SENTENCE.finditer(text):
        start, end = match.start(), match.end()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end <= start:
            continue
        leading = _LEADING_MARKERS.match(text, start, end)
        if spans and leading:
            stop = leading.end()
            while text[stop - 1].isspace():
                stop -= 1
            spans[-1] = (spans[-1][0], stop)  # "… sentence. [1] Next …"
            start = leading.end()
            while start < end and text[start].isspace():
                start += 1
        if end > start:
            spans.append((start, end))
        elif spans:
            spans[-1] = (spans[-1][0], end)
    return spans


def best_span(claim: str, source: str) -> tuple[float, int, int]:
    """Score how well ``source`` backs ``claim``; return ``(score, start, end)`` of the
    window of one or two adjacent source sentences that backs it best. A window that does
    not :func:`agree` with the claim scores below the threshold whatever its coverage."""
    words = content_words(claim)
    if not words:
        return 0.0, 0, 0
    wanted_numbers = numbers(words)
    spans = split_sentences(_WRAP.sub(" ", source)) or [(0, len(source))]  # same offsets
    bags = [content_words(source[s:e]) for s, e in spans]
    best = (0.0, spans[0][0], spans[0][1])
    for i, (start, _end) in enumerate(spans):
        for j in (i, i + 1):
            if j >= len(spans):
                continue
            bag = bags[i] | bags[j] if j != i else bags[i]
            score = len(words & bag) / len(words)
            if not wanted_numbers <= bag or not agrees(claim, source[start : spans[j][1]], source):
                score = min(score, PARAPHRASE_COVERAGE - 0.01)
            span_end = spans[j][1]
            # prefer the higher score, then the shorter window
            if score > best[0] + 1e-9 or (abs(score - best[0]) < 1e-9 and span_end - start < best[2] - best[1]):
                best = (score, start, span_end)
    verbatim = _verbatim(claim, source)
    if verbatim is not None and best[2] - best[1] > 2 * (verbatim[1] - verbatim[0]):
        return 1.0, *verbatim  # the source's own words, in a window no full stop bounds (a table's row)
    return best


def _verbatim(claim: str, source: str) -> tuple[int, int] | None:
    """Where ``source`` holds ``claim`` word for word (spacing and line breaks aside, a final
    full stop aside), if it does and the claim has :data:`VERBATIM_WORDS` words or more."""
    words = claim.strip().rstrip(".!?").split()
    if len(words) < VERBATIM_WORDS:
        return None
    pattern = r"\s+".join(map(re.escape, words))
    found = re.search(rf"(?<!\w){pattern}(?!\w)", source)
    return (found.start(), found.end()) if found else None


def strip_markers(text: str) -> str:
    return re.sub(r"\s*" + _MARKER.pattern, "", text)


def order_agreement(claim: str, window: str) -> float:
    """The share of the claim's neighbouring content words (both in the window) that stand in
    the same order, at most three content words apart, in the window: 1.0 for a sentence the
    window states, low for the window's words shuffled into word salad."""
    said, source = content_sequence(claim), content_sequence(window)
    where: dict[str, list[int]] = {}
    for position, token in enumerate(source):
        where.setdefault(token, []).append(position)
    pairs = [(x, y) for x, y in pairwise(said) if x in where and y in where]
    if not pairs:
        return 1.0
    kept = sum(any(0 < j - i <= 3 for i in where[x] for j in where[y]) for x, y in pairs)
    return kept / len(pairs)


def meaning(similarity: float, order: float) -> float:
    """The semantic signal: the cosine of claim and window with the loaded embedder, plus a
    quarter of :func:`order_agreement` (embeddings alone barely tell word salad from a
    sentence)."""
    return similarity + 0.25 * order


def _decide(coverage: float, similarity: float | None, order: float) -> bool:
    """Whether a window that :func:`agrees` with a claim, with this word ``coverage``,
    supports it: enough words and, when an embedder is at hand, enough meaning; or, for a
    paraphrase that rewords much, fewer words and more meaning."""
    if similarity is None:
        return coverage >= SUPPORT_THRESHOLD
    signal = meaning(similarity, order)
    return (coverage >= SUPPORT_THRESHOLD and signal >= MEANING_FLOOR) or (
        coverage >= PARAPHRASE_COVERAGE and signal >= PARAPHRASE_MEANING
    )


def factual(claim: str) -> bool:
    """Whether a sentence states something that must be checked: any word besides stopwords
    and the small talk models wrap answers in ("Sure.", "I hope this helps!")."""
    return bool(content_words(claim) - _SMALL_TALK) or bool(quantities(claim))


_SMALL_TALK = frozenset(
    {
        stem(w)
        for w in "answer question help hope sure glad happy here based information provided context "
        "following given note please let know thank thanks okay certainly".split()
    }
)


Claim = tuple[int, int, str, list[tuple[int, float, int, int]]]  # start, end, text; (source, score, span) to decide


def _claims(
    answer: str, sentences: list[tuple[int, int]], sources: Sequence[Hit], uses_markers: bool, low: float,
    result: Attribution,
) -> list[Claim]:  # fmt: skip
    """Every (sentence, source) pair worth deciding: the sources a sentence cites, or (with no
    citation markers) each source close enough. Adds each sentence to ``result``."""
    claims: list[Claim] = []
    for s, e in sentences:
        text = answer[s:e]
        claim = strip_markers(text)
        if not factual(claim):
            result.sentences.append(SentenceSupport(s, e, text, (), False, factual=False))
            continue
        if uses_markers:
            cited = [
                n
                for match in _MARKER.finditer(text)
                for n in (int(x) for x in _MARKER_NUMBERS.findall(match.group()))
                if 1 <= n <= len(sources)
            ]
            spans = [(n, *best_span(claim, sources[n - 1].text)) for n in dict.fromkeys(cited)]
        else:
            spans = [(n, *best_span(claim, hit.text)) for n, hit in enumerate(sources, start=1)]
            spans = sorted((x for x in spans if x[1] >= low), key=lambda x: x[1], reverse=True)
        claims.append((s, e, claim, spans))
        result.sentences.append(SentenceSupport(s, e, text, (), False))
    return claims


def _similarities(
    claims: list[Claim], sources: Sequence[Hit], embed: Callable[[Sequence[str]], Any], low: float
) -> dict[tuple[int, int], float]:
    """The cosine of each claim to each window it may cite, keyed (claim, source), in one batch."""
    wanted = [
        (k, n, claim, sources[n - 1].text[start:end])
        for k, (_, _, claim, spans) in enumerate(claims)
        for n, score, start, end in spans
        if score >= low
    ]
    if not wanted:
        return {}
    texts = [t for _, _, claim, window in wanted for t in (claim, window)]
    vectors = np.asarray(embed(texts), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
    return {(k, n): float(vectors[2 * i] @ vectors[2 * i + 1]) for i, (k, n, _, _) in enumerate(wanted)}


def attribute(
    answer: str,
    sources: Sequence[Hit],
    threshold: float = SUPPORT_THRESHOLD,
    embed: Callable[[Sequence[str]], Any] | None = None,
) -> Attribution:
    """Tie each sentence of ``answer`` to the span of ``sources`` that backs it and say
    whether it is supported. With ``embed`` (the loaded embedder), support also needs the
    :func:`meaning` of claim and span to agree, and paraphrases with fewer shared words can
    pass on meaning. Sentences that are not :func:`factual` are neither checked nor counted."""
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
    low = min(threshold, PARAPHRASE_COVERAGE) if embed is not None else threshold

    claims = _claims(answer, sentences, sources, uses_markers, low, result)
    similarity = _similarities(claims, sources, embed, low) if embed is not None else {}
    keyed: dict[tuple[int, int, int], int] = {}
    by: Literal["model", "match"] = "model" if uses_markers else "match"
    factual_at = [i for i, sentence in enumerate(result.sentences) if sentence.factual]
    for k, (s, e, claim, spans) in enumerate(claims):
        indexes: list[int] = []
        supported = False
        for n, score, start, end in spans:
            hit = sources[n - 1]
            window = hit.text[start:end]
            ok = score >= low and _decide(score, similarity.get((k, n)), order_agreement(claim, window))
            if not uses_markers and not ok:
                continue  # matching: cite only a source that backs the sentence
            key = (n, start, end)
            if key not in keyed:
                keyed[key] = len(result.citations)
                result.citations.append(
                    Citation(n, hit.path, hit.page, hit.start + start, hit.start + end, window, ok, by, score)
                )
            elif ok and not result.citations[keyed[key]].verified:
                earlier = result.citations[keyed[key]]
                result.citations[keyed[key]] = replace(earlier, verified=True, by=by, support=score)
            indexes.append(keyed[key])
            supported = supported or ok
            if ok and not uses_markers:
                break  # the best source that backs it
        text = answer[s:e]
        result.sentences[factual_at[k]] = SentenceSupport(s, e, text, tuple(indexes), supported)
    return result


def shifted(attribution: Attribution, by: int) -> Attribution:
    """``attribution`` of a text that now has ``by`` characters before it."""
    moved = [replace(s, start=s.start + by, end=s.end + by) for s in attribution.sentences]
    return Attribution(attribution.by, attribution.citations, moved)
