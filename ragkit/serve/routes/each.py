"""One question over every file a find query matches (``ragkit ask --each``), within the key's
collections: a row per file, those where nothing answers included."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ragkit.assistant.each import each_file
from ragkit.serve.audit import note
from ragkit.serve.context import Caller, Index
from ragkit.serve.models import ERRORS, EachRequest

router = APIRouter(responses=ERRORS)


@router.post("/v1/each")
def each(body: EachRequest, who: Caller, index: Index) -> dict[str, Any]:
    limit = index.scope(who, body.collection)
    note(question=body.question, query=body.query)
    with index.generating:  # (with --mode auto, the model answers each file: one at a time)
        found = each_file(index.rk, body.question, body.query, body.mode, limit)
    shown: dict[str, Any] = index.shown(found, limit)
    note(files=[row["path"] for row in shown["rows"] if row["answered"]][:50])
    return shown
