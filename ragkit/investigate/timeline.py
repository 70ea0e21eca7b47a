"""When things happened: files (or an entity's mentions) counted by date, a day, a month or a
year at a time. A file is dated as ``find`` dates its hits: the document's own date where it has
one (an e-mail's Date, a PDF's creation date…), else the file's modification time; each period
says how many of its files were dated which way, so a bar made of file times is told apart."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Literal

Period = Literal["day", "month", "year"]
WIDTH = {"day": 10, "month": 7, "year": 4}  # characters of an ISO date that name the period


def periods(
    dated: Sequence[tuple[str, str, str]], by: Period = "month", mentions: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """``dated``: (path, ISO date, its source) of each file. Without ``mentions``: per period,
    its files (and how they were dated); with them (the path of each mention of an entity): per
    period, the mentions in those files and the files holding them. Oldest first, periods
    without any left out."""
    cut = WIDTH[by]
    when = {path: (date[:cut], source) for path, date, source in dated}
    files: dict[str, set[str]] = {}
    sources: dict[str, Counter[str]] = {}
    counted: Counter[str] = Counter()
    for path in when if mentions is None else mentions:
        if path not in when:  # a mention in a file the query did not match
            continue
        period, source = when[path]
        if path not in files.setdefault(period, set()):
            sources.setdefault(period, Counter())[source] += 1
        files[period].add(path)
        counted[period] += 1
    rows = []
    for period in sorted(files):
        row: dict[str, Any] = {"period": period, "files": len(files[period]), "dated_by": dict(sources[period])}
        if mentions is not None:
            row["mentions"] = counted[period]
        rows.append(row)
    return rows
