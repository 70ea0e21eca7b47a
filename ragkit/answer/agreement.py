"""Whether a sentence says what its source window says, besides sharing its words: the same
quantities, names and file paths, the same polarity clause by clause, and no word changed
for another in the same place (a swapped role, a substituted name, an antonym, a negating
prefix). Used by :mod:`ragkit.answer.attribution` to verify each sentence of an answer."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ragkit.core.text import STOPWORDS, clauses, content_words, names, negations, numbers, quantities, sequence, stem

_WORDS = re.compile(r"[\w'’-]+")
_PATHS = re.compile(r"(?<![\w/])(?:~|[\w.-]*)(?:/[\w.~+-]+)+/?(?<![.,])")


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
    said, source = content_sequence(claim), content_sequence(window)
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


def content_sequence(text: str) -> list[str]:
    """The content words and numbers of ``text`` in order (for word order and roles)."""
    return [t for t in sequence(text) if t != "|" and (t[0].isdigit() or (len(t) > 2 and t not in STOPWORDS))]
