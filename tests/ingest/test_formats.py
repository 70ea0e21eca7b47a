"""Each format's loader on real files of that format, written here with the standard library."""

from __future__ import annotations

import mailbox
import zipfile
from pathlib import Path

import pytest

from ingest import LoadError, load, load_document
from tests.conftest import SAMPLES, shared_data
from tests.helpers.documents import make_docx, make_message


def test_docx_paragraphs_and_heading_path(tmp_path: Path) -> None:
    path = make_docx(
        tmp_path / "report.docx",
        [("Title", "Annual report"), ("", "Intro paragraph."), ("Heading1", "Finance"), ("", "Revenue grew."),
         ("Heading2", "Costs"), ("", "Costs fell."), ("Heading1", "Staff"), ("", "Hiring paused.")],
    )  # fmt: skip
    sections = load(path)
    by_heading = {s.heading_path: s.text for s in sections}
    assert by_heading[("Annual report",)].startswith("Annual report\nIntro paragraph.")
    assert "Revenue grew." in by_heading[("Annual report", "Finance")]
    assert "Costs fell." in by_heading[("Annual report", "Finance", "Costs")]
    assert "Hiring paused." in by_heading[("Annual report", "Staff")]
    assert all(s.title == "Annual report" for s in sections)


def test_damaged_docx_fails_with_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.docx"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(LoadError, match="damaged"):
        load(path)


def test_epub_chapters_in_spine_order(tmp_path: Path) -> None:
    path = tmp_path / "book.epub"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr(
            "META-INF/container.xml",
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="OEBPS/content.opf"/></rootfiles></container>',
        )
        z.writestr(
            "OEBPS/content.opf",
            '<package xmlns="http://www.idpf.org/2007/opf"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
            "<dc:title>Tiny Book</dc:title></metadata><manifest>"
            '<item id="c2" href="two.xhtml"/><item id="c1" href="one.xhtml"/></manifest>'
            '<spine><itemref idref="c1"/><itemref idref="c2"/></spine></package>',
        )
        z.writestr(
            "OEBPS/one.xhtml", "<html><head><title>Chapter One</title></head><body><p>First words.</p></body></html>"
        )
        z.writestr(
            "OEBPS/two.xhtml", "<html><head><title>Chapter Two</title></head><body><p>Second words.</p></body></html>"
        )
    sections = load(path)
    assert [(s.heading_path, s.text) for s in sections] == [
        (("Chapter One",), "First words."),
        (("Chapter Two",), "Second words."),
    ]
    assert sections[1].offset > sections[0].offset
    assert sections[0].title == "Tiny Book"


def test_eml_headers_body_and_attachments(tmp_path: Path) -> None:
    pdf = (SAMPLES / "shared-mime-info-spec.pdf").read_bytes()
    path = tmp_path / "mail.eml"
    path.write_bytes(bytes(make_message("Budget 2027", "Please review the budget.\n", ("spec.pdf", pdf))))
    sections = load(path)
    first = sections[0]
    assert first.heading_path == ("Budget 2027",)
    assert "From: Ada <ada@example.org>" in first.text and "Please review the budget." in first.text
    # an attachment's passages sit under its message: the subject, then the attachment's name
    attached = [s for s in sections[1:] if s.heading_path[:2] == ("Budget 2027", "attachment: spec.pdf")]
    assert attached and attached[0].page == 1 and "MIME" in " ".join(s.text for s in attached)
    assert first.message is not None and first.message.subject == "Budget 2027"  # its thread headers
    assert all(s.message is None for s in attached)


def test_mbox_every_message(tmp_path: Path) -> None:
    path = tmp_path / "archive.mbox"
    box = mailbox.mbox(path)
    for i in range(3):
        box.add(make_message(f"Topic {i}", f"Body number {i}.\n"))
    box.flush()
    box.close()
    sections = load(path)
    assert [s.heading_path for s in sections] == [("Topic 0",), ("Topic 1",), ("Topic 2",)]
    assert [s.offset for s in sections] == sorted(s.offset for s in sections)


def test_documents_carry_their_own_dates(tmp_path: Path) -> None:
    """PDF metadata, an e-mail's Date header (a mailbox: its newest message), DOCX properties;
    a format without one, or a header that makes no sense, gives none."""
    pdf = load_document(SAMPLES / "shared-mime-info-spec.pdf")
    assert (pdf.date, pdf.date_source) == ("2022-04-29T17:19:08+00:00", "pdf metadata")
    mail = tmp_path / "mail.eml"
    mail.write_bytes(bytes(make_message("Old", "An old note.\n", date="Tue, 05 Mar 2019 08:30:00 +0100")))
    assert (load_document(mail).date, load_document(mail).date_source) == (
        "2019-03-05T08:30:00+01:00",
        "e-mail Date header",
    )
    box_path = tmp_path / "box.mbox"
    box = mailbox.mbox(box_path)
    for day in (
        "Fri, 01 Jan 2021 09:00:00 +0000",
        "Sun, 01 Aug 2021 09:00:00 +0000",
        "Mon, 01 Mar 2021 09:00:00 +0000",
    ):
        box.add(make_message("Note", "Body.\n", date=day))
    box.flush()
    box.close()
    assert load_document(box_path).date == "2021-08-01T09:00:00+00:00"
    undated = tmp_path / "undated.eml"
    undated.write_bytes(bytes(make_message("None", "No date.\n", date="")))
    nonsense = tmp_path / "nonsense.eml"
    nonsense.write_bytes(bytes(make_message("Bad", "Bad date.\n", date="sometime last spring")))
    assert load_document(undated).date is None and load_document(nonsense).date is None
    docx = make_docx(tmp_path / "memo.docx", [("", "A memo.")])
    core = (
        '<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dcterms="http://purl.org/dc/terms/"><dcterms:created>2020-06-15T12:00:00Z'
        "</dcterms:created></cp:coreProperties>"
    )
    with zipfile.ZipFile(docx, "a") as z:
        z.writestr("docProps/core.xml", core)
    assert (load_document(docx).date, load_document(docx).date_source) == (
        "2020-06-15T12:00:00+00:00",
        "docx properties",
    )
    text = tmp_path / "plain.txt"
    text.write_text("Plain text has no date of its own.\n")
    assert load_document(text).date is None


def test_csv_rows_keep_their_column_names(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("name,city,role\nAda,London,engineer\nGrace,Arlington,admiral\n")
    (section,) = load(path)
    assert section.text.splitlines() == [
        "row 2: name: Ada; city: London; role: engineer",
        "row 3: name: Grace; city: Arlington; role: admiral",
    ]


def test_source_code_is_text_titled_by_file_name(tmp_path: Path) -> None:
    path = tmp_path / "calc.py"
    path.write_text("def add(a, b):\n    return a + b\n")
    (section,) = load(path)
    assert section.title == "calc.py" and "return a + b" in section.text


def test_pdf_pages_without_text_are_noted() -> None:
    document = load_document(shared_data("pdfs", "sample-files", "007-imagemagick-images", "imagemagick-images.pdf"))
    assert document.sections
    assert any("no text layer" in n and "(4, 5)" in n for n in document.notes), document.notes
    assert "pages 1-3, 6 read by pypdf (PDFium found no text on them)" in document.notes


def test_pdf_with_empty_user_password_opens() -> None:
    sections = load(shared_data("pdfs", "pypdf-resources", "resources", "encryption", "r6-empty-password.pdf"))
    assert sections and sections[0].text.strip()


def test_pdf_with_user_password_needs_it() -> None:
    path = shared_data("pdfs", "pypdf-resources", "resources", "encryption", "r4-user-password.pdf")
    with pytest.raises(LoadError, match="password-protected"):
        load(path)
