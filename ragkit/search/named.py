"""The files a question names by their names: "AMCOR's 8-K dated July 2022", "Best Buy's
inventories at the end of FY2019", "the Tolsvik 2021 ledger".

People name their files after what they hold: the company, the form, the year or quarter
(``BESTBUY_2024Q2_10Q.pdf``, ``acme-annual-report-2023.docx``). When the words of a question
pick some of the files a search found by their names, search looks inside those files first
(:meth:`~ragkit.index.searcher.Searcher.search`), so that a passage of last year's filing or of
another company's does not come before the page of the one asked about.

A file's score is the sum of the weights of the question's names (words written with a
capital) and words with digits that its name holds, each weighing more the fewer of the
candidate files hold it (log(1 + files / files holding it)). A question's years count by the
latest one alone ("FY2023 vs FY2022" is the 2023 filing's question; an earlier year is in that
filing too). Adjacent names count joined as well ("Best Buy" is ``BESTBUY``); a name's ids
(long numbers, hashes) are no words of it. Nothing here is fitted: the rule is the one a
reader follows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from itertools import pairwise
from pathlib import PurePath

from ingest.lang import FUNCTION_WORDS

_WORD = re.compile(r"[^\W_]+")
# a word's parts: a year, a quarter (Q2, 2Q), a form's number with its letters (10K, 8K), letters
_PART = re.compile(r"(?:19|20)\d\d|q[1-4](?![a-z])|[1-4]q(?![a-z])|\d+[a-z]+|[a-z]+|\d+")
_YEAR = re.compile(r"(?:19|20)\d\d")
_JOINED = re.compile(r"(?<=\d)-(?=\w)|(?<=\w)-(?=\d)")  # "10-K" is one word, "tolsvik-memo" two
# a word of a name that is an id, not a name: a long number, or hexadecimal digits and letters
_ID = re.compile(r"\d{5,}|(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}")
# a question's own words, which name no file (besides every language's function words)
_ASKING = (
    frozenset(
        "what when where who whom whose which why how much many does do did has have had was were been being "
        "between than any each there their its".split()
    )
    | FUNCTION_WORDS
)


def words(text: str, ids: bool = True) -> list[str]:
    """``text``'s words as names write them: lower case, split at underscores and hyphens but
    for a number's (``10-K`` is ``10k``), a year apart from what it is written with
    (``FY2019``: ``fy``, ``2019``; ``2024Q2``: ``2024``, ``q2``), a quarter as ``q`` and its number.
    ``ids=False``: without the words that are ids (``10009203``, ``4ae8a3f2``)."""
    out: list[str] = []
    for word in _WORD.findall(_JOINED.sub("", text.lower().replace("'s", " "))):
        if not ids and _ID.fullmatch(word):
            continue
        for part in _PART.findall(word):
            out.append(f"q{part[0]}" if re.fullmatch(r"[1-4]q", part) else part)
    return out


def asked(question: str) -> set[str]:
    """The words of ``question`` that may name a file: the names in it (a word written with a
    capital, "Harrowgate", "AMCOR's") and the words with digits ("10-K", "FY2019", "Q2"), not
    the question's own words; of the years, the latest only; two adjacent names also joined
    ("Best Buy": ``bestbuy``). A common word ("system", "theory") names nothing."""
    said = [
        part
        for word in _WORD.findall(_JOINED.sub("", question.replace("'s", " ")))
        for part in words(word)
        if not word.islower()
    ]
    years = [w for w in said if _YEAR.fullmatch(w)]
    kept = {w for w in said if w not in _ASKING and len(w) > 1 and not _YEAR.fullmatch(w)}
    kept |= {a + b for a, b in pairwise(said) if a in kept and b in kept and (a + b).isalpha()}
    return kept | ({max(years)} if years else set())


def named_files(question: str, names: Mapping[str, Iterable[str]]) -> list[str]:
    """Of the documents ``names`` (document → its files' paths), the ones whose file names
    best match the words of ``question``; none when no name holds any of them, or when every
    document's name matches as well as the best (nothing is singled out)."""
    wanted = asked(question)
    named = {doc: {w for path in paths for w in words(PurePath(path).stem, ids=False)} for doc, paths in names.items()}
    held = {doc: found & wanted for doc, found in named.items()}
    count: dict[str, int] = {}
    for found in held.values():
        for word in found:
            count[word] = count.get(word, 0) + 1
    score = {doc: sum(math.log(1 + len(held) / count[w]) for w in found) for doc, found in held.items()}
    best = max(score.values(), default=0.0)
    chosen = sorted(doc for doc, s in score.items() if best > 0 and s >= best - 1e-9)
    return chosen if len(chosen) < len(score) else []
