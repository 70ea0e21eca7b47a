"""A cited span in its context, read from the file itself (indexed files the key may read only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from ragkit.serve.audit import note
from ragkit.serve.context import Caller, Index
from ragkit.serve.models import ERRORS

router = APIRouter(responses=ERRORS)


@router.get("/v1/passage")
def passage(
    path: Annotated[str, Query(min_length=1)],
    start: Annotated[int, Query(ge=0)],
    end: Annotated[int, Query(ge=0)],
    who: Caller,
    index: Index,
    page: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    limit = index.scope(who, None)
    note(path=path)
    row = index.rk.library.manifest.file(path)
    if row is None or row.status != "ok" or not index.visible(path, limit):
        raise HTTPException(404, f"{path} is not an indexed file")
    shown: dict[str, Any] = index.rk.passage(path, page, start, end)
    return shown
