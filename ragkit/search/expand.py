"""A question's words as documents write them: the names a reader gives the financial
statements ("income statement", "P&L", "cash flow statement") are not the captions filings
print over them ("Consolidated Statements of Operations", "of Earnings", "of Cash Flows").

Search adds a statement's captions to a question that names it, or that asks for a measure
computed from its lines (a margin from the income statement, a quick ratio from the balance
sheet, capital expenditure from the cash flow statement), for both the embedder and the keyword
index, so the page that holds the statement is found by its heading (which travels with each of
its passages: :mod:`ingest.pdfcontext`). And the statement itself is the evidence such a
question asks for: of the files searched first, the best page headed by each statement it
names leads the ranking (:func:`statements`, :func:`heads`), before the discussion around it.
The lists are the three primary statements' captions as US GAAP and IFRS filings print them and
the measures' textbook definitions, not fitted to a question set.
"""

from __future__ import annotations

import re

INCOME = "consolidated statements of operations, income, earnings"
BALANCE = "consolidated balance sheets, statement of financial position"
CASH = "consolidated statements of cash flows"

# a name a reader uses → the captions documents print (the words search adds): the statements
# by their other names, then the measures an analyst asks for by the statement that holds the
# lines they are computed from (their textbook definitions)
CAPTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), words)
    for pattern, words in (
        (
            r"\bincome statements?\b|\bP ?& ?L\b|\bprofit (?:and|&) loss\b"
            r"|\bstatements? of (?:income|operations|earnings)\b",
            INCOME,
        ),
        (r"\bbalance sheets?\b|\bstatements? of financial (?:position|condition)\b", BALANCE),
        (r"\bcash ?flows? statements?\b|\bstatements? of cash ?flows?\b", CASH),
        (
            r"\b(?:gross|operating|ebitda|net(?: profit)?|profit) margins?\b|\brevenue growth\b|\bCOGS\b"
            r"|\beffective tax rate\b|\binterest coverage\b|\bearnings per share\b",
            INCOME,
        ),
        (
            r"\b(?:quick|current|debt[- ]to[- ]equity) ratio\b|\bworking capital\b|\bPP ?& ?E\b|\bPPNE\b"
            r"|\bdays (?:payable|sales|inventory) outstanding\b|\breturn on (?:assets|equity)\b",
            BALANCE,
        ),
        (
            r"\bcapex\b|\bcapital expenditures?\b|\bfree cash ?flows?\b|\bdividends? paid\b"
            r"|\b(?:share|stock) repurchases?\b|\bcash (?:flow )?conversion\b",
            CASH,
        ),
    )
)


# the titles printed over each statement, as a page's heading writes them once lower-cased and
# its spaces dropped (a PDF's text splits words: "Consolidated Balance Shee t")
TITLES: dict[str, re.Pattern[str]] = {
    INCOME: re.compile(
        r"statements?of(?:operations|income|earnings)|incomestatements?|statements?ofprofit(?:or|and)loss"
    ),
    BALANCE: re.compile(r"balancesheets?|statements?offinancial(?:position|condition)"),
    CASH: re.compile(r"statements?ofcashflows?|cashflowstatements?"),
}


def statements(question: str) -> list[re.Pattern[str]]:
    """The titles of the statements ``question`` names (by name or by a measure of theirs)."""
    return [TITLES[words] for words in dict.fromkeys(words for pattern, words in CAPTIONS if pattern.search(question))]


def heads(title: re.Pattern[str], heading: str) -> bool:
    """Whether a section ``heading`` is the statement of ``title``."""
    return bool(title.search("".join(heading.lower().split())))


def expand(question: str) -> str:
    """``question`` with the captions of the statements it names added after it (unchanged
    when it names none)."""
    added = list(dict.fromkeys(words for pattern, words in CAPTIONS if pattern.search(question)))
    return f"{question} ({'; '.join(added)})" if added else question
