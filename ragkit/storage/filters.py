"""The filters a search keeps (paths, types, dates, languages, entities, a key's folders),
and the SQL conditions on the manifest's files that apply them."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ingest.entities import NAME_TYPES, key_of
from ragkit.core.errors import RagkitError
from ragkit.storage.migrations import basename_sql


@dataclass(frozen=True)
class Filters:
    paths: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    after: date | None = None
    before: date | None = None
    langs: tuple[str, ...] = ()
    # folders every file must be in (a server key's collections): set by the caller, never by
    # the query language, and kept apart from paths (which a query may widen with more)
    within: tuple[str, ...] = ()
    entities: tuple[tuple[str, str], ...] = ()  # (type, name as typed): files that mention each
    without: tuple[str, ...] = ()  # folders no file may be in (rows of a database the key may not use); the caller's
    marks: tuple[tuple[str, str], ...] = ()  # ("tag", name): files with that tag; ("note", ""), ("tag", ""): with any
    docs: tuple[str, ...] = ()  # documents by content hash: set by search for the files a question names

    def __bool__(self) -> bool:
        return bool(
            self.paths or self.types or self.after or self.before or self.langs or self.within or self.entities
            or self.without or self.marks or self.docs
        )  # fmt: skip

    def admits(self, path: str) -> bool:
        """Whether the file at ``path`` is inside ``within`` (if given) and outside ``without``."""

        def inside(folder: str) -> bool:
            return path.startswith(folder.rstrip("/") + "/")

        return (not self.within or any(map(inside, self.within))) and not any(map(inside, self.without))

    def describe(self) -> str:
        said = [f"path:{p}" for p in self.paths] + [f"type:{t}" for t in self.types]
        said += [f"after:{self.after}"] if self.after else []
        said += [f"before:{self.before}"] if self.before else []
        said += [f"lang:{lang}" for lang in self.langs]
        said += [f'{kind}:"{name}"' if " " in name else f"{kind}:{name}" for kind, name in self.entities]
        said += [f"tag:{value}" if value else f"has:{kind}" for kind, value in self.marks]
        return " ".join(said)


def where_sql(
    filters: Filters,
    entity_keys: Callable[[str, str], list[str]] | None = None,
    marked: Callable[[str, str], list[str]] | None = None,
) -> tuple[str, list[Any]]:
    """SQL conditions on ``files f`` for ``filters`` (each beginning with `` AND``);
    ``entity_keys``: an entity filter's name → the stored keys it matches; ``marked``: a tag
    or note filter → the paths of the files that carry it (:mod:`ragkit.investigate.marks`)."""
    where: list[str] = []
    params: list[Any] = []
    for kind, value in filters.marks:
        if marked is None:
            raise RagkitError("tag: and has: filters need the tags and notes, which this search was not given")
        where.append("f.path IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(marked(kind, value)))
    for kind, name in filters.entities:
        either, values = [], []
        for key in (entity_keys or (lambda k, n: [key_of(k, n)]))(kind, name):
            if kind in NAME_TYPES:  # a name matches the names that hold it as whole words: smith, john smith
                either.append("""(' ' || e."key" || ' ') LIKE ? ESCAPE '\\'""")
                values.append("% " + re.sub(r"([%_\\])", r"\\\1", key) + " %")
            else:
                either.append('e."key" = ?')
                values.append(key)
        where.append(
            f"EXISTS (SELECT 1 FROM entities e WHERE e.doc = f.doc AND e.type = ? AND ({' OR '.join(either) or '0'}))"
        )
        params += [kind, *values]
    if filters.paths:
        either = []
        for pattern in filters.paths:
            if "/" in pattern:
                either.append("f.path GLOB ?")
                params.append(pattern if pattern.startswith("/") else "*/" + pattern)
            else:
                either.append(f"{basename_sql('f.path')} GLOB ?")
                params.append(pattern)
        where.append("(" + " OR ".join(either) + ")")
    if filters.types:
        where.append("(" + " OR ".join("lower(f.path) GLOB ?" for _ in filters.types) + ")")
        params += [f"*.{t}" for t in filters.types]
    dated = "COALESCE((SELECT d.date_ns FROM docs d WHERE d.hash = f.doc), f.mtime_ns)"  # its own date, or the file's
    if filters.after:
        where.append(f"{dated} >= ?")
        params.append(_day_start_ns(filters.after))
    if filters.before:
        where.append(f"{dated} < ?")
        params.append(_day_start_ns(filters.before, days_after=1))
    if filters.within:
        where.append("(" + " OR ".join("f.path GLOB ?" for _ in filters.within) + ")")
        params += [glob_escape(folder.rstrip("/")) + "/*" for folder in filters.within]
    if filters.without:
        where.append("NOT (" + " OR ".join("f.path GLOB ?" for _ in filters.without) + ")")
        params += [glob_escape(folder.rstrip("/")) + "/*" for folder in filters.without]
    for column, allowed in (("f.doc", filters.docs), ("(SELECT lang FROM docs WHERE hash = f.doc)", filters.langs)):
        if allowed:  # the documents search narrowed to; the languages asked for
            where.append(f"{column} IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(allowed)))
    return "".join(" AND " + w for w in where), params


def glob_escape(text: str) -> str:
    """``text`` matched literally by SQLite's GLOB."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def _day_start_ns(day: date, days_after: int = 0) -> int:
    """Midnight of ``days_after`` days after ``day`` in local time, in nanoseconds since the epoch.
    Days the platform's clock cannot hold (year 1, the day after 9999-12-31) are counted in UTC, and
    the result is held within SQLite's 64-bit integers (about the years 1678 to 2262)."""
    try:
        ns = int(time.mktime(date.fromordinal(day.toordinal() + days_after).timetuple())) * 1_000_000_000
    except (OverflowError, ValueError):
        ns = (day.toordinal() + days_after - _EPOCH_ORDINAL) * 86_400 * 1_000_000_000
    return max(-(2**63), min(ns, 2**63 - 1))


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
