"""A question as the rules of :mod:`ragkit.db.rules` read it: the values it names that occur
in the data, the numbers it compares, the dates it bounds, and the words left that name
tables and columns (:mod:`ragkit.db.links`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from ragkit.db.rules.links import STOP, WORD, Col, SchemaMap, Value, stems

MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}  # fmt: skip
NUMBERS = {w: i for i, w in enumerate("one two three four five six seven eight nine ten".split(), 1)}
DESC = {"most", "highest", "largest", "biggest", "greatest", "maximum", "max", "longest", "latest", "newest",
        "top", "best", "expensive"}  # fmt: skip
ASC = {"fewest", "least", "lowest", "smallest", "minimum", "min", "shortest", "earliest", "oldest", "cheapest"}
AGGREGATES = {"total": "sum", "sum": "sum", "average": "avg", "avg": "avg", "mean": "avg"}
_CMP = [(r"more than|greater than|over|above|exceeding|larger than|higher than", ">"),
        (r"less than|fewer than|under|below|lower than|smaller than", "<"),
        (r"at least", ">="), (r"at most|no more than", "<=")]  # fmt: skip
_YEAR = r"(19\d\d|20\d\d)"
_MONTH = "(" + "|".join(MONTHS) + ")"


class Unsure(Exception):
    """The rules cannot map the question for sure; the message says what."""


@dataclass
class Mention:
    start: int  # token positions
    end: int
    words: list[str]


@dataclass
class Number:
    at: int  # its token position
    op: str  # =, <, >, <=, >=
    value: int | float


@dataclass
class Parsed:
    """What the rules read in a question."""

    tokens: list[str]
    numbers: list[Number] = field(default_factory=list)
    value_spans: list[tuple[int, int, list[Value]]] = field(default_factory=list)
    dates: tuple[str, str] | None = None
    date_words: set[int] = field(default_factory=set)
    mentions: list[Mention] = field(default_factory=list)  # words left that may name tables or columns
    limit: int | None = None


Token = tuple[str, int, int]  # a word and where it starts and ends


def tokenize(question: str) -> list[Token]:
    return [(m.group(0), m.start(), m.end()) for m in WORD.finditer(question)]


def _date_range(text: str, today: date) -> tuple[tuple[str, str] | None, list[tuple[int, int]]]:
    """A date range the question names, and the character spans that named it."""
    low = text.lower()

    def month_start(year: int, month: int) -> str:
        return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1).isoformat()

    m = re.search(rf"\bbetween (?:{_MONTH} )?{_YEAR} and (?:{_MONTH} )?{_YEAR}\b", low)
    if m:
        m1, y1, m2, y2 = m.groups()
        start = month_start(int(y1), MONTHS[m1] if m1 else 1)
        end = month_start(int(y2), MONTHS[m2] + 1) if m2 else month_start(int(y2) + 1, 1)
        return (start, end), [m.span()]
    m = re.search(rf"\b(?:in|during|of) {_MONTH},? {_YEAR}\b", low)
    if m:
        month, year = MONTHS[m.group(1)], int(m.group(2))
        return (month_start(year, month), month_start(year, month + 1)), [m.span()]
    m = re.search(rf"\b(before|after|since|in|during) {_YEAR}\b", low)
    if m:
        word, year = m.group(1), int(m.group(2))
        if word == "before":
            return ("0001-01-01", f"{year}-01-01"), [m.span()]
        if word in ("after", "since"):
            return (f"{year + (word == 'after')}-01-01", "9999-12-31"), [m.span()]
        return (f"{year}-01-01", f"{year + 1}-01-01"), [m.span()]
    m = re.search(r"\b(last|this) year\b", low)
    if m:
        year = today.year - (m.group(1) == "last")
        return (f"{year}-01-01", f"{year + 1}-01-01"), [m.span()]
    m = re.search(rf"\blast {_MONTH}\b", low)
    if m:
        month = MONTHS[m.group(1)]
        year = today.year if month < today.month else today.year - 1
        return (month_start(year, month), month_start(year, month + 1)), [m.span()]
    return None, []


def parse(question: str, schema: SchemaMap, today: date) -> Parsed:
    """The question's values, numbers, dates and the words left to name tables and columns."""
    dates, spans = _date_range(question, today)
    tokens = tokenize(question)
    parsed = Parsed([t[0].lower() for t in tokens], dates=dates)
    used: set[int] = set()
    for i, (_, start, end) in enumerate(tokens):
        if any(s <= start and end <= e for s, e in spans):
            used.add(i)
            parsed.date_words.add(i)
    _values(question, tokens, parsed, used, schema)
    _numbers(parsed, used)
    _mentions(parsed, used, schema)
    return parsed


def _values(question: str, tokens: list[Token], parsed: Parsed, used: set[int], schema: SchemaMap) -> None:
    """Quoted values first, then the longest runs of words that are values in the data."""
    words = parsed.tokens
    for m in re.finditer(r"'([^']+)'|\"([^\"]+)\"|‘([^’]+)’|“([^”]+)”", question):
        text = next(g for g in m.groups() if g)
        inside = [i for i, t in enumerate(tokens) if m.start() < t[1] and t[2] < m.end()]
        found = schema.values.get(tuple(w.lower() for w in WORD.findall(text)))
        if not found:
            raise Unsure(f"no value {text!r} in the database")
        parsed.value_spans.append((min(inside), max(inside) + 1, found))
        used |= set(inside)
    for n in range(min(len(words), 6), 0, -1):
        for i in range(len(words) - n + 1):
            span = set(range(i, i + n))
            if used & span:
                continue
            key = tuple(words[i : i + n])
            found = schema.values.get(key)
            if not found or key[0] in STOP or key[-1] in STOP or (n == 1 and re.fullmatch(r"[\d.,]+", key[0])):
                continue
            if n == 1 and (_schema_word(key[0], schema) or len(key[0]) < 3 or _names_column(key[0], schema)):
                continue  # a lone word that names a table or a column is that name, not a value
            parsed.value_spans.append((i, i + n, found))
            used |= span


def _numbers(parsed: Parsed, used: set[int]) -> None:
    """Numbers compared with a column ("a total over 10", "cost 1.99") or with a count ("more
    than one customer"), and how many rows are asked for ("the 3 shortest")."""
    words = parsed.tokens
    for i, w in enumerate(words):
        if i in used or not (re.fullmatch(r"\d+(?:\.\d+)?", w) or w in NUMBERS):
            continue
        before = " ".join(words[max(0, i - 3) : i])
        op = next((o for pattern, o in _CMP if re.search(rf"(?:^| )(?:{pattern})$", before)), None)
        if w in NUMBERS:
            if op is not None:
                used.add(i)
                parsed.numbers.append(Number(i, op, NUMBERS[w]))
            elif i + 1 < len(words) and i > 0 and words[i - 1] in ("the", "which", "top", "what"):
                parsed.limit = NUMBERS[w]
                used.add(i)
            continue
        used.add(i)
        if (
            op is None
            and w.isdigit()
            and int(w) > 0
            and i > 0
            and words[i - 1] in ("the", "top", "which", "what", "first", "are")
        ):
            parsed.limit = int(w)
        else:
            parsed.numbers.append(Number(i, op or "=", float(w) if "." in w else int(w)))


def _mentions(parsed: Parsed, used: set[int], schema: SchemaMap) -> None:
    """The words left that may name a table or a column, in runs; names of several words even
    with words that otherwise only ask ("list price")."""
    words = parsed.tokens
    for n in (3, 2):
        for i in range(len(words) - n + 1):
            span = set(range(i, i + n))
            if used & span or not any(w in STOP for w in words[i : i + n]):
                continue
            if any(s == 3 for _, s in schema.table_links(words[i : i + n])) or any(
                s == 3 for _, s in schema.column_links(words[i : i + n])
            ):
                parsed.mentions.append(Mention(i, i + n, words[i : i + n]))
                used |= span
    run: list[int] = []
    for i, w in enumerate([*words, "."]):
        if i < len(words) and i not in used and w not in STOP and not w.isdigit() and _schema_word(w, schema):
            run.append(i)
            continue
        if run:
            parsed.mentions.append(Mention(run[0], run[-1] + 1, [words[j] for j in run]))
            run = []
    parsed.mentions.sort(key=lambda m: m.start)


def _schema_word(word: str, schema: SchemaMap) -> bool:
    return bool(schema.table_links([word]) or schema.column_links([word]))


def _names_column(word: str, schema: SchemaMap) -> bool:
    """Whether ``word`` shares its stem with a word of a column's name ("shipped", ship_nation)."""
    forms = stems(word)
    return any(forms & stems(w) for columns in schema.tables.values() for c in columns for w in c.words)


@dataclass
class Link:
    kind: str  # "table" or "column"
    table: str
    column: Col | None
    score: int
    mention: Mention
    best: bool = True  # else a column the words name less well, kept to be chosen by its table


def link_mentions(parsed: Parsed, schema: SchemaMap) -> list[Link]:
    """Each mention as the table or column it names best (a run of words may name one thing,
    "invoice lines", or several, "album title")."""
    links: list[Link] = []
    for m in parsed.mentions:
        i = 0
        while i < len(m.words):
            for n in range(len(m.words) - i, 0, -1):
                words = m.words[i : i + n]
                sub = Mention(m.start + i, m.start + i + n, words)
                tables = schema.table_links(words)
                columns = schema.column_links(words)
                best_t = tables[0][1] if tables else 0
                best_c = columns[0][1] if columns else 0
                if not best_t and not best_c:
                    continue
                if best_t >= best_c:
                    top = [t for t, s in tables if s == best_t]
                    links += [Link("table", t, None, best_t, sub) for t in top]
                else:
                    links += [
                        Link("column", c.table, c, s, sub, s == best_c) for c, s in columns if s >= min(2, best_c)
                    ]
                i += n
                break
            else:
                i += 1
    return links
