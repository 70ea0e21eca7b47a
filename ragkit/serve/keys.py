"""API keys for ``ragkit serve``: each has a name, may be limited to collections and to
reading, and is stored only as a digest (``keys.json`` in the data directory, mode 0600).

A key is 32 random bytes, so a plain SHA-256 digest cannot be searched backwards; a
presented key is compared with every stored digest in constant time, so the comparison
says nothing about which key came close.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ragkit.core.errors import RagkitError
from ragkit.core.files import write_atomic

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
PREFIX = "rk_"


@dataclass
class ApiKey:
    name: str
    digest: str  # SHA-256 of the key, hex
    collections: list[str] = field(default_factory=list)  # empty: every collection
    read_only: bool = False
    created: float = 0.0
    revoked: float | None = None

    def public(self) -> dict[str, Any]:
        """What `keys list` shows: never the digest."""
        return {
            "name": self.name,
            "collections": self.collections,
            "read_only": self.read_only,
            "created": self.created,
            "revoked": self.revoked,
        }


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> list[ApiKey]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise RagkitError(f"cannot read the key file {self.path} ({exc}); fix or remove it") from exc
        return [ApiKey(**row) for row in data.get("keys", [])]

    def _write(self, keys: list[ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(self.path, json.dumps({"keys": [asdict(k) for k in keys]}, indent=1))

    def create(self, name: str, collections: list[str] | None = None, read_only: bool = False) -> str:
        """A new key named ``name``; the key itself is returned once and never stored."""
        if not NAME.fullmatch(name):
            raise RagkitError(
                f"a key's name is 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
                f" (got {name!r})"
            )
        with self._lock:
            keys = self._read()
            if any(k.name == name and k.revoked is None for k in keys):
                raise RagkitError(f"a key named {name!r} exists; revoke it first (ragkit keys revoke {name})")
            key = PREFIX + secrets.token_urlsafe(32)
            keys = [k for k in keys if k.name != name]
            keys.append(ApiKey(name, digest(key), list(collections or []), read_only, time.time()))
            self._write(keys)
        return key

    def revoke(self, name: str) -> None:
        with self._lock:
            keys = self._read()
            live = [k for k in keys if k.name == name and k.revoked is None]
            if not live:
                names = ", ".join(k.name for k in keys if k.revoked is None) or "none"
                raise RagkitError(f"no live key is named {name!r} (live keys: {names})")
            for k in live:
                k.revoked = time.time()
            self._write(keys)

    def keys(self) -> list[ApiKey]:
        with self._lock:
            return self._read()

    def active(self) -> bool:
        """Whether a live (unrevoked) key exists."""
        return any(k.revoked is None for k in self.keys())

    def required(self) -> bool:
        """Whether a key was ever made here: from then on a server needs one on every request,
        also once every key is revoked (revoking a leaked last key must never open the server)."""
        return bool(self.keys())

    def check(self, presented: str) -> ApiKey | None:
        """The live key ``presented`` is, or None (every digest is compared, in constant time)."""
        wanted = digest(presented)
        found = None
        for key in self.keys():
            if hmac.compare_digest(wanted, key.digest) and key.revoked is None:
                found = key
        return found
