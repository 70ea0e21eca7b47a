"""``ragkit serve``: one shared index served to a team over HTTP (FastAPI, run by uvicorn).

- ``POST /v1/chat/completions``: OpenAI-compatible, streamed (server-sent events) or not.
  The reasoning streams in ``reasoning_content`` (as llama.cpp's server sends it). The
  model's words stream as ``ragkit_draft`` while it writes; ``content`` is the answer once
  checked (what verified, or the quoted passages that stand in for what did not), so a
  client never shows words that did not verify as the answer (``ragkit_mode: "generate"``
  streams the model's words as ``content``, as written). The last chunk, or the message,
  carries the extension field ``ragkit``: the answer as ``ragkit ask --json`` gives it
  (sources, citations with spans and whether each verified, grounded).
- ``GET|POST /v1/searches``, ``DELETE /v1/searches/NAME``, ``POST /v1/searches/NAME/run``:
  saved searches (changing them needs a key that is not read-only).
- ``GET /v1/databases``, ``GET /v1/databases/NAME/schema``, ``POST /v1/databases/NAME/ask``
  (question to guarded SQL, rows and a checked sentence) and ``POST /v1/databases/NAME/query``
  (a person's own SQL through the same guard): the databases the key may use, which are those
  its collections hold (``db add --collections``; any, for a key not limited to collections),
  less those limited to other keys (``db add --keys``). A chat question may be routed to one
  of them (``ragkit_route``; the route streams as ``ragkit_route``).
- ``GET /v1/models`` (each with ``ragkit``: whether it is the default, its profile),
  ``POST /v1/search``, ``POST /v1/find``, ``GET /v1/status``,
  ``GET /v1/passage`` (a cited span in its context), and the OpenAPI document at
  ``/openapi.json``.

Access: once a key has been made (``ragkit keys create``), every request needs one (``Authorization:
Bearer KEY``): none or an unknown or revoked one is 401, and so is every request once all keys are
revoked (a server that needed a key keeps needing one); a collection outside the key's
is 403, and a key limited to collections only ever sees their files; a read-only key may
search and ask but not change anything (403). Without keys the
server answers anyone who can reach it, so it refuses to listen beyond loopback. Every
request is written to the audit log (never the key).
"""

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ragkit.answer.answerer import Answer
from ragkit.core.errors import RagkitError
from ragkit.db.ask import SqlAnswer
from ragkit.db.rows import rows_root, with_sources
from ragkit.search.query import Filters
from ragkit.serve.audit import AuditLog
from ragkit.serve.gate import INTERNAL, LOOPBACK_NAMES, Denied, Gate, KeyGuard, Principal, allowed_names, log
from ragkit.serve.keys import KeyStore
from ragkit.serve.scope import confine

LOOPBACK = LOOPBACK_NAMES


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    query: str = Field(min_length=1, max_length=4000)
    k: int = Field(5, ge=1, le=100)
    mode: Literal["dense", "keyword", "hybrid"] | None = None
    collection: str | None = None


class FindRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    query: str = Field(min_length=1, max_length=4000)
    offset: int = Field(0, ge=0)
    limit: int = Field(20, ge=0, le=1000)
    collection: str | None = None


class SaveSearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(min_length=1, max_length=4000)


class RunSearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    limit: int = Field(20, ge=0, le=1000)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """OpenAI's request; fields ragkit does not use (temperature, …) are accepted and ignored."""

    model_config = ConfigDict(extra="allow", strict=True)
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    ragkit_mode: Literal["auto", "generate", "extract"] | None = Field(
        None, description="ragkit's answer mode (default: the server's answer.mode)"
    )
    collection: str | None = Field(None, description="search only this collection")
    ragkit_route: Literal["auto", "docs"] | None = Field(
        None,
        description="'auto' (default): a question closer to a database's schema than to any passage is asked of"
        " that database (among those the key may use); 'docs': the documents only",
    )


class DatabaseAskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    question: str = Field(min_length=1, max_length=4000)
    model: str | None = None


class DatabaseQueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    sql: str = Field(min_length=1, max_length=20000)


class ErrorBody(BaseModel):
    message: str
    type: str


class ErrorResponse(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "a request ragkit cannot serve (the message says why)"},
    401: {"model": ErrorResponse, "description": "no key, or an unknown or revoked one"},
    403: {"model": ErrorResponse, "description": "a collection outside the key's, or a change with a read-only key"},
    404: {"model": ErrorResponse, "description": "no such collection, indexed file (passage) or saved search"},
}


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):  # OpenAI's content parts: the text ones
        return " ".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    return content or ""


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
    generating = threading.Lock()  # one answer at a time on the model; searches run beside it

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 with where and what, never the input itself (it may be large, or not even text)."""
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()[:20]]  # fmt: skip
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)[:1000]
        return JSONResponse({"detail": errors, "error": {"message": message, "type": "invalid_request"}}, 422)

    @app.exception_handler(StarletteHTTPException)  # FastAPI's own, and Starlette's (a body that is not JSON)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(exc.status_code, "invalid_request")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names only the first route's methods; a path may have several
            methods = {m for r in app.routes if isinstance(r, APIRoute) and r.path_regex.match(request.url.path)
                       for m in r.methods or ()}  # fmt: skip
            headers["Allow"] = ", ".join(sorted(methods))
        return JSONResponse({"error": {"message": str(exc.detail), "type": kind}}, exc.status_code, headers or None)

    guard = KeyGuard(keys, require_keys)
    app.add_middleware(Gate, guard=guard, audit=audit, names=allowed_names(host, allowed_hosts), max_body=max_body)

    def principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
        checked = getattr(request.state, "principal", None)  # by the gate, before the body was read
        if isinstance(checked, Principal):
            return checked
        try:
            return guard.principal(authorization)
        except Denied as denied:
            deny(request, denied.who, denied.status, denied.message)
            raise  # (deny raised)

    Caller = Annotated[Principal, Depends(principal)]

    def deny(request: Request, who: str, status: int, message: str) -> None:
        audit.record(key=who, endpoint=request.url.path, status=status, error=message)
        raise HTTPException(status, message, headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)

    def scope(request: Request, who: Principal, collection: str | None) -> Filters | None:
        """What the key may read: its collections' folders (or the one it names), less the rows
        (as documents) of the databases it may not use; None: everything."""
        collections = collections_of()
        hidden = hidden_rows(who)
        if collection is not None:
            if collection not in collections:
                mine = [c for c in sorted(collections) if not who.collections or c in who.collections]
                known = ", ".join(mine) or "none"  # (a limited key is told only of its own)
                raise HTTPException(404, f"no collection is named {collection!r} (collections: {known})")
            if who.collections and collection not in who.collections:
                deny(request, who.name, 403, f"the key {who.name!r} may not read the collection {collection!r}")
            within = tuple(str(p) for p in collections[collection]) + rows_of([collection])
            return Filters(within=within, without=hidden)
        if who.collections:
            folders = [str(p) for name in who.collections for p in collections.get(name, [])]
            within = (*folders, *rows_of(who.collections)) or ("/nonexistent-collection",)
            return Filters(within=within, without=hidden)
        return Filters(without=hidden) if hidden else None

    def rows_of(names: Sequence[str]) -> tuple[str, ...]:
        """The folders of the rows (as documents) of the databases these collections hold."""
        root = rows_root(rk.settings.home)
        return tuple(str(root / n) for n, d in rk.settings.databases.items() if set(d.collections) & set(names))

    def hidden_rows(who: Principal) -> tuple[str, ...]:
        """The folders of the rows of the databases limited to other keys (``db add --keys``):
        a key refused the database is refused its rows as documents too."""
        root = rows_root(rk.settings.home)
        return tuple(str(root / n) for n, d in sorted(rk.settings.databases.items()) if refused(who, d.keys))

    def refused(who: Principal, keys: Sequence[str]) -> bool:
        return bool(keys) and guard.guarded.is_set() and who.name not in keys

    def usable(who: Principal, collection: str | None) -> list[str]:
        """The databases this key may ask (within ``collection``, if named): those its
        collections hold (any, for a key not limited to collections), less those limited to
        other keys."""
        collections_of()  # the config is read again when it changed: databases added meanwhile
        names = []
        for name, db in sorted(rk.settings.databases.items()):
            if refused(who, db.keys):
                continue
            wanted = [collection] if collection is not None else list(who.collections)
            if wanted and not set(db.collections) & set(wanted):
                continue
            names.append(name)
        return names

    def database(request: Request, who: Principal, name: str) -> str:
        collections_of()
        if name not in rk.settings.databases:
            raise HTTPException(404, f"no database is named {name!r}")
        if name not in usable(who, None):
            deny(request, who.name, 403, f"the key {who.name!r} may not use the database {name!r}")
        return name

    def visible(path: str, limit: Filters | None) -> bool:
        return limit is None or limit.admits(path)

    def shown(result: Any, limit: Filters | None) -> Any:
        """A result as the key may see it: its sources named, each place inside its collections."""
        sourced = with_sources(result, rk.settings.home)
        return sourced if limit is None else confine(sourced, lambda path: visible(path, limit))

    def model_named(request: Request, who: Principal, name: str | None) -> str | None:
        """A model a request names: only an installed one of the catalogue (as /v1/models lists
        them), never a path on the server: what exists there is none of a client's business,
        and nothing placed there is loaded."""
        if not name or name == "ragkit":
            return None
        installed = [m["name"] for m in rk.models() if m.get("installed")]
        if name not in installed:
            message = f"no installed model is named {name!r} (GET /v1/models lists them: {', '.join(installed)})"
            audit.record(key=who.name, endpoint=request.url.path, status=400, error=message)
            raise HTTPException(400, message)
        return name

    def failed(request: Request, who: Principal, exc: RagkitError, **entry: Any) -> HTTPException:
        audit.record(key=who.name, endpoint=request.url.path, status=400, error=str(exc), **entry)
        return HTTPException(400, str(exc))

    @app.get("/v1/models", responses=ERRORS)
    def models(who: Caller) -> dict[str, Any]:
        rows = [m for m in rk.models() if m.get("installed")]
        data = [
            {"id": m["name"], "object": "model", "created": 0, "owned_by": "ragkit",
             "ragkit": {"default": m["default"], "profile": m["profile"]}}
            for m in rows
        ]  # fmt: skip
        return {"object": "list", "data": data}

    @app.post("/v1/search", responses=ERRORS)
    def search(body: SearchRequest, request: Request, who: Caller) -> dict[str, Any]:
        limit = scope(request, who, body.collection)
        try:
            hits = rk.search(body.query, body.k, body.mode, limit)
        except RagkitError as exc:
            raise failed(request, who, exc, query=body.query) from exc
        audit.record(key=who.name, endpoint="/v1/search", status=200, query=body.query, files=_paths(hits))
        return {"hits": shown([h.as_dict() for h in hits], limit)}

    @app.post("/v1/find", responses=ERRORS)
    def find(body: FindRequest, request: Request, who: Caller) -> dict[str, Any]:
        limit = scope(request, who, body.collection)
        try:
            result = rk.find(body.query, body.offset, body.limit, limit)
        except RagkitError as exc:
            raise failed(request, who, exc, query=body.query) from exc
        audit.record(key=who.name, endpoint="/v1/find", status=200, query=body.query, total=result.total)
        found: dict[str, Any] = shown(result.as_dict(), limit)
        return found

    @app.get("/v1/status", responses=ERRORS)
    def status(request: Request, who: Caller) -> dict[str, Any]:
        state: dict[str, Any] = rk.status()
        limit = scope(request, who, None)
        if limit is not None:  # a limited key sees its collections' files only, and counts only them
            state.update(rk.library.keywords.counts(limit))
            state["failures"] = [f for f in state["failures"] if visible(f["path"], limit)]
            state["warnings"] = [w for w in state["warnings"] if visible(w["path"], limit)]
            state["folders"] = [f for f in state["folders"] if visible(f + "/x", limit)]
            state["searches"] = []
            state["ignored_paths"] = [i for i in state.get("ignored_paths", []) if visible(i["path"], limit)]
            state["ignored"] = sum(int(i["files"]) for i in state["ignored_paths"])
        if who.collections:  # where the index and the rest of the share live is not theirs to know
            state.pop("index_path", None)
            watcher = state.get("watcher") or {}
            state["watcher"] = {k: v for k, v in watcher.items() if k in ("live", "last_sync", "poll")} | {
                "roots": [r for r in watcher.get("roots", []) if visible(r + "/x", limit)]
            }
        state["collections"] = sorted(n for n in collections_of() if not who.collections or n in who.collections)
        state["key"] = who.name
        try:
            state["model"] = rk.model_note()
        except RagkitError as exc:
            state["model"] = f"none ({exc})"
        audit.record(key=who.name, endpoint="/v1/status", status=200)
        return state

    @app.get("/v1/passage", responses=ERRORS)
    def passage(
        request: Request,
        path: Annotated[str, Query(min_length=1)],
        start: Annotated[int, Query(ge=0)],
        end: Annotated[int, Query(ge=0)],
        who: Caller,
        page: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict[str, Any]:
        limit = scope(request, who, None)
        row = rk.library.manifest.file(path)
        if row is None or row.status != "ok" or not visible(path, limit):
            audit.record(key=who.name, endpoint="/v1/passage", status=404, path=path)
            raise HTTPException(404, f"{path} is not an indexed file")
        try:
            shown: dict[str, Any] = rk.passage(path, page, start, end)
        except RagkitError as exc:
            raise failed(request, who, exc, path=path) from exc
        audit.record(key=who.name, endpoint="/v1/passage", status=200, path=path)
        return shown

    # --- an archive's entities and e-mail threads, within the key's collections ---------

    @app.get("/v1/entities", responses=ERRORS)
    def entities(
        request: Request,
        who: Caller,
        kind: Annotated[str | None, Query(alias="type")] = None,  # "type", as the CLI's --type
        top: Annotated[int, Query(ge=0, le=10_000)] = 50,
        collection: Annotated[str | None, Query()] = None,
    ) -> dict[str, Any]:
        limit = scope(request, who, collection)
        try:
            rows = rk.library.entities.top(kind, top or None, seen=limit.admits if limit else None)
        except RagkitError as exc:
            raise failed(request, who, exc) from exc
        audit.record(key=who.name, endpoint="/v1/entities", status=200)
        return {"entities": [row.as_dict() for row in rows]}

    @app.get("/v1/entities/mentions", responses=ERRORS)
    def entity_mentions(
        request: Request,
        who: Caller,
        name: Annotated[str, Query(min_length=1, max_length=500)],
        kind: Annotated[str | None, Query(alias="type")] = None,
        collection: Annotated[str | None, Query()] = None,
    ) -> dict[str, Any]:
        limit = scope(request, who, collection)
        try:
            mentions = rk.library.entities.show(name, kind, seen=limit.admits if limit else None)
        except RagkitError as exc:
            raise failed(request, who, exc) from exc
        audit.record(key=who.name, endpoint="/v1/entities/mentions", status=200)
        return {"mentions": mentions}

    def thread_found(
        request: Request, who: Principal, limit: Filters | None, ask: Callable[..., Any], **entry: Any
    ) -> Any:
        """A thread built from the messages of the key's collections only: its subject, people,
        count, dates and root come from them. A message elsewhere is known only as far as
        those messages' headers name it; not found and not the key's read the same (404)."""
        from ragkit.investigate.threads import ThreadNotFound

        try:
            found = ask(seen=None if limit is None else lambda path: visible(path, limit))
        except ThreadNotFound as exc:
            audit.record(key=who.name, endpoint=request.url.path, status=404, error=str(exc), **entry)
            raise HTTPException(404, str(exc)) from exc
        except RagkitError as exc:
            raise failed(request, who, exc, **entry) from exc
        audit.record(key=who.name, endpoint=request.url.path, status=200, **entry)
        return found

    @app.get("/v1/threads/at", responses=ERRORS)
    def thread_at(
        request: Request,
        who: Caller,
        path: Annotated[str, Query(min_length=1)],
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        limit = scope(request, who, None)
        shown: dict[str, Any] = thread_found(request, who, limit, partial(rk.thread_at, path, offset), path=path)
        return shown

    @app.get("/v1/threads/{ident:path}", responses=ERRORS)
    def thread(request: Request, who: Caller, ident: str) -> dict[str, Any]:
        limit = scope(request, who, None)
        shown: dict[str, Any] = thread_found(request, who, limit, partial(rk.thread, ident), thread=ident)
        return shown

    # --- saved searches: the whole index's, so only for keys not limited to collections ---

    def searcher(request: Request, who: Principal, write: bool) -> None:
        if who.collections:
            deny(request, who.name, 403, f"saved searches cover the whole index; the key {who.name!r} is limited"
                 f" to collections ({', '.join(who.collections)})")  # fmt: skip
        barred = [n for n, d in sorted(rk.settings.databases.items()) if d.text_columns and refused(who, d.keys)]
        if barred:  # (their rows are documents of the index too)
            deny(request, who.name, 403, f"saved searches cover the whole index; the key {who.name!r} may not"
                 f" read the database {barred[0]!r}, whose rows are part of it")  # fmt: skip
        if write and who.read_only:
            deny(request, who.name, 403, f"the key {who.name!r} is read-only: it may search and ask, not change"
                 " saved searches")  # fmt: skip

    def search_failed(request: Request, who: Principal, exc: RagkitError, name: str) -> HTTPException:
        from ragkit.investigate.searches import SearchNotFound

        if isinstance(exc, SearchNotFound):
            audit.record(key=who.name, endpoint=request.url.path, status=404, search=name)
            return HTTPException(404, str(exc))
        return failed(request, who, exc, search=name)

    @app.get("/v1/searches", responses=ERRORS)
    def saved_searches(request: Request, who: Caller) -> dict[str, Any]:
        searcher(request, who, write=False)
        audit.record(key=who.name, endpoint="/v1/searches", status=200)
        return {"searches": [s.as_dict() for s in rk.saved_searches()]}

    @app.post("/v1/searches", responses=ERRORS)
    def save_search(body: SaveSearchRequest, request: Request, who: Caller) -> dict[str, Any]:
        searcher(request, who, write=True)
        try:
            saved = rk.save_search(body.name, body.query)
        except RagkitError as exc:
            raise search_failed(request, who, exc, body.name) from exc
        audit.record(key=who.name, endpoint="/v1/searches", status=200, search=body.name, query=body.query)
        return {"search": saved.as_dict()}

    @app.delete("/v1/searches/{name}", responses=ERRORS)
    def remove_search(name: str, request: Request, who: Caller) -> dict[str, Any]:
        searcher(request, who, write=True)
        try:
            rk.remove_search(name)
        except RagkitError as exc:
            raise search_failed(request, who, exc, name) from exc
        audit.record(key=who.name, endpoint="/v1/searches", status=200, removed=name)
        return {"removed": name}

    @app.post("/v1/searches/{name}/run", responses=ERRORS)
    def run_search(name: str, body: RunSearchRequest, request: Request, who: Caller) -> dict[str, Any]:
        """Its hits now and the matches new since last looked, which are then no longer new
        (a change: read-only keys may list saved searches, not run them)."""
        searcher(request, who, write=True)
        try:
            search, result, news = rk.run_search(name, body.limit)
        except RagkitError as exc:
            raise search_failed(request, who, exc, name) from exc
        audit.record(key=who.name, endpoint="/v1/searches/run", status=200, search=name, new=len(news))
        return {"search": search.as_dict(), "new": [m.as_dict() for m in news], "result": result.as_dict()}

    @app.get("/v1/databases", responses=ERRORS)
    def list_databases(request: Request, who: Caller) -> dict[str, Any]:
        rows = [{"name": n, "kind": rk.settings.databases[n].url.split(":", 1)[0],
                 "collections": rk.settings.databases[n].collections} for n in usable(who, None)]  # fmt: skip
        audit.record(key=who.name, endpoint="/v1/databases", status=200)
        return {"databases": rows}

    @app.get("/v1/databases/{name}/schema", responses=ERRORS)
    def database_schema(name: str, request: Request, who: Caller) -> dict[str, Any]:
        from ragkit.db.connections import configured

        database(request, who, name)
        try:
            tables = configured(rk.settings, name).schema()
        except RagkitError as exc:
            raise failed(request, who, exc, database=name) from exc
        audit.record(key=who.name, endpoint=f"/v1/databases/{name}/schema", status=200)
        return {"database": name, "tables": [t.as_dict() for t in tables]}

    @app.post("/v1/databases/{name}/ask", responses=ERRORS)
    def database_ask(name: str, body: DatabaseAskRequest, request: Request, who: Caller) -> dict[str, Any]:
        database(request, who, name)
        model = model_named(request, who, body.model)
        try:
            with generating:
                answer: dict[str, Any] = rk.ask_database(body.question, name, model).as_dict()
        except RagkitError as exc:
            raise failed(request, who, exc, database=name, question=body.question) from exc
        audit.record(key=who.name, endpoint=f"/v1/databases/{name}/ask", status=200, question=body.question,
                     sql=answer["sql"], rows=answer["row_count"])  # fmt: skip
        return answer

    @app.post("/v1/databases/{name}/query", responses=ERRORS)
    def database_query(name: str, body: DatabaseQueryRequest, request: Request, who: Caller) -> dict[str, Any]:
        from ragkit.db.connections import configured

        database(request, who, name)
        try:
            result: dict[str, Any] = configured(rk.settings, name).run(body.sql).as_dict()
        except RagkitError as exc:
            raise failed(request, who, exc, database=name, sql=body.sql) from exc
        audit.record(key=who.name, endpoint=f"/v1/databases/{name}/query", status=200, sql=body.sql,
                     rows=result["row_count"])  # fmt: skip
        return result

    @app.post("/v1/chat/completions", responses=ERRORS)
    def chat(body: ChatRequest, request: Request, who: Caller) -> Any:
        from ragkit.answer.conversation import Conversation, Turn

        limit = scope(request, who, body.collection)
        asked = [m for m in body.messages if m.role == "user"]
        if not asked or not _text(asked[-1].content).strip():
            raise HTTPException(400, "the last message must be the user's question")
        question = _text(asked[-1].content).strip()
        history, pending = [], ""
        for m in body.messages[: body.messages.index(asked[-1])]:
            if m.role == "user":
                pending = _text(m.content)
            elif m.role == "assistant" and pending:
                history.append(Turn(pending, _text(m.content), []))
                pending = ""
        conversation = Conversation(turns=history) if history else None
        model = model_named(request, who, body.model)
        made, ident = int(time.time()), f"chatcmpl-{uuid.uuid4().hex[:24]}"
        routable = [] if body.ragkit_route == "docs" else usable(who, body.collection)

        def events() -> Iterator[Any]:
            with generating:
                stream = rk.ask_stream(question, model=model, conversation=conversation, mode=body.ragkit_mode,
                                       scope=limit, databases=routable)  # fmt: skip
                try:
                    yield from stream
                finally:
                    stream.close()

        def done(answer: dict[str, Any], status: int = 200) -> None:
            cited = sorted({c.get("path") or c["source"] for c in answer.get("citations", [])})
            audit.record(key=who.name, endpoint="/v1/chat/completions", status=status, question=question, cited=cited)

        if not body.stream:
            try:
                items = list(events())
            except RagkitError as exc:
                raise failed(request, who, exc, question=question) from exc
            answer = shown(items[-1].as_dict(), limit)
            done(answer)
            usage = answer.get("usage") or {}
            return {
                "id": ident,
                "object": "chat.completion",
                "created": made,
                "model": answer.get("model") or "ragkit",
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": answer["answer"],
                            "reasoning_content": answer.get("reasoning") or None,
                        },
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": usage.get("prompt_tokens", 0),
                    "completion_tokens": usage.get("completion_tokens", 0),
                    "total_tokens": usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0),
                },
                "ragkit": answer,
            }

        def sse() -> Iterator[str]:
            def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
                body = {
                    "id": ident,
                    "object": "chat.completion.chunk",
                    "created": made,
                    "model": "ragkit",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    **extra,
                }
                return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

            yield chunk({"role": "assistant", "content": ""})
            try:
                for item in events():
                    if isinstance(item, Answer | SqlAnswer):  # the checked answer, and all about it in `ragkit`
                        answer = shown(item.as_dict(), limit)
                        done(answer)
                        if body.ragkit_mode != "generate":
                            yield chunk({"content": answer["answer"]})
                        yield chunk({}, "stop", ragkit=answer)
                    elif item.type == "route":  # which source answers, and why
                        yield chunk({"ragkit_route": item.chunk})
                    elif item.type == "reasoning":
                        yield chunk({"reasoning_content": item.chunk})
                    elif item.type == "text" and body.ragkit_mode == "generate":
                        yield chunk({"content": item.chunk})
                    elif item.type == "text":  # a draft until checked: the answer comes as content
                        yield chunk({"ragkit_draft": item.chunk})
            except RagkitError as exc:
                audit.record(key=who.name, endpoint="/v1/chat/completions", status=400, question=question,
                             error=str(exc))  # fmt: skip
                yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'ragkit_error'}})}\n\n"
            except Exception as exc:  # a bug: the stream still ends as a client expects, and says so
                log.exception("a streamed answer failed")
                audit.record(key=who.name, endpoint="/v1/chat/completions", status=500, question=question,
                             error=f"internal error ({type(exc).__name__})")  # fmt: skip
                yield f"data: {json.dumps({'error': {'message': INTERNAL, 'type': 'internal_error'}})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(sse(), media_type="text/event-stream")

    return app


def _paths(hits: list[Any]) -> list[str]:
    return sorted({h.path for h in hits})


def check_bind(host: str, keys: KeyStore) -> None:
    """Refuse to listen beyond loopback while no key guards the server."""
    if host not in LOOPBACK and not keys.active():
        raise RagkitError(
            f"refusing to listen on {host} with no API keys: anyone who can reach it could read your documents;"
            " create one first (ragkit keys create NAME), or listen on 127.0.0.1"
        )
