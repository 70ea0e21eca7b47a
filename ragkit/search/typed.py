"""Filters given apart from a query (command options, a tool's arguments), typed into the query
as its language says them (``path:"GLOB"``, ``type:EXT``, ``after:DATE``, ``before:DATE``,
``lang:CODE``), so that every way in reads them the same."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FilterOptions:
    """The filter options of search and find, typed into the query as its language says them."""

    path: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    after: str | None = None
    before: str | None = None
    lang: tuple[str, ...] = ()

    def applied(self, query: str) -> str:
        typed = [f'path:"{g}"' for g in self.path] + [f"type:{t}" for t in self.type]
        typed += [f"after:{self.after}"] if self.after else []
        typed += [f"before:{self.before}"] if self.before else []
        typed += [f"lang:{code}" for code in self.lang]
        return " ".join([query, *typed])
