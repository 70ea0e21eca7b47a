"""The context a reader has on a PDF's page and that the page's text alone does not say: which
document it is (title, kind, period) and which section the page sits in.

Read from PDFium's text with each line's font, so a page's heading is told by how it is set
(bolder or larger than the page's body text, or in capitals) as well as by what it says. A
line that heads two or more of the first pages (a running header such as "Table of
Contents") is no heading.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

MAX_HEADING_LINES = 3
MAX_HEADING_CHARS = 90
MAX_OUTLINE_DEPTH = 8
COLUMNS_WITHIN = 12  # a table's column headers are looked for in a page's first lines
CONTINUED_WITHIN = 3  # a table continued from the page before starts within a page's first lines
_YEAR = re.compile(r"(?<![\d,.$])(?:19|20)\d\d(?![\d,%])")
_CELL = re.compile(r"^\(?[$€£]?\(?-?[\d][\d,.]*\)?%?\)?$|^[—–-]$")  # a table's value: 1,577 (370) 12% —
_SIGNS = frozenset("$€£%")
_SENTENCE = re.compile(r"[a-z)][.:]$")
_FORM = re.compile(r"\bFORM\s+(10-K|10-Q|8-K|20-F|6-K|40-F|S-1|DEF 14A)\b", re.I)
_PERIOD = re.compile(
    r"\b(?:for the )?(fiscal year|quarterly period|year|period|quarter)s? ended\s+([A-Z][a-z]+\.? \d{1,2}, ?\d{4})",
    re.I,
)
_REPORTED = re.compile(r"Date of Report[^:]*:\s*([A-Z][a-z]+\.? \d{1,2}, ?\d{4})")
_REGISTRANT = re.compile(r"\(Exact name of (?:the )?registrant", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_IDENTIFIER = re.compile(r"^[\w.-]*\d[\w.-]*$")  # an accession number or a file code, no title


@dataclass(frozen=True)
class Line:
    text: str
    size: float
    weight: int


def page_lines(textpage: Any, text: str) -> list[Line]:
    """The page's non-blank lines with the font of each one's first character (PDFium's
    ``text`` of ``textpage``, with its line breaks as PDFium gives them)."""
    import pypdfium2.raw as raw

    lines = []
    at = 0
    for piece in re.split(r"(\r\n|\n|\r)", text):
        if piece and piece not in "\r\n":
            lead = len(piece) - len(piece.lstrip())
            if piece.strip():
                index = at + lead
                size = float(raw.FPDFText_GetFontSize(textpage.raw, index))
                weight = int(raw.FPDFText_GetFontWeight(textpage.raw, index))
                lines.append(Line(" ".join(piece.split()), size, weight))
        at += len(piece)
    return lines


def is_row(text: str) -> bool:
    """A table's row (or its header of years): it ends in two or more values."""
    words = [w for w in text.split() if w not in _SIGNS]  # "$ (1,577)", "91 %": a sign on its own
    cells = 0
    for word in reversed(words):
        if not _CELL.match(word.replace("$", "") or "$"):
            break
        cells += 1
    return cells >= 2 or (cells == 1 and len(words) == 1)


def years_of(text: str) -> list[str]:
    """The years a line of column headers names, in order ("(Millions) 2018 2017" → 2018, 2017)."""
    return _YEAR.findall(text)


def is_columns(text: str) -> bool:
    """A table's column headers by period: two or more years ("(Millions) 2018 2017 2016",
    "February 2, 2019 February 3, 2018", "As of June 30, 2023 2022")."""
    return len(_YEAR.findall(text)) >= 2 and len(text) <= MAX_HEADING_CHARS and not re.search(r"[a-z]{3}\.$", text)


@dataclass
class Headings:
    """Headings page by page: the lines that head a page and are set apart from its body; a
    page without one continues the section of the page before it."""

    top_seen: Counter[str] = field(default_factory=Counter)  # the first pages' top lines (prime)
    current: tuple[str, ...] = ()
    primed: bool = False
    own: bool = False  # the last page read had a heading of its own
    table: str | None = None  # the columns of the table the last page read ended in

    def prime(self, tops: list[list[str]]) -> None:
        """Count the first lines of the document's first pages before any is read, so that a
        running header is known as one on the first page too."""
        for lines in tops:
            for text in lines[:3]:
                self.top_seen[" ".join(text.split())] += 1
        self.primed = True

    def page(self, lines: list[Line]) -> tuple[str, ...]:
        """The section the page with these lines sits in: its own headings, or the last page's."""
        if not lines:
            return self.current
        body = Counter((line.size, line.weight) for line in lines).most_common(1)[0][0]
        found: list[str] = []
        for line in lines[: MAX_HEADING_LINES + 3]:
            if self.top_seen[line.text] >= 2 or line.text.isdigit():  # a running header, a page number
                continue
            if not self._heading(line, body):
                break
            found.append(line.text)
            if len(found) == MAX_HEADING_LINES:
                break
        self.own = bool(found)
        if found:
            self.current = tuple(found)
        return self.current

    def columns(self, lines: list[Line]) -> str | None:
        """The column headers of the table a page's first lines start (its years), if any; a
        page without a heading of its own that starts with rows continues the table of the
        page before it, and has that table's columns (read after :meth:`page`)."""
        found = next((line.text for line in lines[:COLUMNS_WITHIN] if is_columns(line.text)), None)
        if found is None and not self.own and any(is_row(line.text) for line in lines[:CONTINUED_WITHIN]):
            found = self.table
        tail = [line.text for line in lines[-3:]]
        self.table = found if found and any(is_row(text) for text in tail) else None
        return found

    @staticmethod
    def _heading(line: Line, body: tuple[float, int]) -> bool:
        text = line.text
        if not 3 <= len(text) <= MAX_HEADING_CHARS or not re.search(r"[A-Za-z]{3}", text) or is_row(text):
            return False
        if _SENTENCE.search(text) and len(text.split()) >= 8:
            return False
        set_apart = line.size > body[0] + 0.5 or line.weight >= body[1] + 100 or text.isupper()
        words = [w for w in re.findall(r"[A-Za-z]+", text) if len(w) > 3]
        titled = bool(words) and sum(w[0].isupper() for w in words) >= 0.6 * len(words)
        return set_apart or titled


def outline_paths(doc: Any, pages: int) -> list[tuple[str, ...]] | None:
    """Each page's place in the document's outline (bookmarks): the titles of the entries it
    falls under, outermost first; None for a document without an outline."""
    entries = []
    for order, item in enumerate(doc.get_toc(max_depth=MAX_OUTLINE_DEPTH)):
        dest = item.get_dest()
        index = dest.get_index() if dest is not None else None
        title = " ".join(_CONTROL.sub(" ", item.get_title() or "").split())
        if index is not None and 0 <= index < pages and title:
            entries.append((index, order, item.level, title[:MAX_HEADING_CHARS]))
    if not entries:
        return None
    entries.sort()
    paths: list[tuple[str, ...]] = []
    stack: list[str] = []
    at = 0
    for page in range(pages):
        while at < len(entries) and entries[at][0] <= page:
            _, _, level, title = entries[at]
            stack = [*stack[:level], title]
            at += 1
        paths.append(tuple(stack))
    return paths


def document_title(meta_title: str, first_page: str, stem: str) -> str:
    """What the document is, in a line: its title (the metadata's, unless it is an identifier),
    and, for a filing, the registrant, the form and the period; the file's name where nothing
    else says it."""
    parts: list[str] = []
    lines = [" ".join(line.split()) for line in first_page.splitlines() if line.strip()]
    for n, line in enumerate(lines[1:], 1):
        if _REGISTRANT.search(line) and not _REGISTRANT.search(lines[n - 1]):
            parts.append(lines[n - 1].strip("_ ").strip())
            break
    meta = " ".join(_CONTROL.sub(" ", meta_title).split())
    if meta and not _IDENTIFIER.match(meta) and not parts:  # a filing's cover says it better
        parts.append(meta)
    form = _FORM.search(first_page)
    if form:
        parts.append(f"Form {form.group(1).upper()}")
    period = _PERIOD.search(first_page)
    reported = _REPORTED.search(first_page)
    if period:
        parts.append(f"{period.group(1).lower()} ended {period.group(2)}")
    elif reported:
        parts.append(f"reported {reported.group(1)}")
    named = " ".join(stem.replace("_", " ").replace("-", " ").split())
    if not any(named.lower() in p.lower() for p in parts):
        parts.insert(0, named)
    kept: list[str] = []
    for part in parts:  # "3M Company" once, even when the metadata and the cover both say it
        if part and not any(part.lower() in other.lower() for other in kept):
            kept.append(part)
    return " · ".join(kept)[:200]
