"""Tags and notes on the key's own files: made with the key's name as their author (and in
the audit log), listed only where the key may read."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query

from ragkit.serve.audit import note
from ragkit.serve.context import Caller, Index
from ragkit.serve.models import ERRORS, MarkRequest

router = APIRouter(responses=ERRORS)


def _writable(who: Caller) -> None:
    if who.read_only:
        raise HTTPException(403, f"the key {who.name!r} is read-only: it may search and ask, not tag or note")


@router.get("/v1/marks")
def marks(
    who: Caller,
    index: Index,
    kind: Annotated[Literal["tag", "note"] | None, Query()] = None,
    path: Annotated[str | None, Query(min_length=1, max_length=4096)] = None,
) -> dict[str, Any]:
    limit = index.scope(who, None)
    return {"marks": index.rk.marks(kind, path, seen=lambda p: index.visible(p, limit))}


@router.post("/v1/marks")
def add_mark(body: MarkRequest, who: Caller, index: Index) -> dict[str, Any]:
    _writable(who)
    limit = index.scope(who, None)
    if (body.start is None) != (body.end is None) or (body.start is not None and body.end is not None
                                                        and body.end <= body.start):  # fmt: skip
        raise HTTPException(400, "a passage is given by start and end (end after start), or neither")
    span = (body.page, body.start, body.end) if body.start is not None and body.end is not None else None
    note(path=body.path, mark=body.kind, author=who.name)
    made = index.rk.mark(body.kind, body.path, body.value, span, who.name, seen=lambda p: index.visible(p, limit))
    return {"mark": made}


@router.delete("/v1/marks")
def remove_mark(
    who: Caller,
    index: Index,
    kind: Annotated[Literal["tag", "note"], Query()],
    path: Annotated[str, Query(min_length=1, max_length=4096)],
    value: Annotated[str, Query(min_length=1, max_length=200)],
) -> dict[str, Any]:
    _writable(who)
    limit = index.scope(who, None)
    note(path=path, unmark=kind, author=who.name)
    return {"removed": index.rk.unmark(kind, path, value, seen=lambda p: index.visible(p, limit))}
