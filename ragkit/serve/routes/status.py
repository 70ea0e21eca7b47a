"""The index's state and the models a request may name, as the key may see them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ragkit.core.errors import RagkitError
from ragkit.serve.context import Caller, Index
from ragkit.serve.models import ERRORS

router = APIRouter(responses=ERRORS)


@router.get("/v1/models")
def models(who: Caller, index: Index) -> dict[str, Any]:
    rows = [m for m in index.rk.models() if m.get("installed")]
    data = [
        {"id": m["name"], "object": "model", "created": 0, "owned_by": "ragkit",
         "ragkit": {"default": m["default"], "profile": m["profile"]}}
        for m in rows
    ]  # fmt: skip
    embedder = {
        "id": index.rk.library.embedder.name,
        "object": "model",
        "created": 0,
        "owned_by": "ragkit",
        "ragkit": {"default": False, "profile": "embedding"},
    }  # POST /v1/embeddings; last: not a chat model
    return {"object": "list", "data": [*data, embedder]}


@router.get("/v1/status")
def status(who: Caller, index: Index) -> dict[str, Any]:
    state: dict[str, Any] = index.rk.status()
    limit = index.scope(who, None)
    seen = index.visible
    if limit is not None:  # a limited key sees its collections' files only, and counts only them
        state.update(index.rk.library.keywords.counts(limit))
        state["failures"] = [f for f in state["failures"] if seen(f["path"], limit)]
        state["warnings"] = [w for w in state["warnings"] if seen(w["path"], limit)]
        state["folders"] = [f for f in state["folders"] if seen(f + "/x", limit)]
        state["searches"] = []
        state["ignored_paths"] = [i for i in state.get("ignored_paths", []) if seen(i["path"], limit)]
        state["ignored"] = sum(int(i["files"]) for i in state["ignored_paths"])
    if who.collections:  # where the index and the rest of the share live is not theirs to know
        state.pop("index_path", None)
        watcher = state.get("watcher") or {}
        state["watcher"] = {k: v for k, v in watcher.items() if k in ("live", "last_sync", "poll")} | {
            "roots": [r for r in watcher.get("roots", []) if seen(r + "/x", limit)]
        }
    collections = index.collections_of()
    state["collections"] = sorted(n for n in collections if not who.collections or n in who.collections)
    state["key"] = who.name
    try:
        state["model"] = index.rk.model_note()
    except RagkitError as exc:
        state["model"] = f"none ({exc})"
    return state
