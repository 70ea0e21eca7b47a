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
