from __future__ import annotations

from pathlib import Path

import pytest

from ingest import LoadError, load, loader_for
from ingest.loaders import html_to_text
from tests.conftest import SAMPLES, shared_data


def test_pdf_gives_one_section_per_page_numbered_from_one() -> None:
    sections = load(SAMPLES / "shared-mime-info-spec.pdf")
    pages = [s.page for s in sections]
    assert len(pages) > 5
    assert pages == sorted(pages) and pages[0] == 1
    assert all(s.offset == 0 for s in sections)
    assert any("MIME" in s.text for s in sections)


def test_markdown_keeps_heading_path_and_file_offsets(tmp_path: Path) -> None:
    text = (
        "Intro line.\n\n# Title\n\nAbout.\n\n## Part A\n\nAlpha text.\n\n### Deep\n\nDeep text.\n\n## Part B\n\nBeta.\n"
    )
    path = tmp_path / "doc.md"
    path.write_text(text)
    sections = load(path)
    assert [s.heading_path for s in sections] == [
        (),
        ("Title",),
        ("Title", "Part A"),
        ("Title", "Part A", "Deep"),
        ("Title", "Part B"),
    ]
    for s in sections:
        assert text[s.offset : s.offset + len(s.text)] == s.text
    assert all(s.title == "Title" for s in sections)


def test_html_drops_scripts_and_navigation() -> None:
    title, text = html_to_text(
        "<html><head><title>T</title><script>var x=1;</script></head>"
        "<body><nav>Home | About</nav><p>Real <b>content</b> here.</p><script>evil()</script>"
        "<footer>(c) site</footer></body></html>"
    )
    assert title == "T"
    assert text == "Real content here."


def test_html_sample_has_text() -> None:
    (section,) = load(SAMPLES / "zlib_how.html")
    assert "inflate" in section.text and "<p>" not in section.text


def test_text_in_latin1_is_decoded_not_mangled(tmp_path: Path) -> None:
    path = tmp_path / "old.txt"
    path.write_bytes(
        "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve fa\u00e7ade, \u00e9l\u00e8ve \u00e0 l'\u00e9cole.\n".encode(
            "latin-1"
        )
        * 3
    )
    (section,) = load(path)
    assert "Caf\u00e9 cr\u00e8me" in section.text


def test_utf16_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "u16.txt"
    path.write_bytes("\ufeffHello UTF-16 world".encode("utf-16-le"))
    assert load(path)[0].text == "Hello UTF-16 world"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("binary.txt", b"\x00\x01\x02\xffgarbage" * 100, "binary"),
        ("empty.md", b"", "no extractable text"),
        ("blank.txt", b"   \n\n  ", "no extractable text"),
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "PDF"),
        ("image.png", b"\x89PNG\r\n", "unsupported file type"),
    ],
)
def test_bad_input_raises_load_error_with_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError, match=reason):
        load(path)


def test_unreadable_file_is_a_load_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.txt"
    with pytest.raises(LoadError, match="cannot read"):
        load(path)


def test_registry_is_by_extension_case_insensitive() -> None:
    assert loader_for(Path("A.PDF")) is loader_for(Path("b.pdf"))
    assert loader_for(Path("x.unknown")) is None


# --- a second PDF engine --------------------------------------------------------------


@pytest.fixture
def pdfium_off():  # type: ignore[no-untyped-def]
    from ingest.loaders import set_options

    set_options(pdfium=False)
    yield
    set_options()


def test_pdfium_reads_first_and_keeps_a_tables_rows_on_their_lines(tmp_path: Path) -> None:
    """PDFium is the first engine: it reads a page pypdf cannot decode, with no note, and it
    keeps each row of a table (label, then its values) on one line."""
    from ingest import load_document
    from tests.helpers.pdfmaker import pdf, text_page

    path = tmp_path / "filters.pdf"
    path.write_bytes(pdf([text_page("first page"), (b" /Filter /Foo", text_page("second page")[1])]))
    document = load_document(path)
    assert [s.text.strip() for s in document.sections] == ["first page", "second page"]
    assert document.notes == []
    # a shared filing's balance sheet, where pypdf puts each row's values after the next label
    statement = shared_data("financebench-dev", "pdfs", "BESTBUY_2019_10K.pdf")
    page = next(s for s in load_document(statement).sections if s.page == 52)
    assert "Merchandise inventories 5,409 5,209" in " ".join(page.text.split())


@pytest.mark.parametrize(
    ("fails", "noted"),
    [
        ("page", "page 2 read by pypdf (PDFium failed on them: RuntimeError: a page PDFium cannot parse)"),
        ("file", "pages 1-2 read by pypdf (PDFium could not open the file: PDFium: Data format error)"),
    ],
)
def test_what_pdfium_cannot_read_pypdf_reads_and_the_notes_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: str, noted: str
) -> None:
    from ingest import load_document
    from ingest import pdf as pdf_loader
    from tests.helpers.pdfmaker import pdf, text_page

    real = pdf_loader._pdfium_text

    def failing_on_the_second_page(doc, number, fonts=True):  # type: ignore[no-untyped-def]
        if number == 1:
            raise RuntimeError("a page PDFium cannot parse")
        return real(doc, number, fonts)

    def refusing(path):  # type: ignore[no-untyped-def]
        raise LoadError("PDFium: Data format error")

    if fails == "page":
        monkeypatch.setattr(pdf_loader, "_pdfium_text", failing_on_the_second_page)
    else:
        monkeypatch.setattr(pdf_loader, "_pdfium_open", refusing)
    path = tmp_path / "two.pdf"
    path.write_bytes(pdf([text_page("first page"), text_page("second page")]))
    document = load_document(path)
    assert [s.text.strip() for s in document.sections] == ["first page", "second page"]
    assert document.notes == [noted]


def test_a_page_that_exhausts_pypdfs_recursion_is_read_by_pdfium(tmp_path: Path) -> None:
    from ingest import load_document
    from tests.helpers.pdfmaker import pdf, text_page

    deep = b"[" * 5000 + b"]" * 5000 + b" " + text_page("after the nesting")[1]
    path = tmp_path / "deep.pdf"
    path.write_bytes(pdf([text_page("first page"), (b"", deep)]))
    document = load_document(path)
    assert [s.text.strip() for s in document.sections] == ["first page", "after the nesting"]


def test_without_pdfium_those_pages_are_listed_with_their_reason(tmp_path: Path, pdfium_off: None) -> None:
    from ingest import load_document
    from tests.helpers.pdfmaker import pdf, text_page

    path = tmp_path / "filters.pdf"
    path.write_bytes(pdf([text_page("first page"), (b" /Filter /Foo", text_page("second page")[1])]))
    document = load_document(path)
    assert [s.page for s in document.sections if s.text.strip()] == [1]
    assert any("page 2 could not be read (pypdf: NotImplementedError" in n for n in document.notes)


def test_a_cut_off_pdf_pypdf_cannot_open_is_read_whole_by_pdfium(tmp_path: Path) -> None:
    from ingest import load_document
    from tests.helpers.pdfmaker import pdf, text_page

    path = tmp_path / "cut.pdf"
    path.write_bytes(pdf([text_page("alpha page", compress=True), text_page("beta page")], ending=False))
    document = load_document(path)
    assert [(s.page, s.text.strip()) for s in document.sections] == [(1, "alpha page"), (2, "beta page")]
    assert any(n.startswith("pages 1-2 read by PDFium (pypdf could not open the file") for n in document.notes)


def test_a_cut_off_pdf_without_pdfium_is_damaged(tmp_path: Path, pdfium_off: None) -> None:
    from tests.helpers.pdfmaker import pdf, text_page

    path = tmp_path / "cut.pdf"
    path.write_bytes(pdf([text_page("alpha page")], ending=False))
    with pytest.raises(LoadError, match="damaged"):
        load(path)


def test_a_page_neither_engine_can_read_is_listed_and_the_rest_indexed(tmp_path: Path) -> None:
    from ingest import load_document
    from tests.helpers.pdfmaker import pdf, text_page

    path = tmp_path / "noise.pdf"
    path.write_bytes(pdf([text_page("kept page"), (b" /Filter /Foo", b"\x00\x01 not a content stream \xff")]))
    document = load_document(path)
    assert [s.page for s in document.sections if s.text.strip()] == [1]
    assert any(n.startswith("page 2 could not be read (PDFium: no text; pypdf: NotImplementedError")
               for n in document.notes)  # fmt: skip
    path.write_bytes(pdf([(b" /Filter /Foo", b"\x00\x01 noise \xff")]))
    with pytest.raises(LoadError, match="could not be read"):
        load(path)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Søren's café paid 1.250 kroner à Zoë.\n", "latin-1"),  # short: several code pages fit it
        ("L’été dernier, nous étions à Paris — c’était très agréable.\n", "cp1252"),
        ("Привет, как дела? Всё хорошо, Лёва: это документ на русском языке.\n", "cp1251"),
        ("Příliš žluťoučký kůň úpěl ďábelské ódy. Řeřicha.\n", "cp1250"),
    ],
)
def test_legacy_encodings_are_read_as_written(tmp_path: Path, text: str, encoding: str) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes(text.encode(encoding))
    assert load(path)[0].text == text


def test_a_utf8_file_with_lines_pasted_from_latin1_keeps_both(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    path.write_bytes("Zoë wrote in UTF-8 — «quoted».\n".encode() + "Then Søren, in Latin-1.\n".encode("latin-1"))
    assert load(path)[0].text == "Zoë wrote in UTF-8 — «quoted».\nThen Søren, in Latin-1.\n"
