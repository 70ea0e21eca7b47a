"""Saved searches: the whole index's, so only for keys that may read all of it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ragkit.serve.audit import note
from ragkit.serve.context import Caller, Index
from ragkit.serve.models import ERRORS, RunSearchRequest, SaveSearchRequest

router = APIRouter(responses=ERRORS)


@router.get("/v1/searches")
def saved_searches(who: Caller, index: Index) -> dict[str, Any]:
    index.searcher(who, write=False)
    return {"searches": [s.as_dict() for s in index.rk.saved_searches()]}


@router.post("/v1/searches")
def save_search(body: SaveSearchRequest, who: Caller, index: Index) -> dict[str, Any]:
    index.searcher(who, write=True)
    note(search=body.name, query=body.query)
    return {"search": index.rk.save_search(body.name, body.query).as_dict()}


@router.delete("/v1/searches/{name}")
def remove_search(name: str, who: Caller, index: Index) -> dict[str, Any]:
    index.searcher(who, write=True)
    note(removed=name)
    index.rk.remove_search(name)
    return {"removed": name}


@router.post("/v1/searches/{name}/run")
def run_search(name: str, body: RunSearchRequest, who: Caller, index: Index) -> dict[str, Any]:
    """Its hits now and the matches new since last looked, which are then no longer new
    (a change: read-only keys may list saved searches, not run them)."""
    index.searcher(who, write=True)
    note(search=name)
    search, result, news = index.rk.run_search(name, body.limit)
    note(new=len(news))
    return {"search": search.as_dict(), "new": [m.as_dict() for m in news], "result": result.as_dict()}
