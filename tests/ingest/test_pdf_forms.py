"""Form fields (AcroForm) read as text: a PDF whose only text is in its fields is indexed, not
reported as scanned; a page's own text keeps its offsets; a damaged field tree is left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import LoadError, load
from ingest.loaders import load_document
from tests.helpers.pdfmaker import serialize

COMBO = 1 << 17


def form_pdf(fields: list[bytes], words: str = "", parent_loop: bool = False) -> bytes:
    """One page showing ``words`` (or nothing) with a widget per field dictionary (each the
    inside of ``<< >>``, without /Type /Subtype /Rect /P, which are added)."""
    n = len(fields)
    first_field = 6
    widgets = " ".join(f"{first_field + i} 0 R" for i in range(n))
    stream = f"BT /F1 12 Tf 72 700 Td ({words}) Tj ET".encode() if words else b""
    objects = [
        f"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [{widgets}] >> >>".encode(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >>"
        f" /Contents 4 0 R /Annots [{widgets}] >>".encode(),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, body in enumerate(fields):
        y = 600 - 40 * i
        loop = b" /Parent %d 0 R" % (first_field + i) if parent_loop else b""
        objects.append(
            b"<< /Type /Annot /Subtype /Widget /Rect [72 %d 300 %d] /P 3 0 R %s%s >>" % (y, y + 20, body, loop)
        )
    return serialize(objects)


FIELDS = [
    b"/FT /Tx /T (Applicant) /V (Ingrid Vatne)",
    b"/FT /Ch /T (Region) /Opt [(Nordfjord) (Sunnmore) (Romsdal)] /V (Sunnmore)",  # a list box: options shown
    b"/FT /Ch /T (Status) /Ff %d /Opt [(Pending) (Approved)] /V (Approved)" % COMBO,  # a combo: the value only
    b"/FT /Btn /T (Signed) /V /Yes",
    b"/FT /Btn /T (Late) /V /Off",  # not ticked: nothing to read
    b"/FT /Tx /T (Remarks) /V ()",
]


def test_a_form_with_no_page_text_is_read_from_its_fields(tmp_path: Path) -> None:
    path = tmp_path / "application.pdf"
    path.write_bytes(form_pdf(FIELDS))
    (page,) = load(path)
    assert page.page == 1
    assert page.text.splitlines() == [
        "Applicant: Ingrid Vatne",
        "Region: Nordfjord, Sunnmore, Romsdal (chosen: Sunnmore)",
        "Status: Approved",
        "Signed: Yes",
    ]


def test_a_list_box_alone_is_enough_text_to_index(tmp_path: Path) -> None:
    path = tmp_path / "choices.pdf"
    path.write_bytes(form_pdf([b"/FT /Ch /T (Depots) /Opt [(Hareid) (Ulstein) (Volda)]"]))
    assert load(path)[0].text == "Depots: Hareid, Ulstein, Volda"
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(form_pdf([b"/FT /Tx /T (Name) /V ()"]))
    with pytest.raises(LoadError, match="no text layer"):  # a blank form is still said to be one
        load_document(empty)


def test_a_pages_own_text_keeps_its_offsets_and_the_fields_follow(tmp_path: Path) -> None:
    path = tmp_path / "filled.pdf"
    path.write_bytes(form_pdf(FIELDS[:1], words="Application for a mooring permit"))
    (page,) = load(path)
    assert page.text.startswith("Application for a mooring permit")
    assert page.text.endswith("\n\nApplicant: Ingrid Vatne")


def test_a_field_tree_that_loops_is_read_once_and_never_hangs(tmp_path: Path) -> None:
    path = tmp_path / "looped.pdf"
    path.write_bytes(form_pdf(FIELDS[:2], parent_loop=True))
    text = load(path)[0].text
    assert "Ingrid Vatne" in text and text.count("Applicant") == 1


def test_a_real_filled_in_libreoffice_form_gives_its_values() -> None:
    from tests.conftest import shared_data

    text = load(shared_data("pdfs", "pypdf-resources", "resources", "libreoffice-form.pdf"))[0].text
    assert text.startswith("Example for a Form")  # the page's own text first
    assert "First Name: Alice" in text.splitlines() and "First Name_2: Bob" in text.splitlines()
