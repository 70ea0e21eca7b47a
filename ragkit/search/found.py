"""What ``find`` returns: each hit (its passage, file, page, span, snippet and date) and the
result (the total, the count per file, a page of hits), with their JSON forms; snippets mark
each matched word between MARK_START and MARK_END."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MARK_START, MARK_END = "\x02", "\x03"  # around each matched word of a snippet
SNIPPET_WORDS = 24


@dataclass(frozen=True)
class FindHit:
    id: str
    path: str
    page: int | None
    start: int
    end: int
    score: float  # BM25 (higher is better); 0 when only filters were given
    snippet: str  # with MARK_START / MARK_END around the matches
    date: str  # the date the date filters use (ISO): the document's own, else its file's
    date_source: str = "file mtime"  # or where the document's own came from ("pdf metadata", …)
    also: tuple[str, ...] = ()  # the same content at other paths
    matches: tuple[tuple[int, int], ...] = ()  # the matched words' spans, in the document's characters
    member: str = ""  # archive.zip!/inner/file.pdf, for a passage of an archive's member
    attachment: str = ""  # 'attachment NAME of the message "SUBJECT"', for a passage of an e-mail's attachment

    def as_dict(self, marks: tuple[str, str] = ("**", "**")) -> dict[str, Any]:
        return {
            "path": self.path,
            "page": self.page,
            "start": self.start,
            "end": self.end,
            **snippet_fields(self.snippet, marks),
            "score": round(self.score, 4),
            "date": self.date,
            "date_source": self.date_source,
            "also": list(self.also),
            "matches": [list(m) for m in self.matches],
            "member": self.member or None,
            "attachment": self.attachment or None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FindHit:
        """A hit back from :meth:`as_dict` (as a ragkit server sends it)."""
        snippet = snippet_of(data)
        return cls(
            id=data.get("id", ""), path=data["path"], page=data.get("page"), start=data["start"], end=data["end"],
            score=float(data.get("score", 0.0)), snippet=snippet, date=data.get("date", ""),
            date_source=data.get("date_source", "file mtime"), also=tuple(data.get("also", ())),
            matches=tuple((int(a), int(b)) for a, b in data.get("matches", ())), member=data.get("member") or "",
            attachment=data.get("attachment") or "",
        )  # fmt: skip


@dataclass(frozen=True)
class Place:
    """A file holding a document, with the file's time and the document's own date, if any."""

    path: str
    mtime_ns: int
    date_ns: int | None
    date_source: str | None


@dataclass
class FindResult:
    query: str
    total: int
    files: list[tuple[str, int]]  # every file with hits, most hits first
    hits: list[FindHit]  # the requested page, best first
    offset: int = 0
    expansions: dict[str, list[str]] = field(default_factory=dict)  # fuzzy term -> the words it matched

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "files": [{"path": p, "count": n} for p, n in self.files],
            "hits": [h.as_dict() for h in self.hits],
            "offset": self.offset,
            "expansions": self.expansions,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FindResult:
        return cls(
            query=data.get("query", ""),
            total=int(data["total"]),
            files=[(f["path"], int(f["count"])) for f in data.get("files", [])],
            hits=[FindHit.from_dict(h) for h in data.get("hits", [])],
            offset=int(data.get("offset", 0)),
            expansions={k: list(v) for k, v in (data.get("expansions") or {}).items()},
        )


def snippet_fields(snippet: str, marks: tuple[str, str] = ("**", "**")) -> dict[str, Any]:
    """A marked snippet as JSON: ``snippet`` with ``marks`` around the matches, and the same
    without marks (``snippet_text``) with where they were (``snippet_marks``): unambiguous
    when the text itself holds a mark such as "**"."""
    return {
        "snippet": snippet.replace(MARK_START, marks[0]).replace(MARK_END, marks[1]),
        "snippet_text": snippet.replace(MARK_START, "").replace(MARK_END, ""),
        "snippet_marks": [list(span) for span in marked_spans(snippet)],
    }


def snippet_of(data: dict[str, Any]) -> str:
    """The marked snippet back from :func:`snippet_fields`."""
    snippet = str(data.get("snippet_text", ""))
    for start, end in reversed(data.get("snippet_marks", [])):
        snippet = snippet[:start] + MARK_START + snippet[start:end] + MARK_END + snippet[end:]
    return snippet


def marked_spans(marked: str) -> list[tuple[int, int]]:
    """The spans between MARK_START and MARK_END in ``marked``, as offsets into the text
    without the marks (none, if the text itself holds a mark character and so cannot tell)."""
    spans: list[tuple[int, int]] = []
    position, opened = 0, None
    for char in marked:
        if char == MARK_START:
            if opened is not None:
                return []
            opened = position
        elif char == MARK_END:
            if opened is None:
                return []
            spans.append((opened, position))
            opened = None
        else:
            position += 1
    return spans if opened is None else []
