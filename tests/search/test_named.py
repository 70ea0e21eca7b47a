"""The files a question names by their names (company, form, year) are searched first: the
page of the filing asked about comes before a better-worded passage of another company's, or of
another year's. Invented companies and files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragkit.assistant.local import Ragkit
from ragkit.search.named import asked, named_files, words
from ragkit.storage.filters import Filters

FILES = {
    "d1": ["/docs/HARROWGATE_2021_10K.pdf"],
    "d2": ["/docs/HARROWGATE_2020_10K.pdf"],
    "d3": ["/docs/HARROWGATE_2022Q2_10Q.pdf"],
    "d4": ["/docs/BRINDLEWOOD_2021_10K.pdf", "/copies/brindlewood-2021-10-k.pdf"],
}


def test_a_names_words_are_as_its_file_writes_them() -> None:
    assert words("HARROWGATE_2022Q2_10Q") == ["harrowgate", "2022", "q2", "10q"]
    assert words("Form 10-K, FY2019, 4Q 2023") == ["form", "10k", "fy", "2019", "q4", "2023"]
    # the latest year alone; two words joined as a name may write them
    said = asked("Has Brindle Wood's margin improved between FY2020 and FY2021?")
    assert {"2021", "brindlewood", "brindle"} <= said and "2020" not in said and "has" not in said
    # a common word names nothing: a file called "steam-engine" is not named by "a steam engine"
    assert "margin" not in said and asked("In what century was a steam engine's balancing system used?") == set()


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("What was Harrowgate's capital expenditure in FY2021?", ["d1"]),
        ("Did Harrowgate's cash fall between FY2021 and Q2 of FY2022?", ["d3"]),
        ("How did Harrowgate's revenue change from 2019 to 2020?", ["d2"]),
        ("What does Brindle Wood make?", ["d4"]),  # "Brindle Wood", its files' BRINDLEWOOD
        ("Which Harrowgate filings mention a lawsuit?", ["d1", "d2", "d3"]),  # the company's files, all
        ("What was the revenue of each company in 2021?", ["d1", "d4"]),
        ("What does harrowgate mean?", []),  # a common word (as written) names no file
    ],
)
def test_the_files_a_question_names(question: str, named: list[str]) -> None:
    assert named_files(question, FILES) == named


def test_nothing_is_singled_out_when_no_name_or_every_name_matches() -> None:
    assert named_files("What was capital expenditure?", FILES) == []  # no name holds a word of it
    # a name's ids are no words of it: "3d" is not in 10009203-4ae3d3f2.txt
    ids = {"d5": ["/x/10009203-4ae3d3f2.txt"], "d6": ["/x/10012166-748f4c05.txt"]}
    assert words("10009203-4ae3d3f2", ids=False) == [] and named_files("Is 3D printing of 10009203 safe?", ids) == []
    assert named_files("What did Harrowgate report?", {k: FILES[k] for k in ("d1", "d2")}) == []  # both alike
    assert named_files("anything", {}) == []


def test_search_looks_first_in_the_file_the_question_names(rk: Ragkit, tmp_path: Path) -> None:
    """The answer is worded unlike the question; another company's file and another year's say
    the question's words. Asked about Harrowgate in 2021, the Harrowgate 2021 file comes first;
    a filter still holds inside the named files."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harrowgate-2021-annual-report.md").write_text(
        "# Costs\n\nOur engineering budget came to 9.4 million kroner over the year, most of it on sonar.\n"
    )
    (docs / "harrowgate-2020-annual-report.md").write_text(
        "# Research and development\n\nHarrowgate spent 8.8 million on research and development in 2020.\n"
    )
    (docs / "brindlewood-2021-annual-report.md").write_text(
        "# Research and development\n\nBrindlewood spent 3.1 million on research and development in 2021.\n"
    )
    rk.index([docs])
    question = "How much did Harrowgate spend on research and development in 2021?"
    assert Path(rk.search(question, k=3)[0].path).name == "harrowgate-2021-annual-report.md"
    # the same words, no file named: the best-worded passage leads
    plain = rk.search("How much was spent on research and development?", k=3)
    assert Path(plain[0].path).name != "harrowgate-2021-annual-report.md"
    # a filter holds: the named file is outside it, so nothing is singled out
    scoped = rk.search(f"{question} path:brindlewood*", k=3)
    assert {Path(h.path).name for h in scoped} == {"brindlewood-2021-annual-report.md"}


def test_a_file_outside_the_callers_folders_names_nothing(rk: Ragkit, tmp_path: Path) -> None:
    """The same memo sits in a shared folder and, under a telling name, in a private one. A
    search limited to the shared folder (a server key's collections) is not reordered by the
    private copy's name: that would tell the caller such a file exists."""
    shared, private = tmp_path / "shared", tmp_path / "private"
    shared.mkdir()
    private.mkdir()
    memo = "# Memo\n\nThe harbour ledger entries were moved to the archive room in March.\n"
    (shared / "memo.md").write_text(memo)
    (private / "TOLSVIK-memo.md").write_text(memo)
    (shared / "ledger.md").write_text(
        "# Harbour ledger entries\n\nWhere are the harbour ledger entries kept? The harbour ledger entries are kept"
        " in the harbour office.\n"
    )
    rk.index([tmp_path])
    question = "Where did Tolsvik keep the harbour ledger entries?"
    assert "archive room" in rk.search(question, k=2)[0].text  # named by the private copy's name
    scoped = rk.search(question, k=2, scope=Filters(within=(str(shared),)))
    assert scoped[0].path == str(shared / "ledger.md")  # ranked as if the private copy were not there


def test_a_pasted_passage_finds_itself_though_it_names_other_files(rk: Ragkit, tmp_path: Path) -> None:
    """A paragraph pasted to find where it comes from names other files ("the Harrowgate 2021
    annual report"): the passage itself comes first, not those files' passages."""
    docs = tmp_path / "docs"
    docs.mkdir()
    index = (
        "# Filings kept here\n\nThe Harrowgate 2021 annual report and the Harrowgate 2020 annual report were"
        " scanned by the archive in May; Brindlewood's are still on paper."
    )
    (docs / "archive-index.md").write_text(index + "\n")
    (docs / "harrowgate-2021-annual-report.md").write_text(
        "# Filings\n\nThe Harrowgate annual report for 2021 was filed in March and scanned in May.\n"
    )
    (docs / "harrowgate-2020-annual-report.md").write_text("# Costs\n\nHarrowgate spent 8.8 million in 2020.\n")
    rk.index([docs])
    (best,) = rk.search(index, k=1)
    assert Path(best.path).name == "archive-index.md" and best.score >= 0.985
    # the pasted passage's own words, asked as a question, still look in the file it names
    asked_about = rk.search("When was the Harrowgate 2021 annual report scanned?", k=1)[0]
    assert Path(asked_about.path).name == "harrowgate-2021-annual-report.md"
