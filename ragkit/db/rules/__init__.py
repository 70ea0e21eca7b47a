"""Questions to SQL without a model, for the shapes office questions take.

- :mod:`.links`: what a question's words name in a database: tables, columns (by name, a
  small thesaurus) and values that occur in its data;
- :mod:`.question`: a question read into values, numbers, dates and the words left;
- :mod:`.resolve`: which column, number, date and measure each part is, for sure or not;
- :mod:`.shapes`: the shapes (how many, totals, top N, which has the most, lookups, lists)
  built into one statement (:mod:`.statement`) that then passes the same guard as any other.
"""

from ragkit.db.rules.links import SchemaMap, schema_map
from ragkit.db.rules.question import Unsure
from ragkit.db.rules.shapes import Rules
from ragkit.db.rules.statement import Built

__all__ = ["Built", "Rules", "SchemaMap", "Unsure", "schema_map"]
