"""The query language of ragkit find: every operator, every filter, and bad syntax pointed at."""

from __future__ import annotations

from datetime import date

import pytest

from ragkit.search.query import QueryError, merge_filters, parse, split_filters
from ragkit.search.query_tree import And, Near, Not, Or, Phrase, Term, compile_fts, terms
from ragkit.storage.filters import Filters


def tree(query: str) -> object:
    return parse(query).tree


def fts(query: str) -> str:
    parsed = parse(query)
    assert parsed.tree is not None
    return compile_fts(parsed.tree, lambda word, edits: [f"{word}{n}" for n in range(edits)])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("acme", Term("acme")),
        ("acme revenue", And((Term("acme"), Term("revenue")))),
        ("acme AND revenue", And((Term("acme"), Term("revenue")))),
        ("acme OR tolsvik", Or((Term("acme"), Term("tolsvik")))),
        ("invoice -draft", And((Term("invoice"), Not(Term("draft"))))),
        ("invoice NOT draft", And((Term("invoice"), Not(Term("draft"))))),
        ('"exact phrase here"', Phrase(("exact", "phrase", "here"))),
        ('"a b"~5', Near(("a", "b"), 5)),
        ("NEAR(tolsvik payment, 7)", Near(("tolsvik", "payment"), 7)),
        ("NEAR(tolsvik payment)", Near(("tolsvik", "payment"), 10)),
        ("pay*", Term("pay", prefix=True)),
        ("tolsvik~1", Term("tolsvik", edits=1)),
        ("tolsvik~", Term("tolsvik", edits=1)),
        ("(a OR b) c", And((Or((Term("a"), Term("b"))), Term("c")))),
        ("a OR b c", Or((Term("a"), And((Term("b"), Term("c")))))),  # AND binds tighter
        ("john.doe@acme.com", Phrase(("john", "doe", "acme", "com"))),
        ("ACME-10-K", Phrase(("ACME", "10", "K"))),
        ("1,250.00", Phrase(("1", "250", "00"))),
        ("Jean-Luc, Müller", And((Phrase(("Jean", "Luc")), Term("Müller")))),
    ],
)
def test_operators_parse_to_their_meaning(query: str, expected: object) -> None:
    assert tree(query) == expected


def test_the_fts5_expression() -> None:
    assert fts("acme revenue") == '("acme" AND "revenue")'
    assert fts("a OR b") == '("a" OR "b")'
    assert fts("invoice -draft -copy") == '(("invoice") NOT ("draft" OR "copy"))'
    assert fts("pay*") == '"pay" *'
    assert fts('"a b"~3') == 'NEAR("a" "b", 3)'
    assert fts("tolsvik~2") == '("tolsvik0" OR "tolsvik1")'
    assert fts('say "hi"') == '("say" AND "hi")'


def test_filters() -> None:
    parsed = parse('acme path:"*/2024 reports/*" path:*.pdf type:PDF after:2024-01 before:2024-06-30')
    assert parsed.tree == Term("acme")
    assert parsed.filters == Filters(
        paths=("*/2024 reports/*", "*.pdf"), types=("pdf",), after=date(2024, 1, 1), before=date(2024, 6, 30)
    )
    assert parse("after:2023 before:2023-02").filters == Filters(after=date(2023, 1, 1), before=date(2023, 2, 28))
    assert parse("acme lang:FR lang:de").filters == Filters(langs=("fr", "de"))
    assert split_filters("who paid lang:fr") == ("who paid", Filters(langs=("fr",)))
    assert parse("before:2024-02").filters.before == date(2024, 2, 29)
    assert parse("before:2024-12").filters.before == date(2024, 12, 31)
    only = parse("type:txt")
    assert only.tree is None and only.filters.types == ("txt",)


def test_filters_typed_in_a_question_are_taken_out_of_it() -> None:
    question, filters = split_filters("what did acme pay type:pdf in march? after:2024")
    assert question == "what did acme pay in march?"
    assert filters == Filters(types=("pdf",), after=date(2024, 1, 1))
    assert split_filters("ratio 3:1 at 10:30") == ("ratio 3:1 at 10:30", Filters())
    merged = merge_filters(Filters(types=("txt",), after=date(2024, 1, 1)), Filters(after=date(2024, 3, 1)))
    assert merged == Filters(types=("txt",), after=date(2024, 3, 1))


def test_terms_are_what_is_looked_for() -> None:
    assert terms(tree('acme "big deal" -draft OR NEAR(x y, 2)')) == ["acme", "big", "deal", "x", "y"]


@pytest.mark.parametrize(
    ("query", "problem", "at"),
    [
        ("", "empty", 0),
        ("(acme", "not closed", 0),
        ("acme)", "closes no (", 4),
        ('"acme', "quotation mark", 0),
        ("-acme", "only NOT", 0),
        ("acme OR", "OR needs a term after", 7),
        ("OR acme", "term is missing", 0),
        ("acme AND", "AND needs a term after", 5),
        ("acme OR -draft", "cannot be one side of OR", 8),
        ("acme OR type:pdf", "filter cannot be one side of OR", 8),
        ("(type:pdf acme)", "outside parentheses", 1),
        ("owner:bob", "unknown filter owner:", 0),
        ("after:2024-13", "YYYY, YYYY-MM or YYYY-MM-DD", 0),
        ("after:2024-05 before:2024-01", "later than", 0),
        ("acme lang:english", "two-letter language code", 5),
        ("NEAR(acme, 5)", "at least two words", 0),
        ("NEAR(acme tolsvik", "not closed", 0),
        ("tolsvik~3", "at most 2 edits", 0),
        ("--- acme", "no letters or digits", 1),
        ('"..." acme', "no words", 0),
    ],
)
def test_bad_syntax_is_refused_with_where_and_why(query: str, problem: str, at: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse(query)
    assert problem in caught.value.problem
    assert caught.value.at == at
    assert str(caught.value).endswith(" " * (at + 2) + "^")  # the pointer under the problem


def test_nesting_past_the_limit_is_a_query_error_and_within_it_parses() -> None:
    from ragkit.search.query import MAX_NESTING

    deep = "(" * MAX_NESTING + "acme" + ")" * MAX_NESTING
    assert tree(deep) == Term("acme")
    for query in ("(" * 500 + "acme" + ")" * 500, "acme " + "NOT " * 500 + "x"):
        with pytest.raises(QueryError, match="nests parentheses and NOTs more than"):
            parse(query)


def test_dates_at_the_ends_of_the_calendar_are_held_in_sqlite_integers() -> None:
    from ragkit.storage.filters import _day_start_ns

    first, last = _day_start_ns(date(1, 1, 1)), _day_start_ns(date(9999, 12, 31), days_after=1)
    assert first == -(2**63) and last == 2**63 - 1  # (no overflow, and still before and after every file)
    assert _day_start_ns(date(2024, 3, 1)) < _day_start_ns(date(2024, 3, 1), days_after=1)


def test_fuzzy_terms_are_bounded_per_query() -> None:
    """Each fuzzy term is matched against the whole vocabulary: 570 of them took 9.5 s on a
    14-file index, for any key of a server."""
    from ragkit.search.query import MAX_FUZZY

    assert parse(" OR ".join(f"name{i}~1" for i in range(MAX_FUZZY))).tree is not None
    with pytest.raises(QueryError, match="fuzzy terms"):
        parse(" OR ".join(f"name{i}~2" for i in range(570)))
