"""What a question asks for, and the words of a sentence that give it.

A question asks for a kind of thing: a person or body ("who"), a time ("when"), a place
("where"), an amount ("number": how many, how much) — or nothing typed (why, how, what). A
compound question ("Who rebuilt it, and in which year?") asks for several, and each must be
answered. In a sentence, the spans of a kind come from a spaCy pipeline when one is configured
(``entities.model``), else from patterns: capitalised runs for names, dates and years, numbers
with their unit. A span is *novel* when the question does not already hold it: a name the
question itself names answers nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from ragkit.core.text import STOPWORDS, content_words

KINDS = ("who", "when", "where", "place", "number", "why")

_ASKS: tuple[tuple[str, str], ...] = (
    ("when", r"\bwhen\b|\b(?:what|which) (?:year|date|day|month|century|decade|time|period)\b|\bhow long ago\b"),
    (
        "number",
        r"\bhow (?:many|much|long|far|old|large|big|tall|high|deep|wide|heavy|often|fast)\b"
        r"|\bwhat (?:percentage|percent|number|amount|share|proportion|fraction|sum|price|cost)\b",
    ),
    ("where", r"\bwhere\b"),  # a name after "in", "at", "near"…, a path, "the kitchen"
    (
        "place",  # a named place, wherever it stands in the sentence
        r"\b(?:what|which) (?:city|country|town|village|place|state|region|county|island|street|port|"
        r"harbou?r|continent|location|river|building|site)\b",
    ),
    (
        "who",
        r"\b(?:who|whom|whose)\b|\b(?:what|which) (?:person|people|man|woman|company|organi[sz]ation|firm|"
        r"engineer|architect|author|writer|king|queen|president|agency|group|body|family|team|artist)\b",
    ),
    ("why", r"\bwhy\b|\bfor what reason\b|\bwhat (?:caused|led to|made)\b"),
)
_ASK_PATTERNS = tuple((kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _ASKS)
# ", and in which year?" — "and" followed by a new question word starts a second question
_COMPOUND = re.compile(
    r"\s*,?\s+and\s+(?=(?:(?:in|on|at|by|for|from|since|to|until)\s+)?(?:which|what|when|where|who|whom|whose|how)\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Part:
    """One thing a question asks: the words that ask it and the kind of answer (None: untyped)."""

    text: str
    kind: str | None


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str
    kind: str


def asks(question: str) -> list[Part]:
    """The parts of a question: one, or several for a compound question."""
    pieces = [p.strip(" ,?") for p in _COMPOUND.split(question) if p.strip(" ,?")] or [question.strip()]
    return [Part(piece, kind_of(piece)) for piece in pieces]


def kind_of(text: str) -> str | None:
    """The kind of answer ``text`` (a question, or a part of one) asks for: the pattern that
    matches first in it, within its first words ("How is it supplied when the ferry cannot
    sail?" asks how, not when)."""
    found = [
        (m.start(), kind)
        for kind, pattern in _ASK_PATTERNS
        if (m := pattern.search(text)) and len(text[: m.start()].split()) <= 2
    ]
    return min(found)[1] if found else None


class SpanFinder(Protocol):
    def spans(self, sentence: str, kind: str) -> list[Span]: ...


_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_MONTHS = frozenset(_MONTH.strip("(?:)").lower().split("|"))
_DAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
_DATE = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?{_MONTH}(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?(?:,?\s+\d{{3,4}})?\b"
    r"|\b\d{4}-\d{2}-\d{2}\b"
    r"|\b(?:early|late|mid)[- ]?(?:1[0-9]{3}|20[0-9]{2})s?\b"
    r"|\b(?:1[0-9]{3}|20[0-9]{2})(?:s|\s*[-–]\s*(?:1[0-9]{3}|20[0-9]{2}|[0-9]{2}))?\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)[- ]century\b"
    r"|\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|"
    r"fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|twenty-first)[- ]century\b"
)
_NUMBER_WORDS = (
    r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|"
    r"dozen|a dozen|half a dozen)(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?"
)
_SCALE = r"(?:\s+(?:hundred|thousand|million|billion|trillion|bn|m|k)\b)?"
_AMOUNT = re.compile(
    rf"(?:(?:[$€£¥]|USD|EUR|GBP|NOK|US\$)\s?)?(?:\d+(?:[.,]\d+)*|\b{_NUMBER_WORDS}\b){_SCALE}"
    r"(?:\s?(?:%|percent\b|per cent\b))?"
)
_UNIT = re.compile(r"[ -]([a-zA-Z][a-zA-Z²³/.-]*)")
_YEAR_ALONE = re.compile(r"^(?:1[0-9]{3}|20[0-9]{2})$")
_CAPITAL = re.compile(r"[A-Z][\w'’.&-]*")
_JOINERS = frozenset("of de da van von der den la le du al bin ibn y and & the".split())
_PLACE_BEFORE = re.compile(r"\b(?:in|at|on|near|from|to|into|across|outside|inside|off|of|beside|by)\s+$", re.I)
_PLACE_ONLY = re.compile(r"\b(?:in|at|near|into|across|outside|inside|beside)\s+$", re.I)
_PATH = re.compile(r"(?<![\w/])((?:~|[A-Za-z]:)?(?:[/\\][\w.@+-]+){2,}[/\\]?)")
_PLACE_PHRASE = re.compile(
    r"\b(?:in|at|on|near|under|inside|outside|beside|behind|below|above|into)\s+((?:the|a|an|its|their|his|her)\s+"
    r"(?:[a-z][\w'’-]*\s+){0,2}(?:[a-z][\w'’-]*))\b"
)
_STARTERS = frozenset(
    "a an the in on at by for from to of as since during after before although while when where this that these "
    "those it its there here today many some several various each every all most both either neither yes no "
    "he she they we i his her their our".split()
)


_REASON = re.compile(
    r"\b(?:because|so that|in order to|due to|owing to|as a result of|caused by|for fear of|since (?=\w+ \w+ \w+))"
    r"[^.;:]*",
    re.IGNORECASE,
)


class PatternSpans:
    """Spans found by patterns: no model needed."""

    def spans(self, sentence: str, kind: str) -> list[Span]:
        if kind == "why":
            return [Span(m.start(), m.end(), m.group().rstrip(" ,"), kind) for m in _REASON.finditer(sentence)]
        if kind == "when":
            return _longest(Span(m.start(), m.end(), m.group(), kind) for m in _DATE.finditer(sentence))
        if kind == "number":
            return _amounts(sentence)
        runs = _name_runs(sentence)
        if kind == "who":  # "in Nedre Kleppa" is where, not who
            return [Span(r.start, r.end, r.text, kind) for r in runs if not _PLACE_ONLY.search(sentence[: r.start])]
        if kind == "where":  # a name after a place word, a path, or "in the harbour"
            runs = [r for r in runs if _PLACE_BEFORE.search(sentence[: r.start])]
            runs += [Span(m.start(1), m.end(1), m.group(1), kind) for m in _PATH.finditer(sentence)]
            runs += [_trimmed(sentence, m.start(1), m.end(1), kind) for m in _PLACE_PHRASE.finditer(sentence)]
            return _longest(Span(r.start, r.end, r.text, kind) for r in runs)
        return [Span(r.start, r.end, r.text, kind) for r in runs]


class SpacySpans:
    """Spans from a spaCy pipeline's named-entity recogniser, the patterns where it has no
    label for a kind (amounts it missed, for instance)."""

    LABELS: dict[str, tuple[str, ...]] = {  # noqa: RUF012 - read only
        "who": ("PERSON", "ORG", "NORP"),
        "where": ("GPE", "LOC", "FAC"),
        "place": ("GPE", "LOC", "FAC"),
        "when": ("DATE",),
        "number": ("CARDINAL", "QUANTITY", "MONEY", "PERCENT"),
        "why": (),
    }

    def __init__(self, nlp: Any) -> None:
        self.nlp = nlp
        self.patterns = PatternSpans()

    def spans(self, sentence: str, kind: str) -> list[Span]:
        doc = self.nlp(sentence)
        found = [Span(e.start_char, e.end_char, e.text, kind) for e in doc.ents if e.label_ in self.LABELS[kind]]
        return found or self.patterns.spans(sentence, kind)


@lru_cache(maxsize=2)
def spacy_finder(model: str) -> SpacySpans:
    """The spaCy pipeline ``model`` (a folder or an installed package) as a span finder."""
    import spacy

    return SpacySpans(spacy.load(model, exclude=["parser", "lemmatizer"]))


def finder_for(model: str | None) -> SpanFinder:
    """The span finder of the settings' ``entities.model``: spaCy when one is set and loads,
    else the patterns."""
    if model:
        try:
            return spacy_finder(model)
        except (ImportError, OSError):  # not installed: the patterns still answer
            pass
    return PatternSpans()


def novel(span: Span, question: str) -> bool:
    """Whether the span says something the question does not: a word or number it lacks."""
    return bool(content_words(span.text) - content_words(question))


def answer_spans(
    question: str, sentence: str, finder: SpanFinder, parts: Sequence[Part] | None = None
) -> list[Span | None]:
    """For each typed part of the question, the novel span of its kind in ``sentence`` that
    sits nearest the question's words there (None where the sentence holds none)."""
    wanted = content_words(question)
    anchors = [m.start() for m in re.finditer(r"[\w'’-]+", sentence) if content_words(m.group()) & wanted]
    out: list[Span | None] = []
    for part in parts if parts is not None else asks(question):
        if part.kind is None:
            continue
        found = [s for s in finder.spans(sentence, part.kind) if novel(s, question)]
        if not anchors or not found:
            out.append(found[0] if found else None)
            continue
        out.append(min(found, key=lambda s: min(_gap(s, a) for a in anchors)))
    return out


def _trimmed(sentence: str, start: int, end: int, kind: str) -> Span:
    """The span without the words it ends in that carry nothing ("the quay in" -> "the quay")."""
    words = sentence[start:end].split()
    while len(words) > 2 and words[-1].lower() in STOPWORDS:
        words.pop()
    text = " ".join(words)
    return Span(start, start + len(text), text, kind)


def _gap(span: Span, at: int) -> int:
    return 0 if span.start <= at < span.end else min(abs(at - span.start), abs(at - span.end))


def _longest(spans: Any) -> list[Span]:
    """The spans, without any that lies inside a longer one."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept


def _amounts(sentence: str) -> list[Span]:
    found = []
    for match in _AMOUNT.finditer(sentence):
        text, end = match.group().rstrip(".,"), match.start() + len(match.group().rstrip(".,"))
        if not any(c.isalnum() for c in text):
            continue
        if not text[:1].isdigit() and not text[:1].isalpha() and not re.search(r"\d", text):
            continue
        unit = _UNIT.match(sentence, end)
        if unit and unit.group(1).lower().rstrip(".") not in STOPWORDS and not unit.group(1)[:1].isupper():
            end = unit.end(1) - (1 if unit.group(1).endswith(".") else 0)
        text = sentence[match.start() : end]
        if _YEAR_ALONE.match(text):
            continue  # a year is a time, not an amount
        found.append(Span(match.start(), end, text, "number"))
    return _longest(found)


def _name_runs(sentence: str) -> list[Span]:
    """Runs of capitalised words ("Maren Tolsvik", "Bank of England"), without a sentence's
    first word when it is only capitalised for being first, months or weekdays."""
    runs: list[Span] = []
    words = list(re.finditer(r"[^\s,;:()\[\]“”\"]+", sentence))
    i = 0
    while i < len(words):
        word = words[i].group().rstrip(".")
        if not _CAPITAL.fullmatch(word) or _skip(sentence, words[i].start(), word):
            i += 1
            continue
        j = i + 1
        while j < len(words):
            nxt = words[j].group().rstrip(".")
            if _CAPITAL.fullmatch(nxt) and nxt.lower() not in _MONTHS:
                j += 1
            elif nxt.lower() in _JOINERS and j + 1 < len(words) and _CAPITAL.fullmatch(words[j + 1].group()):
                j += 2
            else:
                break
        start, end = words[i].start(), words[j - 1].end()
        text = sentence[start:end].rstrip(".'’s").rstrip("'’")
        runs.append(Span(start, start + len(text), text, "name"))
        i = j
    return runs


def _skip(sentence: str, at: int, word: str) -> bool:
    lower = word.lower().removesuffix("'s").removesuffix("’s")
    if lower in _MONTHS or lower in _DAYS:
        return True
    before = sentence[:at].rstrip()
    first = not before or before[-1] in '.!?:—-"“(#'
    return (first and (lower in _STARTERS or lower in STOPWORDS)) or lower in ("i",)
