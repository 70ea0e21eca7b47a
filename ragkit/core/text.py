"""Small text utilities shared by attribution and the repetition guard."""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_][\w'’-]*")  # any script: "Zürich", "Łódź", "γδ"
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)*$")
STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers him his how i if in into is it its itself just me more
    most my no nor not now of off on once only or other our out over own same she should so some
    such than that the their them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    since until toward towards upon within across along among
    source sources document documents according text""".split()
)


def stem(word: str) -> str:
    """A light stem, the same for a word's usual forms: "responses", "response" -> "respons";
    "producing", "produced", "produce" -> "produc"; "cities" -> "city"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if (len(word) > 5 and word.endswith("es") and word[-3] in "sxz") or word.endswith(("ches", "shes")):
        word = word[:-2]
    else:
        for suffix in ("ing", "ed", "s"):
            if len(word) > len(suffix) + 3 and word.endswith(suffix) and not word.endswith("ss"):
                word = word[: -len(suffix)]
                break
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def content_words(text: str) -> set[str]:
    """Lower-cased, lightly stemmed words that carry meaning; numbers are always kept. A
    hyphenated word also counts as its parts ("209-acre" holds "209" and "acre")."""
    words = set()
    for token in _WORD.findall(text.lower()):
        token = token.removesuffix("'s").removesuffix("’s").strip("'’-")
        parts = [token, *token.split("-")] if "-" in token else [token]
        for word in parts:
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
_CLAUSE = re.compile(
    r"(?<!\d),|,(?!\d)|[;:()]|\b(?:but|although|though|while|whereas|yet)\b", re.IGNORECASE
)  # "60,000" is one number, not two clauses
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


_SEQUENCE = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+(?:['’-][^\W_]+)*|[,;:()\[\]!?.]")
_ARTICLES = frozenset(("a", "an", "the"))


def sequence(text: str) -> list[str]:
    """``text`` as lower-cased, lightly stemmed words in order, without articles, with "|"
    for each run of punctuation: the shape :func:`ragkit.answer.attribution.substituted` compares."""
    out: list[str] = []
    for token in _SEQUENCE.findall(text.lower()):
        if not token[0].isalnum():
            if out and out[-1] != "|":
                out.append("|")
            continue
        token = token.removesuffix("'s").removesuffix("’s")
        if _NUMBER.match(token):
            out.append(token.replace(",", ""))
            continue
        out.extend(
            part if part in STOPWORDS else stem(part)
            for part in re.split(r"['’-]", token)
            if part and part not in _ARTICLES
        )
    return out
