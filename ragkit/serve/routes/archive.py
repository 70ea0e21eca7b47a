"""An archive's entities and e-mail threads, within the key's collections."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

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
