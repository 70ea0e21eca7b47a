"""Which source answers a question: the documents or one of the databases added.

A question goes to a database when one of its tables, described as the SQL model reads it
(name, columns, a few sample values), is closer to the question by meaning than any passage
of the documents is, and close enough on its own (``SCHEMA_FLOOR``); else to the documents.
Both closeness figures are cosines in the query model's space, so they compare directly.
Measured by ``benchmarks/routing.py`` on the Chinook questions (databases) and SQuAD's
questions over their articles (documents). The route and both figures are shown with the
answer, and ``ask --db NAME`` or ``answer.route = "docs"`` override it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ragkit.core.errors import RagkitError

log = logging.getLogger(__name__)

SCHEMA_FLOOR = 0.28  # a table this close to the question at least, or the documents answer
MARGIN = 0.0  # and closer to it than the best passage by more than this
SCHEMA_TTL_S = 600.0  # a database's schema is read again after this long


@dataclass(frozen=True)
class Route:
    database: str | None  # None: the documents
    schema_score: float  # the closest table's cosine to the question (0 with no databases)
    docs_score: float  # the closest passage's
    table: str = ""  # the closest table

    @property
    def target(self) -> str:
        return f"db:{self.database}" if self.database else "docs"

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "database": self.database,
            "table": self.table or None,
            "schema_score": round(self.schema_score, 3),
            "docs_score": round(self.docs_score, 3),
        }

    def why(self) -> str:
        if self.database:
            return (
                f"asked of database {self.database}: its table {self.table} is closer to the question"
                f" ({self.schema_score:.2f}) than any passage ({self.docs_score:.2f}); ask --db or answer.route"
                " choose for yourself"
            )
        return (
            f"answered from the documents (closest passage {self.docs_score:.2f},"
            f" closest table {self.schema_score:.2f})"
        )


class Router:
    """Decides between the documents and the databases; keeps each database's table vectors.

    ``embed``: the query model (texts → unit or raw vectors); ``describe``: a database's name
    → its tables as the SQL model reads them, one text per table (``(table, text)`` pairs)."""

    def __init__(
        self,
        embed: Callable[[Sequence[str]], Any],
        describe: Callable[[str], list[tuple[str, str]]],
    ) -> None:
        self.embed = embed
        self.describe = describe
        self._lock = threading.Lock()
        self._tables: dict[str, tuple[float, list[str], Any]] = {}  # name -> (read at, table names, unit vectors)

    def _vectors(self, name: str) -> tuple[list[str], Any]:
        import numpy as np

        with self._lock:
            cached = self._tables.get(name)
            if cached and time.monotonic() - cached[0] < SCHEMA_TTL_S:
                return cached[1], cached[2]
        described = self.describe(name)
        names = [t for t, _ in described]
        vectors = None
        if described:
            vectors = _unit(np.asarray(self.embed([text for _, text in described]), dtype=np.float32))
        with self._lock:
            self._tables[name] = (time.monotonic(), names, vectors)
        return names, vectors

    def forget(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._tables.clear()
            else:
                self._tables.pop(name, None)

    def route(self, question: str, databases: Sequence[str], docs_score: float) -> Route:
        """The source for ``question`` among ``databases`` and the documents, whose closest
        passage has cosine ``docs_score`` to it (0 when nothing is indexed)."""
        import numpy as np

        best = Route(None, 0.0, docs_score)
        if not databases:
            return best
        query = _unit(np.asarray(self.embed([question]), dtype=np.float32))[0]
        for name in databases:
            try:
                tables, vectors = self._vectors(name)
            except RagkitError as exc:  # a database away must not stop questions to the documents
                log.warning("not routing to database %s: %s", name, exc)
                continue
            if vectors is None:
                continue
            scores = vectors @ query
            top = int(np.argmax(scores))
            if float(scores[top]) > best.schema_score:
                best = Route(None, float(scores[top]), docs_score, f"{name}.{tables[top]}")
                chosen = name
        if best.schema_score >= SCHEMA_FLOOR and best.schema_score - docs_score > MARGIN:
            return Route(chosen, best.schema_score, docs_score, best.table.split(".", 1)[1])
        return best


def _unit(vectors: Any) -> Any:
    import numpy as np

    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
