"""Answers quoted from the evidence: the retrieved sentences that best answer a question.

When a model's answer cannot be verified but retrieval found relevant passages, ragkit does
not say the documents lack the answer: it quotes, verbatim and cited, the sentences of those
passages that answer the question best. A sentence is scored by its meaning (cosine of the
question and the sentence, with the embedder already loaded), the question's words it holds,
and whether it holds what the question asks for (who: a name; when: a date or year; how many,
how much: a number). Below a floor, nothing is quoted and the documents are said not to hold
the answer.
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

MIN_SCORE = 0.8  # calibrated on the SQuAD 2.0 dev articles (benchmarks/answer_quality.py)
SECOND_WITHIN = 0.15  # a second sentence is quoted when it scores this close to the first
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
    n: int  # the source's number
    start: int  # within the source passage's text
    end: int
    text: str
    score: float


def rank(question: str, sources: Sequence[tuple[int, Hit]], embed: Callable[[Sequence[str]], Any]) -> list[Quote]:
    """Every sentence of the numbered ``sources``, best answer first."""
    found: list[tuple[int, int, int, str]] = []
    for n, hit in sources:
        unwrapped = _WRAP.sub(" ", hit.text)  # a line break inside a paragraph (PDFs) ends no sentence
        for start, end in split_sentences(unwrapped):
            text = " ".join(unwrapped[start:end].split())
            if len(text.split()) >= _MIN_WORDS:
                found.append((n, start, end, text))
    if not found:
        return []
    vectors = np.asarray(embed([question, *(text for *_, text in found)]), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
    similarity = vectors[1:] @ vectors[0]
    wanted = content_words(question)
    kind = question_type(question)
    quotes = []
    for (n, start, end, text), sim in zip(found, similarity, strict=True):
        overlap = len(wanted & content_words(text)) / len(wanted) if wanted else 0.0
        typed = 0.1 if kind and holds_type(kind, text) else -0.25 if kind else 0.0
        quotes.append(Quote(n, start, end, text, float(sim) + 0.35 * overlap + typed))
    return sorted(quotes, key=lambda q: q.score, reverse=True)


def extract(
    question: str,
    sources: Sequence[tuple[int, Hit]],
    embed: Callable[[Sequence[str]], Any],
    min_score: float = MIN_SCORE,
) -> str | None:
    """The answer quoted from the sources, each sentence followed by its ``[n]``; ``None``
    when no sentence answers the question well enough."""
    ranked = rank(question, sources, embed)
    if not ranked or ranked[0].score < min_score:
        return None
    chosen = [ranked[0]]
    if len(ranked) > 1 and ranked[1].score >= max(min_score, ranked[0].score - SECOND_WITHIN):
        chosen.append(ranked[1])
    chosen.sort(key=lambda q: (q.n, q.start))  # in the documents' order
    return " ".join(_cite(q.text, q.n) for q in chosen)


def _cite(sentence: str, n: int) -> str:
    """``sentence`` with its ``[n]`` before the closing full stop: "It is so [1]."."""
    stripped = sentence.rstrip(".!?")
    return f"{stripped} [{n}]{sentence[len(stripped):]}" if stripped != sentence else f"{sentence} [{n}]"
