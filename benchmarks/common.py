"""Baselines shared by the benchmarks."""

from __future__ import annotations

import time
from typing import Any


def raw_embedding(rk: Any) -> tuple[int, float]:
    """Embed every chunk now in the index straight through the embedder, in the index's
    batch size: ``(chunks, seconds)``. This is the ceiling any ingest pipeline can reach."""
    texts = [row[0] for row in rk.library.manifest.db.execute("SELECT text FROM chunks ORDER BY doc, ord")]
    batch = rk.settings.embed.batch_size
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        rk.library.embedder.embed(texts[i : i + batch])
    return len(texts), time.perf_counter() - started
