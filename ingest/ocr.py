"""Optional OCR for PDF pages without a text layer: pypdfium2 renders, Tesseract reads.

Install with ``pip install 'ragkit[ocr]'`` plus the Tesseract engine (Debian/Ubuntu:
``apt install tesseract-ocr``). Off unless ``index.ocr`` is true.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ingest.types import LoadError

_SCALE = 300 / 72  # render at 300 dpi


def available() -> str | None:
    """``None`` if OCR can run here, else the reason and the fix."""
    try:
        import pypdfium2  # noqa: F401
        import pytesseract  # noqa: F401
    except ImportError:
        return "OCR libraries are missing; pip install 'ragkit[ocr]'"
    if shutil.which("tesseract") is None:
        return "the Tesseract engine is missing; install it (e.g. apt install tesseract-ocr)"
    return None


def ocr_page(path: Path, page_number: int, language: str = "eng") -> str:
    """Text of page ``page_number`` (from 1) of the PDF at ``path``."""
    import pypdfium2
    import pytesseract

    try:
        document = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as exc:
        raise LoadError(f"cannot render the PDF for OCR ({exc})") from exc
    try:
        image = document[page_number - 1].render(scale=_SCALE).to_pil()
        return str(pytesseract.image_to_string(image, lang=language))
    finally:
        document.close()
