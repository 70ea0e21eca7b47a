"""Long documents: a passage is found by the context it sits in (its document's title, its
section), and a question naming a financial statement finds the page printed under its caption."""

from __future__ import annotations

from pathlib import Path

from ragkit.assistant.local import Ragkit
from ragkit.search.expand import expand, heads, statements
from tests.helpers.pdfmaker import styled_pdf

ROWS = [
    ("(Millions) 2022 2021", 10, False),
    ("Trade receivables 1,875 1,935", 10, False),
    ("Raw materials and supplies 992 1,114", 10, False),
    ("Work in process and finished goods 1,221 1,325", 10, False),
]


def report(folder: Path, company: str, caption: str) -> Path:
    """A company's filing: a cover, then one statement whose rows never name the company."""
    cover = [
        ("FORM 10-K", 12, True),
        ("For the fiscal year ended June 30, 2022", 10, False),
        (f"{company} HOLDINGS PLC", 14, True),
        ("(Exact name of registrant as specified in its charter)", 8, False),
    ]
    path = folder / f"filing_{company.lower()}.pdf"
    path.write_bytes(styled_pdf([cover, [(caption, 12, True), *ROWS]]))
    return path


def test_the_same_rows_are_told_apart_by_the_document_they_are_in(rk: Ragkit, tmp_path: Path) -> None:
    """Two filings print the same rows; only their covers name the company. Asked about one
    company, search ranks that company's statement first, in every mode."""
    report(tmp_path, "Quillon", "Consolidated Balance Sheets")
    report(tmp_path, "Varanger", "Consolidated Balance Sheets")
    rk.index([tmp_path])
    for company in ("Quillon", "Varanger"):
        for mode in ("dense", "keyword", "hybrid"):
            hits = rk.search(f"{company} raw materials and supplies", k=2, mode=mode)
            assert Path(hits[0].path).name == f"filing_{company.lower()}.pdf", (company, mode)
            assert hits[0].page == 2
            assert "Raw materials and supplies 992 1,114" in hits[0].text
            assert company.upper() not in hits[0].text  # the context finds it; it is never quoted


def test_a_statement_named_as_readers_name_it_is_found_under_its_printed_caption(rk: Ragkit, tmp_path: Path) -> None:
    report(tmp_path, "Quillon", "Consolidated Statements of Financial Position")
    report(tmp_path, "Varanger", "Consolidated Statements of Comprehensive Income")
    rk.index([tmp_path])
    hits = rk.search("which receivables are on the balance sheet?", k=1, mode="keyword")
    assert Path(hits[0].path).name == "filing_quillon.pdf"  # its caption says "financial position"


def test_a_fiscal_year_written_fy2022_finds_the_filing_that_writes_2022(rk: Ragkit, tmp_path: Path) -> None:
    one = tmp_path / "notes_one.txt"
    one.write_text("Raw materials were counted at the plant in 2022 by the auditors.\n")
    two = tmp_path / "notes_two.txt"
    two.write_text("Raw materials were counted at the plant in 2019; raw materials are counted each year.\n")
    rk.index([tmp_path])
    hits = rk.search("raw materials counted FY2022", k=2, mode="keyword")
    assert Path(hits[0].path).name == "notes_one.txt"  # though the other says "raw materials" twice


def test_expand_adds_the_captions_of_the_statements_a_question_names() -> None:
    assert expand("What was the FY2018 capex in the cash flow statement?").endswith(
        "(consolidated statements of cash flows)"
    )
    both = expand("Compare the P&L with the balance sheet")
    assert "statements of operations" in both and "financial position" in both
    # a measure brings the statement its lines are on
    assert expand("Has the quick ratio improved?").endswith(
        "(consolidated balance sheets, statement of financial position)"
    )
    assert "statements of operations" in expand("Is the gross margin consistent?")
    assert "cash flows" in expand("What was the capex in FY2018?")
    assert expand("Who rebuilt the lighthouse?") == "Who rebuilt the lighthouse?"
    assert expand("the balance of the sheet music") == "the balance of the sheet music"


def test_a_statements_page_is_told_by_its_heading() -> None:
    (cash,) = statements("What was the FY2018 capex?")
    assert heads(cash, "3M Company and Subsidiaries > Consolidated Statement of Cash Flows > (Millions) 2018 2017")
    assert not heads(cash, "Liquidity and Capital Resources > Cash flows from operating activities")
    income, balance = statements("Compare the income statement with the balance sheet")
    assert heads(balance, "Consolidated Balance Shee t") and heads(balance, "Statements of Financial Position")
    assert heads(income, "CONSOLIDATED STATEMENTS OF OPERATIONS > 2017 2018 2019")
    assert not heads(income, "CONSOLIDATED STATEMENTS OF COMPREHENSIVE INCOME")  # another statement
    assert statements("Who rebuilt the lighthouse?") == []


def test_ragkit_search_shows_each_passages_section(tmp_path: Path) -> None:
    from tests.helpers.cli import ragkit

    folder = tmp_path / "filings"
    folder.mkdir()
    report(folder, "Quillon", "Consolidated Balance Sheets")
    assert ragkit("index", folder, home=tmp_path / "home").code == 0
    shown = ragkit("search", "Quillon raw materials", "-k", "1", home=tmp_path / "home")
    assert shown.code == 0, shown.stderr
    assert "filing_quillon.pdf, page 2" in shown.stdout
    assert "   in: Consolidated Balance Sheets > (Millions) 2022 2021\n" in shown.stdout


def annual_report(folder: Path, company: str) -> Path:
    """An invented annual report: the discussion of its cash and spending in the words a reader
    asks in, then the statements, whose rows write the figures in their own words."""
    prose = [
        ("Liquidity and Capital Resources", 12, True),
        (f"{company} expects capital expenditure to rise next year as the yard is rebuilt.", 10, False),
        ("Capital expenditure went mostly to the new dry dock; our liquidity stayed strong,", 10, False),
        ("and the quick ratio and working capital are watched by the board each quarter.", 10, False),
    ]
    cash = [
        ("Consolidated Statements of Cash Flows", 12, True),
        ("(Thousands) 2022 2021", 10, False),
        ("Net earnings 4,210 3,905", 10, False),
        ("Purchases of property, plant and equipment (1,577) (1,373)", 10, False),
        ("Net cash used in investing activities (1,602) (1,410)", 10, False),
    ]
    balance = [
        ("Consolidated Balance Shee t", 12, True),  # as a PDF's text may split a word
        ("(Thousands) 2022 2021", 10, False),
        ("Cash and cash equivalents 2,940 2,615", 10, False),
        ("Total current liabilities 3,120 2,980", 10, False),
    ]
    path = folder / f"{company.lower()}-annual-report-2022.pdf"
    path.write_bytes(styled_pdf([[(f"{company} Annual Report 2022", 16, True)], prose, cash, balance]))
    return path


def test_a_question_naming_a_statement_or_its_measure_gets_the_statement_first(rk: Ragkit, tmp_path: Path) -> None:
    """Capital expenditure is asked for in the discussion's words; the figure is a row of the
    cash flow statement. Of the file searched first (the one named, else the best passage's),
    the statement's page comes first, before the discussion; a question naming no statement is
    ranked as before."""
    annual_report(tmp_path, "Harrowgate")
    annual_report(tmp_path, "Brindlewood")
    rk.index([tmp_path])
    capex = rk.search("What was Brindlewood's capital expenditure in 2022?", k=3)
    assert (Path(capex[0].path).name, capex[0].page) == ("brindlewood-annual-report-2022.pdf", 3)
    quick = rk.search("Has the quick ratio of Harrowgate improved?", k=3)
    assert (Path(quick[0].path).name, quick[0].page) == ("harrowgate-annual-report-2022.pdf", 4)
    assert "Total current liabilities" in quick[0].text
    plain = rk.search("What did Harrowgate spend on the dry dock?", k=3)  # no statement named
    assert (Path(plain[0].path).name, plain[0].page) == ("harrowgate-annual-report-2022.pdf", 2)
