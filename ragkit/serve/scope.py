"""What a key limited to collections may see of a result: one content kept at several places is
named by a place inside the key's collections, and the places outside them are left out (the
hit's own path, its ``also`` list, and the citations and sources that name it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def confine(result: Any, visible: Callable[[str], bool]) -> Any:
    """``result`` (JSON-like: dicts and lists) with every located item named by a visible place."""
    renamed: dict[str, str] = {}
    _choose(result, visible, renamed)
    return _rename(result, visible, renamed)


def _choose(node: Any, visible: Callable[[str], bool], renamed: dict[str, str]) -> None:
    """Record, for each item with places (``path`` and ``also``), the first visible place."""
    if isinstance(node, dict):
        path = node.get("path")
        if isinstance(path, str) and isinstance(node.get("also"), list) and not visible(path):
            shown = next((p for p in node["also"] if isinstance(p, str) and visible(p)), None)
            if shown is not None:
                renamed[path] = shown
        for value in node.values():
            _choose(value, visible, renamed)
    elif isinstance(node, list):
        for value in node:
            _choose(value, visible, renamed)


def _rename(node: Any, visible: Callable[[str], bool], renamed: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [_rename(v, visible, renamed) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _rename(v, visible, renamed) for k, v in node.items()}
    path = out.get("path")
    if isinstance(path, str) and path in renamed:
        out["path"] = renamed[path]
    if isinstance(out.get("also"), list):
        out["also"] = [p for p in out["also"] if isinstance(p, str) and visible(p) and p != out.get("path")]
    return out
