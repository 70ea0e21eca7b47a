"""Verification against the labelled claim sets, written for real SQuAD 2.0 sentences:
tests/data/claims.jsonl (the set the checks were built on) and tests/data/claims_heldout.jsonl
(written afterwards, to see that they hold on sentences they were not tuned on). What
"verified" must never be, and what it must keep. The embedder is the real packaged one: its
similarity is part of the check."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ragkit.answer.attribution import attribute
from ragkit.index.embed import SentenceTransformerEmbedder
from ragkit.search.retrieve import Hit

DATA = Path(__file__).parent.parent / "data"


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text("utf-8").splitlines() if line.strip()]


TUNED = load("claims.jsonl")
HELD_OUT = load("claims_heldout.jsonl")
CLAIMS = TUNED + HELD_OUT


def verified(case: dict, embedder: SentenceTransformerEmbedder | None) -> bool:
    window = case["window"]
    hit = Hit(id="w", doc="w", path="window.txt", page=None, start=0, end=len(window), score=1.0, text=window)
    result = attribute(f"{case['claim']} [1]", [hit], embed=embedder.embed if embedder else None)
    return result.grounded


def test_the_claim_sets_are_large_and_labelled() -> None:
    assert len(TUNED) >= 80 and len(HELD_OUT) >= 30
    assert all({"window", "claim", "supported", "kind", "why"} <= set(c) for c in CLAIMS)
    assert {c["kind"] for c in CLAIMS} >= {"paraphrase", "negation", "number", "name", "antonym", "role"}


@pytest.mark.parametrize(
    "case", [c for c in CLAIMS if c["kind"] in ("negation", "number", "name")], ids=lambda c: c["claim"][:50]
)
def test_a_flipped_polarity_a_changed_number_or_name_is_never_verified(
    case: dict, embedder: SentenceTransformerEmbedder
) -> None:
    assert not verified(case, embedder), case["why"]


@pytest.mark.parametrize("case", [c for c in CLAIMS if c["kind"] == "antonym"], ids=lambda c: c["claim"][:50])
def test_an_antonym_is_not_verified(case: dict, embedder: SentenceTransformerEmbedder) -> None:
    assert not verified(case, embedder), case["why"]


@pytest.mark.parametrize(
    "case", [c for c in CLAIMS if c["supported"] and c["kind"] == "exact"], ids=lambda c: c["claim"][:50]
)
def test_a_claim_stated_in_the_window_is_verified(case: dict, embedder: SentenceTransformerEmbedder) -> None:
    assert verified(case, embedder)


def test_true_paraphrases_are_verified(embedder: SentenceTransformerEmbedder) -> None:
    paraphrases = [verified(c, embedder) for c in CLAIMS if c["supported"] and c["kind"] == "paraphrase"]
    assert sum(paraphrases) / len(paraphrases) >= 0.9


def test_swapped_roles_are_mostly_caught(embedder: SentenceTransformerEmbedder) -> None:
    roles = [verified(c, embedder) for c in CLAIMS if c["kind"] == "role"]
    assert sum(roles) <= 1  # (a pair swapped around a word the window repeats still passes)


def test_word_salad_of_the_windows_own_words_fails_on_meaning(embedder: SentenceTransformerEmbedder) -> None:
    """Half a window's words, shuffled: every word is in the window, so only the semantic
    signal (similarity and word order) can refuse it."""
    rng = random.Random(5)
    salads = []
    for window in dict.fromkeys(c["window"] for c in CLAIMS):
        words = window.rstrip(".").split()
        rng.shuffle(words)
        salads.append({"window": window, "claim": " ".join(words[: max(6, len(words) // 2)]) + "."})
    with_meaning = sum(verified(s, embedder) for s in salads)
    words_only = sum(verified(s, None) for s in salads)
    assert with_meaning <= 0.2 * len(salads) < words_only
