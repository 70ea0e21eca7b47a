"""Answers that quote the figure (#35): a table's row read as label, periods, values and unit,
the value of the year asked leading the answer, the rows of a computed figure quoted, and the
citation on the row's line in the page. Statements invented here (no filing's strings): rows
from passages built in the test, and a PDF made here, indexed and asked for real."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest import load_document
from ragkit.answer.conversation import hit_from_dict
from ragkit.answer.figures import asked_years, find, rows_of
from ragkit.assistant.local import Ragkit, open_ragkit
from ragkit.cli import search as search_cli
from ragkit.index.embed import SentenceTransformerEmbedder
from ragkit.index.onnxembed import OnnxEmbedder
from ragkit.search.continued import with_continuations
from ragkit.search.retrieve import Hit
from tests.helpers.documents import OPERATIONS, statement_pdf
from tests.helpers.scripted import ScriptedLLM


def passage(lines: list[str], heading: str = "", title: str = "Harrowgate Instruments · Form 10-K") -> Hit:
    text = "\n".join(lines)
    return Hit("c1", "d1", "/docs/harrowgate.pdf", 7, 40, 40 + len(text), 0.8, text, title, heading)


def test_a_row_is_its_label_its_values_under_their_years_and_the_unit() -> None:
    rows = {r.label: r for r in rows_of(passage(OPERATIONS))}
    table = "Research and development | 2021: 9,412 | 2020: 8,860 | 2019: 7,301 | thousands"
    assert rows["Research and development"].table() == table
    assert rows["Cost of product revenue"].table().split(" | ")[1:3] == ["2021: (21,554)", "2020: (19,020)"]
    assert [c.text for c in rows["Product revenue"].cells] == ["48,210", "41,907", "38,115"]  # "$" is no value
    assert [c.text for c in rows["Gross margin"].cells] == ["47", "46", "44"]  # nor is "%"
    # a date in a label is the label's: two values, neither of them 2020
    assert [c.text for c in rows["Balance at December 31, 2020"].cells] == ["1,200", "900"]
    assert "(In thousands) 2021 2020 2019" not in {r.text for r in rows.values()}  # the columns are no row
    # each value's span is where it stands in the passage
    hit = passage(OPERATIONS)
    cell = rows["Research and development"].cells[1]
    assert hit.text[cell.start : cell.end] == "8,860"


def test_the_columns_come_from_the_heading_when_the_passage_starts_below_them() -> None:
    heading = "Item 8 > Consolidated Statements of Operations > (In thousands) 2021 2020 2019"
    hit = passage(OPERATIONS[6:7], heading=heading)
    (row,) = rows_of(hit)
    assert [(c.period, c.text) for c in row.cells] == [("2021", "9,412"), ("2020", "8,860"), ("2019", "7,301")]
    assert row.unit == "thousands"
    # values that do not pair one to one with the years keep no period rather than a wrong one
    (odd,) = rows_of(passage(["(In thousands) 2021 2020", "Research and development 9,412 8,860 7,301"]))
    assert [c.period for c in odd.cells] == [None, None, None]


def test_an_amount_asked_for_a_year_is_that_years_value_with_what_it_is() -> None:
    hits = [passage(["Our engineers grew in number."]), passage(OPERATIONS)]
    figure = find("How much did Harrowgate spend on research and development in fiscal 2020?", hits)
    assert figure is not None and not figure.computed
    assert figure.text == "8,860"
    assert figure.lead() == "8,860 (Research and development, 2020, thousands)"
    # a year the table does not hold is said, with the years it holds
    missing = find("What was the total amount of research and development in FY2017?", hits)
    assert missing is not None and missing.text == ""
    assert "does not hold 2017" in missing.notice and "2021, 2020, 2019" in missing.notice
    assert missing.lead() == missing.rows[0].table()


def test_a_row_answers_only_when_the_question_names_its_whole_label() -> None:
    hits = [passage(OPERATIONS)]
    # "revenue" alone names neither "Product revenue" nor "Service revenue" whole; "Total revenue" it does
    figure = find("How much revenue did the company make in 2019?", hits)
    assert figure is not None and figure.rows[0].label == "Total revenue" and figure.text == "50,990"
    # a statement named as where to look names no row, and the company's own name is no line item
    segments = [passage([*OPERATIONS[:2], "Other income 310 280 150", "Harrowgate Instruments 61,300 55,012 50,990"])]
    assert find("How much is shown in the income statement for Harrowgate Instruments?", segments) is None
    assert find("Who founded the company?", hits) is None  # no amount asked


def test_a_computed_figure_quotes_the_rows_it_is_computed_from_and_says_so() -> None:
    hits = [passage(OPERATIONS)]
    figure = find("What is the ratio of research and development to total revenue in FY2021?", hits)
    assert figure is not None and figure.computed
    assert {r.label for r in figure.rows} == {"Research and development", "Total revenue"}
    assert figure.text == "" and figure.lead() == "Computed from these rows"
    assert "computed from the quoted rows" in figure.notice


@pytest.mark.parametrize(
    ("question", "years"),
    [("What was capex in FY2018?", ["2018"]), ("from fiscal 2016 to FY 17", ["2016", "2017"]), ("in 1999", ["1999"])],
)
def test_the_years_a_question_names(question: str, years: list[str]) -> None:
    assert asked_years(question) == years


@pytest.fixture(scope="module")
def rk(
    embedder: SentenceTransformerEmbedder, onnx_embedder: OnnxEmbedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ragkit]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAGKIT_HOME", str(tmp_path_factory.mktemp("home")))
        instance = open_ragkit(embedder=embedder, query_embedder=onnx_embedder)
        instance.index([statement_pdf(tmp_path_factory.mktemp("docs"))])
        yield instance
        instance.close()


def test_an_indexed_statement_answers_with_the_value_and_cites_the_rows_line(rk: Ragkit) -> None:
    answer = rk.ask("How much did Harrowgate spend on research and development in fiscal 2020?", mode="extract")
    assert answer.answer.startswith("8,860 (Research and development, 2020, thousands) — Research and development")
    assert answer.grounded and answer.short_answer is not None and answer.short_answer["text"] == "8,860"
    (citation,) = answer.attribution.citations
    page = load_document(Path(citation.path)).sections[citation.page - 1].text
    assert citation.verified and page[citation.start : citation.end] == "Research and development 9,412 8,860 7,301"
    start, end = answer.short_answer["span"]  # the value highlighted is where it stands in the page
    assert page[start:end] == "8,860"
    (row,) = answer.short_answer["rows"]
    assert row["table"] == "Research and development | 2021: 9,412 | 2020: 8,860 | 2019: 7,301 | thousands"
    assert "column headers" in answer.notice


def test_an_indexed_statement_quotes_both_rows_of_a_ratio(rk: Ragkit) -> None:
    answer = rk.ask("What is the ratio of research and development to total revenue in FY2021?", mode="extract")
    assert answer.answer.startswith("Computed from these rows — ") and answer.grounded
    assert "Total revenue 61,300 55,012 50,990" in answer.answer
    assert "Research and development 9,412 8,860 7,301" in answer.answer
    assert all(c.verified for c in answer.attribution.citations) and "computed" in answer.notice


def test_a_statement_continued_on_the_next_page_keeps_its_columns_and_follows_its_page(rk: Ragkit) -> None:
    answer = rk.ask("How much was depreciation and amortization in fiscal 2019?", mode="extract")
    assert answer.answer.startswith("2,644 (Depreciation and amortization, 2019, thousands) — ") and answer.grounded
    assert answer.attribution.citations[0].page == 3
    # the page a table starts on is followed by the page that continues it; prose after a table is not
    hits = {h.page: h for h in rk.search("Harrowgate statement of operations revenue research interest", k=10)}
    assert [h.page for h in with_continuations([hits[2]], rk.library.manifest.chunks_by_id)] == [2, 3]
    assert [h.page for h in with_continuations([hits[3]], rk.library.manifest.chunks_by_id)] == [3]


def test_search_shows_the_page_a_table_runs_on_to_under_the_page_it_starts_on(
    rk: Ragkit, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = "Harrowgate consolidated statements of operations product revenue"
    plain = rk.search(query, k=1)
    assert [h.page for h in plain] == [2] and not plain[0].continues
    hits = rk.search(query, k=1, continued=True)
    assert [(h.page, h.continues) for h in hits] == [(2, False), (3, True)]
    assert hit_from_dict(hits[1].as_dict()).continues  # as a server sends it and a client reads it
    monkeypatch.setattr(search_cli, "open_assistant", lambda warm_queries=False: rk)
    shown = CliRunner().invoke(search_cli.search, [query, "-k", "1"])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith("1. ") and "page 2" in lines[0] and not any(line.startswith("2. ") for line in lines)
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("continued on page 3"))
    assert "Depreciation and amortization 3,115" in lines[at + 1]
    as_json = CliRunner().invoke(search_cli.search, [query, "-k", "1", "--json"])
    assert [(h["page"], h["continues"]) for h in json.loads(as_json.output)["hits"]] == [(2, False), (3, True)]


@pytest.mark.parametrize(
    ("written", "lead", "problem"),
    [
        ("9,412 / 61,300 = 0.154.", "0.154 = 9,412 / 61,300, from these rows", ""),
        (
            "9,412 / 61,300 = 0.154 [1].",
            "0.154 = 9,412 / 61,300, from these rows",
            "",
        ),  # cited, yet 0.154 is no source's
        ("9,412 / 61,300 = 0.21.", "Computed from these rows", "9,412 / 61,300 makes 0.1535, not 0.21"),
        (
            "9,412 / 55,012 = 0.171.",
            "Computed from these rows",
            "uses 55,012, which the quoted rows do not hold for 2021",
        ),
        ("9,412 / 60,000 = 0.157.", "Computed from these rows", "uses 60,000"),
    ],
)
def test_a_models_computation_leads_only_when_its_arithmetic_checks(
    rk: Ragkit, written: str, lead: str, problem: str
) -> None:
    """A capable model computes the ratio; its equation is read back against the quoted rows'
    2021 values: the right one leads the answer; a wrong result, another year's number or a
    number no row holds is named in the note, and the rows are quoted for the reader to compute."""
    rk.set_llm(ScriptedLLM(f"Research and development was 9,412 and total revenue 61,300 in 2021, so {written}"))
    try:
        answer = rk.ask("What is the ratio of research and development to total revenue in FY2021?", mode="auto")
    finally:
        rk.set_llm(None)
    assert answer.answer.startswith(f"{lead} — Research and development 9,412 8,860 7,301 [1]. Total revenue 61,300")
    assert answer.grounded and all(c.verified for c in answer.attribution.citations)
    assert answer.short_answer is not None and answer.short_answer["computed"]
    if problem:
        assert problem in answer.notice and answer.short_answer["computation"] is None
    else:
        assert "arithmetic was checked" in answer.notice
        assert answer.short_answer["computation"] == {"expression": "9,412 / 61,300", "result": "0.154"}
