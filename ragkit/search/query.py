"""The query language of ``ragkit find`` (and the filters of ``search`` and ``ask``).

    word            the word, in any case and with or without accents
    "exact phrase"  the words next to each other, in this order
    a b, a AND b    both (AND is implied between terms)
    a OR b          either
    NOT a, -a       not (needs something to exclude it from: ``invoice -draft``)
    (a OR b) c      grouping
    pre*            any word starting with "pre"
    NEAR(a b, 5)    a and b within 5 words of each other (``"a b"~5`` says the same)
    tolsvik~1       words of the index within 1 edit of "tolsvik" (at most 2)
    path:GLOB       files whose path matches (``*`` and ``?``; a pattern without ``/``
                    matches the file name)
    type:pdf        files of that type (extension)
    after:2024-01   documents dated on or after (YYYY, YYYY-MM or YYYY-MM-DD): a document's
                    own date where it has one (PDF metadata, an e-mail's Date header, DOCX
                    properties), else its file's modification time
    before:2024-06-30  documents dated on or before that day
    lang:fr         documents in that language (ISO 639-1)
    tag:NAME        documents with that tag (``ragkit tag add``); has:tag, any tag
    has:note        documents with a note (``ragkit note add``)

A term with inner punctuation (an e-mail address, ``10-K``, ``1,250.00``, ``Jean-Luc``) is
searched as a phrase of its parts, as the index splits them. Bad syntax raises
:class:`QueryError`, which points at the problem; it never gives an empty result.

A query is parsed into a small tree, then compiled to an SQLite FTS5 expression; fuzzy terms
are expanded against the index's own vocabulary when compiled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ingest.lang import KNOWN_LANGUAGES
from ragkit.core.errors import RagkitError
from ragkit.search.query_tree import And, Near, Node, Not, Or, Phrase, Query, Term
from ragkit.storage.filters import Filters

ENTITY_FILTERS = ("person", "org", "place", "email", "phone", "iban", "url")  # a file mentioning it
FILTERS = ("path", "type", "after", "before", "lang", "tag", "has", *ENTITY_FILTERS)
MAX_EDITS = 2
MAX_FUZZY = 16  # fuzzy terms in one query: each is matched against the whole vocabulary


MAX_NESTING = 64


class QueryError(RagkitError):
    """A query that cannot be parsed: the message shows where."""

    def __init__(self, query: str, at: int, problem: str) -> None:
        pointer = f"\n  {query}\n  {' ' * at}^"
        super().__init__(f"bad query: {problem} (at character {at + 1}){pointer}")
        self.query, self.at, self.problem = query, at, problem


# --- lexing -------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<phrase>"(?P<body>[^"]*)"(?:~(?P<slop>\d+))?)
  | (?P<open_quote>")
  | (?P<near>NEAR\()
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,(?=\s*\d+\s*\)))
  | (?P<filter>(?P<fname>[A-Za-z]+):(?:"(?P<fquoted>[^"]*)"|(?P<fvalue>[^\s()"]+)))
  | (?P<word>-?[^\s()",]+(?:,[^\s()",]+)*)
  | (?P<stray>,)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    at: int
    value: str = ""
    number: int | None = None


def _lex(query: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        assert m is not None  # the word alternative matches any other character
        kind = m.lastgroup or ""
        if m.group("space") or m.group("stray"):  # a comma between terms separates them, as a space does
            pass
        elif m.group("phrase"):
            slop = m.group("slop")
            tokens.append(_Tok("phrase", m.group(0), pos, m.group("body"), int(slop) if slop else None))
        elif m.group("open_quote"):
            raise QueryError(query, pos, 'a quotation mark is not closed: add the closing "')
        elif m.group("filter"):
            name = m.group("fname").lower()
            value = m.group("fquoted") if m.group("fquoted") is not None else m.group("fvalue")
            if name not in FILTERS:
                raise QueryError(
                    query,
                    pos,
                    f"unknown filter {name}: (filters: {', '.join(f + ':' for f in FILTERS)});"
                    f' to search for the text, quote it: "{m.group(0)}"',
                )
            tokens.append(_Tok("filter:" + name, m.group(0), pos, value))
        else:
            text = m.group(0)
            if kind == "word" and text in ("AND", "OR", "NOT"):
                kind = text
            tokens.append(_Tok(kind, text, pos, text))
        pos = m.end()
    return tokens


# --- parsing ------------------------------------------------------------------------


def parse(query: str, today: date | None = None) -> Query:
    """Parse ``query``; raise :class:`QueryError` on bad syntax."""
    if not query.strip():
        raise QueryError(query, 0, "the query is empty")
    parser = _Parser(query, _lex(query), today or date.today())
    tree = parser.parse()
    return Query(query, tree, parser.filters())


class _Parser:
    def __init__(self, query: str, tokens: list[_Tok], today: date) -> None:
        self.query, self.tokens, self.pos, self.today = query, tokens, 0, today
        self._paths: list[str] = []
        self._types: list[str] = []
        self._after: date | None = None
        self._before: date | None = None
        self._langs: list[str] = []
        self._entities: list[tuple[str, str]] = []
        self._marks: list[tuple[str, str]] = []
        self.depth = 0
        self.nesting = 0
        self.fuzzy = 0

    def nest(self, tok: _Tok, step: int) -> None:
        """Count parentheses and NOTs within one another: past MAX_NESTING the query is refused
        (the parser, and every walk over its tree, recurse once per level)."""
        self.nesting += step
        if self.nesting > MAX_NESTING:
            raise self.error(tok, f"the query nests parentheses and NOTs more than {MAX_NESTING} deep: simplify it")

    def filters(self) -> Filters:
        if self._after and self._before and self._after > self._before:
            raise QueryError(self.query, 0, f"after:{self._after} is later than before:{self._before}")
        return Filters(tuple(self._paths), tuple(self._types), self._after, self._before, tuple(self._langs),
                       entities=tuple(self._entities), marks=tuple(self._marks))  # fmt: skip

    def error(self, tok: _Tok | None, problem: str) -> QueryError:
        return QueryError(self.query, tok.at if tok else len(self.query), problem)

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Node | None:
        tree = self.or_expr()
        tok = self.peek()
        if tok is not None:
            if tok.kind == "rparen":
                raise self.error(tok, "this ) closes no (")
            raise self.error(tok, f"unexpected {tok.text!r}")
        if isinstance(tree, Not):
            raise self.error(self.tokens[0], "a query of only NOT terms finds nothing to exclude them from")
        return tree

    def or_expr(self) -> Node | None:
        starts = [self.peek()]
        parts = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            after = self.peek()
            if after is None or after.kind in ("OR", "AND", "rparen"):
                raise self.error(after, "OR needs a term after it")
            starts.append(after)
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        for part, start in zip(parts, starts, strict=True):
            if part is None:
                raise self.error(start, "a filter cannot be one side of OR: give it beside the whole query")
            if isinstance(part, Not):
                raise self.error(start, "a NOT term cannot be one side of OR: exclude it from both, e.g. (a OR b) -c")
        return Or(tuple(p for p in parts if p is not None))

    def and_expr(self) -> Node | None:
        parts: list[Node] = []
        first, start = self.peek(), self.pos
        while (tok := self.peek()) is not None and tok.kind not in ("OR", "rparen", "comma"):
            if tok.kind == "AND":
                self.take()
                after = self.peek()
                if after is None or after.kind in ("OR", "AND", "rparen"):
                    raise self.error(tok, "AND needs a term after it")
                continue
            node = self.unary()
            if node is not None:
                parts.append(node)
        if self.pos == start:
            raise self.error(first, "a term is missing here")
        if not parts:
            return None  # only filters
        if len(parts) == 1:
            return parts[0]
        if all(isinstance(p, Not) for p in parts):
            raise self.error(first, "NOT terms need something to exclude them from, e.g. invoice -draft")
        return And(tuple(parts))

    def unary(self) -> Node | None:
        tok = self.take()
        if tok.kind == "NOT":
            if self.peek() is None:
                raise self.error(tok, "NOT needs a term after it")
            self.nest(tok, +1)
            inner = self.unary()
            self.nest(tok, -1)
            if inner is None:
                raise self.error(tok, "NOT cannot apply to a filter")
            return Not(inner)
        if tok.kind == "word" and tok.text.startswith("-") and len(tok.text) > 1:
            if tok.text[1:].split(":", 1)[0].lower() in FILTERS and ":" in tok.text:
                raise self.error(tok, "NOT cannot apply to a filter (-path:, -tag:… are not supported)")
            return Not(self.word(_Tok("word", tok.text[1:], tok.at + 1, tok.text[1:])))
        return self.primary(tok)

    def primary(self, tok: _Tok) -> Node | None:
        if tok.kind == "lparen":
            self.depth += 1
            self.nest(tok, +1)
            inner = self.or_expr()
            close = self.peek()
            if close is None or close.kind != "rparen":
                raise self.error(tok, "this ( is not closed: add a )")
            self.take()
            self.depth -= 1
            self.nest(tok, -1)
            if inner is None:
                raise self.error(tok, "parentheses hold only filters: give filters beside the whole query")
            return inner
        if tok.kind == "phrase":
            words = _words(tok.value)
            if not words:
                raise self.error(tok, "the phrase has no words")
            if tok.number is not None:
                return Near(tuple(words), tok.number) if len(words) > 1 else Term(words[0])
            return Phrase(tuple(words))
        if tok.kind == "near":
            return self.near(tok)
        if tok.kind.startswith("filter:"):
            if self.depth:
                raise self.error(tok, "filters apply to the whole query: give them outside parentheses")
            self.filter(tok)
            return None
        if tok.kind == "word":
            return self.word(tok)
        if tok.kind == "rparen":
            raise self.error(tok, "this ) closes no (")
        if tok.kind in ("AND", "OR"):
            raise self.error(tok, f"{tok.kind} needs a term before it")
        raise self.error(tok, f"unexpected {tok.text!r}")

    def near(self, tok: _Tok) -> Node:
        words: list[str] = []
        distance = 10
        while (inner := self.peek()) is not None and inner.kind in ("word", "phrase"):
            self.take()
            words += _words(inner.value)
        if (comma := self.peek()) is not None and comma.kind == "comma":
            self.take()
            number = self.peek()
            if number is None or not number.text.isdigit():
                raise self.error(number or comma, "NEAR's distance must be a whole number, e.g. NEAR(a b, 5)")
            distance = int(self.take().text)
        close = self.peek()
        if close is None or close.kind != "rparen":
            raise self.error(close or tok, "NEAR( is not closed: write NEAR(word1 word2, 5)")
        self.take()
        if len(words) < 2:
            raise self.error(tok, "NEAR needs at least two words, e.g. NEAR(word1 word2, 5)")
        return Near(tuple(words), distance)

    def word(self, tok: _Tok) -> Node:
        text = tok.value
        prefix = text.endswith("*")
        fuzzy = re.fullmatch(r"(.+)~(\d*)", text)
        edits = 0
        if fuzzy:
            text, edits = fuzzy.group(1), int(fuzzy.group(2) or 1)
            if edits > MAX_EDITS:
                raise self.error(tok, f"at most {MAX_EDITS} edits: {text}~{MAX_EDITS}")
            self.fuzzy += 1
            if self.fuzzy > MAX_FUZZY:
                raise self.error(
                    tok, f"at most {MAX_FUZZY} fuzzy terms (word~N) in one query: split it, or use --batch"
                )
        if prefix:
            text = text[:-1]
        words = _words(text)
        if not words:
            raise self.error(tok, f"{tok.text!r} has no letters or digits to search for")
        if len(words) > 1:
            if edits:
                raise self.error(tok, "a fuzzy term must be one word")
            return Phrase(tuple(words))  # e-mail addresses, 10-K, 1,250.00: the index splits them
        return Term(words[0], prefix=prefix, edits=edits)

    def filter(self, tok: _Tok) -> None:
        name, value = tok.kind.split(":", 1)[1], tok.value
        if not value:
            raise self.error(tok, f"{name}: needs a value")
        if name in ENTITY_FILTERS:
            self._entities.append((name, value))
        elif name == "path":
            self._paths.append(value)
        elif name == "tag":
            self._marks.append(("tag", value.casefold()))
        elif name == "has":
            if value.lower() not in ("tag", "note"):
                raise self.error(tok, f"has: takes tag or note (has:note: documents with a note), not {value!r}")
            self._marks.append((value.lower(), ""))
        elif name == "type":
            self._types.append(value.lower().lstrip("."))
        elif name == "lang":
            if value.lower() not in KNOWN_LANGUAGES:
                known = " ".join(sorted(KNOWN_LANGUAGES))
                raise self.error(tok, f"lang: takes a two-letter language code ({known}), not {value!r}")
            self._langs.append(value.lower())
        else:
            try:
                first, last = _day_range(value)
            except ValueError:
                raise self.error(tok, f"{name}: takes a date as YYYY, YYYY-MM or YYYY-MM-DD, not {value!r}") from None
            if name == "after":
                self._after = first
            else:
                self._before = last


def _words(text: str) -> list[str]:
    """The words the index would make of ``text`` (letters and digits; the rest separates)."""
    return [w for w in re.split(r"[\W_]+", text) if w]


def _day_range(value: str) -> tuple[date, date]:
    """The first and last day of a year, a month or a day."""
    if re.fullmatch(r"\d{4}", value):
        year = int(value)
        return date(year, 1, 1), date(year, 12, 31)
    if re.fullmatch(r"\d{4}-\d{1,2}", value):
        first = datetime.strptime(value, "%Y-%m").date()
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return first, following - timedelta(days=1)
    day = datetime.strptime(value, "%Y-%m-%d").date()
    return day, day


def split_filters(text: str) -> tuple[str, Filters]:
    """The filters typed in a question (``path:`` ``type:`` ``after:`` ``before:``) taken out
    of it: the rest is the question. Other words are left as they are."""
    kept: list[str] = []
    found: list[str] = []
    for piece in re.findall(r'\S+:"[^"]*"|\S+', text):
        name = piece.split(":", 1)[0].lower() if ":" in piece else ""
        (found if name in FILTERS else kept).append(piece)
    if not found:
        return text, Filters()
    return " ".join(kept), parse(" ".join(found)).filters


def merge_filters(given: Filters | None, typed: Filters) -> Filters:
    """Filters given as options and typed in the question: all of them apply."""
    if not given:
        return typed
    return Filters(
        given.paths + typed.paths,
        given.types + typed.types,
        max((d for d in (given.after, typed.after) if d), default=None),
        min((d for d in (given.before, typed.before) if d), default=None),
        given.langs + typed.langs,
        given.within + typed.within,
        given.entities + typed.entities,
        given.without + typed.without,
        given.marks + typed.marks,
    )
