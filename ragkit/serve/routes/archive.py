"""An archive's entities (and their graph), e-mail threads, duplicates and timeline, within the
key's collections."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from ragkit.investigate.near import THRESHOLD
from ragkit.serve.audit import note
from ragkit.serve.context import Caller, Index
from ragkit.serve.models import ERRORS
from ragkit.storage.filters import Filters

router = APIRouter(responses=ERRORS)


def _seen(limit: Filters | None) -> Any:
    return None if limit is None else limit.admits


@router.get("/v1/entities")
def entities(
    who: Caller,
    index: Index,
    kind: Annotated[str | None, Query(alias="type")] = None,  # "type", as the CLI's --type
    top: Annotated[int, Query(ge=0, le=10_000)] = 50,
    collection: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    limit = index.scope(who, collection)
    rows = index.rk.library.entities.top(kind, top or None, seen=_seen(limit))
    return {"entities": [row.as_dict() for row in rows]}


@router.get("/v1/entities/mentions")
def entity_mentions(
    who: Caller,
    index: Index,
    name: Annotated[str, Query(min_length=1, max_length=500)],
    kind: Annotated[str | None, Query(alias="type")] = None,
    collection: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    limit = index.scope(who, collection)
    return {"mentions": index.rk.library.entities.show(name, kind, seen=_seen(limit))}


@router.get("/v1/duplicates")
def duplicates(
    who: Caller,
    index: Index,
    near: Annotated[bool, Query()] = False,
    threshold: Annotated[float, Query(ge=0.05, le=1.0)] = THRESHOLD,
    collection: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """Files with the same bytes, or (``near``) documents nearly the same, among the paths of
    the key's collections: a copy elsewhere is neither listed nor hinted at."""
    seen = _seen(index.scope(who, collection))
    if near:
        return {"threshold": threshold, "groups": index.rk.near_duplicates(threshold, seen=seen)}
    return {"groups": index.rk.duplicates(seen=seen)}


@router.get("/v1/graph")
def graph(
    who: Caller,
    index: Index,
    query: Annotated[str | None, Query(min_length=1, max_length=4000)] = None,
    kind: Annotated[str | None, Query(alias="type")] = None,
    min_weight: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    collection: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """Who appears with whom in the key's files, as ``ragkit graph --format json``."""
    seen = _seen(index.scope(who, collection))
    note(query=query)
    found: dict[str, Any] = index.rk.entity_graph(query, kind, min_weight, seen=seen).as_dict()
    return found


@router.get("/v1/timeline")
def timeline(
    who: Caller,
    index: Index,
    query: Annotated[str | None, Query(min_length=1, max_length=4000)] = None,
    by: Annotated[Literal["day", "month", "year"], Query()] = "month",
    entity: Annotated[str | None, Query(min_length=1, max_length=500)] = None,
    collection: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """The key's files (or an entity's mentions in them) per period, as ``ragkit timeline``."""
    seen = _seen(index.scope(who, collection))
    note(query=query)
    return {"by": by, "query": query, "entity": entity,
            "periods": index.rk.timeline(query, by, entity, seen=seen)}  # fmt: skip


# A thread is built from the messages of the key's collections only: its subject, people, count,
# dates and root come from them; a message elsewhere is known only as far as those messages'
# headers name it. Not found and not the key's read the same (ThreadNotFound: 404).


@router.get("/v1/threads/at")
def thread_at(
    who: Caller,
    index: Index,
    path: Annotated[str, Query(min_length=1)],
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    limit = index.scope(who, None)
    note(path=path)
    found: dict[str, Any] = index.rk.thread_at(path, offset, seen=_seen(limit))
    return found


@router.get("/v1/threads/{ident:path}")
def thread(ident: str, who: Caller, index: Index) -> dict[str, Any]:
    limit = index.scope(who, None)
    note(thread=ident)
    found: dict[str, Any] = index.rk.thread(ident, seen=_seen(limit))
    return found
