"""One question over every file a find query matches (``ragkit ask --each``), within the key's
collections: a row per file, those where nothing answers included; all together, or (``stream``)
as JSON lines while the files are asked, so a run over thousands shows its rows as they come."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from ragkit.assistant.each import answer_each, each_file, matching_files
from ragkit.serve.audit import note
from ragkit.serve.context import Caller, Index
from ragkit.serve.models import ERRORS, EachRequest
from ragkit.storage.filters import Filters

router = APIRouter(responses=ERRORS)
log = logging.getLogger(__name__)


STREAMED: dict[int | str, dict[str, Any]] = {200: {"content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                  "description": "the rows as they are answered, one JSON object a line (stream: true)"}}  # fmt: skip


@router.post("/v1/each", response_model=None, responses=STREAMED)
def each(body: EachRequest, who: Caller, index: Index) -> dict[str, Any] | StreamingResponse:
    limit = index.scope(who, body.collection)
    note(question=body.question, query=body.query)
    if body.stream:
        files = matching_files(index.rk, body.query, limit)
        return StreamingResponse(_lines(index, body, files, limit), media_type="application/x-ndjson")
    with index.generating:  # (with --mode auto, the model answers each file: one at a time)
        found = each_file(index.rk, body.question, body.query, body.mode, limit)
    shown: dict[str, Any] = index.shown(found, limit)
    note(files=[row["path"] for row in shown["rows"] if row["answered"]][:50])
    return shown


def _lines(index: Any, body: EachRequest, files: list[str], limit: Filters | None) -> Iterator[str]:
    yield json.dumps({"files": len(files)}) + "\n"
    try:
        with index.generating:
            for row in answer_each(index.rk, files, body.question, body.mode or "extract", limit):
                shown = index.shown({"rows": [row.as_dict()]}, limit)["rows"][0]
                yield json.dumps({"row": shown}, ensure_ascii=False) + "\n"
    except Exception as exc:  # a bug or a failed file: the stream still ends, and says why
        log.exception("ask --each failed while streaming")
        yield json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n"
        return
    yield json.dumps({"done": True}) + "\n"
