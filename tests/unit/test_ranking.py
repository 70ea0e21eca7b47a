"""Reciprocal rank fusion and the retrieval measures of ragkit eval beir."""

from __future__ import annotations

import math

import pytest

from ragkit.evaluate import metrics
from ragkit.library import fuse


def test_fusion_rewards_agreement_and_keeps_what_only_one_list_has() -> None:
    dense = ["a", "b", "c", "d"]
    keyword = ["c", "e", "a"]
    fused = fuse([dense, keyword], k=60)
    # a: 1/61 + 1/63; c: 1/63 + 1/61 (a tie, broken by id); b: 1/62; e: 1/62; d: 1/64
    assert fused == ["a", "c", "b", "e", "d"]
    assert fuse([["x"], []]) == ["x"]


def test_measures_on_a_ranking_worked_by_hand() -> None:
    found = metrics(["a", "x", "b"], {"a": 1, "b": 1, "z": 1})
    dcg = 1 / math.log2(2) + 1 / math.log2(4)
    ideal = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert found["ndcg@10"] == pytest.approx(dcg / ideal)
    assert found["recall@10"] == pytest.approx(2 / 3)
    assert found["mrr@10"] == 1.0
    late = metrics([f"n{i}" for i in range(12)] + ["z"], {"z": 2})
    assert late == {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 1.0, "mrr@10": 0.0}
    assert metrics(["q", "z"], {"z": 1})["mrr@10"] == 0.5
