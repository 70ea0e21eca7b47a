"""Small PDFs written byte by byte, so a test can damage them exactly where it means to."""

from __future__ import annotations

import zlib

Page = tuple[bytes, bytes]  # (extra entries of the content stream's dictionary, the stream's bytes)


def text_page(words: str, compress: bool = False) -> Page:
    """A page that shows ``words`` (ASCII, no parentheses) in Helvetica."""
    stream = f"BT /F1 12 Tf 72 700 Td ({words}) Tj ET".encode()
    return (b" /Filter /FlateDecode", zlib.compress(stream)) if compress else (b"", stream)


def pdf(pages: list[Page], ending: bool = True) -> bytes:
    """A PDF with these pages, its cross-reference table right; ``ending=False`` cuts it
    after its trailer dictionary, as a copy cut off near its end would be (no startxref,
    no %%EOF)."""
    n = len(pages)
    font = 3 + 2 * n
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode()]
    for i, (extra, data) in enumerate(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 {font} 0 R >> >>"
            f" /Contents {4 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(data), extra, data))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return serialize(objects, ending)


def serialize(objects: list[bytes], ending: bool = True) -> bytes:
    """A PDF of these numbered objects (the first is the catalog), with its cross-reference
    table and trailer; ``ending=False`` as in :func:`pdf`."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    if ending:
        out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


Line = tuple[str, float, bool]  # (ASCII text without parentheses, font size, bold)
Entry = tuple[str, int, int]  # an outline entry: (title, 0-based page, level: 0 or 1)


def styled_pdf(pages: list[list[Line]], outline: list[Entry] = ()) -> bytes:  # type: ignore[assignment]
    """A PDF whose pages show these lines from the top down, each in Helvetica (bold: Helvetica-
    Bold) at its size; with bookmarks, where ``outline`` lists them (level 1 entries fall under
    the level 0 entry before them)."""
    n = len(pages)
    fonts = 3 + 2 * n  # F1, then F2
    first_outline = fonts + 2
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    catalog = "<< /Type /Catalog /Pages 2 0 R" + (f" /Outlines {first_outline} 0 R" if outline else "") + " >>"
    objects = [catalog.encode(), f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode()]
    for i, lines in enumerate(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 {fonts} 0 R"
            f" /F2 {fonts + 1} 0 R >> >> /Contents {4 + 2 * i} 0 R >>".encode()
        )
        y, shown = 740.0, []
        for text, size, bold in lines:
            shown.append(f"BT /{'F2' if bold else 'F1'} {size} Tf 72 {y:.0f} Td ({text}) Tj ET")
            y -= size * 1.6
        data = "\n".join(shown).encode()
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(data), data))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>")
    objects.extend(_outline(list(outline), first_outline))
    return serialize(objects)


def _outline(entries: list[Entry], root: int) -> list[bytes]:
    """The outline's objects, numbered from ``root`` (the outline dictionary) on."""
    if not entries:
        return []
    number = {i: root + 1 + i for i in range(len(entries))}
    parent = {}
    for i, (_, _, level) in enumerate(entries):
        parent[i] = max((j for j in range(i) if entries[j][2] == 0), default=None) if level else None
    children: dict[int | None, list[int]] = {}
    for i in range(len(entries)):
        children.setdefault(parent[i], []).append(i)

    def links(i: int | None) -> str:
        kids = children.get(i, [])
        return f" /First {number[kids[0]]} 0 R /Last {number[kids[-1]]} 0 R /Count {len(kids)}" if kids else ""

    objects = [f"<< /Type /Outlines{links(None)} >>".encode()]
    for i, (title, page, _) in enumerate(entries):
        siblings = children[parent[i]]
        at = siblings.index(i)
        up = number[parent[i]] if parent[i] is not None else root
        near = (f" /Prev {number[siblings[at - 1]]} 0 R" if at else "") + (
            f" /Next {number[siblings[at + 1]]} 0 R" if at + 1 < len(siblings) else ""
        )
        dest = f"[{3 + 2 * page} 0 R /XYZ 0 792 0]"
        objects.append(f"<< /Title ({title}) /Parent {up} 0 R /Dest {dest}{near}{links(i)} >>".encode())
    return objects
