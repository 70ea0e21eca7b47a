"""A ragkit server's archive tools, as the client reaches them: entities, e-mail threads,
duplicates, the timeline, tags and notes (each within the key's collections, on the server).
A mixin of :class:`~ragkit.assistant.remote.RemoteAssistant`, as :mod:`ragkit.assistant.archive`
is of the local engine."""

from __future__ import annotations

from typing import Any, NoReturn
from urllib.parse import quote

from ragkit.investigate.graph import Graph
from ragkit.investigate.timeline import Period


class RemoteArchive:
    """Needs ``_request``, ``_scoped`` and ``_server_side`` (the class it is mixed into has them)."""

    def _request(self, method: str, path: str, **options: Any) -> Any:
        raise NotImplementedError

    def _scoped(self, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _server_side(self, what: str) -> NoReturn:
        raise NotImplementedError

    def entities(self, kind: str | None = None, top: int | None = 50) -> list[dict[str, Any]]:
        params = self._scoped({"top": top or 0} | ({"type": kind} if kind else {}))
        return list(self._request("GET", "/v1/entities", params=params)["entities"])

    def entity_mentions(self, name: str, kind: str | None = None) -> list[dict[str, Any]]:
        params = self._scoped({"name": name} | ({"type": kind} if kind else {}))
        return list(self._request("GET", "/v1/entities/mentions", params=params)["mentions"])

    def entity_state(self) -> dict[str, int]:
        return {}  # a server does not say how much of its index is left to look at

    def merge_entity(self, alias: str, name: str) -> None:
        self._server_side("entities merge")

    def unmerge_entity(self, alias: str) -> None:
        self._server_side("entities unmerge")

    def ignore_entity(self, name: str, undo: bool = False) -> None:
        self._server_side("entities ignore")

    def update_entities(self) -> int:
        self._server_side("entities update")

    def threads(self) -> list[dict[str, Any]]:
        self._server_side("listing every e-mail thread")

    def duplicates(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/v1/duplicates", params=self._scoped({}))["groups"])

    def near_duplicates(self, threshold: float = 0.8) -> list[dict[str, Any]]:
        params = self._scoped({"near": "true", "threshold": threshold})
        return list(self._request("GET", "/v1/duplicates", params=params)["groups"])

    def entity_graph(self, query: str | None = None, kind: str | None = None, min_weight: int = 1) -> Graph:
        given = {"query": query, "type": kind, "min_weight": min_weight}
        found = self._request("GET", "/v1/graph", params=self._scoped({k: v for k, v in given.items() if v}))
        return Graph(list(found["nodes"]), list(found["edges"]))

    def timeline(
        self, query: str | None = None, by: Period = "month", entity: str | None = None
    ) -> list[dict[str, Any]]:
        params = self._scoped({k: v for k, v in {"query": query, "by": by, "entity": entity}.items() if v is not None})
        return list(self._request("GET", "/v1/timeline", params=params)["periods"])

    def mark(self, kind: str, path: str, value: str, span: tuple[int | None, int, int] | None = None) -> dict[str, Any]:
        page, start, end = span or (None, None, None)
        body = {"kind": kind, "path": path, "value": value, "page": page, "start": start, "end": end}
        return dict(self._request("POST", "/v1/marks", json=body)["mark"])

    def unmark(self, kind: str, path: str, value: str) -> int:
        params = {"kind": kind, "path": path, "value": value}
        return int(self._request("DELETE", "/v1/marks", params=params)["removed"])

    def marks(self, kind: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"kind": kind, "path": path}.items() if v is not None}
        return list(self._request("GET", "/v1/marks", params=params)["marks"])

    def thread(self, ident: str) -> dict[str, Any]:
        return dict(self._request("GET", f"/v1/threads/{quote(ident, safe='')}"))

    def thread_at(self, path: str, offset: int) -> dict[str, Any]:
        return dict(self._request("GET", "/v1/threads/at", params={"path": path, "offset": offset}))
