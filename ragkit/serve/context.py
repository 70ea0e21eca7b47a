"""What every route needs, as FastAPI dependencies: who is asking (``Caller``: the key the gate
checked) and the served index with what that key may read of it (``Index``: its collections'
folders, the databases it may use, the models it may name)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request

from ragkit.db.rows import rows_root, with_sources
from ragkit.serve.gate import Denied, KeyGuard, Principal
from ragkit.serve.scope import confine
from ragkit.storage.filters import Filters


@dataclass
class Served:
    """The facade (``rk``) behind the app, and the rules of what a key may read of it. Keys and
    collections are read at each request (``collections_of``), so a key revoked or a collection
    added takes effect at once."""

    rk: Any
    guard: KeyGuard
    collections_of: Callable[[], dict[str, list[Path]]]
    generating: threading.Lock = field(default_factory=threading.Lock)  # one answer at a time on the model

    def scope(self, who: Principal, collection: str | None) -> Filters | None:
        """What the key may read: its collections' folders (or the one it names), less the rows
        (as documents) of the databases it may not use; None: everything."""
        collections = self.collections_of()
        hidden = self.hidden_rows(who)
        if collection is not None:
            if collection not in collections:
                mine = [c for c in sorted(collections) if not who.collections or c in who.collections]
                known = ", ".join(mine) or "none"  # (a limited key is told only of its own)
                raise HTTPException(404, f"no collection is named {collection!r} (collections: {known})")
            if who.collections and collection not in who.collections:
                raise HTTPException(403, f"the key {who.name!r} may not read the collection {collection!r}")
            within = tuple(str(p) for p in collections[collection]) + self.rows_of([collection])
            return Filters(within=within, without=hidden)
        if who.collections:
            folders = [str(p) for name in who.collections for p in collections.get(name, [])]
            within = (*folders, *self.rows_of(who.collections)) or ("/nonexistent-collection",)
            return Filters(within=within, without=hidden)
        return Filters(without=hidden) if hidden else None

    def rows_of(self, names: Sequence[str]) -> tuple[str, ...]:
        """The folders of the rows (as documents) of the databases these collections hold."""
        root = rows_root(self.rk.settings.home)
        databases = self.rk.settings.databases.items()
        return tuple(str(root / n) for n, d in databases if set(d.collections) & set(names))

    def hidden_rows(self, who: Principal) -> tuple[str, ...]:
        """The folders of the rows of the databases limited to other keys (``db add --keys``):
        a key refused the database is refused its rows as documents too."""
        root = rows_root(self.rk.settings.home)
        return tuple(str(root / n) for n, d in sorted(self.rk.settings.databases.items()) if self.refused(who, d.keys))

    def refused(self, who: Principal, keys: Sequence[str]) -> bool:
        return bool(keys) and self.guard.guarded.is_set() and who.name not in keys

    def usable(self, who: Principal, collection: str | None) -> list[str]:
        """The databases this key may ask (within ``collection``, if named): those its
        collections hold (any, for a key not limited to collections), less those limited to
        other keys."""
        self.collections_of()  # the config is read again when it changed: databases added meanwhile
        names = []
        for name, db in sorted(self.rk.settings.databases.items()):
            if self.refused(who, db.keys):
                continue
            wanted = [collection] if collection is not None else list(who.collections)
            if wanted and not set(db.collections) & set(wanted):
                continue
            names.append(name)
        return names

    def database(self, who: Principal, name: str) -> str:
        """``name``, if the key may use that database (else 404 or 403)."""
        self.collections_of()
        if name not in self.rk.settings.databases:
            raise HTTPException(404, f"no database is named {name!r}")
        if name not in self.usable(who, None):
            raise HTTPException(403, f"the key {who.name!r} may not use the database {name!r}")
        return name

    def searcher(self, who: Principal, write: bool) -> None:
        """Refuse saved searches (which cover the whole index) to a key that may not read all of it."""
        if who.collections:
            raise HTTPException(403, f"saved searches cover the whole index; the key {who.name!r} is limited"
                                f" to collections ({', '.join(who.collections)})")  # fmt: skip
        databases = sorted(self.rk.settings.databases.items())
        barred = [n for n, d in databases if d.text_columns and self.refused(who, d.keys)]
        if barred:  # (their rows are documents of the index too)
            raise HTTPException(403, f"saved searches cover the whole index; the key {who.name!r} may not"
                                f" read the database {barred[0]!r}, whose rows are part of it")  # fmt: skip
        if write and who.read_only:
            raise HTTPException(403, f"the key {who.name!r} is read-only: it may search and ask, not change"
                                " saved searches")  # fmt: skip

    @staticmethod
    def visible(path: str, limit: Filters | None) -> bool:
        return limit is None or limit.admits(path)

    def shown(self, result: Any, limit: Filters | None) -> Any:
        """A result as the key may see it: its sources named, each place inside its collections."""
        sourced = with_sources(result, self.rk.settings.home)
        return sourced if limit is None else confine(sourced, lambda path: self.visible(path, limit))

    def model_named(self, name: str | None) -> str | None:
        """A model a request names: only an installed one of the catalogue (as /v1/models lists
        them), never a path on the server: what exists there is none of a client's business,
        and nothing placed there is loaded."""
        if not name or name == "ragkit":
            return None
        installed = [m["name"] for m in self.rk.models() if m.get("installed")]
        if name not in installed:
            raise HTTPException(400, f"no installed chat model is named {name!r} (GET /v1/models lists them, then"
                                f" the embedding model: {', '.join(installed)})")  # fmt: skip
        return name


def served(request: Request) -> Served:
    found: Served = request.app.state.served
    return found


def principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    """The key the gate checked before the body was read (or, past a gate, checked here)."""
    checked = getattr(request.state, "principal", None)
    if isinstance(checked, Principal):
        return checked
    try:
        return served(request).guard.principal(authorization)
    except Denied as denied:
        headers = {"WWW-Authenticate": "Bearer"} if denied.status == 401 else None
        raise HTTPException(denied.status, denied.message, headers=headers) from None


Caller = Annotated[Principal, Depends(principal)]
Index = Annotated[Served, Depends(served)]
