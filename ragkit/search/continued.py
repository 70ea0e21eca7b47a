"""A table that runs on: the passage after a passage whose last line is a table's row, when it
starts with rows too (the statement continued below, or on the next page).

An answer's evidence then holds the table whole: the row a question asks for may sit on the
page after the one whose caption and columns were found, and the sources list shows that
neighbouring page right after the page it continues.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from ingest.pdfcontext import is_row
from ragkit.search.retrieve import Hit
from ragkit.storage.rows import ChunkRow, chunk_id

STARTS_WITHIN = 3  # a continued table's row is among the next passage's first lines (after a running header)


def ends_in_row(text: str) -> bool:
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    return bool(lines) and is_row(lines[-1])


def starts_with_row(text: str) -> bool:
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    return any(is_row(line) and not line.replace(" ", "").isdigit() for line in lines[:STARTS_WITHIN])


def with_continuations(hits: Sequence[Hit], chunks: Callable[[Sequence[str]], Mapping[str, ChunkRow]]) -> list[Hit]:
    """``hits``, each passage whose table runs on followed by the passage that continues it (at
    its score, unless that passage is among ``hits`` already). ``chunks``: the manifest's
    :meth:`~ragkit.storage.manifest.Manifest.chunks_by_id`."""
    ending = [h for h in hits if ends_in_row(h.text)]
    if not ending:
        return list(hits)
    rows = chunks([h.id for h in ending])
    after = {h.id: chunk_id(rows[h.id].doc, rows[h.id].ord + 1) for h in ending if h.id in rows}
    following = chunks(list(after.values()))
    have = {h.id for h in hits}
    out: list[Hit] = []
    for hit in hits:
        out.append(hit)
        nxt = following.get(after.get(hit.id, ""))
        if nxt is not None and nxt.id not in have and starts_with_row(nxt.text):
            out.append(replace(hit, id=nxt.id, page=nxt.page, start=nxt.start, end=nxt.end, text=nxt.text,
                               heading=nxt.heading, continues=True))  # fmt: skip
            have.add(nxt.id)
    return out
