"""Ranked search and exact find, within the key's collections."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ragkit.serve.audit import note
from ragkit.serve.context import Caller, Index
from ragkit.serve.models import ERRORS, FindRequest, SearchRequest

router = APIRouter(responses=ERRORS)


@router.post("/v1/search")
def search(body: SearchRequest, who: Caller, index: Index) -> dict[str, Any]:
    limit = index.scope(who, body.collection)
    note(query=body.query)
    hits = index.rk.search(body.query, body.k, body.mode, limit, continued=body.continued)
    note(files=sorted({h.path for h in hits}))
    return {"hits": index.shown([h.as_dict() for h in hits], limit)}


@router.post("/v1/find")
def find(body: FindRequest, who: Caller, index: Index) -> dict[str, Any]:
    limit = index.scope(who, body.collection)
    note(query=body.query)
    result = index.rk.find(body.query, body.offset, body.limit, limit)
    note(total=result.total)
    found: dict[str, Any] = index.shown(result.as_dict(), limit)
    return found
