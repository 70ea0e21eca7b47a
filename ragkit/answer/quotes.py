"""Answers quoted from the evidence: the retrieved sentences that best answer a question.

When a model's answer cannot be verified but retrieval found relevant passages, ragkit does
not say the documents lack the answer: it quotes, verbatim and cited, the sentences of those
passages that answer the question best, led by the short answer in them (a name, a date, a
place, an amount). Each sentence is scored by a small logistic model fitted on data
(``sentence_model.json``, fitted by ``scripts/fit_answer_model.py`` and measured on held-out
articles by ``benchmarks/answer_quality.py``) over features of the sentence: its meaning next to
the question's (the embedder's cosine), the question's words in it and in its neighbours,
whether it holds a *novel* answer of the kind asked (a name the question already names answers
nothing), its passage's retrieval rank, its position and length. Headings, titles, page headers
and footers are context, never an answer sentence. Below the model's decline threshold nothing
is quoted and the documents are said not to hold the answer.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.answer.attribution import BULLET, split_sentences
from ragkit.answer.spans import Part, PatternSpans, Span, SpanFinder, answer_spans, asks, novel
from ragkit.core.text import content_words, names, negations, quantities
from ragkit.search.retrieve import Hit

MODEL_FILE = Path(__file__).with_name("sentence_model.json")
MAX_QUOTES = 3  # sentences quoted at most
_MIN_WORDS = 4
FEATURES = (
    "bias",
    "cosine",
    "cosine_gap",  # how far below the best sentence's cosine for this question
    "overlap",  # share of the question's content words in the sentence
    "overlap_gap",
    "rare_overlap",  # the same, each word weighted by how few of the candidate sentences hold it
    "neighbours",  # share of the question's words in the sentences before and after it
    "typed",  # the question asks for a kind of thing (who, when, where, how many)
    "novel",  # share of those kinds present in the sentence and not already in the question
    "rank",  # 1 / (1 + its passage's retrieval rank)
    "first",  # the first sentence of its passage
    "names_missing",  # share of the question's names absent from the sentence and its neighbours
    "numbers_missing",  # share of the question's numbers absent from them
    "polarity",  # the question and the sentence differ in negation (one says "not", the other not)
)


@dataclass(frozen=True)
class Quote:
    hit: Hit  # the passage it is quoted from
    start: int  # within the passage's text
    end: int
    text: str
    score: float  # the model's probability that it answers the question
    spans: tuple[Span | None, ...] = ()  # for each typed part of the question, its answer here


@dataclass
class SentenceModel:
    """Logistic regression over :data:`FEATURES`; ``threshold`` is the probability under which
    ragkit declines, ``within`` how close to the best a further quoted sentence must be."""

    weights: list[float]
    threshold: float = 0.5
    within: float = 0.5
    about: dict[str, Any] = field(default_factory=dict)

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(x @ np.asarray(self.weights))))

    def save(self, path: Path) -> None:
        data = {"features": list(FEATURES), "weights": [round(w, 5) for w in self.weights],
                "threshold": round(self.threshold, 4), "within": round(self.within, 4),
                "about": self.about}  # fmt: skip
        path.write_text(json.dumps(data, indent=1) + "\n", "utf-8")

    @classmethod
    def load(cls, path: Path) -> SentenceModel:
        data = json.loads(path.read_text("utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path}: fitted on features {data['features']}, this ragkit computes {list(FEATURES)}")
        return cls(list(data["weights"]), float(data["threshold"]), float(data["within"]), dict(data.get("about", {})))


@lru_cache(maxsize=1)
def packaged() -> SentenceModel:
    """The model shipped with ragkit (fitted on all five shared SQuAD articles)."""
    return SentenceModel.load(MODEL_FILE)


@dataclass(frozen=True)
class Candidate:
    hit: Hit
    rank: int
    start: int
    end: int
    text: str
    position: int  # its place among its passage's sentences


_HEADING_MARK = re.compile(r"^\s*(?:#{1,6}\s|[-=*_]{3,}\s*$)")
_FOOTER = re.compile(
    r"^\s*(?:page\s+)?\d{1,4}\s+(?:of|/)\s+\S|\blast (?:updated|modified|revised)\b|\bcopyright\b|©|all rights reserved"
    r"|^\s*page\s+\d{1,4}\s*$",
    re.IGNORECASE,
)


def is_heading_line(line: str) -> bool:
    """A Markdown heading or rule, or a short line without a full stop in title case or
    capitals: "The Skarv Light", "ANNUAL REPORT 2023"."""
    text = line.strip()
    if not text:
        return False
    if _HEADING_MARK.match(text):
        return True
    words = re.findall(r"[^\W\d_][\w'’-]*", text)
    if not words or len(words) > 10 or text[-1] in ".!?:;,":
        return False
    long = [w for w in words if len(w) > 3]
    return bool(long) and (text.isupper() or sum(w[0].isupper() for w in long) >= 0.75 * len(long))


def is_boilerplate(sentence: str) -> bool:
    """A page header or footer: "21 of the … specification, last updated 2 October 2018",
    "Page 3", "© 2024 …"."""
    return len(sentence.split()) <= 25 and bool(_FOOTER.search(sentence))


def sentences_of(text: str) -> list[tuple[int, int, bool]]:
    """The ``(start, end, heading)`` of each sentence of a passage. A single line break inside
    a paragraph (a PDF's wrapped line) ends no sentence, but a heading line is a sentence of its
    own, marked, so that "# The Skarv Light" never runs into the sentence after it; and so is a
    list's item ("• <MIME>/globs (…)"), so that a list is never quoted whole as one sentence."""
    lines = text.split("\n")
    heading_lines: set[int] = set()  # where each heading line starts
    offset = 0
    for i, line in enumerate(lines):
        if is_heading_line(line) and (i + 1 == len(lines) or not lines[i + 1][:1].islower()):
            heading_lines.add(offset)
        offset += len(line) + 1
    out = list(text)  # wraps become spaces (the same length, so offsets hold); breaks at headings stay
    offset = 0
    in_item = False  # a list's item, wrapped or not, ends where a capital starts the next line
    for i, line in enumerate(lines[:-1]):
        at = offset + len(line)
        following = lines[i + 1]
        in_item = bool(BULLET.match(line)) or (in_item and bool(line.strip()))
        kept = offset in heading_lines or at + 1 in heading_lines or BULLET.match(following) is not None
        kept = kept or (in_item and following.lstrip()[:1].isupper())
        if not (kept or not line.strip() or not following.strip()):
            out[at] = " "
        offset = at + 1
    spans = []
    for start, end in split_sentences("".join(out)):
        line_start = text.rfind("\n", 0, start) + 1
        spans.append((start, end, line_start in heading_lines and _within_line(text, line_start, end)))
    return spans


def _within_line(text: str, line_start: int, end: int) -> bool:
    stop = text.find("\n", line_start)
    return stop == -1 or end <= stop


def candidates(hits: Sequence[Hit]) -> tuple[list[Candidate], dict[int, list[Candidate]]]:
    """Every sentence of the passages that could answer (not a heading, a footer or a fragment),
    and each passage's sentences in order (for their neighbours)."""
    found: list[Candidate] = []
    by_passage: dict[int, list[Candidate]] = {}
    for rank, hit in enumerate(hits):
        mine = []
        for position, (start, end, heading) in enumerate(sentences_of(hit.text)):
            text = " ".join(hit.text[start:end].split())
            sentence = Candidate(hit, rank, start, end, text, position)
            mine.append(sentence)
            if heading or is_boilerplate(text) or len(text.split()) < _MIN_WORDS:
                continue  # context, never an answer
            found.append(sentence)
        by_passage[rank] = mine
    return found, by_passage


def features(
    question: str,
    hits: Sequence[Hit],
    embed: Callable[[Sequence[str]], Any],
    finder: SpanFinder | None = None,
) -> tuple[list[Candidate], np.ndarray, list[tuple[Span | None, ...]]]:
    """The candidate sentences of ``hits`` for ``question``, their feature rows (in
    :data:`FEATURES` order) and each one's answer spans."""
    finder = finder or PatternSpans()
    found, by_passage = candidates(hits)
    if not found:
        return [], np.zeros((0, len(FEATURES))), []
    vectors = np.asarray(embed([question, *(c.text for c in found)]), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
    cosine = vectors[1:] @ vectors[0]
    wanted = content_words(question)
    parts = asks(question)
    typed = [p for p in parts if p.kind]
    words = [content_words(c.text) for c in found]
    overlap = np.array([_share(wanted, w) for w in words])
    held = {w: sum(w in mine for mine in words) for w in wanted}
    rarity = {w: math.log1p(len(found) / n) for w, n in held.items() if n}  # a word in every sentence tells little
    rare = np.array([sum(rarity.get(w, 0.0) for w in wanted & mine) / (sum(rarity.values()) or 1.0) for mine in words])
    named, amounts, negated = names(question), quantities(question), negations(question) % 2
    rows, spans = [], []
    for i, c in enumerate(found):
        siblings = by_passage[c.rank]
        around = " ".join(s.text for s in siblings[max(0, c.position - 1) : c.position + 2] if s is not c)
        near = f"{around} {c.text}".lower()
        mine = tuple(answer_spans(question, c.text, finder, parts)) if typed else ()
        spans.append(mine)
        rows.append([
            1.0, float(cosine[i]), float(cosine[i] - cosine.max()),
            float(overlap[i]), float(overlap[i] - overlap.max()), float(rare[i]),
            _share(wanted, content_words(around) - content_words(c.text)), 1.0 if typed else 0.0,
            sum(s is not None for s in mine) / len(typed) if typed else 0.0, 1.0 / (1 + c.rank),
            1.0 if c.position == 0 else 0.0,
            sum(n not in near for n in named) / len(named) if named else 0.0,
            len(amounts - quantities(near)) / len(amounts) if amounts else 0.0,
            float(negations(c.text) % 2 != negated),
        ])  # fmt: skip
    x = np.asarray(rows, dtype=np.float64)
    novelty = x[:, FEATURES.index("novel")]
    if typed and novelty.any():
        # a sentence without the kind of thing asked (or with only the question's own) answers
        # nothing, and one that answers every part of a compound question beats one answering a part
        keep = np.flatnonzero(novelty >= novelty.max())
        found, x, spans = [found[i] for i in keep], x[keep], [spans[i] for i in keep]
        for gap, of in (("cosine_gap", "cosine"), ("overlap_gap", "overlap")):  # below the best that could answer
            column = x[:, FEATURES.index(of)]
            x[:, FEATURES.index(gap)] = column - column.max()
    return found, x, spans


def _share(wanted: set[str], words: set[str]) -> float:
    return len(wanted & words) / len(wanted) if wanted else 0.0


def rank(
    question: str,
    hits: Sequence[Hit],
    embed: Callable[[Sequence[str]], Any],
    model: SentenceModel | None = None,
    finder: SpanFinder | None = None,
) -> list[Quote]:
    """Every candidate sentence of the passages ``hits``, most likely answer first."""
    model = model or packaged()
    found, x, spans = features(question, hits, embed, finder)
    if not found:
        return []
    p = model.probability(x)
    quotes = [Quote(c.hit, c.start, c.end, c.text, float(s), sp) for c, s, sp in zip(found, p, spans, strict=True)]
    return sorted(quotes, key=lambda q: q.score, reverse=True)


def choose(
    question: str,
    hits: Sequence[Hit],
    embed: Callable[[Sequence[str]], Any],
    model: SentenceModel | None = None,
    finder: SpanFinder | None = None,
) -> list[Quote]:
    """The sentences that answer the question: the best one, and up to ``MAX_QUOTES`` in all
    whose probability is at least ``within`` times the best's, in the passages' order; none
    when the best is under the model's threshold."""
    model = model or packaged()
    ranked = rank(question, hits, embed, model, finder)
    if not ranked or ranked[0].score < model.threshold:
        return []
    chosen = [ranked[0]] + [
        q for q in ranked[1:MAX_QUOTES] if q.score >= max(model.threshold, ranked[0].score * model.within)
    ]
    order = {id(hit): i for i, hit in enumerate(hits)}
    return sorted(chosen, key=lambda q: (order[id(q.hit)], q.start))


@dataclass(frozen=True)
class ShortAnswer:
    """The words that answer each typed part of the question, from the quoted sentences."""

    parts: tuple[tuple[Part, Quote | None, Span | None], ...]

    @property
    def text(self) -> str:
        return ", ".join(span.text for _, _, span in self.parts if span is not None)

    @property
    def missing(self) -> list[Part]:
        return [part for part, _, span in self.parts if span is None]

    def as_dict(self, number: Callable[[Hit], int]) -> dict[str, Any]:
        found = [(part, quote, span) for part, quote, span in self.parts if quote is not None and span is not None]
        rows = [
            {"asks": part.text, "kind": part.kind, "text": span.text, "source": number(quote.hit),
             "span": [quote.hit.start + quote.start + span.start, quote.hit.start + quote.start + span.end]}
            for part, quote, span in found
        ]  # fmt: skip
        first = rows[0] if rows else {"source": None, "span": None}
        return {"text": self.text, "source": first["source"], "span": first["span"], "parts": rows,
                "missing": [p.text for p in self.missing]}  # fmt: skip


def short_answer(question: str, quotes: Sequence[Quote]) -> ShortAnswer | None:
    """For a question asking for things (who, when, where, how many), each part's answer: the
    span from the best-scoring quoted sentence that holds one. None for an untyped question."""
    parts = [p for p in asks(question) if p.kind]
    if not parts or not quotes:
        return None
    best_first = sorted(quotes, key=lambda q: q.score, reverse=True)
    found: list[tuple[Part, Quote | None, Span | None]] = []
    for i, part in enumerate(parts):
        hit = next(((q, q.spans[i]) for q in best_first if i < len(q.spans) and q.spans[i] is not None), None)
        found.append((part, hit[0], hit[1]) if hit else (part, None, None))
    return ShortAnswer(tuple(found))


def render(quotes: Sequence[Quote], number: Callable[[Hit], int], short: ShortAnswer | None = None) -> str:
    """The quotes as an answer, each sentence with its source's ``[n]`` before the full stop,
    led by the short answer when there is one: "Maren Tolsvik, 1887 — “The present …” [1]."."""
    body = " ".join(_cite(q.text, number(q.hit)) for q in quotes)
    if short is None or not short.text:
        return body
    return f"{short.text} — {body}"


def _cite(sentence: str, n: int) -> str:
    """``sentence`` with its ``[n]`` before the closing full stop: "It is so [1]."."""
    stripped = sentence.rstrip(".!?")
    return f"{stripped} [{n}]{sentence[len(stripped) :]}" if stripped != sentence else f"{sentence} [{n}]"


__all__ = ["FEATURES", "Quote", "SentenceModel", "ShortAnswer", "choose", "features", "novel", "rank", "render",
           "short_answer"]  # fmt: skip
