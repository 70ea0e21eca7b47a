"""A model's arithmetic read back: each equation's numbers must be the quoted rows' (or a
formula's constants) and its result must follow from them, to the precision it is written with."""

from __future__ import annotations

import pytest

from ragkit.answer.arithmetic import computations, number

ROWS = [9_412, 8_860, 61_300, 55_012, -21_554]  # the quoted rows' values


def test_numbers_as_documents_write_them() -> None:
    assert [number(t) for t in ("1,577", "(1,577)", "$3.25", "-12")] == [1577, -1577, 3.25, -12]


@pytest.mark.parametrize(
    ("text", "expression", "result"),
    [
        ("The ratio is 9,412 / 61,300 = 0.1535.", "9,412 / 61,300", "0.1535"),
        ("Growth: (61,300 - 55,012) / 55,012 ≈ 11.4%, a good year.", "(61,300 - 55,012) / 55,012", "11.4%"),
        ("so 9,412 ÷ 61,300 × 100 = 15.35 %", "9,412 ÷ 61,300 × 100", "15.35%"),
        ("DPO = 365 * 8,860 / 21,554 = 150.0 days", "365 * 8,860 / 21,554", "150.0"),
    ],
)
def test_an_equation_that_checks(text: str, expression: str, result: str) -> None:
    (found,) = computations(text)
    assert (found.expression.strip(), found.result) == (expression, result)
    assert found.problem(ROWS) == ""


def test_an_equation_that_does_not_check_says_why() -> None:
    (wrong,) = computations("R&D is 9,412 / 61,300 = 0.25 of revenue.")
    assert "makes 0.1535" in wrong.problem(ROWS) and "not 0.25" in wrong.problem(ROWS)
    (invented,) = computations("9,999 / 61,300 = 0.1631")  # a number no row holds
    assert "uses 9,999" in invented.problem(ROWS)
    (rounded,) = computations("9,412 / 61,300 = 0.15")  # to the precision written: fine
    assert rounded.problem(ROWS) == ""
    (unread,) = computations("9,412 / (61,300 - 61,300) = 1")
    assert "cannot be read" in unread.problem(ROWS)


def test_text_without_an_equation_has_none() -> None:
    assert computations("Revenue was 61,300 in 2021 and 55,012 in 2020; 0.15 = 15%.") == []
