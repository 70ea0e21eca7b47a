"""Loaders: one function ``path -> Iterable[Section]`` per format, registered by extension."""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path

from ingest.lang import LANG_SAMPLE, detect_language
from ingest.types import Document, LoadError, Section

Loader = Callable[[Path], Iterable[Section]]

_REGISTRY: dict[str, Loader] = {}


class Options:
    """Process-wide loader options, set once by the process that parses (a parse worker)."""

    ocr: bool = False
    pdfium: bool = True  # PDFium reads what pypdf cannot (off only to measure what it adds)


def set_options(ocr: bool = False, pdfium: bool = True) -> None:
    Options.ocr = ocr
    Options.pdfium = pdfium


def register(*extensions: str) -> Callable[[Loader], Loader]:
    """Register ``func`` as the loader for each of ``extensions`` (with the dot)."""

    def wrap(func: Loader) -> Loader:
        for ext in extensions:
            _REGISTRY[ext.lower()] = func
        return func

    return wrap


_NOTES = threading.local()  # a stack of note lists, one per load_document under way in this thread


def note(text: str) -> None:
    """Record a note on the document being loaded (what a loader could not read, and why)."""
    stack = getattr(_NOTES, "stack", None)
    if stack:
        stack[-1].append(text)


def supported_extensions() -> frozenset[str]:
    return frozenset(_REGISTRY)


def loader_for(path: Path) -> Loader | None:
    return _REGISTRY.get(path.suffix.lower())


def load(path: Path) -> list[Section]:
    """Read ``path`` into sections, or raise :class:`LoadError` with a human reason."""
    return load_document(path).sections


def load_document(path: Path, alive: Callable[[], None] | None = None) -> Document:
    """Read ``path`` into sections plus notes on what could not be read (pages without a
    text layer), or raise :class:`LoadError` with a human reason. ``alive`` is called as each
    section is read (a page, a message): a watchdog can tell slow from stuck."""
    loader = loader_for(path)
    if loader is None:
        raise LoadError(f"unsupported file type {path.suffix or '(none)'!r}")
    stack = _NOTES.__dict__.setdefault("stack", [])
    stack.append([])
    try:
        everything = []
        for section in loader(path):
            everything.append(section)
            if alive is not None:
                alive()
    except LoadError:
        raise
    except PermissionError as exc:
        raise LoadError(f"permission denied: {exc.strerror or exc}; check the file's permissions") from exc
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or exc}") from exc
    finally:
        noted = stack.pop()
    sections = [s for s in everything if s.text.strip()]
    if not sections:
        raise LoadError("no extractable text in this file" + (f" ({'; '.join(noted)})" if noted else ""))
    blank_pages = [s.page for s in everything if s.page is not None and not s.text.strip()]
    notes = list(noted)
    if blank_pages:
        listed = ", ".join(map(str, blank_pages[:20])) + (" and more" if len(blank_pages) > 20 else "")
        notes.append(
            f"{len(blank_pages)} page(s) have no text layer and were not indexed ({listed}); "
            "turn on OCR (index.ocr = true) to include them"
        )
    dated = [s for s in sections if s.date]
    newest = max(dated, key=lambda s: s.date or "") if dated else None  # (a mailbox: its newest message)
    return Document(
        sections,
        notes,
        date=newest.date if newest else None,
        date_source=newest.date_source if newest else "",
        lang=detect_language("\n".join(s.text for s in sections[:50])[:LANG_SAMPLE]),
        messages=[(s.offset, s.message) for s in everything if s.message is not None],
    )


# --- text -------------------------------------------------------------------


def read_text(path: Path) -> str:
    """Decode a text file, detecting its encoding rather than assuming UTF-8."""
    raw = path.read_bytes()
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoadError("looks like a binary file, not text")
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if raw.startswith(bom):
            return raw.decode(codec)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    valid = sum(1 for c in raw.decode("utf-8", errors="ignore") if ord(c) > 127)
    invalid = len(raw.decode("utf-8", errors="replace")) - len(raw.decode("utf-8", errors="ignore"))
    if valid and valid * 3 >= invalid:  # mostly UTF-8, some lines pasted from another encoding
        return raw.decode("utf-8", errors=_LEGACY)
    encoding = legacy_encoding(raw)
    if encoding is None:
        raise LoadError("cannot detect the text encoding; save the file as UTF-8")
    return raw.decode(encoding, errors="replace")


def legacy_encoding(raw: bytes) -> str | None:
    """The encoding that reads ``raw`` (text that is not UTF-8) best, or None if nothing does.
    A short Western text fits several code pages equally well: the commonest of them, cp1252,
    wins a tie (charset-normalizer's own first pick read "Søren" as "Sřren")."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw))
    if not matches:
        return None
    best = matches[0]
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    return next((m.encoding for m in tied if m.encoding == "cp1252"), best.encoding)


def _legacy_bytes(error: UnicodeError) -> tuple[str, int]:
    """Bytes that are not UTF-8 inside a UTF-8 text: read as Windows-1252 (Latin-1's superset)."""
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("cp1252", errors="replace"), error.end


_LEGACY = "ragkit-utf8-then-cp1252"
codecs.register_error(_LEGACY, _legacy_bytes)


@register(".txt", ".text", ".rst", ".log")
def load_text(path: Path) -> Iterator[Section]:
    text = read_text(path)
    yield Section(text=text, title=_first_line(text) or path.stem)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


# --- markdown ----------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


@register(".md", ".markdown")
def load_markdown(path: Path) -> Iterator[Section]:
    """One section per heading block; each keeps its heading path (``# A`` > ``## B``)."""
    text = read_text(path)
    headings = list(_HEADING.finditer(text))
    title = headings[0].group(2).strip() if headings else path.stem
    stack: list[tuple[int, str]] = []
    cuts: list[tuple[int, tuple[str, ...]]] = [(0, ())] if not headings or headings[0].start() > 0 else []
    for match in headings:
        level = len(match.group(1))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, match.group(2).strip()))
        cuts.append((match.start(), tuple(name for _, name in stack)))
    for i, (start, heading_path) in enumerate(cuts):
        end = cuts[i + 1][0] if i + 1 < len(cuts) else len(text)
        yield Section(text=text[start:end], offset=start, title=title, heading_path=heading_path)


# --- HTML --------------------------------------------------------------------

_SKIP_TAGS = {"script", "style", "nav", "header", "footer", "noscript", "template", "svg", "head", "aside"}
_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "pre", "blockquote",
    "h1", "h2", "h3", "h4", "h5", "h6", "dt", "dd", "hr", "main", "figure", "figcaption",
}  # fmt: skip


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        if tag == "title":
            self._in_title = True
        if tag == "pre":
            self._pre += 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1
        if tag == "title":
            self._in_title = False
        if tag == "pre" and self._pre:
            self._pre -= 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            return
        if self._skip:
            return
        self.parts.append(data if self._pre else re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> tuple[str, str]:
    """Return ``(title, main text)`` of an HTML document, without scripts or navigation."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return " ".join(parser.title.split()), text


@register(".html", ".htm", ".xhtml")
def load_html(path: Path) -> Iterator[Section]:
    title, text = html_to_text(read_text(path))
    yield Section(text=text, title=title or path.stem)
