"""OCR of scanned pages with the real Tesseract engine (the 'ocr' extra)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import LoadError, load
from ingest.loaders import set_options
from ingest.ocr import available
from ragkit import open_ragkit
from tests.conftest import SAMPLES


def scanned_pdf(tmp_path: Path, pages: int = 1) -> Path:
    """An image-only PDF: the first pages of a sample rendered to pixels, as a scanner would."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(SAMPLES / "shared-mime-info-spec.pdf"))
    images = [document[i].render(scale=2).to_pil().convert("RGB") for i in range(pages)]
    document.close()
    path = tmp_path / "scanned.pdf"
    images[0].save(path, "PDF", resolution=144, save_all=True, append_images=images[1:])
    return path


@pytest.fixture
def ocr_on() -> object:
    reason = available()
    assert reason is None, f"OCR must be installed for the test suite: {reason}"
    set_options(ocr=True)
    yield
    set_options(ocr=False)


def test_scanned_page_without_ocr_fails_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match=r"no text layer.*index\.ocr"):
        load(scanned_pdf(tmp_path))


def test_ocr_reads_the_scanned_page(tmp_path: Path, ocr_on: object) -> None:
    (section,) = load(scanned_pdf(tmp_path))
    assert section.page == 1
    words = section.text.lower()
    assert "shared" in words and "mime" in words and "database" in words


def test_index_with_ocr_makes_scans_searchable_on_the_right_page(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    scanned_pdf(folder, pages=3)
    rk = open_ragkit(index={"ocr": True})
    report = rk.index([folder])
    assert report.failed == [] and report.files == 1
    # each phrase is on one page only of the three scanned ones
    for query, page in (
        ("key words MUST NOT REQUIRED SHALL interpreted as described in RFC 2119", 2),
        ("each application installs a single XML file named after itself", 3),
        ("Thomas Leonard. What is this spec? Many programs and desktops use the MIME system", 1),
    ):
        hits = rk.search(query, k=1)
        assert hits and hits[0].page == page, (query, hits[0].page if hits else None)
    rk.close()
