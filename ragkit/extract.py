"""Answers quoted from the evidence: the retrieved sentences that best answer a question.

When a model's answer cannot be verified but retrieval found relevant passages, ragkit does
not say the documents lack the answer: it quotes, verbatim and cited, the sentences of those
passages that answer the question best. A sentence is scored by its meaning (cosine of the
question and the sentence, with the embedder already loaded), the question's words it holds,
and whether it holds what the question asks for (who: a name; when: a date or year; how many,
how much: a number). The best sentence is quoted, with up to two more that score almost as
well. Below a floor, nothing is quoted and the documents are said not to hold the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ragkit.attribution import split_sentences
from ragkit.retrieve import Hit
from ragkit.text import content_words, names, quantities

# calibrated on a seeded sample of SQuAD 2.0 dev questions (benchmarks/answer_quality.py,
# seed 7) and checked on another (seed 8): answers found, wrong answers and declines together
MIN_SCORE = 0.85
MAX_QUOTES = 3  # sentences quoted at most
WITHIN = 0.2  # a further sentence is quoted when it scores this close to the best
_MIN_WORDS = 4
_WRAP = re.compile(r"(?<!\n)\n(?!\n)")

_YEAR_OR_DATE = re.compile(
    r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b|\b(?:january|february|march|april|may|june|july|august|september|"
    r"october|november|december)\b|\b\d+(?:st|nd|rd|th)? century\b",
    re.IGNORECASE,
)
_TYPES = (
    ("when", re.compile(r"^\s*(?:when|(?:in|since|by|until) what year|what year|what date|what century)\b", re.I)),
    (
        "number",
        re.compile(r"^\s*(?:how (?:many|much|long|far|old|large|big|tall|high)|what (?:percentage|number))", re.I),
    ),
    ("who", re.compile(r"^\s*(?:who|whom|whose)\b", re.I)),
)


def question_type(question: str) -> str | None:
    """What kind of thing the question asks for: "who", "when", "number", or None."""
    for kind, pattern in _TYPES:
        if pattern.search(question):
            return kind
    return None


def holds_type(kind: str | None, sentence: str) -> bool:
    if kind == "when":
        return bool(_YEAR_OR_DATE.search(sentence))
    if kind == "number":
        return bool(quantities(sentence))
    if kind == "who":
        return bool(names(sentence))
    return True


@dataclass(frozen=True)
class Quote:
    hit: Hit  # the passage it is quoted from
    start: int  # within the passage's text
    end: int
    text: str
    score: float


def rank(question: str, hits: Sequence[Hit], embed: Callable[[Sequence[str]], Any]) -> list[Quote]:
    """Every sentence of the passages ``hits``, best answer first."""
    found: list[tuple[Hit, int, int, str]] = []
    for hit in hits:
        unwrapped = _WRAP.sub(" ", hit.text)  # a line break inside a paragraph (PDFs) ends no sentence
        for start, end in split_sentences(unwrapped):
            text = " ".join(unwrapped[start:end].split())
            if len(text.split()) >= _MIN_WORDS:
                found.append((hit, start, end, text))
    if not found:
        return []
    vectors = np.asarray(embed([question, *(text for *_, text in found)]), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
    similarity = vectors[1:] @ vectors[0]
    wanted = content_words(question)
    kind = question_type(question)
    quotes = []
    for (hit, start, end, text), sim in zip(found, similarity, strict=True):
        overlap = len(wanted & content_words(text)) / len(wanted) if wanted else 0.0
        typed = 0.1 if kind and holds_type(kind, text) else -0.25 if kind else 0.0
        quotes.append(Quote(hit, start, end, text, float(sim) + 0.35 * overlap + typed))
    return sorted(quotes, key=lambda q: q.score, reverse=True)


def choose(
    question: str, hits: Sequence[Hit], embed: Callable[[Sequence[str]], Any], min_score: float = MIN_SCORE
) -> list[Quote]:
    """The sentences that answer the question: the best one, and up to ``MAX_QUOTES`` in all
    that score within ``WITHIN`` of it, in the passages' order; none when the best scores
    under ``min_score``."""
    ranked = rank(question, hits, embed)
    if not ranked or ranked[0].score < min_score:
        return []
    chosen = [q for q in ranked[:MAX_QUOTES] if q.score >= ranked[0].score - WITHIN]
    order = {id(hit): i for i, hit in enumerate(hits)}
    return sorted(chosen, key=lambda q: (order[id(q.hit)], q.start))


def render(quotes: Sequence[Quote], number: Callable[[Hit], int]) -> str:
    """The quotes as an answer, each sentence with its source's ``[n]`` before the full stop."""
    return " ".join(_cite(q.text, number(q.hit)) for q in quotes)


def _cite(sentence: str, n: int) -> str:
    """``sentence`` with its ``[n]`` before the closing full stop: "It is so [1]."."""
    stripped = sentence.rstrip(".!?")
    return f"{stripped} [{n}]{sentence[len(stripped) :]}" if stripped != sentence else f"{sentence} [{n}]"
