"""What a request must get past before the app reads a byte of its body: the name it reached the
server by (Host, and a browser's Origin), the key, and the body's size.

Checked in an ASGI layer so that a request without a key, or from a web page that reached a
loopback server through DNS rebinding, is answered (401, 403) without its body being read, and a
body over the limit is refused (413) without being held in memory.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ragkit.serve.audit import REQUEST, AuditLog
from ragkit.serve.keys import KeyStore

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("ragkit.serve")
INTERNAL = "ragkit failed on this request (an internal error; the server's log has the details)"

LOOPBACK_NAMES = frozenset({"127.0.0.1", "::1", "localhost"})
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"  # a high half not followed by a low one
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"  # a low half not after a high one
)
OPEN_PATHS = frozenset({"/openapi.json"})  # the API's shape, as public as the source: no documents in it


@dataclass(frozen=True)
class Principal:
    name: str  # the key's name ("local" when the server has no keys)
    collections: tuple[str, ...]  # empty: all
    read_only: bool


class Denied(Exception):
    def __init__(self, status: int, message: str, who: str = "-") -> None:
        super().__init__(message)
        self.status, self.message, self.who = status, message, who


class KeyGuard:
    """Who a request's ``Authorization`` header makes it. Once a key has been made, or when the
    server listens beyond loopback, a key is needed from then on: revoking the last one (or losing
    the key file) closes the server, it never opens it."""

    def __init__(self, keys: KeyStore, require_keys: bool = False) -> None:
        self.keys = keys
        self.guarded = threading.Event()
        if require_keys or keys.required():
            self.guarded.set()

    def principal(self, authorization: str | None) -> Principal:
        if not self.guarded.is_set():
            if not self.keys.required():
                return Principal("local", (), False)
            self.guarded.set()
        if not self.keys.active():
            raise Denied(401, "every API key of this server is revoked: create one (ragkit keys create NAME) and send"
                              " it as Authorization: Bearer KEY")  # fmt: skip
        token = authorization[7:].strip() if authorization and authorization.lower().startswith("bearer ") else ""
        if not token:
            raise Denied(401, "no API key: send Authorization: Bearer KEY (made by: ragkit keys create NAME)")
        key = self.keys.check(token)
        if key is None:
            raise Denied(401, "unknown or revoked API key", "?")
        return Principal(key.name, tuple(key.collections), key.read_only)


def allowed_names(host: str, configured: Sequence[str]) -> frozenset[str] | None:
    """The names a request may carry in Host (and Origin): the configured ones; else, on loopback,
    the loopback names; else None (any: a key guards such a server)."""
    if configured:
        return frozenset(n.lower() for n in configured) | LOOPBACK_NAMES
    return LOOPBACK_NAMES if host in LOOPBACK_NAMES else None


def _hostname(value: str) -> str:
    """The name in a Host header or an Origin ("[::1]:8765" → "::1", "http://a.b:1" → "a.b")."""
    netloc = urlsplit(value).netloc if "://" in value else value
    try:
        return (urlsplit("//" + netloc).hostname or "").lower()
    except ValueError:
        return "\0invalid"


class Gate:
    def __init__(
        self, app: ASGIApp, guard: KeyGuard, audit: AuditLog, names: frozenset[str] | None, max_body: int
    ) -> None:
        self.app, self.guard, self.audit, self.names, self.max_body = app, guard, audit, names, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        who = "-"
        try:
            self._check_names(headers)
            if scope["path"] not in OPEN_PATHS:
                principal = self.guard.principal(headers.get("authorization"))
                scope.setdefault("state", {})["principal"] = principal  # (the app's routes read it, not the keys again)
                who = principal.name
            body = await self._body(headers, receive)
        except Denied as denied:
            self.audit.record(key=denied.who, endpoint=scope["path"], status=denied.status, error=denied.message)
            await _respond(send, denied)
            return
        await self._audited(scope, receive if body is None else _replay(body, receive), send, who)

    async def _audited(self, scope: Scope, receive: Receive, send: Send, who: str) -> None:
        """Run the app; a request it did not audit itself (refused by validation, failed, or cut off
        by the client before the end) is audited here, once, with its status."""
        request: dict[str, Any] = {"audited": False, "fields": {}}
        token = REQUEST.set(request)
        response: dict[str, Any] = {"status": 500, "started": False, "ended": False, "error": None}

        async def watched(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                response["status"], response["started"] = message["status"], True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                response["ended"] = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:  # a bug: the client gets a 500 it can read, the operator the traceback
            log.exception("%s %s failed", scope.get("method", ""), scope["path"])
            response["error"] = f"internal error ({type(exc).__name__})"
            if not response["started"]:
                await _answer(watched, 500, INTERNAL, "internal_error")
        finally:
            REQUEST.reset(token)
            if not request["audited"]:
                entry: dict[str, Any] = {"key": who, "endpoint": scope["path"], "status": response["status"]}
                entry.update(request["fields"])  # what the route noted (its status, if it must say another)
                if response["error"] or not response["ended"]:
                    entry["error"] = response["error"] or "the connection ended before the response did"
                self.audit.record(**entry)

    def _check_names(self, headers: dict[str, str]) -> None:
        if self.names is None:
            return
        host = _hostname(headers.get("host", ""))
        if host not in self.names:
            raise Denied(403, f"this server is not reached by the name {host!r}: add it to serve.allowed_hosts"
                              " in the config if it should be")  # fmt: skip
        origin = headers.get("origin")
        if origin is not None and _hostname(origin) not in self.names:
            raise Denied(403, "requests from web pages of other sites are refused (Origin"
                              f" {origin[:100]!r}); add the name to serve.allowed_hosts if it should be")  # fmt: skip

    async def _body(self, headers: dict[str, str], receive: Receive) -> bytes | None:
        """The body, read here (None if the request has none): Denied(413) past the limit, declared
        or counted as it arrives; Denied(400) for JSON text with an unpaired surrogate (no
        character at all: it could be neither stored, searched nor written back)."""
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            raise Denied(413, f"the request body is over {self.max_body // 1024} kB (serve.max_body_kb)")
        if length is None and "transfer-encoding" not in headers:
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise Denied(413, f"the request body is over {self.max_body // 1024} kB (serve.max_body_kb)")
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if _LONE_SURROGATE.search(body):
            raise Denied(400, "the request holds an unpaired UTF-16 surrogate (a \\uD800-\\uDFFF escape alone),"
                              " which is no character: send the text as UTF-8, or as escapes in pairs")  # fmt: skip
        return body


def _replay(body: bytes, then: Receive) -> Receive:
    """The body read by the gate, given to the app as one message; then the connection's own
    messages (a disconnect, which a streamed answer listens for)."""
    sent = False

    async def receive() -> MutableMapping[str, Any]:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _respond(send: Send, denied: Denied) -> None:
    kind = {401: "unauthorized", 403: "forbidden", 413: "too_large"}.get(denied.status, "invalid_request")
    await _answer(send, denied.status, denied.message, kind)


async def _answer(send: Send, status: int, message: str, kind: str) -> None:
    body = json.dumps({"error": {"message": message, "type": kind}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
