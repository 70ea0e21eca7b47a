"""Hybrid score fusion, neighbouring chunks joined for prompts, and the retrieval measures of
ragkit eval beir."""

from __future__ import annotations

import math

import pytest

from ragkit.index.evaluate import metrics
from ragkit.index.searcher import fuse
from ragkit.search.retrieve import Hit, merge_adjacent


def test_fusion_scales_each_list_and_keeps_what_only_one_list_has() -> None:
    dense = [("a", 0.9), ("b", 0.7), ("c", 0.5), ("d", 0.1)]  # scaled: a 1, b .75, c .5, d 0
    keyword = [("c", 30.0), ("e", 20.0), ("a", 10.0)]  # scaled: c 1, e .5, a 0
    # even: a .5, b .375, c .75, d 0, e .25
    assert fuse(dense, keyword, 0.5) == ["c", "a", "b", "e", "d"]
    # the dense list alone, or the keyword list alone, by weight
    assert fuse(dense, keyword, 1.0)[:4] == ["a", "b", "c", "d"]
    assert fuse(dense, keyword, 0.0)[:3] == ["c", "e", "a"]
    # one hit, or equal scores, count fully; an empty list adds nothing; ties go by id
    assert fuse([("x", 0.3)], []) == ["x"]
    assert fuse([("y", 0.4), ("x", 0.4)], []) == ["x", "y"]


def test_a_page_is_a_unit_of_evidence_its_passages_lift_each_other() -> None:
    dense = [("lone", 1.0), ("table", 0.9), ("note", 0.8), ("floor", 0.0)]  # scaled: 1, .9, .8, 0
    pages = {"lone": ("d", 1), "table": ("d", 2), "note": ("d", 2), "floor": ("d", 3)}
    assert fuse(dense, [], 1.0) == ["lone", "table", "note", "floor"]  # passages alone
    # with a quarter of the page's other passages: table .9 + .2 = 1.1, note .8 + .225 = 1.025
    assert fuse(dense, [], 1.0, pages=pages, page_weight=0.25) == ["table", "note", "lone", "floor"]
    assert fuse(dense, [], 1.0, pages={}, page_weight=0.25)[0] == "lone"  # passages with no page: as they were


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


PAGE = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota. Kappa lambda mu. Nu xi omicron."


def piece(doc: str, start: int, end: int, score: float, page: int | None = 1) -> Hit:
    return Hit(f"{doc}-{start}", doc, f"/d/{doc}.pdf", page, start, end, score, PAGE[start:end])


def test_neighbouring_chunks_of_a_passage_are_given_as_one() -> None:
    a = piece("d", 0, 36, 0.9)  # "Alpha … zeta."
    b = piece("d", 30, 70, 0.8)  # overlaps a (as chunks with an overlap do)
    c = piece("d", 70, 87, 0.5)  # touches b's end
    other_page = piece("d", 36, 52, 0.7, page=2)
    other_doc = piece("e", 0, 36, 0.6)
    merged = merge_adjacent([a, other_doc, b, other_page, c])
    assert [h.id for h in merged] == ["d-0", "e-0", "d-36"]  # at the better one's rank
    whole = merged[0]
    assert (whole.start, whole.end, whole.score) == (0, 87, 0.9)
    assert whole.text == PAGE[0:87]  # the joined text is the page's text at the joined span
    assert merged[1] == other_doc and merged[2] == other_page
    # a hit inside another adds nothing; hits that do not touch stay apart
    assert merge_adjacent([a, piece("d", 5, 20, 0.4)]) == [a]
    apart = [piece("d", 0, 17, 0.9), piece("d", 37, 52, 0.8)]
    assert merge_adjacent(apart) == apart
    # a later hit that bridges two earlier ones joins all three, at the first one's rank
    bridged = merge_adjacent([piece("d", 0, 17, 0.9), piece("d", 37, 52, 0.8), piece("d", 15, 40, 0.3)])
    assert [(h.start, h.end) for h in bridged] == [(0, 52)] and bridged[0].text == PAGE[0:52]
