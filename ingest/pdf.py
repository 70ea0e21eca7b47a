"""PDF: one section per page. PDFium (pypdfium2) reads first; pypdf reads the pages PDFium
cannot, and PDFium the files pypdf cannot open; OCR, when on, reads pages with no text layer; a
page's form fields follow its text; each page carries its document's title and its section."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ingest.loaders import Options, note, register
from ingest.pdfcontext import Headings, Line, document_title, outline_paths, page_lines
from ingest.types import LoadError, Section


@register(".pdf")
def load_pdf(path: Path) -> Iterator[Section]:
    """One section per page, pages numbered from 1. Streams page by page.

    PDFium (pypdfium2) reads first: it keeps a table's row on one line, and it is fast. Where
    it cannot (a page it fails on or finds no text on), pypdf reads the page; where pypdf
    cannot open the file, PDFium reads it alone. The file's notes say which pages the second
    engine read and why, and which pages neither could. Each page carries the document's
    title (:func:`~ingest.pdfcontext.document_title`) and the section it sits in."""
    opened = _open_pypdf(path)
    if isinstance(opened, str):  # damaged beyond pypdf: PDFium reads the whole file
        if not Options.pdfium:
            raise LoadError(f"PDF is damaged and could not be read ({opened}); re-save or repair it")
        yield from _pdfium_file(path, opened)
        return
    pages, title, created = opened
    produced = False
    ocr_missing = _ocr_missing() if Options.ocr else None
    first = _Pdfium(path)
    unread: dict[str, list[int]] = {}  # why → pages that neither engine could read
    read_by_pypdf: dict[str, list[int]] = {}  # why PDFium did not → pages pypdf read
    try:
        for number in range(len(pages)):
            text, by_pypdf, why_unread = _pdf_page(path, pages, number, first, Options.ocr and ocr_missing is None)
            if why_unread:
                unread.setdefault(why_unread, []).append(number + 1)
            elif by_pypdf:
                read_by_pypdf.setdefault(by_pypdf, []).append(number + 1)
            produced = produced or bool(text.strip())
            yield Section(  # blank pages become notes
                text=text,
                page=number + 1,
                title=first.title(title, path.stem),
                heading_path=first.heading,
                date=created.isoformat() if created else None,
                date_source="pdf metadata" if created else "",
            )
    finally:
        first.close()
    for why, numbers in read_by_pypdf.items():
        note(f"{_pages(numbers)} read by pypdf (PDFium {why})")
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


def _pdf_page(path: Path, pages: Any, number: int, first: _Pdfium, ocr: bool) -> tuple[str, str | None, str | None]:
    """Page ``number``'s text (PDFium's, else pypdf's, else OCR's when on), its form fields
    after it; why PDFium did not read it, if pypdf did; why neither could, if both failed."""
    text = first.page(number) or ""
    read_by_pypdf = unread = None
    if not text.strip():
        pypdf_failed = None
        try:
            text = pages[number].extract_text() or ""
        except Exception as exc:  # pypdf raises many types on damaged pages
            pypdf_failed = f"{type(exc).__name__}: {exc}"[:200]
        if text.strip() and first.why:
            read_by_pypdf = first.why
        elif pypdf_failed or first.failed:
            engines = [f"PDFium: {first.failed or 'no text'}"] if Options.pdfium else []
            unread = "; ".join([*engines, f"pypdf: {pypdf_failed or 'no text'}"])
    if not text.strip() and ocr:
        from ingest.ocr import ocr_page

        text = ocr_page(path, number + 1)
    fields = _fields(pages, number)
    if fields:  # after the page's own text, whose offsets stay as they are
        text = f"{text}\n\n{fields}" if text.strip() else fields
    return text, read_by_pypdf, unread


def _fields(pages: Any, number: int) -> str:
    """The form fields page ``number`` shows ("Name: value" lines), or ""."""
    from ingest.pdfforms import form_text

    try:
        return form_text(pages[number])
    except Exception:  # a page pypdf cannot even open has its own note
        return ""


PRIME_PAGES = 6  # the pages whose first lines are read first, to know a running header


class _Pdfium:
    """PDFium, opened on a file the first time a page needs it, and what it tells of each
    page read: why it did not (``why``, ``failed``), the document's title, the page's section."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.doc: Any = None
        self.error: str | None = None  # why PDFium cannot open this file
        self.why: str | None = None  # why it did not read the last page asked for
        self.failed: str | None = None  # its error on that page, if it raised one
        self.headings = Headings()
        self.heading: tuple[str, ...] = ()  # the section of the last page read
        self._title: str | None = None
        self.outline: list[tuple[str, ...]] | None = None  # each page's bookmarks, once read

    def page(self, number: int) -> str | None:
        """The text PDFium finds on page ``number`` (0-based), or None if it finds none."""
        self.why = self.failed = None
        if not Options.pdfium:
            return None
        try:
            if self.doc is None and self.error is None:
                self.doc = _pdfium_open(self.path)
            if self.doc is None:
                self.failed = self.error
                self.why = f"could not open the file: {self.error}"
                return None
            if not self.headings.primed:
                self.headings.prime(_first_lines(self.doc, PRIME_PAGES))
            text, lines = _pdfium_text(self.doc, number)
        except LoadError as exc:
            self.error = self.failed = str(exc)
            self.why = f"could not open the file: {exc}"
            return None
        except Exception as exc:  # PDFium's errors on one page
            self.failed = f"{type(exc).__name__}: {exc}"[:200]
            self.why = f"failed on them: {self.failed}"
            return None
        heading = self.headings.page(lines)
        if self.outline is None:
            try:
                self.outline = outline_paths(self.doc, len(self.doc)) or []
            except Exception:  # a damaged outline: the pages' own headings still say it
                self.outline = []
        if number < len(self.outline) and self.outline[number]:  # the bookmarks, then the page's own
            marked = self.outline[number]
            said = {h.lower() for h in marked}
            heading = (*marked, *[h for h in heading if h.lower() not in said][:1])
        columns = self.headings.columns(lines)
        self.heading = (*heading, columns) if columns and columns not in heading else heading
        if number == 0:
            self._title = document_title(self._meta_title(), text, self.path.stem)
        if not text.strip():
            self.why = "found no text on them"
            return None
        return text

    def title(self, meta_title: str, stem: str) -> str:
        """The document's title line (read off its first page), or the metadata's, or the name."""
        return self._title or meta_title or stem

    def _meta_title(self) -> str:
        try:
            return str(self.doc.get_metadata_dict().get("Title") or "")
        except Exception:  # broken metadata: the first page and the name still say it
            return ""

    def close(self) -> None:
        if self.doc is not None:
            self.doc.close()


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


def _pdfium_text(doc: Any, number: int, fonts: bool = True) -> tuple[str, list[Line]]:
    """Page ``number``'s text, and its lines with their fonts (to tell its headings)."""
    page = doc[number]
    try:
        textpage = page.get_textpage()
        try:
            raw = str(textpage.get_text_bounded())
            lines = page_lines(textpage, raw) if fonts else []
        finally:
            textpage.close()
    finally:
        page.close()
    return raw.replace("\r\n", "\n").replace("\r", "\n"), lines


def _first_lines(doc: Any, pages: int) -> list[list[str]]:
    """The first lines of each of the first ``pages`` pages (a page PDFium fails on: none)."""
    tops = []
    for number in range(min(pages, len(doc))):
        try:
            text, _ = _pdfium_text(doc, number, fonts=False)
        except Exception:  # that page's own read says why
            continue
        tops.append([line for line in text.splitlines() if line.strip()][:3])
    return tops


def _pdfium_file(path: Path, pypdf_error: str) -> Iterator[Section]:
    """Every page by PDFium, when pypdf cannot open the file."""
    try:
        doc = _pdfium_open(path)
    except LoadError as exc:
        raise LoadError(
            f"PDF is damaged and could not be read (pypdf: {pypdf_error}; {exc}); re-save or repair it"
        ) from None
    produced = False
    first = _Pdfium(path)
    first.doc = doc
    try:
        count = len(doc)
        for number in range(count):
            text = first.page(number) or ""
            if first.failed:
                raise LoadError(f"PDF page {number + 1} could not be read by PDFium ({first.failed})")
            produced = produced or bool(text.strip())
            yield Section(text=text, page=number + 1, title=first.title("", path.stem), heading_path=first.heading)
    finally:
        first.close()
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
