"""Can the embedder link a question's word to a table by meaning? Measured before deciding.

For the three question-to-SQL databases (tests/data/sql), words that mean one table
without being its name or a thesaurus word ("musicians" → Artist, "homes" → Properties)
and words that questions use without meaning any table ("company", "office", "manage")
are embedded with the packaged embedder (all-MiniLM-L6-v2) and compared with each table's
name. Reported: how often the closest table is the right one, and how many of the other
words score at least as high as the median right one (each would become a link, and so a
confident answer from the wrong table, at a threshold that keeps half the right links).

    .venv/bin/python benchmarks/sql_meaning.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
DATA = ROOT.parent / "shared" / "data"

MEANS = {  # words of our own, chosen before measuring, and the table each means
    "chinook": {"musicians": "Artist", "bands": "Artist", "records": "Album", "purchases": "Invoice",
                "bills": "Invoice", "buyers": "Customer", "styles": "Genre", "songs": "Track", "formats": "MediaType",
                "staffers": "Employee", "mixtapes": "Playlist", "receipts": "Invoice", "recordings": "Track"},
    "harbour": {"branches": "offices", "customers": "clients", "goods": "products", "categories": "Product Lines",
                "purchases": "orders", "employees": "staff", "shipments": "orders", "accounts": "clients",
                "sites": "offices", "ranges": "Product Lines"},
    "lettings": {"homes": "Properties", "flats": "Properties", "houses": "Properties", "renters": "Tenants",
                 "owners": "Landlords", "builders": "Contractors", "tradesmen": "Contractors", "fixes": "Repairs",
                 "maintenance": "Repairs", "contracts": "Leases", "tenancies": "Leases", "payments": "Rent Payments",
                 "buildings": "Properties"},
}  # fmt: skip
OTHER = ("live issued placed manage agency spent still made reported started born work look after billed shipped sold"
         " paid own owns database earn did cost store company business office music rent money year open people"
         " things much place town").split()  # fmt: skip


def main() -> int:
    from ragkit.db.connections import SqliteDatabase
    from ragkit.db.rules import SchemaMap
    from ragkit.db.rules.links import split_name
    from ragkit.index.embed import SentenceTransformerEmbedder
    from tests.data.sql import database_file

    embedder = SentenceTransformerEmbedder()
    folder = Path(tempfile.mkdtemp(prefix="ragkit-meaning-"))
    right, total, right_scores, other_scores = 0, 0, [], []
    for name, means in MEANS.items():
        path = database_file(name, folder, DATA / "chinook" / "Chinook_Sqlite.sqlite")
        tables = list(SchemaMap.build(SqliteDatabase(name, f"sqlite:///{path}")).tables)
        names = np.asarray(embedder.embed([" ".join(split_name(t)) for t in tables]), dtype=np.float32)
        names /= np.linalg.norm(names, axis=1, keepdims=True)

        def closest(word: str, names: np.ndarray = names, tables: list[str] = tables) -> tuple[str, float]:
            vector = np.asarray(embedder.embed([word])[0], dtype=np.float32)
            scores = names @ (vector / np.linalg.norm(vector))
            best = int(np.argmax(scores))
            return tables[best], float(scores[best])

        for word, table in means.items():
            found, score = closest(word)
            total += 1
            right += found == table
            if found == table:
                right_scores.append(score)
            print(f"  {name:9} {word:12} → {found:14} {score:.3f} {'right' if found == table else 'wrong: ' + table}")
        other_scores += [closest(word)[1] for word in OTHER]
    median = statistics.median(right_scores)
    above = sum(s >= median for s in other_scores)
    print(f"\nclosest table right: {right}/{total} ({right / total:.0%}); median score of the right ones {median:.3f}")
    share = above / len(other_scores)
    print(f"words meaning no table scoring at least that: {above}/{len(other_scores)} ({share:.0%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
