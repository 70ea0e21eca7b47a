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
