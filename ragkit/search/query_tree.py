"""A parsed query of the query language (:mod:`ragkit.search.query`): its tree, and the tree
compiled to an SQLite FTS5 expression."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ragkit.core.errors import RagkitError
from ragkit.storage.filters import Filters


@dataclass(frozen=True)
class Term:
    word: str
    prefix: bool = False
    edits: int = 0  # fuzzy: words of the vocabulary within this many edits


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]


@dataclass(frozen=True)
class Near:
    words: tuple[str, ...]
    distance: int


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


Node = Term | Phrase | Near | And | Or | Not


@dataclass(frozen=True)
class Query:
    text: str
    tree: Node | None  # None: only filters (every passage of the files they select)
    filters: Filters = field(default_factory=Filters)


# --- compiling ----------------------------------------------------------------------


def _quoted(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def compile_fts(tree: Node, expand: Callable[[str, int], list[str]]) -> str:
    """The FTS5 expression for ``tree``; ``expand(word, edits)`` gives the index's words
    within ``edits`` of ``word`` (for fuzzy terms)."""
    if isinstance(tree, Term):
        if tree.edits:
            found = expand(tree.word, tree.edits) or [tree.word]
            return "(" + " OR ".join(_quoted(w) for w in found) + ")"
        return _quoted(tree.word) + (" *" if tree.prefix else "")
    if isinstance(tree, Phrase):
        return _quoted(" ".join(tree.words))
    if isinstance(tree, Near):
        return f"NEAR({' '.join(_quoted(w) for w in tree.words)}, {tree.distance})"
    if isinstance(tree, Or):
        return "(" + " OR ".join(compile_fts(p, expand) for p in tree.parts) + ")"
    if isinstance(tree, And):
        keep = [compile_fts(p, expand) for p in tree.parts if not isinstance(p, Not)]
        drop = [compile_fts(p.part, expand) for p in tree.parts if isinstance(p, Not)]
        expression = "(" + " AND ".join(keep) + ")"
        return f"({expression} NOT ({' OR '.join(drop)}))" if drop else expression
    raise RagkitError("internal: a NOT term outside an AND")  # the parser refuses it


def terms(tree: Node | None) -> list[str]:
    """The words a query looks for (not those it excludes), for highlighting and ranking."""
    if tree is None:
        return []
    if isinstance(tree, Term):
        return [tree.word]
    if isinstance(tree, Phrase | Near):
        return list(tree.words)
    if isinstance(tree, And | Or):
        return [w for p in tree.parts for w in terms(p)]
    return []
