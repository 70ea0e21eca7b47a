"""What the words of a question name in a database: tables and columns (by their names'
words, a small office thesaurus, and meaning when an embedder is given) and values that
occur in the data (an index of the distinct values of its short text columns).

The rules that turn a question into SQL (:mod:`ragkit.db.rules`) are built on these links;
every link says how sure it is, so that the rules can decline instead of guessing.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragkit.db.base import DatabaseError, Table

WORD = re.compile(r"\w+(?:[&/'.-]\w+)*")
MAX_VALUES = 5000  # a text column with more distinct values than this is free text, not indexed
MAX_VALUE_LENGTH = 60
MAX_NGRAM = 6

# words that ask, connect or shape a question: never a table, a column or a value
STOP = frozenset(
    """a an the of in on at to for by from with and or is are was were be been do does did has have had
    how many much what which who whom whose when where there their its it this that these those than then
    as all any each every some most least more less fewest few number total average avg mean sum count
    highest lowest largest smallest biggest longest shortest maximum minimum max min top first last
    give show list tell me us i you we they he she name names per between before after during since
    over under above below not no one two three four five six seven eight nine ten different distinct
    unique ever year years month months day days can could would please rows row record records
    expensive cheapest cheap greatest best worst""".split()
)

# a small office thesaurus: words in one group may name the same thing
SYNONYMS = [
    {"customer", "client", "buyer"},
    {"employee", "staff", "worker", "rep", "representative", "colleague"},
    {"city", "town"},
    {"country", "nation"},
    {"price", "cost", "priced", "costs"},
    {"quantity", "qty", "unit"},
    {"salary", "pay", "wage", "earn", "earns", "paid"},
    {"total", "amount", "sales", "revenue", "spent", "spend", "turnover"},
    {"length", "duration", "long", "millisecond", "second", "minute"},
    {"surname", "lastname"},
    {"firstname", "forename"},
    {"title", "role", "position", "job"},
    {"email", "mail"},
    {"phone", "telephone"},
    {"song", "track"},
    {"company", "firm", "employer", "business"},
    {"product", "item", "article"},
    {"hire", "hired", "start", "started", "joined", "join", "since"},
    {"birth", "born", "birthday"},
    {"label", "name"},
]
MONEY = frozenset({"price", "cost", "total", "amount", "salary", "pay", "revenue", "sales", "value", "spent", "fee"})
LENGTH = frozenset({"length", "duration", "millisecond", "second", "minute", "hour"})
_NUMERIC = ("int", "real", "num", "dec", "float", "double", "money", "serial")
_DATE = ("date", "time")
_TEXT = ("char", "text", "clob", "string")


# the last words of names run together in lower case ("billingcountry", "invoicedate")
_HEADS = ("id", "name", "date", "country", "city", "price", "total", "code", "type", "number", "title", "address",
          "email", "phone", "count", "amount", "quantity")  # fmt: skip


def split_name(name: str) -> list[str]:
    """A table or column name's words, lower case: "BillingCountry", "order_lines", "Product
    Lines", "HTTPStatus", "billingcountry" → their words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    words = [w.lower() for w in re.split(r"[\W_]+", spaced) if w]
    if len(words) == 1 and name.islower():
        head = next((h for h in _HEADS if words[0].endswith(h) and len(words[0]) - len(h) >= 4), None)
        if head:
            words = [words[0][: -len(head)], head]
    return words


def stems(word: str) -> set[str]:
    """A word and the forms it may take in a name: plural, past, -ing, -er dropped."""
    w = word.lower()
    found = {w}
    if len(w) > 4 and w.endswith("ies"):
        found.add(w[:-3] + "y")
    if len(w) > 3 and w.endswith("es"):
        found.add(w[:-2])
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        found.add(w[:-1])
    for ending in ("ed", "ing", "er"):
        if len(w) > len(ending) + 2 and w.endswith(ending):
            root = w[: -len(ending)]
            found |= {root, root + "e"}
            if len(root) > 2 and root[-1] == root[-2]:
                found.add(root[:-1])
    return found


def related(word: str) -> set[str]:
    forms = stems(word)
    for group in SYNONYMS:
        if forms & group:
            forms |= {s for g in group for s in stems(g)}
    return forms


@dataclass(frozen=True)
class Col:
    table: str
    name: str
    type: str
    words: tuple[str, ...]
    primary_key: bool = False
    references: str = ""  # "table.column"

    @property
    def numeric(self) -> bool:
        return any(t in self.type.lower() for t in _NUMERIC) and not self.key

    @property
    def date(self) -> bool:
        return any(t in self.type.lower() for t in _DATE) or (not self.type and self.words[-1:] == ("date",))

    @property
    def text(self) -> bool:
        return any(t in self.type.lower() for t in _TEXT) or not self.type

    @property
    def key(self) -> bool:
        return self.primary_key or bool(self.references) or (self.words[-1:] in (("id",), ("no",), ("key",)))


@dataclass
class Value:
    table: str
    column: str
    value: str
    raw: bytes | None = None  # the stored bytes, when they are not UTF-8


@dataclass
class SchemaMap:
    """The tables, columns, foreign keys and short text values of a database."""

    tables: dict[str, list[Col]]
    kinds: dict[str, str]
    edges: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # table → (other, col, other col)
    values: dict[tuple[str, ...], list[Value]] = field(default_factory=dict)
    rows: dict[str, int | None] = field(default_factory=dict)  # table → rows
    distinct: dict[tuple[str, str], int] = field(default_factory=dict)  # (table, column) → distinct values

    @classmethod
    def build(cls, database: Any, schema: Sequence[Table] | None = None) -> SchemaMap:
        schema = list(schema if schema is not None else database.schema(samples=0))
        real = [t for t in schema if t.kind == "table"] or schema  # views repeat their tables' rows
        tables = {t.name: [Col(t.name, c.name, c.type, tuple(split_name(c.name)) or (c.name.lower(),),
                               c.primary_key, c.references) for c in t.columns] for t in real}  # fmt: skip
        found = cls(tables, {t.name: t.kind for t in real}, rows={t.name: t.rows for t in real})
        names = {n.lower(): n for n in tables}
        for table, columns in tables.items():
            for c in columns:
                if not c.references:
                    continue
                other, _, other_col = c.references.partition(".")
                if other.lower() in names:
                    other = names[other.lower()]
                    found.edges.setdefault(table, []).append((other, c.name, other_col))
                    found.edges.setdefault(other, []).append((table, other_col, c.name))
        found._index_values(database)
        return found

    def _index_values(self, database: Any) -> None:
        from ragkit.db.connections import quote_name

        sqlite = database.kind == "sqlite"
        for table, columns in self.tables.items():
            for c in columns:
                if not c.text or c.key:
                    continue
                col, tab = quote_name(c.name), quote_name(table)
                raw = f", CAST({col} AS BLOB)" if sqlite else ""
                sql = (f"SELECT DISTINCT {col}{raw} FROM {tab} WHERE {col} IS NOT NULL"
                       f" AND length({col}) <= {MAX_VALUE_LENGTH}")  # fmt: skip
                try:
                    result = database.run(sql, max_rows=MAX_VALUES)
                except DatabaseError:
                    continue  # a column the rules cannot read is one they do not filter on
                if result.truncated:
                    continue
                self.distinct[(table, c.name)] = len(result.rows)
                for row in result.rows:
                    if not isinstance(row[0], str):
                        continue
                    stored = row[1] if sqlite and isinstance(row[1], bytes) else None
                    if stored is not None and _utf8(stored):
                        stored = None
                    key = tuple(w.lower() for w in WORD.findall(row[0]))
                    if key:
                        self.values.setdefault(key, []).append(Value(table, c.name, row[0], stored))

    # -- links -----------------------------------------------------------------------------

    def table_links(self, words: Sequence[str]) -> list[tuple[str, int]]:
        """Tables a phrase names, best first, with a score: 3 its whole name, 2 its last word
        (the head noun: "lines" for "order_lines"), by a synonym 1 less."""
        found: dict[str, int] = {}
        for table in self.tables:
            score = _phrase_score(words, split_name(table))
            if score:
                found[table] = max(found.get(table, 0), score)
        return sorted(found.items(), key=lambda kv: (-kv[1], len(kv[0])))

    def column_links(self, words: Sequence[str], tables: Iterable[str] | None = None) -> list[tuple[Col, int]]:
        found = []
        for table in tables if tables is not None else self.tables:
            for c in self.tables[table]:
                score = _phrase_score(words, list(c.words))
                if not score and len(words) == 1 and len(c.words) > 1:
                    # a modifier names a date or a number column too: "hired" → HireDate
                    if (c.date or c.numeric) and related(words[0]) & stems(c.words[0]) and len(words[0]) > 3:
                        score = 1
                if score:
                    found.append((c, score))
        return sorted(found, key=lambda cs: -cs[1])

    def column(self, table: str, name: str) -> Col:
        return next(c for c in self.tables[table] if c.name == name)

    def labels(self, table: str) -> list[Col]:
        """The columns that name a row of ``table``: its name or title, first and last name;
        else its key."""
        columns = self.tables[table]
        first = [c for c in columns if c.words[-1:] == ("name",) and c.words[:1] in (("first",), ("given",))]
        last = [c for c in columns if c.words in (("last", "name"), ("surname",), ("family", "name"))]
        if first and last:
            return [first[0], last[0]]
        named = [c for c in columns if c.text and not c.key and c.words[-1] in ("name", "title", "label", "company")]
        exact = [c for c in named if len(c.words) == 1 or c.words[0] in stems(split_name(table)[-1])]
        if exact or named:
            return [(exact or named)[0]]
        rows = self.rows.get(table)
        unique = [c for c in columns if c.text and not c.key and rows and self.distinct.get((table, c.name)) == rows]
        if unique:  # a text that tells every row apart: an address, a code
            return unique[:1]
        keys = [c for c in columns if c.primary_key]
        return keys[:1] or columns[:1]

    def primary_key(self, table: str) -> Col | None:
        keys = [c for c in self.tables[table] if c.primary_key]
        return keys[0] if len(keys) == 1 else None

    def path(self, start: str, goal: str) -> list[tuple[str, str, str, str]] | None:
        """The joins from ``start`` to ``goal`` along foreign keys, fewest first: (table,
        column, other table, other column) steps; None when there is no single shortest one."""
        if start == goal:
            return []
        paths: dict[str, list[list[tuple[str, str, str, str]]]] = {start: [[]]}
        queue = deque([start])
        while queue:
            table = queue.popleft()
            for other, col, other_col in self.edges.get(table, []):
                if other == table:
                    continue
                step = (table, col, other, other_col)
                if other not in paths:
                    paths[other] = [[*p, step] for p in paths[table]]
                    queue.append(other)
                elif len(paths[other][0]) == len(paths[table][0]) + 1:
                    paths[other] += [[*p, step] for p in paths[table]]
        found = paths.get(goal)
        if not found:
            return None
        distinct = {tuple(p) for p in found}
        return list(found[0]) if len(distinct) == 1 else None

    def many_side(self, step: tuple[str, str, str, str]) -> bool:
        """Whether joining along ``step`` may repeat rows of its first table (it goes from a
        key to the rows that refer to it)."""
        table, col, _, _ = step
        return not any(c.name == col and c.references for c in self.tables[table])


_MAPS: OrderedDict[tuple[Any, ...], SchemaMap] = OrderedDict()
_MAPS_LOCK = threading.Lock()
KEPT = 8  # databases whose maps a process keeps
PG_FRESH_S = 300.0  # a PostgreSQL database's map is read again after this long (a file's when it changes)


def schema_map(database: Any) -> SchemaMap:
    """The :class:`SchemaMap` of ``database``, read once and kept while the database is the
    same (a SQLite file unchanged; a PostgreSQL database for :data:`PG_FRESH_S`)."""
    if database.kind == "sqlite":
        wal = database.path.with_name(database.path.name + "-wal")
        stamp: tuple[float, ...] = (database.path.stat().st_mtime, wal.stat().st_mtime if wal.exists() else 0.0)
    else:
        stamp = (float(int(time.time() // PG_FRESH_S)),)
    where = str(getattr(database, "url", "")) or str(getattr(database, "path", ""))
    key = (database.name, where, tuple(sorted(database.tables)), stamp)
    with _MAPS_LOCK:
        found = _MAPS.get(key)
        if found is not None:
            _MAPS.move_to_end(key)
            return found
    made = SchemaMap.build(database)
    with _MAPS_LOCK:
        _MAPS[key] = made
        while len(_MAPS) > KEPT:
            _MAPS.popitem(last=False)
    return made


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _phrase_score(words: Sequence[str], name: Sequence[str]) -> int:
    """How well question words name a table or column whose name has ``name``'s words."""
    if not words or not name:
        return 0
    if len(words) == len(name) and all(stems(a) & stems(b) for a, b in zip(words, name, strict=True)):
        return 3
    if len(words) == len(name) and all(related(a) & stems(b) for a, b in zip(words, name, strict=True)):
        return 2
    if len(words) == 1 and len(name) > 1:
        if stems(words[0]) & stems(name[-1]):
            return 2
        if related(words[0]) & stems(name[-1]):
            return 1
    return 0
