"""The context a PDF's page carries (the document's title, the section, a table's columns): read
off PDFs made here with known bookmarks, headings and tables, and off the shared SEC filings."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import chunk_sections, embedding_text, load_document
from ingest.pdfcontext import document_title, is_columns, is_row
from tests.conftest import shared_data
from tests.helpers.pdfmaker import styled_pdf

RUNNING = ("Table of Contents", 9, False)
BODY = 10


def statement(tmp_path: Path, company: str, outline: bool = True) -> Path:
    """A company's report: a cover page, a cash flow statement, and a page that continues it."""
    pages = [
        [
            RUNNING,
            (f"{company} Annual Report", 16, True),
            ("Our year in review was a good one for the staff.", BODY, False),
        ],
        [
            RUNNING,
            ("Consolidated Statement of Cash Flows", 12, True),
            ("(Millions) 2018 2017", BODY, False),
            ("Net income including noncontrolling interest 5,363 4,869", BODY, False),
            ("Purchases of property, plant and equipment (1,577) (1,373)", BODY, False),
            *((f"Other line item number {n} {n}00 {n}10", BODY, False) for n in range(1, 7)),
        ],
        [RUNNING, ("Proceeds from sale of businesses 846 1,065", BODY, False)],
    ]
    marks = [("Part I", 0, 0), ("Item 1. Business", 0, 1), ("Part II", 1, 0), ("Item 8. Financial Statements", 1, 1)]
    path = tmp_path / f"{company.lower()}.pdf"
    path.write_bytes(styled_pdf(pages, marks if outline else []))
    return path


def test_each_page_carries_its_bookmarks_then_its_own_heading_and_its_tables_columns(tmp_path: Path) -> None:
    sections = load_document(statement(tmp_path, "Acme")).sections
    assert [s.heading_path for s in sections] == [
        ("Part I", "Item 1. Business", "Acme Annual Report"),
        ("Part II", "Item 8. Financial Statements", "Consolidated Statement of Cash Flows", "(Millions) 2018 2017"),
        # the statement continued: its rows keep the table's columns
        ("Part II", "Item 8. Financial Statements", "Consolidated Statement of Cash Flows", "(Millions) 2018 2017"),
    ]
    # each row of the table stays on its line, its label before its values
    assert "Purchases of property, plant and equipment (1,577) (1,373)" in sections[1].text.splitlines()


def test_without_bookmarks_the_heading_is_told_by_its_font_and_a_running_header_is_none(tmp_path: Path) -> None:
    sections = load_document(statement(tmp_path, "Acme", outline=False)).sections
    assert [s.heading_path for s in sections] == [
        ("Acme Annual Report",),
        ("Consolidated Statement of Cash Flows", "(Millions) 2018 2017"),
        ("Consolidated Statement of Cash Flows", "(Millions) 2018 2017"),
    ]


def test_a_table_continued_keeps_its_columns_and_a_new_section_or_prose_does_not(tmp_path: Path) -> None:
    table = [("Consolidated Balance Sheets", 12, True), ("(Millions) 2021 2020", BODY, False),
             ("Cash and cash equivalents 1,200 900", BODY, False), ("Inventories 640 610", BODY, False)]  # fmt: skip
    income = [("Consolidated Statements of Income", 12, True), ("(Millions) 2021 2020", BODY, False),
              ("Revenue 5,200 4,900", BODY, False), ("Net income 610 580", BODY, False)]  # fmt: skip
    pages = [
        table,
        [("Goodwill 3,100 2,950", BODY, False), ("Total assets 9,900 9,100", BODY, False)],  # continues
        [("Staff and premises", 12, True), ("Head count 410 388", BODY, False), ("Offices 12 11", BODY, False)],
        income,
        [("We opened two offices in the year and hired staff in both.", BODY, False)],  # prose after a table
    ]
    path = tmp_path / "continued.pdf"
    path.write_bytes(styled_pdf(pages))
    headings = [s.heading_path for s in load_document(path).sections]
    assert headings[1] == ("Consolidated Balance Sheets", "(Millions) 2021 2020")
    assert headings[2] == ("Staff and premises",)  # its own heading: another table
    assert headings[4] == ("Consolidated Statements of Income",)


def test_a_chunk_is_embedded_with_its_context_which_is_never_its_text(tmp_path: Path) -> None:
    sections = load_document(statement(tmp_path, "Acme")).sections

    def words(text: str) -> list[tuple[int, int]]:
        spans, at = [], 0
        for word in text.split():
            at = text.index(word, at)
            spans.append((at, at + len(word)))
            at += len(word)
        return spans

    chunks = list(chunk_sections(sections, words, max_tokens=48))
    last_row = next(c for c in chunks if "number 6" in c.text)
    assert "(Millions)" not in last_row.text  # a chunk of its own, below the table's head
    assert "Consolidated Statement of Cash Flows" in last_row.context  # the statement it is a row of
    assert "(Millions) 2018 2017" in last_row.context  # and the columns its values are under
    assert "acme" in last_row.context.lower()  # and the document
    assert embedding_text(last_row) == f"{last_row.context}\n{last_row.text}"
    page = sections[1]
    assert last_row.text == page.text[last_row.start - page.offset : last_row.end - page.offset]  # cited as is
    first = next(c for c in chunks if c.page == 2)
    assert "Consolidated Statement of Cash Flows" in first.text and "Cash Flows" not in first.context  # said once
    assert all(len(words(embedding_text(c))) <= 48 for c in chunks)  # context and text fit the window


def test_a_filings_cover_names_the_registrant_the_form_and_the_period() -> None:
    cover = (
        "UNITED STATES\nSECURITIES AND EXCHANGE COMMISSION\nFORM 10-K\n"
        "ANNUAL REPORT PURSUANT TO SECTION 13 OR 15(d)\nFor the fiscal year ended March 31, 2021\n"
        "ZEPHYR TOOLING CORP.\n(Exact name of registrant as specified in its charter)\nDelaware"
    )
    title = document_title("0000950170-21-000123", cover, "zt_2021_annual")
    assert title == "zt 2021 annual · ZEPHYR TOOLING CORP. · Form 10-K · fiscal year ended March 31, 2021"
    assert document_title("Field notes\x00", "just a page", "notes") == "Field notes"  # the name is in it


@pytest.mark.parametrize(
    ("line", "row", "columns"),
    [
        ("Purchases of property, plant and equipment (1,577) (1,373) (1,420)", True, False),
        ("Short-term investments — 2,032", True, False),
        ("(Millions) 2018 2017 2016", True, True),
        ("February 2, 2019 February 3, 2018", True, True),
        ("Consolidated Statement of Cash Flows", False, False),
        ("Years ended December 31", False, False),
    ],
)
def test_rows_and_column_headers(line: str, row: bool, columns: bool) -> None:
    assert is_row(line) is row
    assert is_columns(line) is columns


def test_the_shared_filings_statements_are_headed_by_their_captions() -> None:
    pdfs = shared_data("financebench-dev", "pdfs")
    threem = {s.page: s for s in load_document(pdfs / "3M_2018_10K.pdf").sections}
    assert "Consolidated Statement of Cash Flows" in threem[60].heading_path
    assert "(Millions) 2018 2017 2016" in threem[60].heading_path
    assert "3M Company" in threem[60].title and "fiscal year ended December 31, 2018" in threem[60].title
    adobe = {s.page: s for s in load_document(pdfs / "ADOBE_2022_10K.pdf").sections}  # bookmarked
    assert adobe[54].heading_path[:3] == (
        "Part II.", "Item 8. Financial Statements and Supplementary Data", "Consolidated Statements of Income",
    )  # fmt: skip
    assert adobe[54].title == "ADOBE 2022 10K · ADOBE INC. · Form 10-K · fiscal year ended December 2, 2022"
