"""Verification against the labelled claim set (tests/data/claims.jsonl, written for real
SQuAD 2.0 sentences): what "verified" must never be, and what it must keep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragkit.attribution import attribute
from ragkit.retrieve import Hit

CLAIMS = [
    json.loads(line)
    for line in (Path(__file__).parent.parent / "data" / "claims.jsonl").read_text("utf-8").splitlines()
    if line.strip()
]


def verified(case: dict) -> bool:
    window = case["window"]
    hit = Hit(id="w", doc="w", path="window.txt", page=None, start=0, end=len(window), score=1.0, text=window)
    result = attribute(f"{case['claim']} [1]", [hit])
    return bool(result.sentences) and all(s.supported for s in result.sentences)


def test_the_claim_set_is_large_and_labelled() -> None:
    assert len(CLAIMS) >= 80
    assert all({"window", "claim", "supported", "kind", "why"} <= set(c) for c in CLAIMS)
    assert {c["kind"] for c in CLAIMS} >= {"paraphrase", "negation", "number", "name", "antonym", "role"}


@pytest.mark.parametrize("case", [c for c in CLAIMS if c["kind"] == "negation"], ids=lambda c: c["claim"][:50])
def test_a_flipped_polarity_is_never_verified(case: dict) -> None:
    assert not verified(case), case["why"]


@pytest.mark.parametrize(
    "case", [c for c in CLAIMS if c["supported"] and c["kind"] == "exact"], ids=lambda c: c["claim"][:50]
)
def test_a_claim_stated_in_the_window_is_verified(case: dict) -> None:
    assert verified(case)


def test_most_true_paraphrases_are_verified_and_most_changed_facts_are_not() -> None:
    paraphrases = [verified(c) for c in CLAIMS if c["supported"] and c["kind"] == "paraphrase"]
    assert sum(paraphrases) / len(paraphrases) >= 0.85
    numbers_and_names = [verified(c) for c in CLAIMS if not c["supported"] and c["kind"] in ("number", "name")]
    assert sum(numbers_and_names) <= 4  # (a number or name moved within the same sentence still passes)
