"""Loaders: one function ``path -> Iterable[Section]`` per format, registered by extension."""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

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


def load_document(path: Path) -> Document:
    """Read ``path`` into sections plus notes on what could not be read (pages without a
    text layer), or raise :class:`LoadError` with a human reason."""
    loader = loader_for(path)
    if loader is None:
        raise LoadError(f"unsupported file type {path.suffix or '(none)'!r}")
    stack = _NOTES.__dict__.setdefault("stack", [])
    stack.append([])
    try:
        everything = list(loader(path))
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
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw))
    if not matches:
        raise LoadError("cannot detect the text encoding; save the file as UTF-8")
    best = matches[0]
    # a short Western text fits several code pages equally well: the commonest of them wins
    # (charset-normalizer's own first pick read "Søren" as "Sřren")
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    return str(next((m for m in tied if m.encoding == "cp1252"), best))


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


# --- PDF ---------------------------------------------------------------------


@register(".pdf")
def load_pdf(path: Path) -> Iterator[Section]:
    """One section per page, pages numbered from 1. Streams page by page.

    pypdf reads first. Where it cannot (a damaged cross-reference table, a filter it lacks,
    a page that raises or gives no text), PDFium, through pypdfium2, reads the file or the
    page; the file's notes say which pages it read and why, and which pages neither could."""
    opened = _open_pypdf(path)
    if isinstance(opened, str):  # damaged beyond pypdf: PDFium reads the whole file
        if not Options.pdfium:
            raise LoadError(f"PDF is damaged and could not be read ({opened}); re-save or repair it")
        yield from _pdfium_file(path, opened)
        return
    pages, title, created = opened
    produced = False
    ocr_missing = _ocr_missing() if Options.ocr else None
    second = _Pdfium(path)
    unread: dict[str, list[int]] = {}  # why → pages that neither engine could read
    try:
        for number in range(len(pages)):
            text, failed = _pdf_page(path, pages, number, second, ocr=Options.ocr and ocr_missing is None)
            if failed and not text.strip():
                unread.setdefault(f"pypdf: {failed}; PDFium: {second.error or 'no text'}", []).append(number + 1)
            produced = produced or bool(text.strip())
            yield Section(  # blank pages become notes
                text=text,
                page=number + 1,
                title=title or path.stem,
                date=created.isoformat() if created else None,
                date_source="pdf metadata" if created else "",
            )
    finally:
        second.close()
    for why, numbers in unread.items():
        note(f"{_pages(numbers)} could not be read ({why})")
    if not produced:
        if unread:
            raise LoadError(f"PDF pages could not be read ({next(iter(unread))})")
        hint = f"OCR is on but cannot run: {ocr_missing}" if ocr_missing else "turn on OCR (index.ocr = true)"
        raise LoadError(f"PDF has no text layer (scanned images?); {hint}")


def _open_pypdf(path: Path) -> tuple[Any, str, Any] | str:
    """pypdf's pages, the title and the creation date; or, for a file pypdf cannot open, why.
    A password or a missing decryption library is a :class:`LoadError` (PDFium would not help)."""
    import logging

    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("PDF is password-protected; remove the password (e.g. qpdf --decrypt) to index it")
        title, created = "", None
        try:
            meta = reader.metadata
            title = str(meta.title) if meta and meta.title else ""
            created = meta.creation_date if meta else None
        except Exception:  # metadata is optional; broken metadata must not stop the text
            pass
        pages = reader.pages
        len(pages)  # reading the page tree is where a damaged file often fails
    except LoadError:
        raise
    except DependencyError as exc:
        raise LoadError(f"PDF needs an optional library to decrypt ({exc}); pip install cryptography") from exc
    except FileNotDecryptedError as exc:
        raise LoadError("PDF is password-protected; remove the password to index it") from exc
    except Exception as exc:  # damaged: pypdf raises many types (PdfReadError, limits, KeyError, recursion...)
        return str(exc) or type(exc).__name__
    return pages, title, created


def _pdf_page(path: Path, pages: Any, number: int, second: _Pdfium, ocr: bool) -> tuple[str, str | None]:
    """Page ``number``'s text (pypdf's, else PDFium's, else OCR's when on), its form fields
    after it; and why pypdf failed on it, if it did."""
    failed = None
    try:
        text = pages[number].extract_text() or ""
    except Exception as exc:  # pypdf raises many types on damaged pages
        failed = f"{type(exc).__name__}: {exc}"[:200]
        text = second.page(number, "pypdf failed on them") or ""
    if not text.strip() and failed is None:
        text = second.page(number, "pypdf found no text on them") or text
    if not text.strip() and ocr:
        from ingest.ocr import ocr_page

        text = ocr_page(path, number + 1)
    fields = _fields(pages, number)
    if fields:  # after the page's own text, whose offsets stay as they are
        text = f"{text}\n\n{fields}" if text.strip() else fields
    return text, failed


def _fields(pages: Any, number: int) -> str:
    """The form fields page ``number`` shows ("Name: value" lines), or ""."""
    from ingest.pdfforms import form_text

    try:
        return form_text(pages[number])
    except Exception:  # a page pypdf cannot even open has its own note
        return ""


class _Pdfium:
    """PDFium, opened on a file the first time a page needs it; notes the pages it read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.doc: Any = None
        self.error: str | None = None  # why PDFium cannot read this file
        self.read: dict[str, list[int]] = {}  # why pypdf did not → the pages PDFium read

    def page(self, number: int, why: str) -> str | None:
        """The text PDFium finds on page ``number`` (0-based), or None if it finds none."""
        if not Options.pdfium:
            self.error = "off"
        if self.error is not None:
            return None
        try:
            if self.doc is None:
                self.doc = _pdfium_open(self.path)
            text = _pdfium_text(self.doc, number)
        except LoadError as exc:
            self.error = str(exc)
            return None
        except Exception as exc:  # PDFium's errors on one page
            self.error = f"{type(exc).__name__}: {exc}"
            return None
        if not text.strip():
            return None
        self.read.setdefault(why, []).append(number + 1)
        return text

    def close(self) -> None:
        if self.doc is not None:
            self.doc.close()
        for why, numbers in self.read.items():
            note(f"{_pages(numbers)} read by PDFium ({why})")


def _pdfium_open(path: Path) -> Any:
    try:
        import pypdfium2
    except ImportError:
        raise LoadError("PDFium is not installed: pip install pypdfium2") from None
    try:
        return pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as exc:
        said = str(exc).rstrip(".")
        raise LoadError(said if "PDFium" in said else f"PDFium: {said}") from None


def _pdfium_text(doc: Any, number: int) -> str:
    page = doc[number]
    try:
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_bounded()
        finally:
            textpage.close()
    finally:
        page.close()
    return str(text).replace("\r\n", "\n").replace("\r", "\n")


def _pdfium_file(path: Path, pypdf_error: str) -> Iterator[Section]:
    """Every page by PDFium, when pypdf cannot open the file."""
    try:
        doc = _pdfium_open(path)
    except LoadError as exc:
        raise LoadError(
            f"PDF is damaged and could not be read (pypdf: {pypdf_error}; {exc}); re-save or repair it"
        ) from None
    produced = False
    try:
        count = len(doc)
        for number in range(count):
            try:
                text = _pdfium_text(doc, number)
            except Exception as exc:
                raise LoadError(
                    f"PDF page {number + 1} could not be read by PDFium ({type(exc).__name__}: {exc})"
                ) from None
            produced = produced or bool(text.strip())
            yield Section(text=text, page=number + 1, title=path.stem)
    finally:
        doc.close()
    if not produced:
        raise LoadError(f"PDF has no text layer (scanned images?) and pypdf could not open it ({pypdf_error})")
    note(f"{_pages(range(1, count + 1))} read by PDFium (pypdf could not open the file: {pypdf_error})")


def _pages(numbers: Iterable[int]) -> str:
    """[1, 2, 3, 5] → "pages 1-3, 5"; [4] → "page 4"."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    named = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
    return f"page {named}" if len(runs) == 1 and runs[0][0] == runs[0][1] else f"pages {named}"


def _ocr_missing() -> str | None:
    from ingest.ocr import available

    return available()
