"""Small text utilities shared by attribution and the repetition guard."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'_-]*")
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)*$")
STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers him his how i if in into is it its itself just me more
    most my no nor not now of off on once only or other our out over own same she should so some
    such than that the their them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    source sources document documents according text""".split()
)


def stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Lower-cased, lightly stemmed words that carry meaning; numbers are always kept."""
    words = set()
    for word in _WORD.findall(text.lower()):
        if _NUMBER.match(word):
            words.add(word)
        elif len(word) > 2 and word not in STOPWORDS:
            words.add(stem(word))
    return words


def numbers(words: set[str]) -> set[str]:
    return {w for w in words if _NUMBER.match(w)}


_QUANTITY = re.compile(
    r"\b(?:\d+(?:[.,]\d+)*(?:st|nd|rd|th)?|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|half|twice|double|triple|"
    r"first|second|third|fourth|fifth|last|final)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(?:not|no|never|nor|none|neither|nobody|nothing|nowhere|cannot|without|except|"
    r"fail|fails|failed|failing|lack|lacks|lacked)\b|n't\b",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[,;:()]|\b(?:but|although|though|while|whereas|yet)\b", re.IGNORECASE)
_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*")
# capitalised at a sentence's start without being a name
_STARTERS = frozenset(
    "a an the in on at by for from to of as since during after before although while when where "
    "this that these those it its there here today many some several various each every all most "
    "both either neither annual yes no".split()
)


def quantities(text: str) -> set[str]:
    """Numbers, ordinals and number words ("32nd", "1,000", "two", "half", "first")."""
    return {q.lower().replace(",", "") for q in _QUANTITY.findall(text)}


def negations(text: str) -> int:
    """How many negating words (not, no, never, without, fails to, …) ``text`` holds."""
    return len(_NEGATION.findall(text))


def clauses(text: str) -> list[str]:
    """``text`` cut at commas, semicolons and contrast words: the units a negation governs."""
    return [part for part in _CLAUSE.split(text) if part and part.strip()]


def names(text: str) -> set[str]:
    """Capitalised words that are not just a sentence's first word (people, places, bodies,
    acronyms), lower-cased, without a possessive ending."""
    found = set()
    for match in _CAPITALISED.finditer(text):
        word = match.group().lower().removesuffix("'s").removesuffix("’s").strip("'’-")
        before = text[: match.start()].rstrip()
        first = not before or before[-1] in '.!?:\n"(['
        if first and (word in _STARTERS or word in STOPWORDS):
            continue
        if word and word not in STOPWORDS:
            found.add(word)
    return found
