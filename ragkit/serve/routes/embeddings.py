"""``POST /v1/embeddings``: the server's own embedder for other machines, in OpenAI's format, so
that one machine with a GPU embeds for a team (another ragkit's ``embed.url``, or any client
of that API). It reads no document: any key may use it, and without keys only loopback may."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from fastapi import APIRouter

from ragkit.core.errors import NotFound, RagkitError
from ragkit.index.served import same_model
from ragkit.serve.audit import note
from ragkit.serve.context import Caller, Index
from ragkit.serve.models import ERRORS, EmbeddingsRequest

router = APIRouter(responses=ERRORS)


@router.post("/v1/embeddings")
def embeddings(body: EmbeddingsRequest, who: Caller, index: Index) -> dict[str, Any]:
    library = index.rk.library
    embedder = library.query_embedder  # the ONNX export: the vectors of indexing at cosine >= 0.9999
    name = library.embedder.name
    if body.model and not same_model(body.model, name):
        raise NotFound(f"this server embeds with {name!r}; the model {body.model!r} is not served here")
    if body.dimensions is not None and body.dimensions != embedder.dim:
        raise RagkitError(f"{name!r} gives {embedder.dim} dimensions, not {body.dimensions}")
    texts = [body.input] if isinstance(body.input, str) else body.input
    note(texts=len(texts))
    vectors = np.asarray(embedder.embed(texts), dtype="<f4")
    limit = embedder.tokenizer.max_seq_length
    tokens = sum(min(embedder.tokenizer.count(t), limit) for t in texts)
    data = [
        {"object": "embedding", "index": i,
         "embedding": base64.b64encode(v.tobytes()).decode() if body.encoding_format == "base64" else v.tolist()}
        for i, v in enumerate(vectors)
    ]  # fmt: skip
    return {"object": "list", "data": data, "model": name, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
