"""Loaders for office, e-book, table and source-code files (standard library only)."""

from __future__ import annotations

import csv
import io
import posixpath
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

from ingest.archives import LIMITS, _Budget, _read
from ingest.loaders import html_to_text, read_text, register
from ingest.types import LoadError, Section

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _open_zip(path: Path, kind: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise LoadError(f"not a valid {kind} file (damaged zip container); re-save it") from exc


def _member(archive: zipfile.ZipFile, name: str) -> bytes:
    """A part of a DOCX or EPUB, read within the archive limits: a part that expands past
    them (a zip bomb dressed as a document) is refused with the reason, not read."""
    info = archive.getinfo(name)  # KeyError: missing
    budget = _Budget(LIMITS)
    try:
        with archive.open(info) as stream:
            return _read(stream, name, info.compress_size, budget)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError) as exc:  # damaged, encrypted
        raise LoadError(f"{name} could not be read ({exc}); the file may be damaged") from exc


def _xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(_member(archive, name))
    except KeyError as exc:
        raise LoadError(f"{name} is missing from the file; it may be damaged") from exc
    except ElementTree.ParseError as exc:
        raise LoadError(f"{name} is not valid XML ({exc}); the file may be damaged") from exc


def _blocks_to_sections(blocks: list[tuple[int, str]], title: str) -> Iterator[Section]:
    """Turn ``(heading level or 0, text)`` paragraphs into sections with heading paths."""
    stack: list[tuple[int, str]] = []
    text_parts: list[str] = []
    offset = 0
    start = 0
    path: tuple[str, ...] = ()

    def emit() -> Section | None:
        text = "".join(text_parts)
        return Section(text=text, offset=start, title=title, heading_path=path) if text.strip() else None

    for level, text in blocks:
        if level:
            section = emit()
            if section:
                yield section
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, text.strip()))
            path = tuple(name for _, name in stack)
            text_parts, start = [], offset
        line = text + "\n"
        text_parts.append(line)
        offset += len(line)
    section = emit()
    if section:
        yield section


@register(".docx")
def load_docx(path: Path) -> Iterator[Section]:
    """Paragraphs and table cells in order; Heading N and Title styles give the heading path."""
    with _open_zip(path, "DOCX") as archive:
        body = _xml(archive, "word/document.xml")
        title, created = "", None
        if "docProps/core.xml" in archive.namelist():
            core = _xml(archive, "docProps/core.xml")
            found = core.find("{http://purl.org/dc/elements/1.1/}title")
            title = (found.text or "").strip() if found is not None else ""
            stamp = core.find("{http://purl.org/dc/terms/}created")
            created = _iso((stamp.text or "").strip()) if stamp is not None else None
    blocks: list[tuple[int, str]] = []
    for para in body.iter(f"{_W}p"):
        text = "".join(node.text or "" for node in para.iter() if node.tag in (f"{_W}t", f"{_W}tab"))
        if not text.strip():
            continue
        style = para.find(f"{_W}pPr/{_W}pStyle")
        name = (style.get(f"{_W}val") or "") if style is not None else ""
        level = 0
        if name.lower().startswith("heading") and name[7:].isdigit():
            level = int(name[7:]) + 1  # the Title style sits above Heading 1
        elif name.lower() == "title":
            level = 1
            title = title or text.strip()
        blocks.append((level, text))
    for section in _blocks_to_sections(blocks, title or path.stem):
        yield replace(section, date=created, date_source="docx properties") if created else section


def _iso(stamp: str) -> str | None:
    """A W3CDTF time stamp (DOCX properties) as ISO 8601, or None if it is not one."""
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).isoformat() if stamp else None
    except ValueError:
        return None


@register(".epub")
def load_epub(path: Path) -> Iterator[Section]:
    """Chapters in reading (spine) order; each chapter's title is its heading path."""
    with _open_zip(path, "EPUB") as archive:
        container = _xml(archive, "META-INF/container.xml")
        rootfile = next((el.get("full-path") for el in container.iter() if el.tag.endswith("rootfile")), None)
        if not rootfile:
            raise LoadError("EPUB has no package document; it may be damaged")
        opf = _xml(archive, rootfile)
        base = posixpath.dirname(rootfile)
        items = {el.get("id"): el.get("href") for el in opf.iter() if el.tag.endswith("}item")}
        book_title = next((el.text for el in opf.iter() if el.tag.endswith("}title") and el.text), path.stem)
        offset = 0
        for ref in (el.get("idref") for el in opf.iter() if el.tag.endswith("}itemref")):
            href = items.get(ref)
            if not href:
                continue
            name = posixpath.normpath(posixpath.join(base, href))
            try:
                markup = _member(archive, name).decode("utf-8", errors="replace")
            except KeyError:
                continue
            chapter, text = html_to_text(markup)
            if not text.strip():
                continue
            yield Section(text=text, offset=offset, title=book_title, heading_path=(chapter,) if chapter else ())
            offset += len(text) + 2


@register(".csv", ".tsv")
def load_csv(path: Path) -> Iterator[Section]:
    """Each row as ``column: value`` pairs, so a chunk keeps the meaning of its cells.

    Offsets are within this rendering of the table, one row per line.
    """
    raw = read_text(path)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(raw[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    csv.field_size_limit(1 << 30)  # a cell may be as long as the file (index.max_file_mb bounds it)
    try:
        rows = list(csv.reader(io.StringIO(raw), dialect))
    except csv.Error:  # a lone carriage return inside a cell, say: read with every line end made "\n"
        try:
            rows = list(csv.reader(io.StringIO(raw.replace("\r\n", "\n").replace("\r", "\n")), dialect))
        except csv.Error as exc:
            raise LoadError(f"not a readable table ({exc})") from exc
    if not rows:
        return
    header = [h.strip() or f"column {i + 1}" for i, h in enumerate(rows[0])]
    lines = []
    if len(rows) == 1:  # a header alone (or a table written on one line): its cells are the text
        lines.append("row 1: " + "; ".join(v.strip() for v in rows[0]))
    for number, row in enumerate(rows[1:], start=2):
        cells = [f"{header[i] if i < len(header) else f'column {i + 1}'}: {v.strip()}" for i, v in enumerate(row)]
        if any(v.strip() for v in row):
            lines.append(f"row {number}: " + "; ".join(cells))
    yield Section(text="\n".join(lines) + "\n", title=path.stem, heading_path=(", ".join(header)[:200],))


CODE_EXTENSIONS = (
    ".py", ".pyi", ".js", ".mjs", ".ts", ".tsx", ".jsx", ".go", ".rs", ".java", ".kt", ".scala", ".c", ".h",
    ".cc", ".cpp", ".hpp", ".cs", ".rb", ".php", ".swift", ".sh", ".bash", ".zsh", ".ps1", ".sql", ".r", ".lua",
    ".pl", ".hs", ".ml", ".ex", ".exs", ".erl", ".clj", ".dart", ".jl", ".m", ".toml", ".yaml", ".yml", ".json",
    ".ini", ".cfg", ".conf", ".xml", ".css", ".scss", ".tex", ".bib", ".org", ".adoc",
)  # fmt: skip


@register(*CODE_EXTENSIONS)
def load_code(path: Path) -> Iterator[Section]:
    """Source and config files as text; the file name is the title."""
    yield Section(text=read_text(path), title=path.name)
