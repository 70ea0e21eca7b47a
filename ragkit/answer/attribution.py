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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any, Literal

import numpy as np

from ragkit.core.text import (
    STOPWORDS,
    clauses,
    content_words,
    names,
    negations,
    numbers,
    quantities,
    sequence,
    stem,
)
from ragkit.search.retrieve import Hit

SUPPORT_THRESHOLD = 0.6  # share of a claim's content words in the window
PARAPHRASE_COVERAGE = 0.4  # fewer shared words, when the meaning is close
# calibrated on tests/data/claims.jsonl (benchmarks/verify.py): true paraphrases >= 0.86,
# word salad made of the window's own words mostly below
MEANING_FLOOR = 0.85
PARAPHRASE_MEANING = 1.1
_MARKER = re.compile(r"\[(\d{1,3})(?:\s*,\s*(\d{1,3}))*\]")
_MARKER_NUMBERS = re.compile(r"\d{1,3}")
_LEADING_MARKERS = re.compile(r"(?:\[\d{1,3}(?:\s*,\s*\d{1,3})*\]\s*)+[.!?]*")
_WRAP = re.compile(r"(?<!\n)\n(?!\n)")  # a line break inside a paragraph (PDFs) ends no sentence
_WORDS = re.compile(r"[\w'’-]+")
_PATHS = re.compile(r"(?<![\w/])(?:~|[\w.-]*)(?:/[\w.~+-]+)+/?(?<![.,])")
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


def agrees(claim: str, window: str, passage: str = "") -> bool:
    """The checks besides word coverage: every quantity (number, ordinal, number word) of the
    claim is in the window, and no clause of it swaps one for the quantity of the window
    clause it matches; every name is in the passage, and no clause puts one where the matching
    window clause has another; each clause of the claim has the same polarity as the window's
    clause that matches it best (so "not", "never", "no longer", "fails to" cannot be added or
    dropped); every file path is in the passage as written; no word of the window is negated
    by a prefix ("unsuccessful" against "successful"); and no word of the window is
    :func:`substituted`."""
    if not quantities(claim) <= quantities(window):
        return False
    if not set(_PATHS.findall(claim)) <= set(_PATHS.findall(passage or window)):
        return False  # a file path, URL or identifier the source does not hold ("/lib/xmime")
    known = {w.lower().removesuffix("'s").removesuffix("’s") for w in _WORDS.findall(passage or window)}
    if not all(name in known or _demonym_of(name, names(passage or window)) for name in names(claim)):
        return False
    pieces = clauses(window)
    parts = [(content_words(c) - numbers(content_words(c)), negations(c), quantities(c)) for c in pieces]
    for clause in clauses(claim):
        words = content_words(clause)
        if not parts:
            break
        best = max(range(len(parts)), key=lambda k: len((words - numbers(words)) & parts[k][0]))
        bag, negated, amounts = parts[best]
        overlap = len((words - numbers(words)) & bag)
        if len(words) >= 2 and overlap and negated % 2 != negations(clause) % 2:
            return False
        mine = quantities(clause)
        if overlap >= 2 and mine and amounts and not mine & amounts:
            return False  # "total cost was $38,000" where the matching clause says $57,000
        named, theirs = {stem(n) for n in names(clause)}, {stem(n) for n in names(pieces[best])}
        if overlap >= 2 and any(set(run) & named and set(slot) & theirs for run, slot in _swaps(clause, pieces[best])):
            return False  # "Harvard Yard in Boston" where the matching clause says "in Cambridge"
    if _prefix_negated(content_words(claim), content_words(window)):
        return False
    return not substituted(claim, window) and not roles_swapped(claim, window)


_ROLE_REACH = 12  # content words between the two parties and the word between them


def roles_swapped(claim: str, window: str) -> bool:
    """Whether the claim puts two parties the other way round about the same word between
    them: "A pursued B" where the window says "B pursued A". Turning the voice ("B was
    developed by A" for "A developed B") is how a sentence legitimately turns its parties
    round, so a "by" just after that word in one text but not the other lets it pass. The
    word between must be said once in each and be no name or number; a party is a word said
    once, or a name (where said more than once, its first mention counts)."""
    said, source = _content_sequence(claim), _content_sequence(window)
    where: dict[str, list[int]] = {}
    for position, token in enumerate(source):
        where.setdefault(token, []).append(position)
    named = {stem(n) for n in names(window)}  # (a claim's first word may be capitalised only for being first)
    once = {t for t in where if len(where[t]) == 1 and said.count(t) == 1}
    parties = [(i, t) for i, t in enumerate(said) if t in where and (t in once or t in named) and not t[0].isdigit()]
    voice_turned = _before_by(claim) ^ _before_by(window)
    for x, (i, a) in enumerate(parties):
        for j, pivot in enumerate(said[i + 1 :], start=i + 1):
            if pivot not in once or pivot in named or pivot in voice_turned or pivot[0].isdigit():
                continue
            (v,) = where[pivot]
            for k, b in parties[x + 1 :]:
                if k <= j or k - i > _ROLE_REACH or b == a:
                    continue
                p, q = where[a][0], where[b][0]  # a name said again is mostly said as it was first
                if q < v < p and p - q <= _ROLE_REACH:
                    return True
    return False


def _before_by(text: str) -> set[str]:
    """The words followed, within two words, by "by" ("invented by", "was called to … by")."""
    tokens = sequence(text)
    return {tokens[i] for i in range(len(tokens)) if "by" in tokens[i + 1 : i + 3]}


_DEMONYM_ENDINGS = ("ish", "ian", "ese", "an", "i")


def _demonym_of(name: str, places: set[str]) -> bool:
    """Whether ``name`` is the adjective of one of the ``places`` ("swedish" and "sweden",
    "polish" and "poland", "israeli" and "israel")."""
    for ending in _DEMONYM_ENDINGS:
        root = name.removesuffix(ending)
        if root != name and len(root) >= 3 and any(place.startswith(root[:4]) for place in places):
            return True
    return False


_PLAIN = frozenset(
    "this that these those its their his her our my your is are was were be been being has have had "
    "do does did will would can could shall should may might".split()
)
# function words whose swap reverses a fact (other stopword swaps, "in"/"into", "just"/"only",
# are rewording)
_OPPOSITES = frozenset(
    frozenset(pair.split("/"))
    for pair in "above/below over/under before/after more/less more/fewer most/least up/down in/out "
    "inside/outside always/never all/none all/some first/last higher/lower early/late".split()
)
_NEGATING_PREFIXES = ("un", "in", "im", "il", "ir", "non", "dis", "non-")
_MAX_SLOT = 3


def _prefix_negated(said: set[str], source: set[str]) -> bool:
    """A claim word that is a window word negated by its form ("unsuccessful"/"successful",
    "jawless"/"jawed"), where the claim does not also hold the plain word."""
    for word in said - source:
        for prefix in _NEGATING_PREFIXES:
            base = word.removeprefix(prefix)
            if base != word and base in source and base not in said:
                return True
            if prefix + word in source and prefix + word not in said:
                return True
        if word.endswith("less") and {word[:-4], word[:-4] + "ed", word[:-4] + "ful"} & (source - said):
            return True
    return False


def substituted(claim: str, window: str) -> bool:
    """Whether the claim says the window's words with a few of them replaced: a run of up to
    three claim words the window lacks, standing exactly where the window has as many words
    the claim lacks, between the same neighbours ("called by antibodies" against "called by
    cytokines", "is more active" against "is less active", "over the summer" against "over the
    winter"), or with the same two neighbours on one side and a clause boundary on the other.
    That is how a changed name, role or antonym looks. Rewording is not: a swap of function
    words ("in"/"into", unless opposites like "above"/"below"), of forms of "be" or "this", or
    of one word for a longer phrase ("divided" for "created a rift within")."""
    return any(True for _ in _swaps(claim, window))


def _swaps(claim: str, window: str) -> Iterator[tuple[list[str], list[str]]]:
    """Each ``(run, slot)``: claim words standing where the window has other words (see
    :func:`substituted`)."""
    said, source = ["|", *sequence(claim), "|"], ["|", *sequence(window), "|"]
    in_said, in_source = set(said), set(source)
    starts: dict[str, list[int]] = {}
    for position, token in enumerate(source):
        starts.setdefault(token, []).append(position)

    def fits(run: list[str], slot: list[str]) -> bool:
        return bool(slot) and not any(t in in_said or t == "|" for t in slot) and _changes(run, slot)

    i = 1
    while i < len(said) - 1:
        if said[i] in in_source or said[i] == "|":
            i += 1
            continue
        j = i
        while j < len(said) - 1 and said[j] not in in_source and said[j] != "|":
            j += 1
        run, left, right = said[i:j], said[i - 1], said[j]
        before, after = (said[i - 2] if i >= 2 else None), (said[j + 1] if j + 1 < len(said) else None)
        i = j
        if len(run) > _MAX_SLOT:
            continue
        for p in starts.get(left, ()):  # held on both sides
            for q in range(p + 2, p + 2 + len(run)):
                if q >= len(source) or source[q] != right or not fits(run, source[p + 1 : q]):
                    continue
                if (
                    _meaningful(left)
                    or _meaningful(right)
                    or (before is not None and p >= 1 and before == source[p - 1])
                    or (after is not None and q + 1 < len(source) and after == source[q + 1])
                ):
                    yield run, source[p + 1 : q]
        # held on one side by two neighbours (one of them meaningful), up to a clause boundary
        # on the other: "is lowest-reference hospital in" against "| highest-reference hospital in"
        if after is not None and (_meaningful(right) or _meaningful(after)):
            for q in starts.get(right, ()):
                if q + 1 < len(source) and source[q + 1] == after:
                    edge = max((k for k in range(q) if source[k] == "|"), default=-1)
                    if 0 < q - edge - 1 <= len(run) + 1 and fits(run, source[edge + 1 : q]):
                        yield run, source[edge + 1 : q]
        if before is not None and (_meaningful(left) or _meaningful(before)):
            for p in starts.get(left, ()):
                if p >= 1 and source[p - 1] == before:
                    edge = next((k for k in range(p + 1, len(source)) if source[k] == "|"), len(source))
                    if 0 < edge - p - 1 <= len(run) + 1 and fits(run, source[p + 1 : edge]):
                        yield run, source[p + 1 : edge]


def _changes(run: list[str], slot: list[str]) -> bool:
    """Whether putting ``run`` where the window has ``slot`` can change a fact."""
    if len(run) == 1 and len(slot) == 1 and frozenset((run[0], slot[0])) in _OPPOSITES:
        return True
    return not any(all(t in STOPWORDS or t in _PLAIN for t in side) for side in (run, slot))


def _meaningful(token: str) -> bool:
    return token != "|" and token not in STOPWORDS and len(token) > 2


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
    return best


def strip_markers(text: str) -> str:
    return re.sub(r"\s*" + _MARKER.pattern, "", text)


def order_agreement(claim: str, window: str) -> float:
    """The share of the claim's neighbouring content words (both in the window) that stand in
    the same order, at most three content words apart, in the window: 1.0 for a sentence the
    window states, low for the window's words shuffled into word salad."""
    said, source = _content_sequence(claim), _content_sequence(window)
    where: dict[str, list[int]] = {}
    for position, token in enumerate(source):
        where.setdefault(token, []).append(position)
    pairs = [(x, y) for x, y in pairwise(said) if x in where and y in where]
    if not pairs:
        return 1.0
    kept = sum(any(0 < j - i <= 3 for i in where[x] for j in where[y]) for x, y in pairs)
    return kept / len(pairs)


def _content_sequence(text: str) -> list[str]:
    return [t for t in sequence(text) if t != "|" and (t[0].isdigit() or (len(t) > 2 and t not in STOPWORDS))]


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
