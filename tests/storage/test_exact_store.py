"""The exact store: cosine nearest neighbours, best first, from recorded float32 bytes."""

from __future__ import annotations

import numpy as np
import pytest

from ragkit.core.errors import RagkitError
from ragkit.storage.vectors import ExactStore


def test_the_nearest_come_first_in_order_of_cosine() -> None:
    rng = np.random.default_rng(3)
    vectors = (rng.normal(size=(20_000, 16)) * rng.uniform(0.1, 10, size=(20_000, 1))).astype(np.float32)
    ids = [f"c{i}" for i in range(len(vectors))]
    store = ExactStore.from_records(zip(ids, (v.tobytes() for v in vectors), strict=True))
    query = rng.normal(size=16).astype(np.float32)
    cosines = (vectors @ query) / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query))
    expected = np.argsort(-cosines)[:50]
    hits = store.query(query * 7, 50)  # the query's length does not matter either
    assert [h.id for h in hits] == [ids[i] for i in expected]
    assert np.allclose([h.score for h in hits], cosines[expected], atol=1e-5)


def test_fewer_vectors_than_asked_and_none_at_all() -> None:
    store = ExactStore.from_records(
        [("a", np.ones(4, np.float32).tobytes()), ("b", (-np.ones(4, np.float32)).tobytes())]
    )
    assert [h.id for h in store.query(np.ones(4, np.float32), 10)] == ["a", "b"]
    assert ExactStore.from_records([]).query(np.ones(4, np.float32), 3) == []


def test_vectors_of_two_lengths_are_refused_with_the_fix() -> None:
    records = [("a", np.ones(4, np.float32).tobytes()), ("b", np.ones(3, np.float32).tobytes())]
    with pytest.raises(RagkitError, match="ragkit index --rebuild"):
        ExactStore.from_records(records)


def test_an_update_reads_only_the_new_vectors_and_equals_a_fresh_read() -> None:
    rng = np.random.default_rng(5)
    vectors = {f"c{i}": rng.normal(size=8).astype(np.float32).tobytes() for i in range(300)}
    before = ExactStore.from_records((c, vectors[c]) for c in list(vectors)[:200])
    now = list(vectors)[50:]  # 50 chunks gone, 100 new
    asked: list[str] = []

    def vectors_of(ids: list[str]) -> dict[str, bytes]:
        asked.extend(ids)
        return {c: vectors[c] for c in ids}

    after = before.updated(now, vectors_of)
    assert sorted(asked) == sorted(list(vectors)[200:])  # only the new ones are read
    fresh = ExactStore.from_records((c, vectors[c]) for c in now)
    for _ in range(20):
        query = rng.normal(size=8).astype(np.float32)
        assert [(h.id, round(h.score, 5)) for h in after.query(query, 30)] == [
            (h.id, round(h.score, 5)) for h in fresh.query(query, 30)
        ]
    assert len(before) == 200 and len(after) == 250  # the old store is untouched (searches may hold it)
    assert len(before.updated([], vectors_of)) == 0
    assert len(ExactStore.from_records([]).updated(now[:3], vectors_of)) == 3
