"""``/mcp`` on the office server: the MCP tools and documents over Streamable HTTP, under the
server's rules.

A request to ``/mcp`` passes the same gate as every other (``gate.py``: the Host and Origin
names, so a web page cannot drive a loopback server through DNS rebinding; the key, checked at
each request, so a revoked key is refused at once; the body's size). Each tool then reads
through :class:`ServedBackend`, which calls the HTTP routes' own functions with the key the gate
checked: a key limited to collections sees only their files through every tool and resource, as
through ``/v1``. Every tool only reads, so a read-only key may call them all. Each call is
written to the audit log (besides the HTTP request's own line), with the tool and the key's name.

Stateless Streamable HTTP: no session outlives its request, so nothing a key did is reachable
by another; a call's progress comes back on its own response stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from fastapi import FastAPI, HTTPException
from starlette.routing import Route

from ragkit.answer.answerer import Mode
from ragkit.assistant.each import answered, each_file
from ragkit.core.errors import NotFound, RagkitError
from ragkit.index.library import SearchMode
from ragkit.mcp.backend import Progress
from ragkit.mcp.server import build
from ragkit.serve.audit import AuditLog
from ragkit.serve.context import Served
from ragkit.serve.gate import Principal
from ragkit.serve.models import FindRequest, SearchRequest
from ragkit.serve.routes import archive, passages, status
from ragkit.serve.routes import search as searching

T = TypeVar("T")
PATH = "/mcp"


@contextmanager
def refusals() -> Iterator[None]:
    """A route's refusal (HTTPException) as the tool's error, with its message."""
    try:
        yield
    except HTTPException as exc:
        raise (NotFound if exc.status_code == 404 else RagkitError)(str(exc.detail)) from None


class ServedBackend:
    """The index as one key may read it, through the HTTP routes' own rules."""

    def __init__(self, index: Served, principal: Principal, audit: AuditLog) -> None:
        self.index, self.principal, self.audit = index, principal, audit
        self.who = principal.name

    def _route(self, call: Callable[[], T]) -> T:
        with refusals():
            return call()

    def search(self, query: str, k: int, mode: SearchMode | None, collection: str | None) -> dict[str, Any]:
        body = SearchRequest(query=query, k=k, mode=mode, collection=collection)
        return self._route(lambda: searching.search(body, self.principal, self.index))

    def find(self, query: str, offset: int, limit: int, collection: str | None) -> dict[str, Any]:
        body = FindRequest(query=query, offset=offset, limit=limit, collection=collection)
        return self._route(lambda: searching.find(body, self.principal, self.index))

    def ask(self, question: str, mode: Mode | None, collection: str | None, progress: Progress) -> dict[str, Any]:
        index, who = self.index, self.principal
        with refusals():
            limit = index.scope(who, collection)
            databases = index.usable(who, collection)
        with index.generating:
            answer = answered(index.rk.ask_stream(question, mode=mode, scope=limit, databases=databases), progress)
        shown: dict[str, Any] = index.shown(answer.as_dict(), limit)
        return shown

    def each(
        self, question: str, query: str, mode: Mode | None, collection: str | None, progress: Progress
    ) -> dict[str, Any]:
        index = self.index
        limit = self._route(lambda: index.scope(self.principal, collection))
        with index.generating:
            found = each_file(index.rk, question, query, mode, limit, progress)
        shown: dict[str, Any] = index.shown(found, limit)
        return shown

    def passage(self, path: str, page: int | None, start: int, end: int) -> dict[str, Any]:
        return self._route(lambda: passages.passage(path, start, end, self.principal, self.index, page))

    def status(self) -> dict[str, Any]:
        return self._route(lambda: status.status(self.principal, self.index))

    def entities(self, kind: str | None, top: int, collection: str | None) -> dict[str, Any]:
        return self._route(lambda: archive.entities(self.principal, self.index, kind, top, collection))

    def mentions(self, name: str, kind: str | None, collection: str | None) -> dict[str, Any]:
        return self._route(lambda: archive.entity_mentions(self.principal, self.index, name, kind, collection))

    def thread(self, ident: str) -> dict[str, Any]:
        return self._route(lambda: archive.thread(ident, self.principal, self.index))

    def documents(self) -> list[str]:
        limit = self._route(lambda: self.index.scope(self.principal, None))
        files = self.index.rk.library.manifest.files()
        return [row.path for row in files if row.status == "ok" and self.index.visible(row.path, limit)]

    def pages(self, path: str, page: int | None) -> list[tuple[int | None, str]]:
        from ragkit.answer.passages import pages

        limit = self._route(lambda: self.index.scope(self.principal, None))
        row = self.index.rk.library.manifest.file(path)
        if row is None or row.status != "ok" or not self.index.visible(path, limit):  # (not the key's: the same)
            raise NotFound(f"{path} is not an indexed file")
        return pages(path, row, page)

    def record(self, **entry: Any) -> None:
        self.audit.record(**entry)


class _Endpoint:
    """The session manager as the route's ASGI app (a class, so Starlette does not wrap it as a
    request-response function)."""

    def __init__(self, handle: Callable[..., Any]) -> None:
        self.handle = handle

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.handle(scope, receive, send)


def mount(app: FastAPI, index: Served, audit: AuditLog) -> None:
    """``/mcp`` on ``app``, its sessions run for as long as the app (its lifespan)."""
    from mcp.server.transport_security import TransportSecuritySettings

    def backend_for(request: Any) -> ServedBackend:
        principal = getattr(getattr(request, "state", None), "principal", None)
        if not isinstance(principal, Principal):  # (the gate checks every request: this is never reached)
            raise RagkitError("this request's key was not checked")
        return ServedBackend(index, principal, audit)

    server = build(backend_for)
    # The gate checks Host and Origin for every path (the SDK's own check would only repeat it).
    unchecked = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    server.streamable_http_app(streamable_http_path=PATH, stateless_http=True, transport_security=unchecked)
    manager = server.session_manager  # (made by the call above; its routes are ours, below the gate)
    app.router.routes.append(Route(PATH, endpoint=_Endpoint(manager.handle_request), methods=["GET", "POST", "DELETE"]))
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: Any) -> AsyncIterator[Any]:
        async with outer(running) as state, manager.run():
            yield state

    app.router.lifespan_context = lifespan
