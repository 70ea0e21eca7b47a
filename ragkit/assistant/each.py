"""One question over every match: ``ragkit ask --each QUERY QUESTION``.

``QUERY`` (the ``find`` language, filters included) selects every file that matches, however
many; the question is then asked of each file alone, as ``ask`` would answer it from that file's
passages (quoted sentences by default, or the model's checked answer), and each file gets a
row: its answer and the verified quotes behind it, or that nothing in it answers. No file that
matched is left out. Rows come one at a time, so a long run can be shown as it goes and stopped
with what is done kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ragkit.answer.answerer import Answer, Mode
from ragkit.core.errors import RagkitError
from ragkit.db.ask import SqlAnswer
from ragkit.storage.filters import Filters, glob_escape


@dataclass
class EachRow:
    path: str
    answered: bool
    answer: str  # the checked answer, or the reason nothing answers
    quotes: list[dict[str, Any]] = field(default_factory=list)  # verified: page, start, end, quote
    short_answer: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "answered": self.answered, "answer": self.answer,
                "short_answer": self.short_answer, "quotes": self.quotes}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EachRow:
        """A row back from :meth:`as_dict` (as a ragkit server sends it)."""
        return cls(data["path"], bool(data["answered"]), data["answer"], list(data.get("quotes") or []),
                   data.get("short_answer") or "")  # fmt: skip


def matching_files(rk: Any, query: str, scope: Filters | None = None) -> list[str]:
    """Every file ``query`` matches (within ``scope``: a key's collections), the most matches
    first. (``rk``: the local engine, :class:`~ragkit.assistant.local.Ragkit`, here and below.)"""
    return [path for path, _ in rk.find(query, 0, 0, scope).files]


def answer_each(
    rk: Any, files: list[str], question: str, mode: Mode = "extract", scope: Filters | None = None
) -> Iterator[EachRow]:
    """The question asked of each file alone (within ``scope`` still), a row per file, in the
    order given."""
    for path in files:
        only = Filters(paths=(glob_escape(path),), within=scope.within if scope else (),
                       without=scope.without if scope else ())  # fmt: skip
        found = answered(rk.ask_stream(question, mode=mode, scope=only, databases=[]), lambda said: None)
        answer = found if isinstance(found, Answer) else None
        yield row_of(path, answer)


def answered(events: Any, progress: Callable[[str], None]) -> Answer | SqlAnswer:
    """The checked answer at the end of ``ask_stream``'s events (the stream closed after),
    saying how it goes meanwhile (the route chosen, reasoning and draft as counts: they are not
    the answer)."""
    written = 0
    try:
        for item in events:
            if isinstance(item, Answer | SqlAnswer):
                return item
            if item.type == "route":
                progress(item.chunk)
            elif item.type in ("reasoning", "text"):
                written += 1
                if written % 16 == 1:
                    progress(f"the model is writing ({written} pieces so far); the answer is checked when it is done")
    finally:
        events.close()
    raise RagkitError("the answer ended without a result")  # (ask_stream always ends on one)


def row_of(path: str, answer: Answer | None) -> EachRow:
    if answer is None or answer.declined:
        return EachRow(path, False, "nothing in this file answers the question")
    quotes = [
        {"page": c.page, "start": c.start, "end": c.end, "quote": c.quote}
        for c in answer.attribution.citations
        if c.verified and c.path == path
    ]
    if not quotes:  # an answer nothing in the file backs is no answer from it
        return EachRow(path, False, "nothing in this file answers the question")
    short = (answer.short_answer or {}).get("text", "")
    return EachRow(path, True, answer.answer, quotes, short)


def each_file(
    rk: Any,
    question: str,
    query: str,
    mode: Mode | None,
    scope: Filters | None,
    progress: Callable[[str], None] = lambda said: None,
) -> dict[str, Any]:
    """``ask --each``: a row per file ``query`` matches within ``scope``, saying how far it is."""
    files = matching_files(rk, query, scope)
    rows = []
    for n, row in enumerate(answer_each(rk, files, question, mode or "extract", scope), start=1):
        rows.append(row.as_dict())
        progress(f"{n} of {len(files)} file(s) asked")
    answered = sum(r["answered"] for r in rows)
    return {"question": question, "query": query, "files": len(files), "answered": answered, "rows": rows}
