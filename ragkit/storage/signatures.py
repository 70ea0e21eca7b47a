"""Each document's MinHash (``docs.minhash``, :mod:`ragkit.investigate.near`) and the queries
the near-duplicate search makes of the manifest. The MinHash is written by the index run in
the transaction that makes its document ready (:meth:`Manifest.mark_ready`); documents
indexed before it was kept have none until :meth:`Signatures.record` is given theirs."""

from __future__ import annotations

from collections.abc import Mapping

from ragkit.storage.manifest import Manifest


class Signatures:
    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest

    def all(self) -> dict[str, bytes | None]:
        """Every searchable document's MinHash (None where none is recorded yet)."""
        rows = self.manifest.db.execute(
            "SELECT hash, minhash FROM docs WHERE state = 'ready'"
            " AND EXISTS (SELECT 1 FROM files WHERE files.doc = docs.hash AND files.status = 'ok') ORDER BY hash"
        )
        return {doc: blob for doc, blob in rows}

    def missing(self) -> list[str]:
        """The searchable documents with no MinHash recorded (indexed before they were kept)."""
        rows = self.manifest.db.execute(
            "SELECT hash FROM docs WHERE state = 'ready' AND minhash IS NULL"
            " AND EXISTS (SELECT 1 FROM files WHERE files.doc = docs.hash AND files.status = 'ok') ORDER BY hash"
        )
        return [r[0] for r in rows]

    def spans(self, doc: str) -> list[tuple[int, int, str]]:
        """The document's chunks as (start, end, text), in order."""
        rows = self.manifest.db.execute('SELECT start, "end", text FROM chunks WHERE doc = ? ORDER BY ord', (doc,))
        return [(start, end, text) for start, end, text in rows]

    def record(self, found: Mapping[str, bytes]) -> None:
        """Record the MinHashes of documents that had none (one transaction)."""
        with self.manifest.transaction() as db:
            db.executemany(
                "UPDATE docs SET minhash = ? WHERE hash = ? AND minhash IS NULL", [(v, d) for d, v in found.items()]
            )

    def paths(self) -> dict[str, list[str]]:
        """Each document's indexed paths."""
        found: dict[str, list[str]] = {}
        for doc, path in self.manifest.db.execute("SELECT doc, path FROM files WHERE status = 'ok' ORDER BY path"):
            found.setdefault(doc, []).append(path)
        return found
