"""The text a reader sees in a PDF's form fields (AcroForm): what was typed in a text field,
the choice made in a combo box, the options a list box shows, a ticked box. A form may hold
all of a document's text (an application, a filled-in register) while its pages hold none.

Read from the widgets of each page, so each field's text belongs to the page that shows it,
as "Name: value" lines after the page's own text (the offsets of the page's text are kept).
"""

from __future__ import annotations

from typing import Any

_LIST_BOX_COMBO = 1 << 17  # /Ff bit 18: a combo box (one value shown), else a list box (options shown)
_MAX_DEPTH = 32  # field trees are shallow; a loop of /Parent links is a damaged file


def form_text(page: Any) -> str:
    """The fields shown on a pypdf ``page``, one "Name: value" line each, in the page's order."""
    try:
        annotations = page.get("/Annots")
        annotations = annotations.get_object() if annotations is not None else []
    except Exception:  # a damaged annotation array: the page's text stands alone
        return ""
    lines: list[str] = []
    seen: set[str] = set()
    for ref in annotations or []:
        try:
            widget = ref.get_object()
            if widget.get("/Subtype") != "/Widget":
                continue
            line = _field_line(widget)
        except Exception:  # one damaged field is left out, not the page
            continue
        if line and line not in seen:  # a radio group's buttons, a field shown twice
            seen.add(line)
            lines.append(line)
    return "\n".join(lines)


def _field_line(widget: Any) -> str:
    """ "Name: value" for the field this widget shows, or "" if it shows nothing readable."""
    names: list[str] = []
    inherited: dict[str, Any] = {}
    node, depth, visited = widget, 0, set()
    while node is not None and depth < _MAX_DEPTH:
        ref = getattr(node, "indirect_reference", None)
        place = (ref.idnum, ref.generation) if ref is not None else id(node)
        if place in visited:  # a /Parent loop: the field is named by what was read before it
            break
        visited.add(place)
        for key in ("/FT", "/V", "/Opt", "/Ff", "/TU"):
            if key not in inherited and key in node:
                inherited[key] = node[key]
        if "/T" in node:
            names.append(str(node["/T"]))
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
        depth += 1
    name = (".".join(reversed(names)) or str(inherited.get("/TU") or "")).strip()  # (a tooltip is often help text)
    kind = inherited.get("/FT")
    value = _plain(inherited.get("/V"))
    if kind == "/Ch":
        combo = int(inherited.get("/Ff", 0) or 0) & _LIST_BOX_COMBO
        options = [_plain(o[1] if isinstance(o, list) and len(o) > 1 else o) for o in inherited.get("/Opt") or []]
        if not combo and options:  # a list box shows its options; the chosen ones are said
            shown = ", ".join(o for o in options if o)
            value = f"{shown} (chosen: {value})" if value else shown
    elif kind == "/Btn":
        value = "" if value in ("", "Off") else value  # a ticked box or a chosen radio button
    if not value:
        return ""
    return f"{name}: {value}" if name else value


def _plain(value: Any) -> str:
    """A field value as text: a string, a name (/Yes), or a list of them (several chosen)."""
    if value is None:
        return ""
    if hasattr(value, "get_object"):
        value = value.get_object()
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value if _plain(v))
    text = str(value)
    return (text[1:] if text.startswith("/") else text).replace("\r\n", "\n").replace("\r", "\n").strip()
