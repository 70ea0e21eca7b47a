"""``ragkit serve``: one shared index served to a team over HTTP (FastAPI, run by uvicorn).

The routes, one module per resource under ``ragkit/serve/routes/``:

- ``POST /v1/chat/completions`` (``chat.py``): OpenAI-compatible, streamed or not, the checked
  answer as ``content`` and all about it in the extension field ``ragkit``.
- ``POST /v1/search``, ``POST /v1/find`` (``search.py``); ``POST /v1/each``, one question over every
  file a find query matches (``each.py``); ``GET /v1/passage``, a cited span in its
  context (``passages.py``); ``GET /v1/status``, ``GET /v1/models`` (``status.py``).
- ``GET /v1/entities``, ``GET /v1/entities/mentions``, ``GET /v1/threads/…`` (``archive.py``).
- ``GET|POST /v1/searches``, ``DELETE /v1/searches/NAME``, ``POST /v1/searches/NAME/run``: saved
  searches (changing them needs a key that is not read-only) (``searches.py``).
- ``GET /v1/databases``, ``…/NAME/schema``, ``POST …/NAME/ask`` (question to guarded SQL) and
  ``…/NAME/query`` (a person's own SQL through the same guard) (``databases.py``): the databases
  the key may use, which are those its collections hold (any, for a key not limited to
  collections), less those limited to other keys (``db add --keys``).
- ``/mcp``: the same index for other assistants and editors, over the Model Context Protocol
  (Streamable HTTP; ``mcp.py``), under the same keys, collections and audit.
- the OpenAPI document at ``/openapi.json``.

Access (``gate.py``, before a byte of the body is read): once a key has been made, every request
needs one (``Authorization: Bearer KEY``): none or an unknown or revoked one is 401, and so is
every request once all keys are revoked; a collection outside the key's is 403, and a key limited
to collections only ever sees their files; a read-only key may search and ask but not change
anything (403). Without keys the server answers anyone who can reach it, so it refuses to listen
beyond loopback. Every request is written to the audit log once, by the gate, with what its
route noted (``audit.note``), never the key. A ``RagkitError`` is a 400 (404 for what was not
found) with its message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from ragkit.core.errors import NotFound, RagkitError
from ragkit.serve import mcp
from ragkit.serve.audit import AuditLog, note
from ragkit.serve.context import Served
from ragkit.serve.gate import LOOPBACK_NAMES, Gate, KeyGuard, allowed_names
from ragkit.serve.keys import KeyStore
from ragkit.serve.routes import archive, chat, databases, each, embeddings, marks, passages, search, searches, status

LOOPBACK = LOOPBACK_NAMES
ROUTERS = (chat, search, each, status, passages, archive, marks, searches, databases, embeddings)


def create_app(
    rk: Any,
    keys: KeyStore,
    audit: AuditLog,
    collections_of: Callable[[], dict[str, list[Path]]],
    require_keys: bool = False,
    host: str = "127.0.0.1",
    allowed_hosts: Sequence[str] = (),
    max_body: int = 1 << 20,
) -> FastAPI:
    """The app over a facade (``rk``). The caller runs the watcher; the app only reads. Keys
    and collections are read at each request (``collections_of``), so a key revoked or a
    collection added takes effect at once."""
    app = FastAPI(
        title="ragkit",
        version="1",
        description="A private assistant over a shared set of documents: answers with verified citations.",
        docs_url=None,  # FastAPI's pages load their scripts from a CDN: nothing may leave the machine
        redoc_url=None,
    )
    guard = KeyGuard(keys, require_keys)
    app.state.served = Served(rk, guard, collections_of)
    app.add_middleware(Gate, guard=guard, audit=audit, names=allowed_names(host, allowed_hosts), max_body=max_body)
    for module in ROUTERS:
        app.include_router(module.router)
    mcp.mount(app, app.state.served, audit)
    _handle_errors(app)
    return app


def _handle_errors(app: FastAPI) -> None:
    """Every refusal as ``{"error": {"message", "type"}}``, its message noted for the audit log."""

    @app.exception_handler(RagkitError)
    async def refused(request: Request, exc: RagkitError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFound) else 400
        note(error=str(exc))
        kind = "not_found" if status == 404 else "invalid_request"
        return JSONResponse({"error": {"message": str(exc), "type": kind}}, status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 with where and what, never the input itself (it may be large, or not even text)."""
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()[:20]]  # fmt: skip
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)[:1000]
        note(error=message)
        return JSONResponse({"detail": errors, "error": {"message": message, "type": "invalid_request"}}, 422)

    @app.exception_handler(StarletteHTTPException)  # FastAPI's own, and Starlette's (a body that is not JSON)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(exc.status_code, "invalid_request")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names only the first route's methods; a path may have several
            methods = {m for r in app.routes if isinstance(r, APIRoute) and r.path_regex.match(request.url.path)
                       for m in r.methods or ()}  # fmt: skip
            headers["Allow"] = ", ".join(sorted(methods))
        note(error=str(exc.detail))
        return JSONResponse({"error": {"message": str(exc.detail), "type": kind}}, exc.status_code, headers or None)


def check_bind(host: str, keys: KeyStore) -> None:
    """Refuse to listen beyond loopback while no key guards the server."""
    if host not in LOOPBACK and not keys.active():
        raise RagkitError(
            f"refusing to listen on {host} with no API keys: anyone who can reach it could read your documents;"
            " create one first (ragkit keys create NAME), or listen on 127.0.0.1"
        )
