"""PDF: one section per page. pypdf reads first; PDFium (pypdfium2) reads the files and pages
pypdf cannot; OCR, when on, reads pages with no text layer; a page's form fields follow its text."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ingest.loaders import Options, note, register
from ingest.types import LoadError, Section


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
